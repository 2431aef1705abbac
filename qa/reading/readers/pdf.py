"""PDF, through PDFium (pypdfium2): a page's glyphs, with their boxes and sizes, made into lines
(and a page without a text layer read by OCR), which qa.reading.readers.layout then reads as the
author wrote them (columns, running lines, tables, paragraphs, hyphens). Pages are physical
pages, counted from 1. Pages of absurdly much text are refused before PDFium builds them.

pypdfium2 was chosen by measurement on ../shared/documents/squad-pdf (docs/benchmarks.md): it
reads about 100 pages a second where pypdf and pdfminer.six read 3, and its text kept more of the
evidence quotes intact.
"""

from __future__ import annotations

import functools
import math
import re
import statistics
from collections.abc import Callable
from typing import Any

from qa.reading.readers import Extracted, UnreadableError, well_formed_text
from qa.reading.readers.layout import MIN_OCR_CHARACTERS, Line, lines_of_ocr, text_of_lines
from qa.reading.readers.ocr import MAX_PIXELS

_MIN_TEXT_CHARACTERS = 20  # fewer letters than this in the whole file: no text layer
_MIN_OCR_DPI = 150  # a coarser scan is recognised at this resolution, enlarged
_GUTTER = 2.0  # a horizontal gap this many font sizes wide separates two columns
_CELL_GAP = 0.8  # font sizes: a space this wide inside a line may part two cells of a table
_RAISED = frozenset("“”‘’'\"`′″°*")  # marks set above the letters' baseline
_RAISED_DEPTH = 0.75  # font sizes: how far below a raised mark its line's letters may reach
_SOFT_HYPHENS = {"\u00ad"}  # a hyphenation point: always joined
_LINE_END_HYPHEN = "\x02"  # PDFium's mark for a hyphen that ends a line: decided by the layout
_UTF16_CHARACTER = re.compile("[\ud800-\udbff][\udc00-\udfff]|.", re.DOTALL)  # a pair, or one unit
# Bounds on one page, far above real pages (docs/benchmarks.md: at most 3,299 text objects and
# 7,116 characters on a page of ../shared/documents) and far below what exhausts a reader:
# PDFium's text page costs about 130 bytes a character, so a 30 KB file of 400,000 short lines
# needs 1.7 GB and a minute. A page over them is refused at once with the reason.
_MAX_PAGE_TEXT_OBJECTS = 100_000
_MAX_PAGE_CHARACTERS = 1_000_000


def read_pdf(data: bytes) -> Extracted:
    """The text of a PDF; pages without a text layer read by OCR (qa.reading.readers.ocr) when it is on;
    UnreadableError for encrypted, damaged or textless files."""
    pages, widths, scanned, ocr_off = _read_lines(data)
    reason = "no text layer (under 20 letters besides running headers)"
    if ocr_off:
        reason += ": scanned or images only? OCR is off (QA_OCR=off)"
    elif scanned:
        reason = "no text found, by its text layer or by OCR of its images"
    else:
        reason += ", and no image of text to read by OCR"
    return text_of_lines(pages, widths, reason,
                         MIN_OCR_CHARACTERS if scanned and not ocr_off else _MIN_TEXT_CHARACTERS)


def _read_lines(data: bytes) -> tuple[list[list[Line]], list[float], bool, bool]:
    """Each page's lines and width; whether some page needed OCR, and went without it."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        if "password" in str(error).lower():
            raise UnreadableError("encrypted (password-protected); qa cannot read it") from error
        # PDFium reports some parse failures with its "success" code: say what happened instead.
        reason = str(error).replace("(PDFium: Success)", "(no valid PDF structure found)")
        raise UnreadableError(f"not a readable PDF ({reason})") from error
    try:
        pages, widths, scans = [], [], []
        for number in range(len(document)):
            page = document[number]
            _check_text_objects(page, number)
            widths.append(float(page.get_width()))
            pages.append(_page_lines(page, number))
            if _needs_ocr(pages[-1], page):
                scans.append(number)
        ocr_off = bool(scans) and not _ocr_pages(document, scans, pages)
        return pages, widths, bool(scans), ocr_off
    except pdfium.PdfiumError as error:
        raise UnreadableError(f"damaged PDF ({error})") from error
    finally:
        document.close()


def _check_text_objects(page: object, number: int) -> None:
    """UnreadableError for a page with more than _MAX_PAGE_TEXT_OBJECTS text objects (those in
    forms counted too), found before PDFium builds its text page, the costly part."""
    import pypdfium2.raw as pdfium_c

    raw = page.raw  # type: ignore[attr-defined]
    count = 0
    containers: list[tuple[int, Callable[[int], Any]]] = [
        (pdfium_c.FPDFPage_CountObjects(raw), lambda index: pdfium_c.FPDFPage_GetObject(raw, index))]
    while containers:
        size, member = containers.pop()
        for index in range(size):
            item = member(index)
            kind = pdfium_c.FPDFPageObj_GetType(item)
            if kind == pdfium_c.FPDF_PAGEOBJ_TEXT:
                count += 1
                if count > _MAX_PAGE_TEXT_OBJECTS:  # stop counting: the page is refused anyway
                    raise UnreadableError(_page_too_large(number, "pieces of text",
                                                          _MAX_PAGE_TEXT_OBJECTS))
            elif kind == pdfium_c.FPDF_PAGEOBJ_FORM:
                containers.append((pdfium_c.FPDFFormObj_CountObjects(item),
                                   functools.partial(pdfium_c.FPDFFormObj_GetObject, item)))


def _page_too_large(number: int, what: str, limit: int) -> str:
    return (f"page {number + 1} holds over {limit:,} {what}, far more than any real page (a "
            "generated or hostile file?), so it is not read: it would cost gigabytes of memory")


def _needs_ocr(lines: list[Line], page: object) -> bool:
    """A page with (almost) no text layer that shows something: a scan, a photo of a page, or
    text drawn as outlines (some printers' PDFs). A blank page is left alone."""
    import pypdfium2.raw as pdfium_c

    if sum(c.isalnum() for line in lines for c in line.text) >= _MIN_TEXT_CHARACTERS:
        return False
    drawn = [pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_PATH]
    return any(True for _ in page.get_objects(filter=drawn, max_depth=3))  # type: ignore[attr-defined]


def _ocr_pages(document: object, numbers: list[int], pages: list[list[Line]]) -> bool:
    """Replace those pages' lines by OCR's; False when OCR is off."""
    from qa.reading.readers.ocr import OcrSettings, recognise

    settings = OcrSettings.from_environment()
    if not settings.enabled:
        return False
    scales = {number: ocr_scale(document[number]) for number in numbers}  # type: ignore[index]

    def render(number: int) -> Callable[[], object]:
        return lambda: ocr_image(document[number], scales[number])  # type: ignore[index]

    found = recognise([render(n) for n in numbers], settings, [f"page {n + 1}" for n in numbers])
    for number, ocr_page in zip(numbers, found, strict=True):
        pages[number] = lines_of_ocr(ocr_page, number, pixels_per_point=scales[number])
    return True


def ocr_scale(page: object) -> float:
    """Pixels per point at which a page is rendered for OCR: its resolution, lowered for a
    page so large that it would be over MAX_PIXELS (by a hundredth more: the rendered size is
    rounded up)."""
    width, height = (float(size) for size in page.get_size())  # type: ignore[attr-defined]
    return min(_ocr_dpi(page) / 72, 0.99 * math.sqrt(MAX_PIXELS / max(width * height, 1.0)))


def ocr_image(page: object, scale: float) -> Any:
    """The grey picture of a page that OCR reads (the viewer finds its words again by it)."""
    return page.render(scale=scale, grayscale=True).to_pil()  # type: ignore[attr-defined]


def _ocr_dpi(page: object) -> float:
    """The resolution to recognise a page at: its scanned image's own (rendering finer adds
    pixels, not detail: measured, a 200 dpi scan took twice as long at 300 dpi), at least
    _MIN_OCR_DPI; OCR_DPI for text drawn as outlines, which has no resolution of its own."""
    import pypdfium2.raw as pdfium_c

    from qa.reading.readers.ocr import OCR_DPI

    resolutions = []
    for image in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=3):  # type: ignore[attr-defined]
        left, _, right, _ = image.get_bounds()
        if right - left > 0.5 * float(page.get_width()):  # type: ignore[attr-defined]
            resolutions.append(image.get_px_size()[0] / ((right - left) / 72))
    return min(OCR_DPI, max(_MIN_OCR_DPI, max(resolutions))) if resolutions else OCR_DPI


def _page_lines(page: object, number: int) -> list[Line]:
    """The page's lines, in PDFium's order; a line ends at PDFium's line breaks or where the
    next glyph sits wholly below the line."""
    import pypdfium2.raw as pdfium_c

    textpage = page.get_textpage()  # type: ignore[attr-defined]
    if textpage.count_chars() > _MAX_PAGE_CHARACTERS:  # before a Python object per character
        textpage.close()
        raise UnreadableError(_page_too_large(number, "characters", _MAX_PAGE_CHARACTERS))
    lines: list[Line] = []
    glyphs: list[tuple[str, tuple[float, float, float, float], float]] = []
    line_bottom = float("inf")  # lowest inked glyph of the line so far
    line_top = float("-inf")  # highest
    line_right = float("-inf")  # right edge of its last inked glyph
    # Whether the line so far is only marks set above the letters (an opening quote): the
    # letters after it lie wholly below it, not on the next line.
    raised = True
    for index, character in text_characters(textpage):
        if character == _LINE_END_HYPHEN:
            character = "-"
        if character in "\r\n":
            _flush(glyphs, lines, number)
            line_bottom, line_top, line_right, raised = float("inf"), float("-inf"), float("-inf"), True
        elif not _inked(character):
            glyphs.append((character, (0.0, 0.0, 0.0, 0.0), 0.0))
        else:
            box = textpage.get_charbox(index)
            size = float(pdfium_c.FPDFText_GetFontSize(textpage.raw, index))
            # Below the line, wholly above it (the top of the next column, where PDFium ran
            # one column's last line into the next one's first), or past a gap wider than any
            # word space (a column gutter).
            lowest = line_bottom - _RAISED_DEPTH * size if raised else line_bottom
            if box[3] < lowest != float("inf") or box[1] > line_top != float("-inf") \
                    or box[0] - line_right > _GUTTER * size:
                _flush(glyphs, lines, number)
                line_bottom, line_top, raised = float("inf"), float("-inf"), True
            raised = raised and character in _RAISED
            line_bottom = min(line_bottom, box[1])
            line_top = max(line_top, box[3])
            line_right = box[2]
            glyphs.append((character, box, size))
    _flush(glyphs, lines, number)
    textpage.close()
    return lines


def text_characters(textpage: Any) -> list[tuple[int, str]]:
    """A PDFium text page's characters, each with its index there (for its box). PDFium
    counts UTF-16 code units: a character beyond U+FFFF (a math letter such as U+1D465) comes
    as a surrogate pair, here joined into one character at the first half's index; a lone half,
    or a code that is no character, is U+FFFD."""
    import pypdfium2.raw as pdfium_c

    codes = [pdfium_c.FPDFText_GetUnicode(textpage.raw, index)
             for index in range(textpage.count_chars())]
    units = "".join([chr(code) if code < 0x110000 else "\ufffd" for code in codes])
    if well_formed_text(units) is units:  # no surrogate: one character for each unit
        return list(enumerate(units))
    return [(match.start(), well_formed_text(match.group()))
            for match in _UTF16_CHARACTER.finditer(units)]


def _inked(character: str) -> bool:
    return not character.isspace() and character not in _SOFT_HYPHENS


def _flush(glyphs: list[tuple[str, tuple[float, float, float, float], float]], lines: list[Line],
           page: int) -> None:
    inked = [(box, size) for character, box, size in glyphs if _inked(character)]
    text = " ".join("".join("\u00ad" if c in _SOFT_HYPHENS else c for c, _, _ in glyphs).split())
    if not inked or not text:
        glyphs.clear()
        return
    size = statistics.median(size for _, size in inked)
    pieces = _pieces(glyphs, size)
    glyphs.clear()
    lines.append(Line(text, min(b[0] for b, _ in inked), max(b[2] for b, _ in inked),
                      max(b[3] for b, _ in inked), min(b[1] for b, _ in inked), size, page,
                      pieces=pieces))


def _pieces(glyphs: list[tuple[str, tuple[float, float, float, float], float]], size: float
            ) -> tuple[tuple[str, float, float], ...]:
    """A line cut where the space between two glyphs is wider than _CELL_GAP font sizes, or
    where the next glyph stands that far left of the last one (PDFium reads a margin note's
    line before the line of text level with it)."""
    pieces: list[tuple[str, float, float]] = []
    characters: list[str] = []
    left = right = last_left = None
    for character, box, _ in glyphs:
        if _inked(character):
            if right is not None and last_left is not None and (
                    box[0] - right > _CELL_GAP * size or last_left - box[2] > _CELL_GAP * size):
                pieces.append((" ".join("".join(characters).split()), left or 0.0, right))
                characters, left = [], None
            left = box[0] if left is None else left
            right, last_left = box[2], box[0]
        characters.append(character)
    if len(pieces) == 0 or right is None:
        return ()
    return (*pieces, (" ".join("".join(characters).split()), left or 0.0, right))
