"""Resuming a killed build: Cranfield's 1,400 abstracts as text files, `qa index` SIGKILLed
once its progress bar shows half of its embedding done, then `qa index` again.

    .venv/bin/python -m benchmarks.resume [--keep DIR] [--cranfield corpus.jsonl] [--no-clean]

Prints how many passages the killed build had saved, how many the next build embedded (the
target: at most 55 % of all), and both builds' wall times beside a clean build's, measured in
the same run (unless --no-clean).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.report import save

REPO = Path(__file__).resolve().parents[1]
CRANFIELD = REPO.parent / "shared" / "beir" / "cranfield" / "corpus.jsonl"


def index_command(docs: Path, index: Path) -> list[str]:
    return ["timeout", "3600", sys.executable, "-m", "qa.cli", "index", str(docs), "--index",
            str(index)]


def run(docs: Path, index: Path) -> tuple[float, int]:
    """Wall time of a `qa index`, and the passages it embedded."""
    started = time.perf_counter()
    done = subprocess.run(index_command(docs, index), cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    found = re.search(r"\((\d+) embedded", done.stdout)
    return time.perf_counter() - started, int(found.group(1)) if found else 0


def kill_at_half(docs: Path, index: Path) -> float:
    """Start `qa index` and SIGKILL it once its progress bar (texts embedded of all) reaches
    half; the share of texts it showed done."""
    build = subprocess.Popen(index_command(docs, index), cwd=REPO, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, start_new_session=True,
                             env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert build.stderr is not None
    shown = b""
    while True:
        chunk = os.read(build.stderr.fileno(), 4096)
        if not chunk:
            raise SystemExit("the build ended before it was half done")
        shown = (shown + chunk)[-4096:]
        found = re.findall(rb"(\d+)/(\d+) \[", shown)
        if found and int(found[-1][0]) * 2 >= int(found[-1][1]):
            os.killpg(build.pid, signal.SIGKILL)
            build.wait()
            return int(found[-1][0]) / int(found[-1][1])


def main() -> None:
    from qa.indexing.indexer import PARTIAL_FOLDER

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--cranfield", type=Path, default=CRANFIELD)
    parser.add_argument("--no-clean", action="store_true", help="Skip the clean build.")
    options = parser.parse_args()
    work = options.keep or Path(tempfile.mkdtemp(prefix="qa-resume-"))
    docs = work / "abstracts"
    docs.mkdir(parents=True, exist_ok=True)
    records = [json.loads(line) for line in options.cranfield.open(encoding="utf-8")]
    for record in records:
        (docs / f"{record['_id']}.txt").write_text(
            f"{record.get('title') or record['_id']}\n\n{record['text']}\n", encoding="utf-8")
    passages = len(records)
    clean_s = float("nan") if options.no_clean else run(docs, work / "clean-index")[0]
    index = work / "index"
    started = time.perf_counter()
    killed_at = kill_at_half(docs, index)
    killed_s = time.perf_counter() - started
    saved = sum(len(p.read_text(encoding="utf-8").splitlines())
                for p in (index / PARTIAL_FOLDER).glob("*/run-*.jsonl"))
    resumed_s, embedded = run(docs, index)
    save({"passages": passages, "killed_at_texts_share": killed_at,
          "saved_when_killed": saved, "killed_after_s": killed_s,
          "resumed_embedded": embedded, "resumed_share": embedded / passages,
          "resumed_s": resumed_s, "clean_build_s": clean_s,
          "killed_plus_resumed_over_clean": (killed_s + resumed_s) / clean_s}, "resume")


if __name__ == "__main__":
    main()
