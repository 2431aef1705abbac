"""Resuming a killed build: Cranfield's 1,400 abstracts as text files, `qa index` SIGKILLed
past half of its embedding, then `qa index` again.

    .venv/bin/python -m benchmarks.resume [--keep DIR]

Prints how many passages the killed build had saved, how many the next build embedded (the
target: at most 60 % of all), and both builds' wall times beside a clean build's, measured in
the same run.
"""

from __future__ import annotations

import argparse
import json
import math
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


def main() -> None:
    from qa.indexing.indexer import DURABLE_PASSAGES, PARTIAL_FOLDER

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path)
    options = parser.parse_args()
    work = options.keep or Path(tempfile.mkdtemp(prefix="qa-resume-"))
    docs = work / "abstracts"
    docs.mkdir(parents=True, exist_ok=True)
    records = [json.loads(line) for line in CRANFIELD.open(encoding="utf-8")]
    for record in records:
        (docs / f"{record['_id']}.txt").write_text(
            f"{record.get('title') or record['_id']}\n\n{record['text']}\n", encoding="utf-8")
    passages = len(records)
    clean_s, _ = run(docs, work / "clean-index")
    index = work / "index"
    runs_past_half = math.ceil(passages / 2 / DURABLE_PASSAGES)
    started = time.perf_counter()
    build = subprocess.Popen(index_command(docs, index), cwd=REPO, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True,
                             env={**os.environ, "HF_HUB_OFFLINE": "1"})
    while len(list((index / PARTIAL_FOLDER).glob("*/run-*.jsonl"))) < runs_past_half:
        if build.poll() is not None:
            raise SystemExit("the build ended before it was past half")
        time.sleep(0.05)
    os.killpg(build.pid, signal.SIGKILL)
    build.wait()
    killed_s = time.perf_counter() - started
    saved = sum(len(p.read_text(encoding="utf-8").splitlines())
                for p in (index / PARTIAL_FOLDER).glob("*/run-*.jsonl"))
    resumed_s, embedded = run(docs, index)
    save({"passages": passages, "saved_when_killed": saved, "killed_after_s": killed_s,
          "resumed_embedded": embedded, "resumed_share": embedded / passages,
          "resumed_s": resumed_s, "clean_build_s": clean_s,
          "killed_plus_resumed_over_clean": (killed_s + resumed_s) / clean_s}, "resume")


if __name__ == "__main__":
    main()
