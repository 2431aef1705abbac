"""The real model over ../shared/documents: the SQuAD articles as PDFs and web pages answer as
well as the plain text, cited to the right page; py-pdf's samples index with clear refusals."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SHARED

from qa.cli import main
from qa.core.settings import Settings
from qa.evaluating.evaluate import read_question_set
from qa.evaluating.runs import evaluate_question_files
from qa.reading.isolation import load_folder

DOCUMENTS = SHARED / "documents"
pytestmark = pytest.mark.skipif(not DOCUMENTS.is_dir(), reason="../shared/documents is missing")


@pytest.fixture(scope="module")
def plain_figures(tmp_path_factory: pytest.TempPathFactory, embedder) -> dict[str, float]:  # type: ignore[no-untyped-def]
    settings = Settings(docs_dir=SHARED / "squad" / "docs",
                        index_dir=tmp_path_factory.mktemp("squad-plain"))
    report = evaluate_question_files([SHARED / "squad" / "questions.jsonl"], settings,
                                     embedder=embedder)
    return report.to_json()  # type: ignore[return-value]


@pytest.mark.parametrize("layout", ["pdf", "html"])
def test_squad_articles_answer_as_well_as_plain_text(layout: str, plain_figures, embedder,  # type: ignore[no-untyped-def]
                                                     tmp_path: Path) -> None:
    settings = Settings(docs_dir=DOCUMENTS / f"squad-{layout}", index_dir=tmp_path / "index")
    report = evaluate_question_files([DOCUMENTS / f"squad-{layout}-questions.jsonl"], settings,
                                     embedder=embedder)
    figures = report.to_json()
    for metric in ("recall@1", "mrr@10"):
        assert figures[metric] >= plain_figures[metric] - 0.02, (metric, figures, plain_figures)  # type: ignore[operator]
    if layout == "pdf":
        assert figures["page_accuracy"] >= 0.97, figures  # type: ignore[operator]


def test_every_pdf_evidence_quote_lies_inside_one_passage() -> None:
    from qa.chunking.chunk import chunk_document

    def fold(text: str) -> str:
        return " ".join(text.split()).lower()

    passages = {d.source: [fold(p.text) for p in chunk_document(d)]
                for d in load_folder(DOCUMENTS / "squad-pdf").documents}
    quotes = [(e.source, fold(e.quote)) for q in read_question_set(
        DOCUMENTS / "squad-pdf-questions.jsonl") for e in q.evidence]
    found = sum(any(quote in text for text in passages[source]) for source, quote in quotes)
    assert found / len(quotes) >= 0.98, f"{found} of {len(quotes)} quotes inside one passage"


@pytest.mark.slow  # indexes ../shared's PDFs with the real model
def test_pdf_samples_index_with_reasons_and_answer_crazy_ones(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="qa.reading.isolation")
    folder, index = str(DOCUMENTS / "pdf-samples"), str(tmp_path / "index")
    built = CliRunner().invoke(main, ["index", "--docs", folder, "--index", index])
    assert built.exit_code == 0, built.output
    assert "skipped libreoffice-writer-password.pdf: encrypted" in built.stderr
    # Its six pages are 16-pixel colour squares: no text for OCR to find.
    assert "skipped imagemagick-images.pdf: no text found, by its text layer or by OCR" \
        in built.stderr
    assert "skipped pdfkit.pdf" not in built.stderr  # text drawn as outlines, read by OCR,
    # Its progress, logged (the terminal shows it: "qa: INFO: pdfkit.pdf: OCR: 1 of 1 pages").
    assert "pdfkit.pdf: OCR: 1 of 1 pages" in caplog.messages
    assert "skipped habibi.pdf" not in built.stderr  # one line of Arabic: a passage
    asked = CliRunner().invoke(main, ["ask", "Here's to the crazy ones", "--json", "--docs",
                                      folder, "--index", index])
    assert asked.exit_code == 0, asked.output
    first = json.loads(asked.stdout)["hits"][0]
    assert (first["source"], first["page"], first["page_end"]) == ("crazyones-pdfa.pdf", 1, 1)
