"""Slide decks (.pptx) through python-pptx (MIT): one page per slide, the slide's title its
section, every text box, table and group in reading order (top to bottom, left to right), and
the speaker notes after the slide's own text."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from qa.reading.readers import Block, Extracted, UnreadableError, from_pages
from qa.reading.readers.archive import checked_archive
from qa.reading.readers.tables import table_blocks


def read_pptx(data: bytes) -> Extracted:
    checked_archive(data, ".pptx deck", "ppt/presentation.xml")
    import pptx
    from pptx.exc import PythonPptxError

    try:
        deck = pptx.Presentation(io.BytesIO(data))
    except (KeyError, ValueError, SyntaxError, zipfile.BadZipFile, PythonPptxError) as error:
        raise UnreadableError(f"not a readable slide deck ({error})") from error
    pages = [_slide_blocks(slide, number) for number, slide in enumerate(deck.slides, start=1)]
    extracted = from_pages(pages, keep_lines=True)
    if not any(level is None for page in pages for _, level in page):
        raise UnreadableError("no text on any slide")
    return extracted


def _slide_blocks(slide: Any, number: int) -> list[Block]:
    title_shape = slide.shapes.title
    title = title_shape.text_frame.text.strip() if title_shape is not None else ""
    # A slide without a title still starts a section, or it would show the one before's.
    blocks: list[Block] = [(title or f"Slide {number}", 1)]
    for shape in _reading_order(slide.shapes):
        if title_shape is None or shape.shape_id != title_shape.shape_id:
            blocks += _shape_blocks(shape)
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        blocks.append((slide.notes_slide.notes_text_frame.text, None))
    return blocks


def _reading_order(shapes: Any) -> list[Any]:
    return sorted(shapes, key=lambda shape: (shape.top or 0, shape.left or 0))


def _shape_blocks(shape: Any) -> list[Block]:
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
        return [block for inner in _reading_order(shape.shapes) for block in _shape_blocks(inner)]
    if getattr(shape, "has_table", False) and shape.has_table:
        return table_blocks([cell.text for cell in row.cells] for row in shape.table.rows)
    if shape.has_text_frame:
        return [("\n".join(paragraph.text for paragraph in shape.text_frame.paragraphs), None)]
    return []
