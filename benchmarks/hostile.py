"""Hostile folder benchmark: the files that once hung a build (issue 25), beside one good file.

    .venv/bin/python -m benchmarks.hostile [--keep DIR] [--through-page]

Builds a folder with a 50,000-line PDF, a DOCX of 20,000 styles and paragraphs, a DOCX whose zip
headers under-declare document.xml (300 MB inflated), a 300 KB transcript without blank lines
and one good file; runs `qa index` on it and, as the baseline in the same run, on the good file
alone; prints wall time, peak RSS (the largest of qa and its reader workers) and what became of
each file, then asks the good file's question. With --through-page it also serves the good file,
uploads the hostile files from the page in headless Chromium, asks through the JSON API while
the upload is handled and after it, then kills the server (SIGKILL) and times its restart.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from documents import (
    lying_zip_docx,
    many_lines_pdf,
    many_styles_docx,
    transcript_without_blank_lines,
)

GOOD = ("Harbour notes\n\nThe east pontoon has fresh water and power for visiting boats, and "
        "the harbour master's office opens at seven.\n")
QUESTION = "When does the harbour master's office open?"


def _qa(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qa.cli", *arguments], capture_output=True,
                          text=True, check=False)


def _index_with_peak(folder: Path, index: Path) -> tuple[float, int, str, float]:
    """`qa index` timed, with the peak of its RSS plus its reader workers' (sampled every
    50 ms: ru_maxrss of a child would count what it inherited from this process at fork)."""
    import psutil

    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "qa.cli", "index", "--docs", str(folder),
                                "--index", str(index)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    watched, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        try:
            family = [watched, *watched.children(recursive=True)]
            peak = max(peak, sum(member.memory_info().rss for member in family))
        except psutil.Error:
            pass
        time.sleep(0.05)
    output = process.stdout.read() if process.stdout else ""
    return time.perf_counter() - started, process.returncode, output, peak / 2**20


def _build(folder: Path, index: Path) -> dict[str, object]:
    seconds, code, output, peak_mb = _index_with_peak(folder, index)
    answer = _qa("ask", QUESTION, "--docs", str(folder), "--index", str(index), "--json", "-k",
                    "1")
    hits = json.loads(answer.stdout)["hits"] if answer.returncode == 0 else []
    skipped = [line for line in output.splitlines() if line.startswith("skipped")]
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(peak_mb), "exit": code,
            "skipped": skipped, "answer": hits[0]["source"] if hits else None}


def _search(url: str) -> str:
    """The first hit's source for the good file's question through the JSON API ("" if none)."""
    import httpx

    from benchmarks.load import call

    with httpx.Client(base_url=url, timeout=120) as http:
        answer = call(http, "search", [QUESTION, 1, None, None])[0]
    return answer["hits"][0]["source"] if answer["hits"] else ""


def _serve(folder: Path, index: Path, port: int) -> tuple[subprocess.Popen[bytes], float]:
    """`app.py` over the folder, and the seconds until it answers on its port."""
    import httpx

    started = time.perf_counter()
    server = subprocess.Popen(["timeout", "900", sys.executable, "app.py", "--docs", str(folder),
                               "--index", str(index), "--port", str(port)],
                              cwd=Path(__file__).resolve().parents[1],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)  # its own group: killed whole below
    while server.poll() is None:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
            return server, time.perf_counter() - started
        except httpx.HTTPError:
            time.sleep(0.5)
    raise SystemExit(f"the server exited with status {server.returncode}")


def _through_page(root: Path, hostile: Path) -> None:
    import threading

    from playwright.sync_api import sync_playwright

    folder, index, port = root / "served", root / "served-index", 7931
    folder.mkdir(exist_ok=True)
    (folder / "notes.txt").write_text(GOOD, encoding="utf-8")
    server, seconds = _serve(folder, index, port)
    url = f"http://127.0.0.1:{port}/"
    print(f"page up in {seconds:.1f} s")
    answers: list[str] = []
    uploading = True

    def keep_asking() -> None:
        while uploading:
            answers.append(_search(url))
            time.sleep(1)

    asker = threading.Thread(target=keep_asking)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            tab = browser.new_page()
            tab.goto(url)
            tab.locator("button:has-text('Add documents')").click()
            started = time.perf_counter()
            asker.start()
            tab.locator("#qa-upload input[type=file]").set_input_files(
                [str(path) for path in sorted(hostile.iterdir()) if path.name != "notes.txt"])
            tab.wait_for_selector("#qa-added li", timeout=600_000)
            print(f"upload handled in {time.perf_counter() - started:.1f} s:")
            print(tab.locator("#qa-added").inner_text())
            browser.close()
    finally:
        uploading = False
        if asker.is_alive():
            asker.join()
    wrong = sum(answer != "notes.txt" for answer in answers)
    print(f"asked during the upload: {len(answers)} answers, {wrong} not the good file")
    print(f"after: first hit {_search(url)!r}")
    os.killpg(server.pid, signal.SIGKILL)  # `timeout`, the server and its workers
    server.wait()
    time.sleep(1)
    server, seconds = _serve(folder, index, port)
    print(f"after SIGKILL, listening again in {seconds:.1f} s; first hit {_search(url)!r}; "
          f"folder now holds {sorted(path.name for path in folder.iterdir())}")
    server.terminate()
    server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="Build the folders here and keep them.")
    parser.add_argument("--through-page", action="store_true",
                        help="Also upload the files to a running page and restart it.")
    arguments = parser.parse_args()
    root = arguments.keep or Path(tempfile.mkdtemp(prefix="qa-hostile-"))
    good, hostile = root / "good", root / "hostile"
    for folder in (good, hostile):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "notes.txt").write_text(GOOD, encoding="utf-8")
    (hostile / "lines.pdf").write_bytes(many_lines_pdf(50_000))
    (hostile / "styles.docx").write_bytes(many_styles_docx(20_000))
    (hostile / "lying.docx").write_bytes(lying_zip_docx(300_000_000))
    (hostile / "transcript.txt").write_text(transcript_without_blank_lines(300), encoding="utf-8")
    for path in sorted(hostile.iterdir()):
        print(f"{path.name}: {path.stat().st_size:,} bytes")
    baseline = _build(good, root / "good-index")
    print("good file alone:", json.dumps(baseline))
    result = _build(hostile, root / "hostile-index")
    print("hostile folder:", json.dumps(result))
    print(f"ratio of wall times: {result['seconds'] / baseline['seconds']:.1f}x "  # type: ignore[operator]
          "(target: under 150 s, under 1.5 GB peak RSS, every file indexed or named)")
    if arguments.through_page:
        _through_page(root, hostile)


if __name__ == "__main__":
    main()
