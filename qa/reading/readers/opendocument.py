"""OpenDocument text (.odt): headings as sections, paragraphs and list items in order, tables
row by row. Read from the file's content.xml with the standard library's XML parser (it expands
no external entities and bounds entity expansion): odfpy, the Python ODF library, adds nothing
a reader of text needs."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator

from qa.reading.readers import Block, Extracted, UnreadableError, from_blocks
from qa.reading.readers.archive import checked_archive
from qa.reading.readers.tables import table_blocks

_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_HEADING, _PARAGRAPH = f"{{{_TEXT}}}h", f"{{{_TEXT}}}p"
_SPACE, _TAB, _LINE_BREAK = f"{{{_TEXT}}}s", f"{{{_TEXT}}}tab", f"{{{_TEXT}}}line-break"
_NOT_TEXT = {f"{{{_TEXT}}}note", f"{{{_OFFICE}}}annotation", f"{{{_TEXT}}}tracked-changes"}
_TABLE_ROW, _TABLE_CELL = f"{{{_TABLE}}}table-row", f"{{{_TABLE}}}table-cell"


def read_odt(data: bytes) -> Extracted:
    archive = checked_archive(data, ".odt document", "content.xml")
    try:
        root = ElementTree.fromstring(archive.read("content.xml"))
    except ElementTree.ParseError as error:
        raise UnreadableError(f"damaged document: content.xml is not XML ({error})") from error
    body = root.find(f"{{{_OFFICE}}}body/{{{_OFFICE}}}text")
    if body is None:
        raise UnreadableError("not an OpenDocument text (no office:text body)")
    blocks = list(_blocks(body))
    if not any(level is None and text.strip() for text, level in blocks):
        raise UnreadableError("no text in the document")
    return from_blocks(blocks, keep_lines=True)


def _blocks(element: ElementTree.Element) -> Iterator[Block]:
    for child in element:
        if child.tag == _HEADING:
            yield " ".join(_text(child).split()), int(child.get(f"{{{_TEXT}}}outline-level", "1"))
        elif child.tag == _PARAGRAPH:
            yield _text(child), None
        elif child.tag == f"{{{_TABLE}}}table":
            yield from table_blocks(_row_texts(child))
        elif child.tag not in _NOT_TEXT:
            yield from _blocks(child)  # lists, sections, frames: what they hold, in order


def _row_texts(table: ElementTree.Element) -> Iterator[list[str]]:
    for row in table.iter(_TABLE_ROW):
        cells: list[str] = []
        for cell in row.iter(_TABLE_CELL):
            text = " ".join(_text(paragraph) for paragraph in cell.iter(_PARAGRAPH))
            repeat = min(int(cell.get(f"{{{_TABLE}}}number-columns-repeated", "1")), 64)
            cells += [text] * repeat
        yield cells


def _text(element: ElementTree.Element) -> str:
    """A paragraph's characters: spans and links read through, <text:s/> as its spaces, tabs as
    spaces, line breaks as line breaks; footnotes and comments left out."""
    parts = [element.text or ""]
    for child in element:
        if child.tag == _SPACE:
            parts.append(" " * min(int(child.get(f"{{{_TEXT}}}c", "1")), 100))
        elif child.tag == _TAB:
            parts.append(" ")
        elif child.tag == _LINE_BREAK:
            parts.append("\n")
        elif child.tag not in _NOT_TEXT:
            parts.append(_text(child))
        parts.append(child.tail or "")
    return "".join(parts)
