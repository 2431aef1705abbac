"""OCR benchmark: scans of the SQuAD PDFs against the PDFs themselves, page images, and how fast
a build recognises pages against Tesseract's own program run page after page.

    .venv/bin/python -m benchmarks.ocr [--documents ../shared/documents] [--work DIR]

Every page of ../shared/documents/squad-pdf is rendered at 200 dpi in grey, turned by a random
0.3-1.5 degrees either way, given Gaussian noise (sigma 12) and saved as a JPEG of quality 50;
the scans of each PDF are put back together as an image-only PDF of the same name (no text
layer). Both folders are indexed and evaluated with the same questions in the same run.

Evidence quotes rarely survive OCR letter for letter, so both folders are judged with the same
rule: a passage holds the evidence when the quote's words appear in it in order, with at most
10 % of them missing or misread, in one stretch no longer than 1.1 times the quote
(qa.evaluating.evaluate.contains_evidence, `qa eval --evidence-tolerance 0.1`). The text PDFs are also
scored with exact matching, the figure of every other run.

Page images: one PNG or JPEG per page (alternately), each with the questions whose evidence lies
wholly on that page (judged on the PDF's text layer); Recall@5 over those.

Throughput: the first build's reading of the scans (cache empty) in pages a second, against
`tesseract PAGE out` on the same page images one after another (its default threads: OpenMP,
which on this 2-core machine is several times slower than one thread), and against the same
held to one thread (OMP_THREAD_LIMIT=1, as qa runs each of its processes), whose ratio is what
parallel pages alone bring. A second build into a new index with the cache
warm counts the pages Tesseract was run on (a shim on PATH counts every call).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from qa.core.settings import Settings
from qa.evaluating.evaluate import read_question_set
from qa.evaluating.runs import evaluate_question_files

SHARED_DOCUMENTS = Path(__file__).resolve().parents[2] / "shared" / "documents"
DPI = 200
TOLERANCE = 0.1


def scan(page: Any, rng: random.Random) -> Any:
    """A rendered page as a scanner leaves it: tilted, noisy, JPEG-compressed."""
    from PIL import Image

    image = page.render(scale=DPI / 72, grayscale=True).to_pil().convert("L")
    tilt = rng.uniform(0.3, 1.5) * rng.choice((-1, 1))
    image = image.rotate(tilt, expand=True, fillcolor=255, resample=Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.int16)
    noise = np.random.default_rng(rng.randrange(1 << 30)).normal(0, 12, pixels.shape)
    noisy = Image.fromarray((pixels + noise).clip(0, 255).astype(np.uint8))
    import io

    out = io.BytesIO()
    noisy.save(out, "JPEG", quality=50, dpi=(DPI, DPI))
    scanned = Image.open(io.BytesIO(out.getvalue()))
    scanned.load()
    return scanned


def make_scans(pdfs: Path, work: Path) -> tuple[Path, Path, Path, list[Path]]:
    """Folders of image-only PDFs and of page images; every page's JPEG for the baseline."""
    import pypdfium2 as pdfium

    rng = random.Random(2026)
    scans, images, pages_dir = work / "scans", work / "images", work / "pages"
    for folder in (scans, images, pages_dir):
        folder.mkdir(parents=True, exist_ok=True)
    page_files: list[Path] = []
    for pdf in sorted(pdfs.glob("*.pdf")):
        document = pdfium.PdfDocument(pdf)
        pages = [scan(document[n], rng) for n in range(len(document))]
        document.close()
        pages[0].save(scans / pdf.name, "PDF", save_all=True, append_images=pages[1:],
                      resolution=float(DPI))
        for number, page in enumerate(pages, start=1):
            jpeg = pages_dir / f"{pdf.stem}-p{number:02d}.jpg"
            page.save(jpeg, "JPEG", quality=95, dpi=(DPI, DPI))
            page_files.append(jpeg)
            suffix = ".png" if number % 2 else ".jpg"
            page.save(images / f"{pdf.stem}-p{number:02d}{suffix}", dpi=(DPI, DPI))
    return scans, images, pages_dir, page_files


def image_questions(questions_path: Path, pdfs: Path, images: Path, out: Path) -> int:
    """The questions whose evidence lies wholly on one page, pointed at that page's image."""
    import pypdfium2 as pdfium

    texts: dict[tuple[str, int], str] = {}
    for pdf in sorted(pdfs.glob("*.pdf")):
        document = pdfium.PdfDocument(pdf)
        for n in range(len(document)):
            texts[(pdf.name, n + 1)] = " ".join(document[n].get_textpage().get_text_range()
                                                .split()).casefold()
        document.close()
    names = {path.stem: path.name for path in images.iterdir()}
    lines = []
    for question in read_question_set(questions_path):
        relevant = []
        for evidence in question.evidence:
            quote = " ".join(evidence.quote.split()).casefold()
            if evidence.page and quote in texts.get((evidence.source, evidence.page), ""):
                stem = f"{Path(evidence.source).stem}-p{evidence.page:02d}"
                relevant.append({"source": names[stem], "evidence": evidence.quote, "page": 1})
        if relevant:
            lines.append(json.dumps({"id": question.id, "question": question.question,
                                     "relevant": relevant}))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def counting_tesseract(work: Path) -> Path:
    """A `tesseract` first on PATH that notes each page it is given, then runs the real one."""
    shim_dir = work / "shim"
    shim_dir.mkdir(exist_ok=True)
    real = shutil.which("tesseract")
    shim = shim_dir / "tesseract"
    shim.write_text(f'#!/bin/sh\ncase "$1" in --*) ;; *) echo x >> "{work}/tesseract-calls";; '
                    f'esac\nexec {real} "$@"\n')
    shim.chmod(0o755)
    return shim_dir


def calls(work: Path) -> int:
    path = work / "tesseract-calls"
    return len(path.read_text().splitlines()) if path.exists() else 0


def _cli_seconds(page_files: list[Path], work: Path, environment: dict[str, str] | None = None
                 ) -> float:
    """`tesseract PAGE out --psm 3` on each page, one after another."""
    started = time.perf_counter()
    for page in page_files:
        subprocess.run(["tesseract", str(page), str(work / "baseline"), "--psm", "3"],
                       check=True, capture_output=True, env={**os.environ, **(environment or {})})
    return time.perf_counter() - started


def evaluate(docs: Path, index: Path, questions: Path, tolerance: float) -> dict[str, Any]:
    report = evaluate_question_files([questions], Settings(docs_dir=docs, index_dir=index),
                                     evidence_tolerance=tolerance)
    data = report.to_json()
    data["evidence_not_found"] = len(report.notes)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=Path, default=SHARED_DOCUMENTS)
    parser.add_argument("--work", type=Path, help="keep the scans and indexes here")
    arguments = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = arguments.work or Path(tempfile.mkdtemp(prefix="qa-ocr-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["QA_OCR_CACHE"] = str(work / "ocr-cache")
    shutil.rmtree(work / "ocr-cache", ignore_errors=True)
    (work / "tesseract-calls").unlink(missing_ok=True)
    os.environ["PATH"] = f"{counting_tesseract(work)}{os.pathsep}{os.environ['PATH']}"
    pdfs = arguments.documents / "squad-pdf"
    questions = arguments.documents / "squad-pdf-questions.jsonl"
    print(f"making scans in {work} ...", file=sys.stderr)
    scans, images, _, page_files = make_scans(pdfs, work)

    from qa.reading.isolation import load_folder

    started = time.perf_counter()
    loaded = load_folder(scans)
    build_seconds = time.perf_counter() - started
    pages = len(page_files)
    first_calls = calls(work)
    print(f"read {pages} scanned pages in {build_seconds:.1f} s; the CLI baselines ...",
          file=sys.stderr)
    raw_seconds = _cli_seconds(page_files, work)
    single_seconds = _cli_seconds(page_files, work, {"OMP_THREAD_LIMIT": "1"})
    results: dict[str, Any] = {
        "pages": pages, "skipped": [s.source for s in loaded.skipped],
        "ocr_build_seconds": round(build_seconds, 1),
        "ocr_pages_per_second": round(pages / build_seconds, 3),
        "tesseract_cli_seconds": round(raw_seconds, 1),
        "tesseract_cli_pages_per_second": round(pages / raw_seconds, 3),
        "speedup": round(raw_seconds / build_seconds, 2),
        # The CLI held to one thread, as qa runs each of its Tesseracts: parallel pages alone.
        "tesseract_cli_one_thread_seconds": round(single_seconds, 1),
        "speedup_over_one_thread_cli": round(single_seconds / build_seconds, 2),
        "tesseract_runs_first_read": first_calls,
    }
    before = calls(work)
    results["scans_fuzzy"] = evaluate(scans, work / "index-scans", questions, TOLERANCE)
    results["tesseract_runs_building_scans_index_warm_cache"] = calls(work) - before
    results["text_exact"] = evaluate(pdfs, work / "index-text", questions, 0.0)
    results["text_fuzzy"] = evaluate(pdfs, work / "index-text", questions, TOLERANCE)
    image_set = work / "image-questions.jsonl"
    results["image_questions"] = image_questions(questions, pdfs, images, image_set)
    before = calls(work)
    results["images_fuzzy"] = evaluate(images, work / "index-images", image_set, TOLERANCE)
    results["tesseract_runs_images_warm_cache"] = calls(work) - before
    results["recall@1_gap_text_minus_scans"] = round(
        results["text_fuzzy"]["recall@1"] - results["scans_fuzzy"]["recall@1"], 4)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
