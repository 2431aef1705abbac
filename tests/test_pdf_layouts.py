"""Prose in the layouts papers and newsletters are set in (justified, two and three columns,
line numbers in the margins) reads as prose: every sentence intact, none made into a table row;
while a table that lines up still reads row by row. The same pages photographed and read by
OCR go through the same rules."""

from __future__ import annotations

import dataclasses
import difflib
import io
import re
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from documents import (
    A4,
    FOOTNOTE,
    MARGIN_NOTE,
    SEA_SENTENCES,
    alternating_headers_pdf,
    column_lines,
    drawn_pdf,
    justified_columns_pdf,
    margin_notes_pdf,
    numbered_lines_pdf,
    sea_paragraphs,
    table_pdf,
)
from reportlab.pdfbase.pdfmetrics import stringWidth
from scans import encoded, scanned

from qa.reading.readers import Extracted
from qa.reading.readers.image import read_image
from qa.reading.readers.layout import lines_of_ocr, text_of_lines
from qa.reading.readers.ocr import OcrLine, OcrPage, OcrWord
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


def flat(text: str) -> str:
    """The text's words in one line, a hyphen at a line's end joined as the reader decided."""
    return " ".join(text.split())


def test_a_margin_note_read_before_the_line_level_with_it_stays_apart() -> None:
    """LaTeX writes a margin note after the line of text it stands beside; its second line, in
    smaller type, stands a little higher than the next line of text, which comes after it in
    the file: PDFium reads them as one line, the note's first."""
    body = column_lines(" ".join(SEA_SENTENCES[:8]), 72, 760, 340)
    note = [("Dates as given", 430, body[3][2], 9.0, 0.0), ("in the article.", 430, body[3][2] - 9, 9.0, 0.0)]
    text = read_pdf(drawn_pdf([[*body[:4], *note, *body[4:]]])).text
    assert flat(" ".join(SEA_SENTENCES[:8])) in flat(text), text
    assert "Dates as given in the article." in [flat(block) for block in text.split("\n\n")]


# Three balanced columns as multicol ends an article: the last column holds two lines, and a
# line of few words is stretched to the column's width, PDFium cutting it at the wide space.
THREE_COLUMNS = [
    ["The harbour master opened the", "sluice gates before dawn on the",
     "first day of spring and counted", ("sources.", "With the harbour"),
     "open the fishermen brought their", "catch to the market every week"],
    ["and the merchants paid their dues", "at the customs house by the quay",
     "where the clerks wrote every sale", "into ledgers kept for the council",
     "which met on the first Monday of", "each month in the old town hall"],
    ["which read the ledgers and accounts to", "the mayor."],
]


def test_a_short_last_column_and_a_stretched_line_read_in_order() -> None:
    lines = [("Harbour Accounts of the Year", 40, 800, 16.0, 0.0)]
    for number, column in enumerate(THREE_COLUMNS):
        x = 40 + number * 172
        for row, text in enumerate(column):
            y = 770 - row * 12
            if isinstance(text, tuple):
                left, right = text
                lines += [(left, x, y, 10.0, 0.0),
                          (right, x + 160 - stringWidth(right, "Times-Roman", 10), y, 10.0, 0.0)]
            else:
                lines.append((text, x, y, 10.0, 160.0 if column[-1] != text else 0.0))
    text = read_pdf(drawn_pdf([lines])).text
    expected = " ".join(" ".join(line) if isinstance(line, tuple) else line
                        for column in THREE_COLUMNS for line in column)
    assert expected in [flat(block) for block in text.split("\n\n")], text


HARBOUR_ROWS = ["The harbour master opened the sluice gates before dawn",
                "on the first day of spring in the year of the flood.",
                "Fishermen from the northern villages brought their",
                "catch to the market every Tuesday of the year."]


def test_a_title_across_two_columns_makes_no_paragraph_of_every_sentence_end() -> None:
    """A line that ends a sentence at its column's edge goes on with the paragraph: the title's
    lines across both columns do not make the column wider than it is."""
    lines = [("Harbour Records", 250, 800, 18.0, 0.0),
             ("Compiled for the archive of the town council and its harbour board", 160, 780, 10.0, 0.0)]
    for number, rows in enumerate((HARBOUR_ROWS, HARBOUR_ROWS[::-1])):
        lines += [(row, 50 + number * 255, 750 - line * 12, 10.0, 240.0 if line < 3 else 0.0)
                  for line, row in enumerate(rows)]
    text = read_pdf(drawn_pdf([lines])).text
    blocks = [flat(block) for block in text.split("\n\n")]
    assert " ".join(HARBOUR_ROWS) in blocks and " ".join(HARBOUR_ROWS[::-1]) in blocks, blocks


def test_a_last_line_without_ascenders_stays_in_its_paragraph() -> None:
    """More white above "ones or more." than between other lines: it has no ascenders, and the
    line above it no descenders. Only one of the steps between the lines grows."""
    rows = ["Fishermen brought their catch to the quay every Tuesday, and",
            "buyers came from inland towns by cart and by boat, paying in",
            "the old harbour wall in the south of the town and", "ones or more."]
    lines = [(row, 72, 760 - number * 12, 10.0, 300.0 if number < 2 else 0.0)
             for number, row in enumerate(rows)]
    lines += column_lines(" ".join(SEA_SENTENCES[:3]), 72, 700, 300)
    text = read_pdf(drawn_pdf([lines])).text
    assert " ".join(rows) in [flat(block) for block in text.split("\n\n")], text


def test_a_caption_at_the_head_of_a_column_breaks_no_sentence() -> None:
    """A figure floated to the top of the second column, its label and caption in smaller type,
    while a sentence runs on from the foot of the first column to below the caption."""
    source = " ".join(SEA_SENTENCES)
    words = column_lines(source, 50, 780, 240)
    split = len(words) // 2 + 1
    second = [(text, 305, y - 60 - (780 - words[split][2]), size, width)
              for text, _, y, size, width in words[split:]]
    lines = [*words[:split], ("[illustration]", 400, 780, 8.0, 0.0),
             ("Fig. 1. The old pier before the storm.", 350, 740, 8.0, 0.0), *second]
    text = read_pdf(drawn_pdf([lines])).text
    assert source in flat(text), text
    assert "Fig. 1. The old pier before the storm." in flat(text)


def test_a_word_broken_at_a_line_end_is_joined_and_a_compound_kept() -> None:
    """Harthac-nut and polynomi-ally are one word each (one piece of each is no word); a
    compound's parts are words, in the word list, written whole by the document (tech) or a
    prefix (multi); a compound of three parts breaks at its own hyphens (Île-de-France)."""
    rows = ["The tech firms of the town were led by Harthac-", "nut, who sold software that ran polynomi-",
            "ally fast, and by a rival who built tech-", "oriented schools for the young of Île-",
            "de-France, run by a multi-", "member board."]
    lines = [(row, 72, 760 - number * 12, 10.0, 0.0) for number, row in enumerate(rows)]
    text = flat(read_pdf(drawn_pdf([lines])).text)
    assert "led by Harthacnut, who" in text and "ran polynomially fast" in text, text
    assert "built tech-oriented schools" in text and "young of Île-de-France," in text, text
    assert "a multi-member board." in text, text


def test_a_line_that_opens_with_a_raised_quote_reads_whole() -> None:
    """In some fonts an opening quote stands wholly above the small letters after it (set a
    point and a half higher here): the letters still belong to its line."""
    quote_width = stringWidth("“", "Times-Roman", 10)
    lines = [("The council agreed to rename the old quay after an unspecified", 72, 760, 10.0, 0.0),
             ("“", 72, 749.5, 10.0, 0.0),
             ("reasonable period” of time, and the harbour board agreed.", 72 + quote_width, 748, 10.0, 0.0)]
    text = flat(read_pdf(drawn_pdf([lines])).text)
    assert "an unspecified “reasonable period” of time" in text, text


def stamped_columns_pdf(stamp: str) -> bytes:
    """A two-column page under a full-width title and a line of authors, with `stamp` set up
    the left margin, turned a quarter (as archives stamp a preprint's first page)."""
    paragraphs = sea_paragraphs(3)
    lines = [("The Harbour Through the Years", 150, 800, 16.0, 0.0),
             ("A. Author, B. Author and C. Author, Harbour Museum and Town Archive", 120, 780,
              11.0, 0.0)]
    for number, start in enumerate((0, 3)):
        top = 750.0
        for paragraph in paragraphs[start:start + 3]:
            drawn = column_lines(paragraph, 60 + number * 250, top, 225)
            lines += drawn
            top -= 12 * len(drawn) + 6

    def up_the_margin(pdf) -> None:  # type: ignore[no-untyped-def]
        pdf.saveState()
        pdf.translate(30, 250)
        pdf.rotate(90)
        pdf.setFont("Times-Roman", 18)
        pdf.drawString(0, 0, stamp)
        pdf.restoreState()

    return drawn_pdf([lines], also=up_the_margin)


def test_a_stamp_up_the_margin_stands_apart_and_the_columns_read_in_turn() -> None:
    """Each letter of turned text is a line of its own to the layout: a stamp of forty of
    them beside two columns outnumbered the columns' lines and hid the gutter, and the
    columns were read line by line across."""
    stamp = "Preprint 2004.04906 version 3, filed 30 September 2020"
    text = read_pdf(stamped_columns_pdf(stamp)).text
    paragraphs = sea_paragraphs(3)
    body = flat(text)
    assert all(flat(paragraph) in body for paragraph in paragraphs[:6]), text[:600]
    assert text.rstrip().endswith(stamp), text[-200:]


def unit_font_pdf(paragraphs: list[str], size: float = 10.0) -> bytes:
    """Paragraphs set as Word and many report writers set them: every font at one point
    (`1 Tf`), scaled to its size by the text matrix."""
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    y = 780.0
    for paragraph in paragraphs:
        for text in simpleSplit(paragraph, "Times-Roman", size, 460):
            line = pdf.beginText()
            line.setTextTransform(size, 0, 0, size, 60, y)
            line.setFont("Times-Roman", 1)
            line.textOut(text)
            pdf.drawText(line)
            y -= size * 1.25
        y -= size
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def test_a_font_set_at_one_point_and_scaled_reads_in_lines_not_words() -> None:
    """PDFium gives such a font's size as 1, and every word space looked like a gutter: each
    word became a line of its own."""
    paragraphs = sea_paragraphs(3)[:4]
    text = read_pdf(unit_font_pdf(paragraphs)).text
    blocks = [flat(block) for block in text.split("\n\n")]
    assert blocks == [flat(paragraph) for paragraph in paragraphs], text[:400]
    assert max(len(line.split()) for line in text.splitlines()) >= 8, text[:400]


def test_an_inset_abstract_reads_as_one_paragraph() -> None:
    """An abstract set in from both edges of its column: every line of it stands in from the
    column's edge, which is no paragraph's indent when the line above stands in as far."""
    abstract = " ".join(SEA_SENTENCES[:5])
    lines = [*column_lines(abstract, 80, 760, 190), ("1 Introduction", 60, 640, 12.0, 0.0)]
    lines += column_lines(" ".join(SEA_SENTENCES[5:10]), 60, 620, 230)
    lines += column_lines(" ".join(SEA_SENTENCES[10:16]), 310, 760, 230)
    text = read_pdf(drawn_pdf([lines])).text
    blocks = [flat(block) for block in text.split("\n\n")]
    assert flat(abstract) in blocks, blocks[:4]


def test_a_paragraph_runs_on_past_a_table_at_the_head_of_the_next_page() -> None:
    """The next page opens with floats (a table set across the top, its caption in small type,
    a figure's label): the word broken at the foot of the page before joins the prose after
    them, not the table's first row."""
    first = column_lines(" ".join(SEA_SENTENCES[:6]), 60, 760, 460)
    first[-1] = (first[-1][0] + " The pier was con-", *first[-1][1:])
    table = [("Year", 60, 780, 10.0, 0.0), ("Catch", 200, 780, 10.0, 0.0),
             ("Boats", 340, 780, 10.0, 0.0), ("Crews", 480, 780, 10.0, 0.0)]
    for row, year in enumerate(("1890", "1900", "1910")):
        table += [(year, 60, 766 - row * 12, 10.0, 0.0), (str(400 + row), 200, 766 - row * 12, 10.0, 0.0),
                  (str(20 + row), 340, 766 - row * 12, 10.0, 0.0),
                  (str(90 + row), 480, 766 - row * 12, 10.0, 0.0)]
    caption = ("Table 1. Catches and boats of the harbour by decade.", 60, 718, 8.0, 0.0)
    second = [*table, caption, ("Crews Boats", 60, 706, 10.0, 0.0),
              *column_lines("structed in stone. " + " ".join(SEA_SENTENCES[6:10]), 60, 690, 460)]
    text = read_pdf(drawn_pdf([first, second])).text
    assert "The pier was constructed in stone." in flat(text), text
    assert "Year: 1900; Catch: 401; Boats: 21; Crews: 91." in text, text


def ocr_line(text: str, x: int, baseline: int, size: float) -> OcrLine:
    """A line as Tesseract reports it, at one pixel a point: its words' boxes as tall as their
    letters reach (a capital or an l rises to the size's 0.7 above the baseline, a g falls to
    its 0.25 below it, an x stands half the size high) and the size OCR measured, `size`."""
    words, left = [], x
    for word in text.split():
        tall, low = re.search(r"[A-Zbdfhkl]", word), re.search(r"[gjpqy]", word)
        top = baseline - round(9.2 * (0.7 if tall else 0.45))
        bottom = baseline + (round(9.2 * 0.25) if low else 0)
        words.append(OcrWord(word, left, top, left + 5 * len(word), bottom, 90.0))
        left += 5 * len(word) + 3
    return OcrLine(size, tuple(words))


def ocr_text(lines: list[OcrLine]) -> Extracted:
    return text_of_lines([lines_of_ocr(OcrPage(600, 800, tuple(lines)), 0, 1.0)], [600.0], "")


PARAGRAPH_ROWS = ["The harbour master brought the boats in daily before dawn on",
                  "the first bright day of spring, and kindly fishermen from the north-",
                  "ern villages brought their lengthy catch to the big market every",
                  "week in summer; a storm in the autumn of that year broke",
                  "the old wooden pier into eight pieces. The council duly voted",
                  "to rebuild the pier in stone and to widen the deep channel."]


def test_a_paragraph_that_ocr_measures_unevenly_stays_one_paragraph() -> None:
    """Tesseract fits each line's letter height to the letters it holds: lines of one type come
    out 8.7 or 9.3 points (8.5 and 9.5 rounded alone, another size), now and then far smaller
    (7.4 for a line whose ink stands as tall as the others'). A heading and a footnote in other
    types stay apart."""
    sizes = [9.3, 8.7, 9.3, 7.4, 9.2, 8.7]
    lines = [ocr_line("Harbour Records", 40, 60, 13.5)]
    lines += [ocr_line(row, 40, 100 + 12 * number, size)
              for number, (row, size) in enumerate(zip(PARAGRAPH_ROWS, sizes, strict=True))]
    lines.append(ocr_line("a few small notes", 40, 400, 6.0))
    read = ocr_text(lines)
    blocks = [flat(block) for block in read.text.split("\n\n")]
    assert blocks[1] == flat(" ".join(PARAGRAPH_ROWS)).replace("north- ern", "northern"), blocks
    assert blocks[0] == "Harbour Records" and [h.text for h in read.headings] == ["Harbour Records"]
    assert blocks[2:] == ["a few small notes"]


def test_a_word_ocr_takes_out_of_its_line_goes_back_in_place() -> None:
    """Tesseract now and then reports a word of a line as a line of its own, after the line:
    both stand level, the word within the line's width."""
    line = ocr_line("The agreements include fixed annual carriage fees of thirty", 40, 100, 9.2)
    missing = ocr_line("the channels with both channel suppliers able to secure", 40, 112, 9.2)
    word = missing.words[1]
    rest = OcrLine(9.2, (missing.words[0], *missing.words[2:]))
    read = ocr_text([line, rest, OcrLine(9.2, (word,)),
                     ocr_line("additional payments if their channels meet targets.", 40, 124, 9.2)])
    assert "fees of thirty the channels with both channel suppliers able" in flat(read.text), read.text


def test_a_heading_set_out_into_the_margin_makes_no_line_below_it_indented() -> None:
    """The text's own lines give its column's edges: a heading set a little to the left of
    the text would make every line of it look indented, each a paragraph of its own."""
    source = " ".join(SEA_SENTENCES[:6])
    lines = [("Harbour Records", 30, 790, 14.0, 0.0), *column_lines(source, 42, 760, 300, 9.0, 11.0)]
    text = read_pdf(drawn_pdf([lines])).text
    assert [flat(block) for block in text.split("\n\n")] == ["Harbour Records", source], text


def test_the_last_line_of_an_abstract_set_in_from_the_columns_stays_in_it() -> None:
    """An abstract across two columns, set in from their edges, in the text's type: its short
    last line stands over the first column, but is no paragraph of that column."""
    abstract = " ".join(SEA_SENTENCES[:4])
    lines = column_lines(abstract, 80, 780, 435)
    assert lines[-1][1] + stringWidth(lines[-1][0], "Times-Roman", 10) < 290  # over column one
    columns = column_lines(" ".join(SEA_SENTENCES[4:12]), 50, 780 - 12 * len(lines) - 20, 240)
    half = len(columns) // 2
    lines += columns[:half] + [(text, 305, y + 12 * half, size, width)
                               for text, _, y, size, width in columns[half:]]
    text = read_pdf(drawn_pdf([lines])).text
    assert abstract in [flat(block) for block in text.split("\n\n")], text


def test_a_lone_mark_at_the_page_foot_breaks_no_sentence() -> None:
    """A page number OCR misreads ("5" as "wo") is no number, but a mark of a few characters
    alone at the foot of the page, under the middle column of three: no words of the text."""
    source = " ".join(SEA_SENTENCES[:9])
    rows = column_lines(source, 40, 780, 160)
    third = -(-len(rows) // 3)
    lines = [(text, 40 + 180 * (number // third), 780 - 12 * (number % third), size, width)
             for number, (text, _, _, size, width) in enumerate(rows)]
    lines.append(("wo", 290, 780 - 12 * third - 40, 10.0, 0.0))
    text = read_pdf(drawn_pdf([lines])).text
    assert source in flat(text) and "wo" not in text.split(), text


def first_page(pdf: bytes) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.add_page(PdfReader(io.BytesIO(pdf)).pages[0])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.slow  # takes long (OCR of a page)
@pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs Tesseract")
@pytest.mark.parametrize(("columns", "pagesize", "tilt"), [
    (2, A4, 0.8), (3, LETTER, -0.5), (2, A5, 1.3), (3, A4, -1.2), (2, LETTER, 0.4)])
def test_a_scan_of_justified_columns_has_the_paragraphs_of_its_text_layer(
        columns: int, pagesize: tuple[float, float], tilt: float, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Scanned (tilted, noisy, JPEG), a page of justified columns under a title set a little
    out from them is read in the paragraphs its text layer has: OCR's uneven letter heights
    and the title's edge make no paragraph of a line."""
    monkeypatch.setenv("QA_OCR_CACHE", str(tmp_path / "ocr"))
    page = first_page(justified_columns_pdf(columns, pagesize))
    photo = encoded(scanned(page, tilt=tilt, noise=12.0), "JPEG", 50)

    def openings(text: str) -> list[str]:  # OCR may misread a word; the first two rarely both
        return [" ".join(block.split()[:2]) for block in text.split("\n\n")]

    assert openings(read_image(photo).text) == openings(read_pdf(page).text)


def test_a_running_header_misread_and_shifted_from_page_to_page_is_left_out() -> None:
    """On scans the running header stands a few points higher or lower on each page (the
    page lay askew on the glass) and OCR misreads a letter of it here and there: still the
    same header, set apart above the text in smaller type."""
    headers = ["WRC ’16, June 2016, Online", "WRC “16, June 2016, 0nline", "WRC ‘16, Jime 2016, Online",
               "WRC 116, June 2016, Online"]
    rows = column_lines(" ".join(SEA_SENTENCES * 2), 72, 0, 420)
    per_page = -(-len(rows) // len(headers))
    pages = []
    for number, (header, shift) in enumerate(zip(headers, [0, 5, -3, 6], strict=True)):
        body = rows[number * per_page:(number + 1) * per_page]
        pages.append([(header, 72, 800 + shift, 7.0, 0.0),
                      *[(text, x, 770 + shift - 12 * row, size, width)
                        for row, (text, x, _, size, width) in enumerate(body)]])
    text = read_pdf(drawn_pdf(pages)).text
    assert "WRC" not in text and "June" not in text, text[:300]
    assert " ".join(SEA_SENTENCES * 2) == flat(re.sub(r"(\w)-\n(\w)", r"\1\2", text)), text


NOTE = "1 This account follows the records of the town as they were kept in 1920."


def footnoted_page(size: float, pagesize: tuple[float, float], rule: bool,
                   per_column: int) -> tuple[bytes, str]:
    """Two justified columns in `size` point type, `per_column` lines in the first, with a
    footnote two points smaller at its foot (over a short rule, as LaTeX sets it, or none);
    and the words where the first column ends and the second goes on."""
    width = (pagesize[0] - 2 * 56 - 24) / 2
    rows = column_lines(" ".join(SEA_SENTENCES * 3), 56, 0, width, size, 1.2 * size)
    top = pagesize[1] - 80
    lines = [(text, 56 + (n // per_column) * (width + 24), top - (n % per_column) * 1.2 * size,
              line_size, line_width)
             for n, (text, _, _, line_size, line_width) in enumerate(rows[:2 * per_column])]
    foot = top - per_column * 1.2 * size - 2 * size
    lines.append((NOTE, 56, foot, size - 2, 0.0))

    def footnote_rule(canvas: Any) -> None:
        if rule:
            canvas.setLineWidth(0.4)
            canvas.line(56, foot + 1.3 * size, 56 + 0.4 * width, foot + 1.3 * size)

    joint = rows[per_column - 1][0].split()[-3:] + rows[per_column][0].split()[:3]
    return drawn_pdf([lines], pagesize, also=footnote_rule), " ".join(joint)


@pytest.mark.slow  # takes long (OCR of a page)
@pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs Tesseract")
@pytest.mark.parametrize(("size", "pagesize", "rule", "per_column", "tilt"), [
    (9.0, A4, True, 40, 1.2), (9.0, A4, False, 40, -1.4), (10.0, LETTER, True, 30, 0.6),
    (9.0, A5, True, 25, -0.8)])
def test_a_scanned_footnote_that_ocr_measures_near_the_text_size_breaks_no_sentence(
        size: float, pagesize: tuple[float, float], rule: bool, per_column: int, tilt: float,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tesseract measures the letters of a footnote two points under the text within a tenth
    of the text's size, taller than its words' ink stands: it is still a footnote, read after
    the page's text, and the sentence the first column ends inside reads on in the next one."""
    monkeypatch.setenv("QA_OCR_CACHE", str(tmp_path / "ocr"))
    page, joint = footnoted_page(size, pagesize, rule, per_column)
    photo = encoded(scanned(page, tilt=tilt, noise=12.0), "JPEG", 50)
    *body, note = [flat(block) for block in read_image(photo).text.split("\n\n")]
    # OCR may misread a letter of the note ("I" for its "1"); not where the note stands.
    assert "account follows the records of the town" in note, note
    assert any(joint in block for block in body), (joint, body)


def joined(*lines: OcrLine) -> OcrLine:
    """Lines side by side as Tesseract reports them when the gutter between them is narrow:
    one line of all their words."""
    return OcrLine(lines[0].size, tuple(word for line in lines for word in line.words))


def test_a_short_last_page_whose_columns_ocr_joins_reads_column_by_column() -> None:
    """A page of a few lines in two justified columns, which Tesseract reads as lines across
    both: too few lines to find the gutter unless each is cut where the other lines' column
    edges stand, a paragraph's short last line ("the schools.") too."""
    left = justified(["suspended after the season, with a second team",
                      "scheduled to return in 2018.", "College sports are also popular here. The",
                      "Bruins and the Trojans both field teams"], 40, 250, 100, 9.2)
    right = justified(["in the Pac-12 Conference; there is a rivalry between", "the schools.",
                       "Rugby is also a growing sport in the south,",
                       "particularly at the high schools, with",
                       "rugby as an official school sport."], 320, 250, 100, 9.2)
    rows = [*(joined(*pair) for pair in zip(left, right, strict=False)), right[-1]]
    text = flat(ocr_text(rows).text)
    assert "with a second team scheduled to return in 2018." in text, text
    assert "there is a rivalry between the schools." in text, text
    assert "field teams in the Pac-12 Conference" in text, text


def justified(rows: list[str], x: int, width: int, top: int, size: float) -> list[OcrLine]:
    """A column's lines as OCR reports justified text: each line that ends no paragraph (in
    a full stop) stretched to the column's width, its spaces wide and, as OCR's word boxes
    leave them, unequal."""
    lines = []
    for number, row in enumerate(rows):
        line = ocr_line(row, x, top + 12 * number, size)
        if not row.endswith(".") and len(line.words) > 1:
            last = len(line.words) - 1
            spare = width - (line.words[-1].right - x)
            shifts = [spare if index == last else spare * index // last + 3 * (index % 2)
                      for index in range(len(line.words))]
            line = OcrLine(size, tuple(dataclasses.replace(word, left=word.left + shift,
                                                           right=word.right + shift)
                                       for word, shift in zip(line.words, shifts, strict=True)))
        lines.append(line)
    return lines


def test_the_wide_spaces_of_narrow_justified_columns_cut_no_scanned_line_into_cells() -> None:
    """Three narrow justified columns, scanned: their stretched spaces are wider than a table's
    cell gap and, measured on OCR's word boxes, unequal; one row Tesseract reads across the
    columns. The columns read one after the other, sentences whole, and no row of a table."""
    columns = [" ".join(SEA_SENTENCES[start:start + 3]) for start in (0, 3, 6)]
    lines = [justified(textwrap.wrap(text, 30), 40 + 190 * number, 150, 100, 9.2)
             for number, text in enumerate(columns)]
    rows = [joined(*(column[2] for column in lines))]
    rows += [line for column in lines for number, line in enumerate(column) if number != 2]
    text = ocr_text(rows).text
    assert all(sentence in flat(text) for sentence in SEA_SENTENCES[:9]), text
    assert ": " not in text, text


NOTES = [("See also the Part that", "follows."), ("A figure disputed in", "later sources.")]


def noted_page(note: tuple[str, str], size: float, pagesize: tuple[float, float]) -> bytes:
    """One column of justified prose in `size` point type with a note of two lines in the
    wide right margin beside it, two points smaller, its second line a word or two (as LaTeX's
    marginpar sets it)."""
    width = pagesize[0] - 72 - 200
    body = column_lines(" ".join(SEA_SENTENCES * 2), 72, pagesize[1] - 90, width, size,
                        1.2 * size)
    beside = body[len(body) // 2][2]
    small = size - 2
    lines = [(text, 72 + width + 20, beside - row * 1.2 * small, small, 0.0)
             for row, text in enumerate(note)]
    return drawn_pdf([[*body, *lines]], pagesize)


@pytest.mark.slow  # takes long (OCR of a page)
@pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs Tesseract")
@pytest.mark.parametrize(("note", "size", "pagesize", "tilt"), [
    (NOTES[0], 10.0, A4, -0.9), (NOTES[0], 11.0, LETTER, -0.9), (NOTES[0], 12.0, LETTER, -0.4),
    (NOTES[1], 11.0, LETTER, 1.3), (NOTES[1], 12.0, LETTER, -0.4)])
def test_a_scanned_margin_note_whose_last_line_is_a_word_or_two_reads_as_one_aside(
        note: tuple[str, str], size: float, pagesize: tuple[float, float], tilt: float,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """OCR's words tell a margin note's first line in smaller type than the text's, while its
    last line holds too few words to measure: it is still the note's, one aside after the
    page's text, and the text reads on beside it as before."""
    monkeypatch.setenv("QA_OCR_CACHE", str(tmp_path / "ocr"))
    photo = encoded(scanned(noted_page(note, size, pagesize), tilt=tilt, noise=12.0), "JPEG", 50)
    blocks = [flat(block) for block in read_image(photo).text.split("\n\n")]
    # One block, the last; OCR may misread the note's full stop.
    assert blocks[-1].rstrip(".,") == " ".join(note).rstrip("."), blocks
    # OCR may misread a word of the text here and there; the note's words stand in none of it.
    body = " ".join(blocks[:-1])
    assert difflib.SequenceMatcher(None, " ".join(SEA_SENTENCES * 2), body).ratio() > 0.98, body
    assert not any(line in body for line in note), body
