"""Each reader on documents made here: text as the author wrote it, pages and sections carried
to the passages, and clear refusals for files that cannot be read."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from documents import (
    SITE_PAGE,
    encrypted_pdf,
    image_only_pdf,
    report_docx,
    report_pdf,
    table_pdf,
    two_column_pdf,
    wrapped_title_pdf,
    write,
)

from qa.chunking.chunk import chunk_document
from qa.reading.isolation import load_folder
from qa.reading.readers import UnreadableError
from qa.reading.readers.docx import read_docx
from qa.reading.readers.html import read_html
from qa.reading.readers.pdf import read_pdf


def passages_of(folder: Path, name: str) -> list:  # type: ignore[type-arg]
    document = next(d for d in load_folder(folder).documents if d.source == name)
    return chunk_document(document)


def test_pdf_reads_as_the_author_wrote_it() -> None:
    text = read_pdf(report_pdf()).text
    assert "Annual Report" not in text and "Page 1 of 3" not in text  # running lines dropped
    assert "the information that sailors needed" in text  # a word broken at a line end, rejoined
    assert "a well-kept record" in text  # a compound's own hyphen stays
    assert "over the Île-de-France and" in text


def test_pdf_paragraph_across_a_page_break_is_one_passage_cited_to_both_pages(tmp_path: Path
                                                                             ) -> None:
    write(tmp_path, "report.pdf", report_pdf())
    passages = passages_of(tmp_path, "report.pdf")
    crossing = next(p for p in passages if "Cordouan stands on a rock" in p.text)
    assert crossing.text.endswith("by the service of lights.")
    assert (crossing.page, crossing.page_end, crossing.section) == (1, 2, "History")
    lamp = next(p for p in passages if "Fresnel lens" in p.text)
    assert (lamp.page, lamp.page_end, lamp.section) == (2, 2, "The lamp")
    assert passages[0].title == "The Cordouan Lighthouse"


def test_two_column_pdf_reads_column_by_column() -> None:
    text = read_pdf(two_column_pdf()).text
    left_end = text.index("Left column line 8")
    assert all(text.index(f"Left column line {n}") < left_end for n in range(1, 8))
    assert left_end < text.index("Right column line 1")


def test_a_pdf_table_reads_row_by_row_with_its_headers(tmp_path: Path) -> None:
    write(tmp_path, "depots.pdf", table_pdf())
    passages = passages_of(tmp_path, "depots.pdf")
    texts = [p.text for p in passages]
    table = next(text for text in texts if "Harbour" in text)
    assert table == ("Depot: Harbour; City: Plymouth; Manager: C. Moreau; Opened: 1998. "
                     "Depot: Northgate; City: Leeds; Manager: R. Adeyemi; Opened: 2004. "
                     "Depot: Riverside; City: Exeter; Manager: M. Tanaka; Opened: 2011.")
    # In the order of the page: prose, the table, prose, the table without a header.
    assert texts.index(table) == 1 and "regional director" in texts[2]
    assert texts[3] == "Forklifts | 14. Vans | 9. Cold rooms | 3."


@pytest.mark.parametrize(("make", "reason"), [
    (encrypted_pdf, "encrypted"),
    (image_only_pdf, "no text found, by its text layer or by OCR"),
    (lambda: report_pdf()[:1500], "not a readable PDF"),
    (lambda: b"%PDF-1.7\n" + b"\x00garbage" * 100, "not a readable PDF"),
])
def test_unreadable_pdfs_are_refused_with_the_reason(make, reason: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnreadableError, match=reason):
        read_pdf(make())


def test_docx_paragraphs_headings_and_table_rows_in_order(tmp_path: Path) -> None:
    extracted = read_docx(report_docx())
    assert extracted.text.index("Moorings") < extracted.text.index("Visiting boats") \
        < extracted.text.index("Berth | Length | Price") < extracted.text.index("Diesel")
    assert "A1 | 12 m | 40 euros" in extracted.text
    write(tmp_path, "handbook.docx", report_docx())
    diesel = next(p for p in passages_of(tmp_path, "handbook.docx") if "Diesel" in p.text)
    assert (diesel.section, diesel.page, diesel.title) == ("Fuel", None, "Harbour Handbook")


def test_docx_that_is_not_a_zip_or_expands_too_far_is_refused(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import qa.reading.readers.archive

    with pytest.raises(UnreadableError, match="not a zip"):
        read_docx(b"PK but not really a zip archive")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * 2_000_000)  # about 2 KB compressed
    monkeypatch.setattr(qa.reading.readers.archive, "MAX_EXPANDED_BYTES", 1_000_000)
    with pytest.raises(UnreadableError, match="zip bomb"):
        read_docx(bomb.getvalue())


def test_html_keeps_the_article_and_its_headings_only(tmp_path: Path) -> None:
    text = read_html(SITE_PAGE.encode()).text
    for boilerplate in ["Home", "Shop our store", "cookies", "newsletter", "Related links",
                        "Copyright", "Privacy", "tracking", "color: red"]:
        assert boilerplate not in text, boilerplate
    assert "High water at the harbour mouth" in text and "March | 6.1 m" in text
    write(tmp_path, "tides.html", SITE_PAGE)
    spring = next(p for p in passages_of(tmp_path, "tides.html") if "spring tides" in p.text)
    assert (spring.section, spring.title) == ("Spring tides", "Tide tables")


def test_html_headings_above_the_first_paragraph_are_kept_as_sections(tmp_path: Path) -> None:
    # trafilatura dropped the h1 and first h2 of this page and kept "Equipment" as a paragraph
    write(tmp_path, "astronomy.html", """<!doctype html><html><head><title>Observing the Moon
</title></head><body><nav>Home | About | Contact</nav><h1>Observing the Moon</h1>
<h2>When to look</h2><p>The best time to observe lunar craters is near the terminator, the line
between day and night, where shadows are longest. A first-quarter Moon shows the crater
Copernicus in sharp relief.</p><h2>Equipment</h2><p>A small refractor of 80 millimetres aperture
already shows hundreds of craters. A neutral density filter reduces the glare of a full Moon.</p>
<footer>Copyright 2024 Stargazers club</footer></body></html>""")
    found = passages_of(tmp_path, "astronomy.html")
    assert [(p.text.split()[0], p.section, p.title) for p in found] == [
        ("The", "When to look", "Observing the Moon"), ("A", "Equipment", "Observing the Moon")]
    text = next(d for d in load_folder(tmp_path).documents).text
    assert "Home" not in text and "Copyright" not in text


def test_a_pdf_title_wrapped_onto_two_lines_is_one_title(tmp_path: Path) -> None:
    write(tmp_path, "river.pdf", wrapped_title_pdf())
    found = passages_of(tmp_path, "river.pdf")
    assert {(p.title, p.section) for p in found} == {("River Water Quality Study 2023",
                                                      "Introduction")}


def test_a_csv_file_is_titled_by_its_name_not_its_columns(tmp_path: Path) -> None:
    write(tmp_path, "budget.csv", "year,department,spending_eur,notes\n"
          "2019,library,120000,new reading room\n2020,parks,95000,closed for lockdown\n")
    found = passages_of(tmp_path, "budget.csv")
    assert {p.title for p in found} == {"budget"}
    assert "year: 2019; department: library" in found[0].text


def test_markdown_headings_become_sections(tmp_path: Path) -> None:
    write(tmp_path, "notes.md", "# Garden notes\n\n## Roses\nPrune the roses in late winter, "
          "just above an outward bud.\n\n### Pests\n\nAphids gather on the new shoots in May "
          "and June.\n\n## Herbs\n\nBasil wants warmth and should not be watered at night.\n")
    by_text = {p.text.split()[0]: p for p in passages_of(tmp_path, "notes.md")}
    assert by_text["Prune"].section == "Roses"
    assert by_text["Aphids"].section == "Roses > Pests"
    assert by_text["Basil"].section == "Herbs"
    assert by_text["Basil"].title == "Garden notes" and by_text["Basil"].page is None
    assert "## Roses" not in [p.text for p in by_text.values()]


def test_a_folder_of_every_format_skips_only_the_unreadable(tmp_path: Path) -> None:
    write(tmp_path, "report.pdf", report_pdf())
    write(tmp_path, "columns.pdf", two_column_pdf())
    write(tmp_path, "locked.pdf", encrypted_pdf())
    write(tmp_path, "scan.pdf", image_only_pdf())
    write(tmp_path, "cut.pdf", report_pdf()[:2000])
    write(tmp_path, "handbook.docx", report_docx())
    write(tmp_path, "fake.docx", b"this is plain text, not a zip")
    write(tmp_path, "tides.htm", SITE_PAGE)
    write(tmp_path, "notes.txt", "Notes\n\nA plain text file still reads as before.")
    loaded = load_folder(tmp_path)
    assert sorted(d.source for d in loaded.documents) == [
        "columns.pdf", "handbook.docx", "notes.txt", "report.pdf", "tides.htm"]
    reasons = {s.source: s.reason for s in loaded.skipped}
    assert set(reasons) == {"locked.pdf", "scan.pdf", "cut.pdf", "fake.docx"}
    assert "encrypted" in reasons["locked.pdf"] and "no text found" in reasons["scan.pdf"]


def test_html_that_is_utf8_under_a_false_charset_reads_as_utf8() -> None:
    from qa.reading.readers.html import read_html

    body = ("<body><main><h1>Tides</h1><p>A naïve reading of the harbour tide tables is wrong "
            "every spring.</p></main></body></html>")
    lying = f'<html><head><meta charset="windows-1250"></head>{body}'.encode()
    assert "naïve" in read_html(lying).text
    declared = f'<?xml version="1.0" encoding="utf-8"?><html><head></head>{body}'.encode()
    assert "naïve" in read_html(declared).text
    czech = body.replace("naïve", "důležitý")  # letters windows-1250 has
    honest = f'<html><head><meta charset="windows-1250"></head>{czech}'.encode("cp1250")
    assert "důležitý" in read_html(honest).text
