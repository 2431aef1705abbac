"""Hostile folder benchmark: the files that once hung a build (issue 25), beside one good file.

    .venv/bin/python -m benchmarks.hostile [--keep DIR]

Builds a folder with a 50,000-line PDF, a DOCX of 20,000 styles and paragraphs, a DOCX whose zip
headers under-declare document.xml (300 MB inflated), a 300 KB transcript without blank lines
and one good file; runs `qa index` on it and, as the baseline in the same run, on the good file
alone; prints wall time, peak RSS (the largest of qa and its reader workers) and what became of
each file, then asks the good file's question.
"""

from __future__ import annotations

import argparse
import json
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="Build the folders here and keep them.")
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


if __name__ == "__main__":
    main()
