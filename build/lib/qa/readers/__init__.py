"""Readers: one per file format, each from a file's bytes to the same `Extracted` text.

The rest of the road (chunk → embed → index) never learns about PDFs; it only carries the page
and section of each passage through to its citation. READERS is the one table of suffixes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


class UnreadableError(ValueError):
    """The file cannot be read as its format; the message says why, for the user."""


@dataclass(frozen=True)
class Heading:
    """A heading in the extracted text: its span, its level (1 = top) and its words."""

    start: int
    end: int
    level: int
    text: str


@dataclass(frozen=True)
class Extracted:
    """A document's text as qa reads it: paragraphs separated by blank lines, headings as their
    own lines (listed in `headings`), and for paged formats the offset where each page starts."""

    text: str
    page_starts: tuple[int, ...] = ()
    headings: tuple[Heading, ...] = field(default=())


Reader = Callable[[bytes], Extracted]


def from_blocks(blocks: list[tuple[str, int | None]]) -> Extracted:
    """Text from (words, heading level or None for a paragraph) blocks, in order: one block per
    line group, blank lines between, each heading recorded with its span."""
    parts: list[str] = []
    headings: list[Heading] = []
    offset = 0
    for words, level in blocks:
        text = " ".join(words.split())
        if not text:
            continue
        if parts:
            offset += 2  # the blank line before this block
        if level is not None:
            headings.append(Heading(offset, offset + len(text), level, text))
        parts.append(text)
        offset += len(text)
    return Extracted("\n\n".join(parts), headings=tuple(headings))


def _text(data: bytes) -> Extracted:
    from qa.readers.text import read_text

    return read_text(data)


def _markdown(data: bytes) -> Extracted:
    from qa.readers.text import read_markdown

    return read_markdown(data)


def _pdf(data: bytes) -> Extracted:
    from qa.readers.pdf import read_pdf

    return read_pdf(data)


def _html(data: bytes) -> Extracted:
    from qa.readers.html import read_html

    return read_html(data)


def _docx(data: bytes) -> Extracted:
    from qa.readers.docx import read_docx

    return read_docx(data)


# Imports stay inside the readers: a folder of text files never loads a PDF library.
READERS: dict[str, Reader] = {
    ".txt": _text, ".md": _markdown, ".markdown": _markdown,
    ".pdf": _pdf, ".html": _html, ".htm": _html, ".docx": _docx,
}
