"""Word documents (.docx) through python-docx (MIT): paragraphs and headings in document order,
tables read row by row. The archive is checked first (qa.reading.readers.archive)."""

from __future__ import annotations

import io
import re
import zipfile

from qa.reading.readers import Extracted, UnreadableError, from_blocks
from qa.reading.readers.archive import checked_archive

_HEADING_STYLE = re.compile(r"^Heading (\d)$")


def read_docx(data: bytes) -> Extracted:
    """The document's text; UnreadableError for anything that is not a sound .docx."""
    checked_archive(data, ".docx", "word/document.xml")
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except (KeyError, ValueError, zipfile.BadZipFile) as error:
        raise UnreadableError(f"not a readable Word document ({error})") from error
    style_names = _paragraph_style_names(document)
    blocks: list[tuple[str, int | None]] = []
    for part in document.iter_inner_content():
        if isinstance(part, Table):
            for row in part.rows:
                blocks.append((" | ".join(_unique(cell.text for cell in row.cells)), None))
        else:
            blocks.append((part.text, _heading_level(style_names.get(part._p.style or "", ""))))
    extracted = from_blocks(blocks)
    if not extracted.text.strip():
        raise UnreadableError("no text in the document")
    return extracted


def _paragraph_style_names(document: object) -> dict[str, str]:
    """Style id to style name, read once: python-docx's `paragraph.style` scans every style of
    the document for each paragraph, which a file with thousands of styles makes quadratic."""
    from docx.oxml.ns import qn
    from docx.styles import BabelFish  # Word stores "heading 1"; python-docx shows "Heading 1"

    styles = document.styles.element  # type: ignore[attr-defined]
    names: dict[str, str] = {}
    for style in styles.iterchildren(qn("w:style")):
        name = style.find(qn("w:name"))
        if name is not None:
            names[style.get(qn("w:styleId"), "")] = BabelFish.internal2ui(name.get(qn("w:val"), ""))
    return names


def _heading_level(style: str) -> int | None:
    if style == "Title":
        return 1
    match = _HEADING_STYLE.match(style)
    return int(match.group(1)) + 1 if match else None  # "Heading 1" sits under the title


def _unique(cells: object) -> list[str]:
    """Cell texts of a row; a merged cell repeats in python-docx and is kept once."""
    seen: list[str] = []
    for text in cells:  # type: ignore[attr-defined]
        if not seen or text != seen[-1]:
            seen.append(text)
    return seen
