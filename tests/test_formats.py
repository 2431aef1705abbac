"""Slides, spreadsheets, CSV, e-books, e-mail, OpenDocument and RTF, each made here: cited to the
place (slide, sheet, chapter), refused with the reason when broken; and notes in other scripts
chunked, tokenised and found."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from documents import write
from formats import (
    BOOK_FACT,
    DECK_FACT,
    DECK_NOTE,
    LIGHTHOUSES_CSV,
    MAIL_FACT,
    MEMO_RTF,
    ODT_FACT,
    RTF_FACT,
    SCRIPT_NOTES,
    book_epub,
    deck_pptx,
    letter_eml,
    minutes_odt,
    script_note,
    workbook_xlsx,
)

from qa.chunking.chunk import Passage, chunk_document, sentence_spans
from qa.indexing.lexical import analyse
from qa.reading.isolation import load_folder
from qa.reading.load import Document, titled
from qa.reading.readers import READERS, UnreadableError


def passages(name: str, data: bytes) -> list[Passage]:
    extracted = titled(READERS[Path(name).suffix](data), name)
    return chunk_document(Document(name, extracted.text, "hash", extracted.page_starts,
                                   extracted.headings))


def holding(found: list[Passage], words: str) -> Passage:
    return next(p for p in found if words in p.text)


def test_a_deck_cites_the_slide_as_its_page_and_its_title_as_section() -> None:
    found = passages("deck.pptx", deck_pptx())
    fact = holding(found, DECK_FACT)
    assert (fact.title, fact.page, fact.section) == ("Island transport review", 2, "Ferry timetable")
    assert holding(found, DECK_NOTE).page == 2  # speaker notes are read with their slide
    fares = holding(found, "Adult return")
    assert (fares.page, fares.section) == (3, "Fares")
    assert "Ticket: Adult return; Price: £14.50." in fares.text  # a slide's table by its headers


def test_a_workbook_reads_rows_with_their_headers_each_sheet_a_section() -> None:
    found = passages("depots.xlsx", workbook_xlsx())
    depot = holding(found, "Plymouth")
    assert depot.section == "Depots" and depot.title == "Depots, Budget"
    assert "Depot: Harbour; City: Plymouth; Manager: C. Moreau; Opened: 1998." in depot.text
    budget = holding(found, "Roof repairs")
    assert budget.section == "Budget"
    assert "Amount: 48250; Approved: 2026-03-04." in budget.text  # dates as dates, no 00:00
    assert not any(p.section == "Empty" for p in found)


def test_a_long_sheet_keeps_its_headers_in_every_passage() -> None:
    rows = "Code,Town,Postmaster\n" + "".join(f"P{n},Town {n},Keeper {n}\n" for n in range(200))
    found = passages("offices.csv", rows.encode())
    assert len(found) > 5
    assert all(line.startswith("Code: P") for p in found for line in p.text.split(". ") if line)
    assert sum(p.text.count("Postmaster: Keeper") for p in found) == 200  # every row, once


def test_csv_sniffs_its_delimiter_and_headerless_rows_keep_their_cells() -> None:
    found = passages("lighthouses.csv", LIGHTHOUSES_CSV.encode())
    assert found[0].title == "lighthouses"  # the file's name: its columns' names are no title
    assert "Lighthouse: Skerryvore; Height: 48 m; Keeper: Alan Stevenson; First lit: 1844." \
        in found[0].text
    numbers = passages("readings.csv", b"1,2.5,3\n4,5.5,6\n7,8.5,9\n")
    assert "1 | 2.5 | 3." in numbers[0].text  # numbers are no header: every row is kept
    latin = passages("prices.csv", "Item,Price\nCafé crème,2.40\n".encode("cp1252"))
    assert "Item: Café crème; Price: 2.40." in latin[0].text


@pytest.mark.parametrize("epub3", [True, False], ids=["nav", "ncx"])
def test_an_ebook_reads_its_chapters_in_spine_order_titled_by_its_contents(epub3: bool) -> None:
    found = passages("orchard.epub", book_epub(epub3))
    assert {p.title for p in found} == {"The Orchard Year"}
    assert [p.section for p in found] == ["Winter planting", "Spring pruning", "Spring pruning",
                                          "Summer harvest > Cherries"]
    assert holding(found, BOOK_FACT).section == "Spring pruning"


def test_an_email_is_titled_by_its_subject_with_sender_and_date_as_byline() -> None:
    found = passages("boiler.eml", letter_eml())
    assert {p.title for p in found} == {"Boiler service visit"}
    assert MAIL_FACT in found[0].text
    text = READERS[".eml"](letter_eml()).text
    assert "Priya Natarajan, 3 March 2026" in text  # the byline, which is not a passage
    assert not any("Natarajan" in p.text or "building manager" in p.text for p in found)


def test_an_html_only_email_is_read_through_its_markup() -> None:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"], message["Subject"] = "news@example.org", "Harbour newsletter"
    message.set_content("<html><head><style>p {color: red}</style></head><body><p>The harbour "
                        "crane is inspected every spring by the port authority.</p></body></html>",
                        subtype="html")
    found = passages("news.eml", bytes(message))
    assert [p.text for p in found] == [
        "The harbour crane is inspected every spring by the port authority."]


def test_opendocument_headings_lists_and_tables_without_footnotes() -> None:
    found = passages("minutes.odt", minutes_odt())
    assert found[0].title == "Parish council minutes"
    assert found[0].text == "Held in the village hall on 9 February."  # <text:s c=2/> spaces
    fact = holding(found, ODT_FACT)
    assert fact.section == "Allotments" and "footnote" not in fact.text
    assert holding(found, "Plot 14").section == "Allotments"
    assert holding(found, "Bell ringers").text == "Group: Bell ringers; Grant: 350."


def test_rtf_reads_as_paragraphs_with_its_escapes_decoded() -> None:
    found = passages("kiln.rtf", MEMO_RTF.encode())
    assert found[0].title == "Kiln firing schedule" and found[0].text == RTF_FACT
    assert "café orders" in found[1].text


@pytest.mark.parametrize("name, data, reason", [
    ("deck.pptx", b"not a zip at all", "not a zip"),
    ("book.xlsx", b"PK\x03\x04 broken", "not a zip"),
    ("minutes.odt", b"plain text", "not a zip"),
    ("orchard.epub", b"plain text", "not a zip"),
    ("deck.pptx", minutes_odt(), "no ppt/presentation.xml"),
    ("orchard.epub", minutes_odt(), "no META-INF/container.xml"),
    ("boiler.eml", b"just some words\nwith no headers at all", "not an e-mail"),
    ("kiln.rtf", b"plain text pretending", "not an RTF file"),
    ("table.csv", b"\x00\x01\x02binary", "NUL bytes"),
    ("table.csv", b"\n\n ,, \n", "no row holds a value"),
])
def test_broken_files_are_refused_with_the_reason(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableError, match=reason):
        READERS[Path(name).suffix](data)


def test_a_zip_bomb_in_any_zipped_format_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import qa.reading.readers.archive

    monkeypatch.setattr(qa.reading.readers.archive, "MAX_EXPANDED_BYTES", 1_000_000)
    for name, member in [("deck.pptx", "ppt/presentation.xml"), ("book.xlsx", "xl/workbook.xml"),
                         ("minutes.odt", "content.xml"), ("orchard.epub", "META-INF/container.xml")]:
        bomb = io.BytesIO()
        with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(member, b"\0" * 2_000_000)
        with pytest.raises(UnreadableError, match="zip bomb"):
            READERS[Path(name).suffix](bomb.getvalue())


@pytest.mark.parametrize("name", sorted(SCRIPT_NOTES))
def test_a_note_in_any_script_gives_a_passage_split_into_its_sentences(name: str) -> None:
    title, body = SCRIPT_NOTES[name]
    found = passages(name, script_note(name).encode())
    assert [(p.title, p.text) for p in found] == [(title, body)]
    if name not in ("thai.txt",):  # Thai marks no sentence end
        assert len(sentence_spans(body)) == 2 if name != "chinese.txt" else 3


def test_bm25_reads_every_script_and_stems_where_a_stemmer_fits() -> None:
    chinese, russian, hindi, english = analyse(["上海仓库每周二接收货物", "Склады Новосибирска",
                                                "गोदाम मंगलवार", "Warehouses"])
    assert "仓库" in chinese and "上海" in chinese  # character pairs: a keyword matches
    assert russian == analyse(["склад новосибирск"])[0]  # Russian stems: склады → склад
    assert hindi == ["गोदाम", "मंगलवार"]  # vowel signs stay inside their words
    assert english == ["warehous"]


def test_a_folder_of_every_format_and_script_is_indexed_and_each_fact_found(
        embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from qa.core.settings import Settings
    from qa.library import ENGLISH_ONLY_NOTICE, QA

    docs = tmp_path / "docs"
    made = {"deck.pptx": deck_pptx(), "depots.xlsx": workbook_xlsx(),
            "lighthouses.csv": LIGHTHOUSES_CSV, "orchard.epub": book_epub(),
            "boiler.eml": letter_eml(), "minutes.odt": minutes_odt(), "kiln.rtf": MEMO_RTF,
            **{name: script_note(name) for name in SCRIPT_NOTES}}
    for name, data in made.items():
        write(docs, name, data)
    assert load_folder(docs).skipped == []
    qa = QA(Settings(docs_dir=docs, index_dir=tmp_path / "index"), embedder=embedder)
    qa.index()
    questions = {
        "deck.pptx": "What time does the winter ferry leave Tobermory?",
        "depots.xlsx": "Who manages the Harbour depot in Plymouth?",
        "lighthouses.csv": "Who kept the Skerryvore lighthouse?",
        "orchard.epub": "When should quince trees be pruned?",
        "boiler.eml": "When is the boiler's pressure valve being replaced?",
        "minutes.odt": "How much will allotment rent be?",
        "kiln.rtf": "How hot is the stoneware kiln fired?",
    }
    for source, question in questions.items():
        assert qa.search(question, k=3).hits[0].passage.source == source, question
    keywords = {"arabic.txt": "مكتب البريد", "russian.txt": "склад в Новосибирске",
                "chinese.txt": "上海仓库", "japanese.txt": "大阪の倉庫", "hebrew.txt": "המחסן בחיפה",
                "greek.txt": "αποθήκη Θεσσαλονίκη", "thai.txt": "คลังสินค้าเชียงใหม่",
                "hindi.txt": "पुणे का गोदाम"}
    for source, question in keywords.items():
        result = qa.search(question, k=3)
        assert source in [hit.passage.source for hit in result.hits], question
        assert ENGLISH_ONLY_NOTICE in result.notices
    assert ENGLISH_ONLY_NOTICE not in qa.search("Who kept the lighthouse?").notices
