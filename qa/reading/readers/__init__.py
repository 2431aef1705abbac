"""Readers: one per file format, each from a file's bytes to the same `Extracted` text.

The rest of the road (chunk → embed → index) never learns about PDFs; it only carries the page
and section of each passage through to its citation. READERS is the one table of suffixes.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


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
    # The file holds no title of its own (a CSV file's first row names columns): the load stage
    # heads the text with the file name's stem, as the reader never learns the name.
    untitled: bool = False


Reader = Callable[[bytes], Extracted]

# A UTF-16 surrogate pair, or a lone half of one. Libraries that think in UTF-16 (PDFium's
# characters, striprtf's \u escapes) hand over a character beyond U+FFFF as two halves, and a
# damaged file may hold one half alone: no UTF-8 file, page or answer can hold either.
_SURROGATES = re.compile("[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]")


def well_formed_text(text: str) -> str:
    """`text` with each surrogate pair joined into its character and each lone half replaced
    by U+FFFD, so that it can be written as UTF-8."""
    if not _SURROGATES.search(text):
        return text
    return _SURROGATES.sub(lambda match: _from_utf16(match.group()), text)


def well_formed(extracted: Extracted) -> Extracted:
    """As well_formed_text, for a reader's whole output: the offsets of its pages and headings
    are moved to match the text, which is one character shorter for each pair joined."""
    text = extracted.text
    if not _SURROGATES.search(text):
        return extracted
    joined = [match.start() + 1 for match in _SURROGATES.finditer(text) if len(match.group()) == 2]

    def moved(offset: int) -> int:  # the low halves before `offset` are gone
        return offset - bisect.bisect_left(joined, offset)

    return Extracted(well_formed_text(text), tuple(moved(start) for start in extracted.page_starts),
                     tuple(Heading(moved(h.start), moved(h.end), h.level, well_formed_text(h.text))
                           for h in extracted.headings))


def _from_utf16(units: str) -> str:
    """A surrogate pair's character; U+FFFD for a lone half."""
    return units.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


Reporter = Callable[[str, str], None]


def _log_report(kind: str, message: str) -> None:
    if kind == "notice":
        log.warning("%s", message)


_reporter: list[Reporter] = [_log_report]


def report(kind: str, message: str) -> None:
    """From a reader, while it reads: "progress" (a long read is alive: OCR pages done) or
    "notice" (something the user should know of a file that was read). A reader worker sends
    them to the build (qa.reading.isolation); read in-process, a notice is logged."""
    _reporter[0](kind, message)


def set_reporter(reporter: Reporter) -> None:
    _reporter[0] = reporter


Block = tuple[str, int | None]  # words, and a heading's level (1 = top) or None for a paragraph


def from_blocks(blocks: list[Block], keep_lines: bool = False) -> Extracted:
    """Text from blocks in order: blank lines between them, each heading recorded with its span,
    whitespace folded; with `keep_lines`, a block's own line breaks stay (rows of a table, lines
    of a slide), so a long block is cut between them."""
    return _joined([blocks], paged=False, keep_lines=keep_lines)


def from_pages(pages: list[list[Block]], keep_lines: bool = False) -> Extracted:
    """As from_blocks, for a paged format: one list of blocks per page (a slide, a sheet), each
    page's start recorded, an empty page included, so page numbers stay physical."""
    return _joined(pages, paged=True, keep_lines=keep_lines)


def _joined(pages: list[list[Block]], paged: bool, keep_lines: bool) -> Extracted:
    parts: list[str] = []
    headings: list[Heading] = []
    page_starts: list[int] = []
    offset = 0
    for blocks in pages:
        page_starts.append(offset + 2 if parts else 0)
        for words, level in blocks:
            lines = words.splitlines() if keep_lines and level is None else [words]
            text = "\n".join(" ".join(line.split()) for line in lines if line.strip())
            if not text:
                continue
            if parts:
                offset += 2  # the blank line before this block
            if level is not None:
                headings.append(Heading(offset, offset + len(text), level, text))
            parts.append(text)
            offset += len(text)
    return Extracted("\n\n".join(parts), page_starts=tuple(page_starts) if paged else (),
                     headings=tuple(headings))


def _reader(module: str, function: str) -> Reader:
    """A reader whose module (and its library) is imported on first use: a folder of text files
    never loads a PDF or spreadsheet library."""

    def read(data: bytes) -> Extracted:
        import importlib

        return getattr(importlib.import_module(f"qa.reading.readers.{module}"), function)(data)

    return read


READERS: dict[str, Reader] = {
    ".txt": _reader("text", "read_text"),
    ".md": _reader("text", "read_markdown"), ".markdown": _reader("text", "read_markdown"),
    ".pdf": _reader("pdf", "read_pdf"),
    ".html": _reader("html", "read_html"), ".htm": _reader("html", "read_html"),
    ".docx": _reader("docx", "read_docx"),
    ".pptx": _reader("slides", "read_pptx"),
    ".xlsx": _reader("sheets", "read_xlsx"),
    ".csv": _reader("sheets", "read_csv"), ".tsv": _reader("sheets", "read_csv"),
    ".epub": _reader("ebook", "read_epub"),
    ".eml": _reader("mail", "read_eml"),
    ".odt": _reader("opendocument", "read_odt"),
    ".rtf": _reader("rtf", "read_rtf"),
    **{suffix: _reader("image", "read_image")
       for suffix in (".png", ".jpg", ".jpeg", ".tif", ".tiff")},
}

# Kinds of document by the suffixes that hold them, for people who ask by kind (`type:slides` in
# a search). Every suffix here is one READERS reads; a scan is an image (a scanned PDF is a PDF).
KINDS: dict[str, tuple[str, ...]] = {
    "text": (".txt", ".md", ".markdown"),
    "web": (".html", ".htm"),
    "slides": (".pptx",),
    "sheet": (".xlsx", ".csv", ".tsv"),
    "scan": (".png", ".jpg", ".jpeg", ".tif", ".tiff"),
    "mail": (".eml",),
    "ebook": (".epub",),
}
