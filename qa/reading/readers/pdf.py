"""PDF, through PDFium (qa.reading.readers.pdfium): a page's glyphs, with their boxes and sizes,
made into lines (and a page without a text layer read by OCR), which qa.reading.readers.layout
then reads as the author wrote them (columns, running lines, tables, paragraphs, hyphens). Pages
are physical pages, counted from 1.

pypdfium2 was chosen by measurement on ../shared/documents/squad-pdf (docs/benchmarks.md): it
reads about 100 pages a second where pypdf and pdfminer.six read 3, and its text kept more of the
evidence quotes intact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qa.reading.readers import Extracted, UnreadableError
from qa.reading.readers.layout import MIN_OCR_CHARACTERS, Line, lines_of_ocr, text_of_lines
from qa.reading.readers.pdfium import (
    LOCK,
    MIN_TEXT_CHARACTERS,
    needs_ocr,
    ocr_image,
    ocr_scale,
    opened,
    page_lines,
)


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
                         MIN_OCR_CHARACTERS if scanned and not ocr_off else MIN_TEXT_CHARACTERS)


def _read_lines(data: bytes) -> tuple[list[list[Line]], list[float], bool, bool]:
    """Each page's lines and width; whether some page needed OCR, and went without it."""
    import pypdfium2 as pdfium

    with opened(data) as document:
        try:
            pages, widths, scans = [], [], []
            with LOCK:  # let go before OCR: Tesseract's minutes must not hold up every view
                for number in range(len(document)):
                    page = document[number]
                    widths.append(float(page.get_width()))
                    pages.append(page_lines(page, number))
                    if needs_ocr(pages[-1], page):
                        scans.append(number)
            ocr_off = bool(scans) and not _ocr_pages(document, scans, pages)
            return pages, widths, bool(scans), ocr_off
        except pdfium.PdfiumError as error:
            raise UnreadableError(f"damaged PDF ({error})") from error


def _ocr_pages(document: Any, numbers: list[int], pages: list[list[Line]]) -> bool:
    """Replace those pages' lines by OCR's; False when OCR is off."""
    from qa.reading.readers.ocr import OcrSettings, recognise

    settings = OcrSettings.from_environment()
    if not settings.enabled:
        return False
    with LOCK:
        scales = {number: ocr_scale(document[number]) for number in numbers}

    def render(number: int) -> Callable[[], object]:
        def make() -> object:
            with LOCK:
                return ocr_image(document[number], scales[number])
        return make

    found = recognise([render(n) for n in numbers], settings, [f"page {n + 1}" for n in numbers])
    for number, ocr_page in zip(numbers, found, strict=True):
        pages[number] = lines_of_ocr(ocr_page, number, pixels_per_point=scales[number])
    return True
