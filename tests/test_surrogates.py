"""Halves of UTF-16 surrogate pairs (math letters beyond U+FFFF in LaTeX PDFs, RTF's \\u
escapes, a damaged file's lone half) never reach qa's text or answers, nor stop a build: pairs
are joined into their character, lone halves become U+FFFD, a broken question is refused, and
one file failing after it was read is skipped with its reason."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from documents import utf16_pdf, write
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.chunking.chunk import Passage
from qa.cli import main
from qa.core.settings import Settings
from qa.indexing import catalog
from qa.library import QA, QuestionRefused
from qa.reading.load import Document, read_file
from qa.reading.readers import Extracted, Heading, well_formed
from qa.reading.readers.pdf import read_pdf
from qa.serving.rest import rest_app
from qa.showing.view import marked_pages

LONE = re.compile("[\ud800-\udfff]")
X, SCRIPT_A = "\U0001d465", "\U0001d49c"  # 𝑥 and 𝒜, as LaTeX's math letters
MATH_UNITS = {0x80: "D835DC65", 0x81: "D835DC9C", 0x82: "D835", 0x83: "DC65"}
MATH_LINES = [b"Let \x80 be a point of \x81 on the north pier of the harbour.",
              b"A lone \x82 half and a lone \x83 half are damaged characters."]
GOOD = "Harbour ledger\n\nThe harbour master keeps the ledger of every boat in the port."


def rtf(words: str) -> bytes:
    return b"{\\rtf1\\ansi " + words.encode("ascii") + b"\\par}"


def test_a_pdfs_math_letters_are_one_character_each_and_lone_halves_are_replaced() -> None:
    text = read_pdf(utf16_pdf(MATH_LINES, MATH_UNITS)).text
    assert f"Let {X} be a point of {SCRIPT_A} on the north pier" in text
    assert "A lone \ufffd half and a lone \ufffd half" in text
    print(text)  # raised UnicodeEncodeError when the halves were characters of their own
    text.encode("utf-8")


def test_the_viewer_boxes_math_letters_on_the_page(tmp_path: Path) -> None:
    # The viewer finds a passage's words among the page's characters: a math letter must be
    # one character there too, or a passage of them is never found on its page.
    path = write(tmp_path, "math.pdf", utf16_pdf([b"\x80\x81 \x81\x80 \x80\x80 \x81\x81"] * 2 + [
        b"The north pier of the harbour is lit every night."], MATH_UNITS))
    text = f"{X}{SCRIPT_A} {SCRIPT_A}{X} {X}{X} {SCRIPT_A}{SCRIPT_A}"
    passage = Passage("math.pdf", "math", 1, 0, len(text), text, page=1, page_end=1)
    [page] = marked_pages(path, passage, None)
    assert page.passage, "the passage of math letters was not found on its page"


def test_an_rtfs_escaped_pairs_are_joined_and_lone_halves_replaced(tmp_path: Path) -> None:
    # \u-10187? \u-9115? is the pair of U+1D465; a lone \u-10187? is half of one.
    path = write(tmp_path, "math.rtf", rtf("Let \\u-10187?\\u-9115? be near a lone \\u-10187? "
                                           "half in the harbour ledger."))
    document = read_file("math.rtf", path)
    assert isinstance(document, Document)
    assert document.text == f"Let {X} be near a lone \ufffd half in the harbour ledger."


def test_joining_pairs_moves_the_offsets_of_pages_and_headings() -> None:
    text = "A \ud835\udc65 b\n\nNotes \ud835\n\nEnd"  # a pair, then a lone half
    mended = well_formed(Extracted(text, page_starts=(0, 8), headings=(
        Heading(8, 15, 1, "Notes \ud835"),)))
    assert mended.text == f"A {X} b\n\nNotes \ufffd\n\nEnd"
    assert mended.page_starts == (0, 7)
    assert mended.headings == (Heading(7, 14, 1, "Notes \ufffd"),)
    assert mended.text[7:14] == "Notes \ufffd"


# Text holding characters beyond U+FFFF, their halves alone, and plain letters.
_UNITS = st.lists(st.sampled_from(["D835DC65", "D83DDE00", "D835", "DC65", "DBFF", "0041"]),
                  min_size=1, max_size=3).map("".join)


@settings(max_examples=15, deadline=None)
@given(pdf_units=st.lists(_UNITS, min_size=1, max_size=4),
       rtf_units=st.lists(st.integers(0xD7F0, 0xE010) | st.integers(0x10000, 0x10FFFF)
                          | st.integers(0x41, 0x5A), min_size=1, max_size=12),
       plain=st.text(st.characters(codec="utf-8", min_codepoint=0x1F000), max_size=20))
def test_extracted_text_never_holds_a_lone_half(tmp_path_factory: pytest.TempPathFactory,
                                                pdf_units: list[str], rtf_units: list[int],
                                                plain: str) -> None:
    folder = tmp_path_factory.mktemp("surrogates")
    codes = {0x80 + n: hex_units for n, hex_units in enumerate(pdf_units)}
    pdf_line = b"The pier " + bytes(codes) + b" of the harbour is lit every night."
    escapes = "".join(f"\\u{code - 0x10000 if code >= 0x8000 else code}?" for code in _utf16(
        rtf_units))
    files = {"math.pdf": utf16_pdf([pdf_line], codes),
             "math.rtf": rtf(f"The harbour {escapes} ledger"),
             "math.txt": f"The harbour {plain} ledger".encode()}
    for name, data in files.items():
        document = read_file(name, write(folder, name, data))
        assert isinstance(document, Document), document
        assert not LONE.search(document.text), (name, document.text)
        document.text.encode("utf-8")


def _utf16(code_points: list[int]) -> list[int]:
    """Code points as UTF-16 units (lone surrogates among them kept as they are)."""
    units: list[int] = []
    for point in code_points:
        if point >= 0x10000:
            units += [0xD800 + ((point - 0x10000) >> 10), 0xDC00 + ((point - 0x10000) & 0x3FF)]
        else:
            units.append(point)
    return units


def folder_with_a_broken_rtf(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    write(docs, "good.txt", GOOD)
    write(docs, "broken.rtf", rtf("A lone \\u-10179? half in the lighthouse keeper's log."))
    return docs


def test_a_folder_with_a_lone_half_in_one_file_indexes_every_file(tmp_path: Path,
                                                                  embedder: Any) -> None:
    docs = folder_with_a_broken_rtf(tmp_path)
    printed = CliRunner().invoke(main, ["index", str(docs), "--index", str(tmp_path / "index")])
    assert printed.exit_code == 0, printed.output
    qa = QA.open(Settings(docs_dir=docs, index_dir=tmp_path / "index"), embedder=embedder)
    assert qa.search("Who keeps the ledger of every boat?").hits[0].passage.source == "good.txt"
    broken = qa.search("lighthouse keeper's log", mode="lexical").hits[0].passage
    assert (broken.source, broken.text) == (
        "broken.rtf", "A lone \ufffd half in the lighthouse keeper's log.")


def test_a_file_that_fails_after_it_was_read_is_skipped_with_its_reason(
        tmp_path: Path, tiny_encoder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = folder_with_a_broken_rtf(tmp_path)
    chunk_document = catalog.chunk_document

    def faulty(document: Document) -> list[Passage]:
        if document.source == "broken.rtf":
            raise RuntimeError("the chunker tripped")
        return chunk_document(document)

    monkeypatch.setattr(catalog, "chunk_document", faulty)
    qa = QA(Settings(docs_dir=docs, index_dir=tmp_path / "index"), embedder=tiny_encoder)
    report = qa.index()
    assert report.files == 1
    assert [(s.source, s.reason) for s in report.skipped] == [
        ("broken.rtf", "could not be cut into passages (RuntimeError: the chunker tripped)")]
    assert qa.search("ledger of every boat").hits[0].passage.source == "good.txt"
    monkeypatch.setattr(catalog, "chunk_document", chunk_document)
    assert qa.index().files == 2, "a file skipped for a failure is tried again"


@pytest.fixture(scope="module")
def harbour(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> QA:
    docs = tmp_path_factory.mktemp("harbour")
    write(docs, "good.txt", GOOD)
    return QA.open(Settings(docs_dir=docs, index_dir=docs / ".index"), embedder=embedder)


LONE_HALVES = ["harbour \ud835 ledger", "\udc65"]


# A pair of halves in a str (not from JSON, which joins a pair) is no character either.
@pytest.mark.parametrize("question", [*LONE_HALVES, "ledger \ud835\udc65"])
def test_a_question_holding_a_lone_half_is_refused_with_a_message(harbour: QA,
                                                                   question: str) -> None:
    with pytest.raises(QuestionRefused, match=r"question: character \d+ is broken \(U\+D"):
        harbour.search(question)


@pytest.mark.parametrize("question", LONE_HALVES)
def test_rest_refuses_a_broken_question_with_422(harbour: QA, question: str) -> None:
    # JSON may carry a lone half as a \u escape; a URL cannot (its bytes are read as UTF-8).
    escaped = "".join(f"\\u{ord(c):04x}" if LONE.match(c) else c for c in question)
    answer = TestClient(rest_app(harbour)).post(
        "/api/search", content=('{"question": "' + escaped + '"}').encode(),
        headers={"content-type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"].startswith("question: character")


def test_qa_ask_refuses_a_broken_question(harbour: QA) -> None:
    printed = CliRunner().invoke(main, ["ask", "harbour \ud835 ledger", "--docs",
                                        str(harbour.settings.docs_dir), "--index",
                                        str(harbour.settings.index_dir)])
    assert printed.exit_code == 1
    assert "qa: error: question: character 9 is broken (U+D835" in printed.output


def test_the_page_shows_why_a_broken_question_is_refused(harbour: QA, tmp_path: Path) -> None:
    import gradio as gr

    from qa.serving.webapp import build_page
    from qa.showing.exports import ExportFolder

    page = build_page(harbour, ExportFolder(tmp_path))
    handlers = {fn.api_name: fn.fn for fn in page.blocks.fns.values()}
    # The page says why in its results; the JSON API refuses with the same words.
    asked = handlers["ask"]("harbour \ud835", 5, "hybrid", None, False, False, None)
    assert "question: character 9 is broken" in asked[0]
    with pytest.raises(gr.Error, match="question: character 9 is broken"):
        handlers["search"]("harbour \ud835")
