"""Scale benchmark on a large mixed folder: thousands of PDFs and text files, built once, then
opened, asked, served and changed under a running server.

    .venv/bin/python -m benchmarks.large_folder [--pdfs 1250] [--pages 16] [--texts 3750]
                                                [--burst 1000] [--keep DIR]

Generates `--pdfs` PDFs of `--pages` pages (each page one short paragraph cut from a Cranfield
abstract) and `--texts` text notes of three such paragraphs, so every file's text is its own.
Then measures, against the bundled seeds where a ratio makes sense (same run):
- the full build, split into extraction (list, hash, read in worker processes, chunk) and
  embedding (plan, encode, write), and the build's peak RSS;
- `qa index` with nothing changed, a cold `qa ask`, `qa serve` from start to its first answer;
- under a running `qa serve`: one new file until an answer cites it, then a burst of `--burst`
  files until the first, a middle and the last of them are answered; the server's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.folders import CRANFIELD, QUESTION, qa_command, serve_to_first_answer, timed
from benchmarks.report import save

REPO = Path(__file__).resolve().parents[1]
WORDS_PER_PARAGRAPH = 45


def paragraphs() -> list[str]:
    abstracts = [json.loads(line)["text"] for line in CRANFIELD.open(encoding="utf-8")]
    return [" ".join(text.split()[:WORDS_PER_PARAGRAPH]) for text in abstracts]


def write_folder(folder: Path, pdfs: int, pages: int, texts: int) -> dict[str, int]:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    cut = paragraphs()
    style = getSampleStyleSheet()["BodyText"]
    (folder / "reports").mkdir(parents=True)
    (folder / "notes").mkdir()
    used = 0
    for number in range(pdfs):
        story: list[Any] = [Paragraph(f"Aerodynamics report {number + 1}", style)]
        for page in range(pages):
            story += [Paragraph(f"Report {number + 1}, part {page + 1}: {cut[used % len(cut)]}",
                                style), PageBreak()]
            used += 1
        SimpleDocTemplate(str(folder / "reports" / f"report-{number + 1:05d}.pdf"),
                          pagesize=A4).build(story)
    for number in range(texts):
        body = "\n\n".join(f"Note {number + 1}, item {item + 1}: {cut[(used + item) % len(cut)]}"
                           for item in range(3))
        (folder / "notes" / f"note-{number + 1:05d}.txt").write_text(
            f"Wind tunnel note {number + 1}\n\n{body}\n", encoding="utf-8")
        used += 3
    return {"files": pdfs + texts, "pages": pdfs * pages,
            "bytes": sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())}


def build_in_stages(docs: Path, index: Path) -> None:
    """(In a child process.) Extraction, then embedding, each timed; prints them as JSON."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from qa.core.settings import settings_from_env
    from qa.library import QA, folder_corpus

    settings = settings_from_env().with_overrides(docs_dir=docs, index_dir=index)
    started = time.perf_counter()
    corpus = folder_corpus(settings)()
    chunked = corpus.read()
    extracted = time.perf_counter()
    qa = QA(settings, corpus=lambda: corpus)
    shown = [0.0]

    def progress(done: int, total: int) -> None:
        if time.monotonic() - shown[0] > 30 or done == total:
            shown[0] = time.monotonic()
            print(f"  embedded {done:,} of {total:,} texts", file=sys.stderr, flush=True)

    report = qa.index(progress=progress)
    print(json.dumps({"extraction_s": extracted - started,
                      "embedding_s": time.perf_counter() - extracted,
                      "documents": len(chunked), "passages": report.passages,
                      "skipped": len(corpus.skipped)}))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def top_source(http: Any, question: str) -> str:
    from benchmarks.load import call

    hits = call(http, "search", [question, 5, "hybrid", None])[0]["hits"]
    return str(hits[0]["source"]) if hits else ""


def until(condition: Callable[[], bool], limit: float) -> float:
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > limit:
            return float("nan")
        time.sleep(0.25)
    return time.perf_counter() - started


def changes_under_a_server(docs: Path, index: Path, burst: int, work: Path) -> dict[str, float]:
    """Latency from a change to an answer that reflects it, with `qa serve` watching."""
    import httpx

    port = free_port()
    server = subprocess.Popen(["timeout", "3600", *qa_command(
        "serve", "--docs", str(docs), "--index", str(index), "--port", str(port))],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "HF_HUB_OFFLINE": "1"})
    figures: dict[str, float] = {}
    note = docs / "notes" / "zz-new-note.txt"
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/", timeout=120) as http:
            until(lambda: _answers(http), 600)
            time.sleep(5)  # the start's catch-up with the folder is done
            note.write_text("Harbour log\n\nThe lighthouse keeper counted forty-one grey seals "
                            "on the northern reef at dawn.\n", encoding="utf-8")
            figures["one_file_s"] = until(lambda: top_source(
                http, "How many grey seals did the lighthouse keeper count?")
                == "notes/zz-new-note.txt", 300)
            staging = work / "burst"
            staging.mkdir(exist_ok=True)
            for number in range(1, burst + 1):
                (staging / f"ledger-{number:04d}.txt").write_text(
                    f"Ledger {number}\n\nShipment {number} carried barrels of tar to the dockyard "
                    f"of Harbourtown-{number}.\n", encoding="utf-8")
            started = time.perf_counter()
            subprocess.run(["cp", "-r", str(staging), str(docs / "burst")], check=True)
            wanted = [1, burst // 2, burst]

            def all_answered() -> bool:
                return all(top_source(http, f"Which shipment carried tar to the dockyard of "
                                            f"Harbourtown-{n}?") == f"burst/ledger-{n:04d}.txt"
                           for n in wanted)

            until(all_answered, 1800)
            figures["burst_s"] = time.perf_counter() - started
        figures["serve_peak_rss_mb"] = _peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)
        # Leave the folder as generated, so a run with --keep measures the same again.
        note.unlink(missing_ok=True)
        subprocess.run(["rm", "-rf", str(docs / "burst")], check=True)
    return figures


def _answers(http: Any) -> bool:
    try:
        top_source(http, QUESTION)
        return True
    except Exception:  # not up yet
        return False


def _peak_rss_mb(pid: int) -> float:
    """The largest VmHWM among `pid` and its descendants (timeout → python)."""
    found = 0.0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if int(fields.get("PPid", "0")) == pid or int(status.parent.name) == pid:
            found = max(found, int(fields.get("VmHWM", "0 kB").split()[0]) / 1024)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdfs", type=int, default=1250)
    parser.add_argument("--pages", type=int, default=16)
    parser.add_argument("--texts", type=int, default=3750)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="Keep the folder and index here.")
    parser.add_argument("--build-stages", nargs=2, type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.build_stages:
        build_in_stages(*options.build_stages)
        return
    work = options.keep or Path(tempfile.mkdtemp(prefix="qa-large-"))
    docs, index = work / "docs", work / "index"
    results: dict[str, Any] = {}
    if not docs.is_dir():
        started = time.perf_counter()
        results |= write_folder(docs, options.pdfs, options.pages, options.texts)
        print(f"wrote {results} in {time.perf_counter() - started:.0f} s", flush=True)
    if not index.is_dir():
        started = time.perf_counter()
        built = subprocess.run([sys.executable, "-m", "benchmarks.large_folder",
                                "--build-stages", str(docs), str(index)], cwd=REPO, check=True,
                               stdout=subprocess.PIPE, text=True)
        results |= json.loads(built.stdout.strip().splitlines()[-1])
        results["build_s"] = time.perf_counter() - started
        results["build_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(results, flush=True)
    seeds = ["--docs", str(REPO / "seeds"), "--index", str(work / "seeds-index")]
    big = ["--docs", str(docs), "--index", str(index)]
    timed(qa_command("index", *seeds), REPO)
    results["index_seeds_s"] = timed(qa_command("index", *seeds), REPO)
    results["index_folder_s"] = timed(qa_command("index", *big), REPO)
    results["ask_seeds_s"] = timed(qa_command("ask", QUESTION, "--json", *seeds), REPO)
    results["ask_folder_s"] = timed(qa_command("ask", QUESTION, "--json", *big), REPO)
    results["serve_seeds_s"] = serve_to_first_answer(seeds)
    results["serve_folder_s"] = serve_to_first_answer(big)
    for name in ("index", "ask", "serve"):
        results[f"{name}_ratio"] = results[f"{name}_folder_s"] / results[f"{name}_seeds_s"]
    print(results, flush=True)
    results |= changes_under_a_server(docs, index, options.burst, work)
    save(results, "large_folder")


if __name__ == "__main__":
    main()
