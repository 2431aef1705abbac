"""Real-folder benchmark: a folder of many PDFs, indexed once, then opened again and again.

    .venv/bin/python -m benchmarks.folders [--pdfs 230] [--pages 16] [--rounds 3] [--keep DIR]
                                           [--baseline-repo PATH]

Generates `--pdfs` PDFs of `--pages` pages each (reportlab; each page a paragraph of Cranfield
abstracts, so every file's text is its own), indexes them once, and then, alternating with the
bundled seeds as the baseline measured in the same run, times a cold `qa ask` (a new process:
model load, index open, one question), a `qa index` with nothing changed, and `qa serve` from
start to its first answer through the JSON API. Prints each time and the ratio to the seeds.
With --baseline-repo (a checkout of an earlier qa), the same cold `qa ask` is also timed with
that qa's code, on its own copy of the index.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.report import save

REPO = Path(__file__).resolve().parents[1]
CRANFIELD = REPO.parent / "shared" / "beir" / "cranfield" / "corpus.jsonl"
QUESTION = "What is the effect of heat transfer on the boundary layer of a slender wing?"


def write_pdfs(folder: Path, count: int, pages: int) -> int:
    """`count` PDFs of `pages` pages each, one abstract a page; the pages written."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    abstracts = [json.loads(line)["text"] for line in CRANFIELD.open(encoding="utf-8")]
    style = getSampleStyleSheet()["BodyText"]
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for number in range(count):
        story: list[Any] = [Paragraph(f"Aerodynamics report {number + 1}", style)]
        for page in range(pages):
            text = abstracts[(number * pages + page) % len(abstracts)]
            story += [Paragraph(f"Report {number + 1}, section {page + 1}. {text}", style),
                      PageBreak()]
            written += 1
        SimpleDocTemplate(str(folder / f"report-{number + 1:04d}.pdf"), pagesize=A4).build(story)
    return written


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=7200,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(cwd)})
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr[-2000:]}")
    return time.perf_counter() - started


def qa_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "qa.cli", *arguments]


def serve_to_first_answer(arguments: list[str]) -> float:
    """Seconds from starting `qa serve` to its first answer through the JSON API."""
    import socket

    import httpx

    from benchmarks.load import call

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    started = time.perf_counter()
    server = subprocess.Popen(["timeout", "900", *qa_command("serve", *arguments, "--port",
                                                             str(port))],
                              cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "HF_HUB_OFFLINE": "1"})
    try:
        while True:
            try:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}/", timeout=30) as http:
                    call(http, "search", [QUESTION, 5, "hybrid", None])
                return time.perf_counter() - started
            except (httpx.HTTPError, OSError):
                if server.poll() is not None:
                    raise SystemExit("qa serve exited") from None
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdfs", type=int, default=230)
    parser.add_argument("--pages", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="Keep the folder and indexes here (reused).")
    parser.add_argument("--baseline-repo", type=Path, help="An earlier qa checkout to compare.")
    options = parser.parse_args()
    work = options.keep or Path(tempfile.mkdtemp(prefix="qa-folders-"))
    folder = work / "pdfs"
    if not folder.is_dir():
        pages = write_pdfs(folder, options.pdfs, options.pages)
        print(f"wrote {options.pdfs} PDFs, {pages} pages, "
              f"{sum(p.stat().st_size for p in folder.iterdir()) / 1e6:.1f} MB", flush=True)
    big = ["--docs", str(folder), "--index", str(work / "index")]
    seeds = ["--docs", str(REPO / "seeds"), "--index", str(work / "seeds-index")]
    first_build = timed(qa_command("index", *big), REPO)
    timed(qa_command("index", *seeds), REPO)
    print(f"first build (or refresh) of the folder: {first_build:.1f} s", flush=True)
    runs: dict[str, list[float]] = {}

    def measure(name: str, command: list[str], cwd: Path = REPO) -> None:
        runs.setdefault(name, []).append(timed(command, cwd))

    baseline_big: list[str] = []
    if options.baseline_repo:
        baseline_big = ["--docs", str(folder), "--index", str(work / "baseline-index")]
        timed(qa_command("index", *baseline_big), options.baseline_repo)
    for _ in range(options.rounds):
        measure("ask_seeds_s", qa_command("ask", QUESTION, "--json", *seeds))
        measure("ask_folder_s", qa_command("ask", QUESTION, "--json", *big))
        measure("index_seeds_s", qa_command("index", *seeds))
        measure("index_folder_s", qa_command("index", *big))
        runs.setdefault("serve_seeds_s", []).append(serve_to_first_answer(seeds))
        runs.setdefault("serve_folder_s", []).append(serve_to_first_answer(big))
        if options.baseline_repo:
            measure("baseline_ask_folder_s", qa_command("ask", QUESTION, "--json", *baseline_big),
                    options.baseline_repo)
    results: dict[str, Any] = {"pdfs": options.pdfs, "pages": options.pdfs * options.pages,
                               "first_build_s": first_build, "rounds": options.rounds}
    results |= {name: statistics.median(times) for name, times in runs.items()}
    results["ask_ratio"] = results["ask_folder_s"] / results["ask_seeds_s"]
    results["index_ratio"] = results["index_folder_s"] / results["index_seeds_s"]
    results["serve_ratio"] = results["serve_folder_s"] / results["serve_seeds_s"]
    if options.baseline_repo:
        results["baseline_ask_ratio"] = results["baseline_ask_folder_s"] / results["ask_seeds_s"]
    save(results, "folders")


if __name__ == "__main__":
    main()
