"""Prose in the layouts papers and newsletters are set in (justified, two and three columns,
line numbers in the margins) reads as prose: every sentence intact, none made into a table row;
while a table that lines up still reads row by row. The same pages photographed and read by
OCR go through the same rules."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from documents import (
    A4,
    FOOTNOTE,
    MARGIN_NOTE,
    SEA_SENTENCES,
    alternating_headers_pdf,
    justified_columns_pdf,
    margin_notes_pdf,
    numbered_lines_pdf,
    sea_paragraphs,
    table_pdf,
)
from scans import encoded, scanned

from qa.reading.readers.image import read_image
from qa.reading.readers.pdf import read_pdf

A5 = (420.0, 595.0)
LETTER = (612.0, 792.0)
TABLE_ROW = re.compile(r"\w: [^.;]{1,40}; ")  # "Header: cell; Header: cell", as tables read


def intact(text: str) -> list[str]:
    """The sentences of SEA_SENTENCES that the text holds word for word (line breaks and a
    hyphen at a line's end forgiven)."""
    flat = " ".join(re.sub(r"(\w)-\n(\w)", r"\1\2", text).split())
    return [sentence for sentence in SEA_SENTENCES if sentence in flat]


@pytest.mark.parametrize(("columns", "pagesize"),
                         [(1, A4), (2, A4), (2, A5), (2, LETTER), (3, A4), (3, A5), (3, LETTER)])
def test_justified_prose_in_columns_reads_whole_and_never_as_a_table(
        columns: int, pagesize: tuple[float, float]) -> None:
    text = read_pdf(justified_columns_pdf(columns, pagesize)).text
    assert not TABLE_ROW.search(text) and "Column " not in text
    assert intact(text) == SEA_SENTENCES


@pytest.mark.parametrize("columns", [1, 2])
def test_line_numbers_in_the_margins_are_left_out(columns: int) -> None:
    text = read_pdf(numbered_lines_pdf(columns)).text
    assert not re.search(r"\d", text.replace("page 1", "").replace("page 2", "")), text[:300]
    assert intact(text) == SEA_SENTENCES


def test_a_table_beside_justified_prose_still_reads_row_by_row() -> None:
    text = read_pdf(table_pdf()).text
    assert "Depot: Harbour; City: Plymouth; Manager: C. Moreau; Opened: 1998." in text


@pytest.mark.slow  # takes long (OCR of a page)
@pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs Tesseract")
def test_justified_columns_read_by_ocr_make_no_table(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_OCR_CACHE", str(tmp_path / "ocr"))
    for columns, pagesize in ((2, A5), (3, A4)):
        photo = encoded(scanned(justified_columns_pdf(columns, pagesize), tilt=0.4, noise=8.0), "PNG")
        text = read_image(photo).text
        assert not TABLE_ROW.search(text) and "Column " not in text
        # OCR may misread a letter here and there; a page read across its columns keeps none.
        assert len(intact(text)) >= len(SEA_SENTENCES) - 3, text[:500]


def dated(sentences: list[str], first_year: int) -> list[str]:
    """The sentences each dated by a year of its own, counting up from `first_year`, so the
    order in which the years are read is the order in which the sentences were written."""
    return [f"In {first_year + n} {sentence[0].lower()}{sentence[1:]}"
            for n, sentence in enumerate(sentences)]


BODY = dated(SEA_SENTENCES * 14, 1801)  # more than a page holds: the columns run full height
ABSTRACT = " ".join(dated(SEA_SENTENCES[:5], 1701))


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs Tesseract")
@pytest.mark.parametrize(("page", "tilt"), [
    # Two columns with line numbers beside them and a gutter as narrow as LaTeX's.
    (lambda: numbered_lines_pdf(2, BODY, gutter=10, per_column=55), 1.3),
    # Three columns under an abstract across them.
    (lambda: justified_columns_pdf(3, A4, paragraphs=[" ".join(BODY[n:n + 5]) for n in
                                                      range(0, len(BODY), 5)],
                                   abstract=ABSTRACT), 1.4),
    # Two columns under an abstract on an A5 page, tilted the other way.
    (lambda: justified_columns_pdf(2, A5, paragraphs=[" ".join(BODY[n:n + 5]) for n in
                                                      range(0, len(BODY), 5)],
                                   abstract=ABSTRACT), -1.5),
], ids=["line-numbers", "three-columns-abstract", "a5-abstract"])
def test_a_tilted_scan_reads_column_after_column(page: Callable[[], bytes], tilt: float,
                                                 tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # Tilted, a column's edges slant over its height by more than a narrow gutter: read line
    # by line across the columns, one column's years would alternate with the next one's.
    monkeypatch.setenv("QA_OCR_CACHE", str(tmp_path / "ocr"))
    text = read_image(encoded(scanned(page(), tilt=tilt, noise=8.0), "PNG")).text
    years = [int(year) for year in re.findall(r"\bIn\s+(1[78]\d\d)\b", text)]
    assert years == sorted(set(years)), text[:1000]
    # OCR may misread a year here and there, not many; the page's last lines are read too.
    body = [year for year in years if year > 1800]
    assert len(body) >= 0.9 * (body[-1] - 1800) and body[-1] > 1830, years


@pytest.mark.parametrize("sentences", [5, 6, 7])  # pages that end with a sentence or inside one
def test_a_margin_note_stands_apart_and_breaks_no_sentence(sentences: int) -> None:
    text = read_pdf(margin_notes_pdf(sentences)).text
    flat = " ".join(re.sub(r"(\w)-\n(\w)", r"\1\2", text).split())
    source = " ".join(sea_paragraphs(sentences))
    # Every sentence as often as it was written: none cut by the note, across pages too.
    assert {s: flat.count(s) for s in SEA_SENTENCES} == {s: source.count(s) for s in SEA_SENTENCES}
    notes = [block for block in text.split("\n\n") if block.startswith(MARGIN_NOTE[0])]
    assert notes and all(" ".join(note.split()) == " ".join(MARGIN_NOTE) for note in notes)


# Sizes at which a column ends inside a sentence, and one at which it ends with one.
@pytest.mark.parametrize(("columns", "size"), [(1, 9), (2, 8.5), (2, 9), (3, 9.5)])
def test_a_footnote_at_a_column_foot_breaks_no_sentence(columns: int, size: float) -> None:
    text = read_pdf(justified_columns_pdf(columns, size=size, footnote=True)).text
    flat = " ".join(re.sub(r"(\w)-\n(\w)", r"\1\2", text).split())
    source = " ".join(sea_paragraphs(4))
    assert {s: flat.count(s) for s in SEA_SENTENCES} == {s: source.count(s) for s in SEA_SENTENCES}
    assert FOOTNOTE in flat


def test_running_headers_that_change_from_page_to_page_are_left_out() -> None:
    text = read_pdf(alternating_headers_pdf()).text
    assert "Harbour Through" not in text and "Chapter of" not in text
    flat = " ".join(re.sub(r"(\w)-\n(\w)", r"\1\2", text).split())
    source = " ".join(sea_paragraphs(6) * 2)
    assert {s: flat.count(s) for s in SEA_SENTENCES} == {s: source.count(s) for s in SEA_SENTENCES}


def test_a_large_title_atop_every_page_stays() -> None:
    text = read_pdf(alternating_headers_pdf(slides=True)).text
    assert text.count("Harbour facts, part") >= 3


def test_a_blank_page_between_pages_of_text_is_read_past() -> None:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    for text in (SEA_SENTENCES[0], None, SEA_SENTENCES[1]):
        if text:
            pdf.drawString(72, 700, text)
        pdf.showPage()
    pdf.save()
    text = read_pdf(buffer.getvalue()).text
    assert SEA_SENTENCES[0] in text and SEA_SENTENCES[1] in text
