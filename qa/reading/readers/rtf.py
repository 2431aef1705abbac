"""Rich Text Format (.rtf) through striprtf (BSD-3-Clause): the plain text, one paragraph for
each of the file's paragraphs."""

from __future__ import annotations

from qa.reading.readers import Block, Extracted, UnreadableError, from_blocks


def read_rtf(data: bytes) -> Extracted:
    from striprtf.striprtf import rtf_to_text

    if not data.lstrip().startswith(b"{\\rtf"):
        raise UnreadableError("not an RTF file (it does not start with {\\rtf)")
    # RTF is 7-bit: other characters come as escapes, which striprtf decodes by the code page.
    text = rtf_to_text(data.decode("latin-1"), errors="replace")
    blocks: list[Block] = [(line, None) for line in text.splitlines() if line.strip()]
    if not blocks:
        raise UnreadableError("no text in the document")
    return from_blocks(blocks)
