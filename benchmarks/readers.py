"""Readers benchmark: how fast and how faithfully documents are read, and what share of a full
build the reading takes.

    .venv/bin/python -m benchmarks.readers [--documents ../shared/documents]

For PDFs it also measures the plain text of other libraries (pypdf, pdfminer.six, installed or
skipped) as the baseline qa's choice was made against. Faithful = the share of the question
sets' evidence quotes found inside one block of the extracted text (blocks are what the chunker
makes passages of), whitespace and case folded.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qa.evaluating.evaluate import read_question_set
from qa.reading.readers import READERS

SHARED_DOCUMENTS = Path(__file__).resolve().parents[2] / "shared" / "documents"


def _fold(text: str) -> str:
    return " ".join(text.split()).lower()


def _pypdf_text(data: bytes) -> tuple[str, int]:
    import io

    from pypdf import PdfReader

    pages = PdfReader(io.BytesIO(data)).pages
    return "\n\n".join(page.extract_text() or "" for page in pages), len(pages)


def _pdfminer_text(data: bytes) -> tuple[str, int]:
    import io

    from pdfminer.high_level import extract_text
    from pdfminer.pdfpage import PDFPage

    return extract_text(io.BytesIO(data)), len(list(PDFPage.get_pages(io.BytesIO(data))))


def _qa_text(suffix: str) -> Callable[[bytes], tuple[str, int]]:
    def read(data: bytes) -> tuple[str, int]:
        extracted = READERS[suffix](data)
        return extracted.text, max(1, len(extracted.page_starts))

    return read


def measure(folder: Path, questions: Path, read: Callable[[bytes], tuple[str, int]]
            ) -> dict[str, Any]:
    """Pages per second and the share of evidence quotes kept whole in one block."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in READERS)
    started = time.perf_counter()
    texts, pages = {}, 0
    for path in files:
        texts[path.name], count = read(path.read_bytes())
        pages += count
    seconds = time.perf_counter() - started
    blocks = {name: [_fold(b) for b in text.split("\n\n")] for name, text in texts.items()}
    quotes = [(e.source, _fold(e.quote)) for q in read_question_set(questions) for e in q.evidence]
    kept = sum(any(quote in block for block in blocks[source]) for source, quote in quotes)
    return {"files": len(files), "pages": pages, "seconds": round(seconds, 3),
            "pages_per_s": round(pages / seconds, 1), "quotes_in_one_block": round(kept / len(quotes), 4)}


def build_share(folder: Path) -> dict[str, float]:
    """Reading as a share of a full `qa index` of the folder (reading, chunking, embedding, …)."""
    from qa.core.settings import Settings
    from qa.library import QA
    from qa.reading.isolation import load_folder

    started = time.perf_counter()
    load_folder(folder)
    reading = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as index:
        report = QA(Settings(docs_dir=folder, index_dir=Path(index))).index()
    return {"reading_s": round(reading, 2), "full_build_s": round(report.seconds, 2),
            "reading_share": round(reading / report.seconds, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=Path, default=SHARED_DOCUMENTS)
    args = parser.parse_args()
    pdfs, pages = args.documents / "squad-pdf", args.documents / "squad-html"
    readers: dict[str, tuple[Path, Path, Callable[[bytes], tuple[str, int]]]] = {
        "qa pdf (pypdfium2 + layout)": (pdfs, args.documents / "squad-pdf-questions.jsonl",
                                        _qa_text(".pdf")),
        "pypdf plain text": (pdfs, args.documents / "squad-pdf-questions.jsonl", _pypdf_text),
        "pdfminer.six plain text": (pdfs, args.documents / "squad-pdf-questions.jsonl",
                                    _pdfminer_text),
        "qa html (trafilatura)": (pages, args.documents / "squad-html-questions.jsonl",
                                  _qa_text(".html")),
    }
    figures: dict[str, Any] = {}
    for name, (folder, questions, read) in readers.items():
        try:
            figures[name] = measure(folder, questions, read)
        except ImportError as error:
            figures[name] = {"skipped": f"not installed ({error.name})"}
        print(f"{name:30} {figures[name]}")
    figures["pdf build share"] = build_share(pdfs)
    print(f"{'reading share of a PDF build':30} {figures['pdf build share']}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
