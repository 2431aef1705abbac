"""Plain text and Markdown: the file's own text (offsets point into the file); Markdown's
ATX headings (`# Title`, `## Section`) become headings, outside fenced code blocks."""

from __future__ import annotations

import re

from qa.reading.readers import Extracted, Heading, UnreadableError

_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_FENCE = re.compile(r"^ {0,3}(```|~~~)", re.MULTILINE)


def decode(data: bytes) -> str:
    """UTF-8, a byte-order mark dropped; UnreadableError for anything else."""
    if b"\x00" in data:
        raise UnreadableError("contains NUL bytes (binary file?)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnreadableError(f"not valid UTF-8 (byte {error.start})") from error


def read_text(data: bytes) -> Extracted:
    return Extracted(decode(data))


def read_markdown(data: bytes) -> Extracted:
    text = decode(data)
    fenced = _fenced_spans(text)
    headings = tuple(
        Heading(match.start(), match.end(), len(match.group(1)), match.group(2).strip())
        for match in _ATX_HEADING.finditer(text)
        if not any(start <= match.start() < end for start, end in fenced)
    )
    return Extracted(text, headings=headings)


def _fenced_spans(text: str) -> list[tuple[int, int]]:
    marks = [match.start() for match in _FENCE.finditer(text)]
    ends = [*marks[1::2], len(text)]  # an unclosed fence runs to the end
    return list(zip(marks[::2], ends, strict=False))
