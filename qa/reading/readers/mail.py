"""Saved e-mail (.eml, RFC 5322 / MIME) through the standard library: the subject as title, the
sender and date as the byline under it, then the body: its plain-text part, else its HTML part
read as a page. Attachments are not read. Outlook's .msg is left out: its one Python reader
(extract-msg) is GPL."""

from __future__ import annotations

import email
import email.policy
import email.utils
from email.message import EmailMessage

from qa.reading.readers import Block, Extracted, UnreadableError, from_blocks
from qa.reading.readers.html import markup_blocks

_REQUIRED_HEADERS = ("from", "subject", "date", "to", "message-id")


def read_eml(data: bytes) -> Extracted:
    message = email.message_from_bytes(data, policy=email.policy.default)
    if not isinstance(message, EmailMessage) or not any(
            message.get(name) for name in _REQUIRED_HEADERS):
        raise UnreadableError("not an e-mail (no From, Subject, Date, To or Message-ID header)")
    blocks: list[Block] = [(str(message.get("subject", "")).strip() or "(no subject)", 1)]
    byline = _byline(message)
    if byline:
        blocks.append((byline, None))
    blocks += _body_blocks(message)
    if len(blocks) == 1 + bool(byline):
        raise UnreadableError("the e-mail has no text body")
    return from_blocks(blocks)


def _byline(message: EmailMessage) -> str:
    """"Alice Moreau, 3 March 2026": names and a date, which the chunker keeps as metadata."""
    name, address = email.utils.parseaddr(str(message.get("from", "")))
    sender = name or address
    try:
        sent = email.utils.parsedate_to_datetime(str(message.get("date", "")))
    except (TypeError, ValueError):
        sent = None
    when = f"{sent.day} {sent:%B %Y}" if sent else ""
    return ", ".join(part for part in (sender, when) if part)


def _body_blocks(message: EmailMessage) -> list[Block]:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return []
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset: read it as Latin-1, nothing lost
        payload = part.get_payload(decode=True)
        content = payload.decode("latin-1") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return []
    if part.get_content_subtype() == "html":
        return markup_blocks(content.encode("utf-8"), with_title=False)
    return [(paragraph, None) for paragraph in _paragraphs(content)]


def _paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs; a signature after "-- " is dropped."""
    body = text.replace("\r\n", "\n").split("\n-- \n")[0]
    return [paragraph for paragraph in body.split("\n\n") if paragraph.strip()]
