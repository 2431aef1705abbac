"""Reading benchmark: how faithfully and how fast qa reads real LaTeX typesetting, and how well
its answers hold when the same pages are scanned.

    .venv/bin/python -m benchmarks.reading [--layouts ieee multicol ...] [--scans] [--work DIR]

For each layout of ../shared/documents/squad-latex: the share of truth sentences qa's PDF reader
keeps intact, judged by the shared checker's own rules (../shared/tools/reading_check.py), beside
pdftotext's and pypdfium2's stored figures, and qa's reading time per page. With `--scans`, every
page is also rendered as benchmarks.ocr renders the SQuAD PDFs (200 dpi, tilted, noisy, JPEG 50),
the scans put back together as image-only PDFs, and the layout's questions evaluated over the
text layer and over the scans in the same run, both judged with the evidence tolerance OCR needs
(benchmarks.ocr: the quote's words in order, at most 10 % missing or misread).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from benchmarks.ocr import TOLERANCE, evaluate, make_scans
from qa.reading.readers.pdf import read_pdf

SHARED = Path(__file__).resolve().parents[2] / "shared"
LAYOUTS = ("ieee", "acm", "revtex", "lineno", "margins", "multicol")


def checker() -> ModuleType:
    """The shared reading checker, for its normalising and matching rules."""
    spec = importlib.util.spec_from_file_location("reading_check",
                                                  SHARED / "tools" / "reading_check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fidelity(folder: Path, check: ModuleType) -> dict[str, Any]:
    """Sentences kept intact and seconds a page, over every PDF of a layout."""
    import pypdfium2 as pdfium

    kept = total = pages = 0
    seconds = 0.0
    for line in (folder / "truth.jsonl").read_text(encoding="utf-8").splitlines():
        truth = json.loads(line)
        data = (folder / truth["file"]).read_bytes()
        started = time.perf_counter()
        text = read_pdf(data).text
        seconds += time.perf_counter() - started
        pages += len(pdfium.PdfDocument(data))
        found = check.intact(truth["sentences"], text)
        kept, total = kept + sum(found), total + len(found)
    peers = json.loads((folder / "peers.json").read_text(encoding="utf-8"))["overall"]
    return {"qa": round(kept / total, 3), **{name: peers[name] for name in sorted(peers)},
            "pages": pages, "ms_per_page": round(1000 * seconds / pages, 1)}


def scanned(folder: Path, work: Path) -> dict[str, Any]:
    """Recall and page accuracy over the text layer and over scans of the same pages."""
    scans, _, _, _ = make_scans(folder, work)
    questions = folder / "questions.jsonl"
    figures = {}
    for name, docs in (("text", folder), ("scans", scans)):
        data = evaluate(docs, work / f"index-{name}", questions, TOLERANCE)
        figures[name] = {key: round(float(data[key]), 3) for key in
                         ("recall@1", "recall@5", "mrr@10", "page_accuracy") if key in data}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layouts", nargs="+", default=list(LAYOUTS), choices=LAYOUTS)
    parser.add_argument("--scans", action="store_true", help="also evaluate scans of the pages")
    parser.add_argument("--work", type=Path, help="keep the scans and indexes here")
    options = parser.parse_args()
    check = checker()
    work = options.work or Path(tempfile.mkdtemp(prefix="qa-reading-"))
    results: dict[str, Any] = {}
    for layout in options.layouts:
        folder = SHARED / "documents" / "squad-latex" / layout
        results[layout] = fidelity(folder, check)
        if options.scans:
            results[layout]["retrieval"] = scanned(folder, work / layout)
        print(layout, json.dumps(results[layout]), flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
