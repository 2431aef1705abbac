"""Copies of the same files: a folder holding `--copies` copies of one folder, built from
scratch, against one copy, in the same run.

    .venv/bin/python -m benchmarks.copies [--source ../shared/documents/squad-pdf]
                                          [--copies 10] [--rounds 1] [--keep DIR]

Each build runs in a new process, with the model loaded before the clock starts, and is timed
in parts: extraction (list, hash, read, chunk), the time spent in the encoder, and the whole
`index()` (plan, encode, write the index files). The issue's target: the copies' embedding
within 1.3x of one copy's, as the encoder then sees each distinct text once. Prints both
builds' figures and the ratios; with `--rounds` above 1, the builds alternate and the medians
are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.report import save

REPO = Path(__file__).resolve().parents[1]
SQUAD_PDF = REPO.parent / "shared" / "documents" / "squad-pdf"


def build_timed(docs: Path, index: Path) -> None:
    """(In a child process.) Build `docs` from scratch into `index`, in timed parts; prints
    them as JSON."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from qa.core.settings import settings_from_env
    from qa.library import QA, folder_corpus

    settings = settings_from_env().with_overrides(docs_dir=docs, index_dir=index)
    started = time.perf_counter()
    corpus = folder_corpus(settings)()
    corpus.read()
    extraction_s = time.perf_counter() - started
    qa = QA(settings, corpus=lambda: corpus)
    qa.embedder.encode_query("warm up")  # the model is loaded before the clock starts
    encoder_s = _time_encoder_calls(qa.embedder)
    started = time.perf_counter()
    report = qa.index(force=True)
    print(json.dumps({"extraction_s": extraction_s, "index_s": time.perf_counter() - started,
                      "encoder_s": encoder_s[0], "files": report.files,
                      "passages": report.passages, "distinct_passages": report.distinct_passages,
                      "texts_embedded": report.texts_embedded}))


def _time_encoder_calls(encoder: Any) -> list[float]:
    """Wrap the encoder's two batch calls so the seconds spent in them add up in the result."""
    spent = [0.0]
    for name in ("encode", "encode_with_spans"):
        call = getattr(encoder, name)

        def timed(*arguments: Any, _call: Any = call, **options: Any) -> Any:
            started = time.perf_counter()
            try:
                return _call(*arguments, **options)
            finally:
                spent[0] += time.perf_counter() - started

        setattr(encoder, name, timed)
    return spent


def build(docs: Path, index: Path) -> dict[str, Any]:
    shutil.rmtree(index, ignore_errors=True)
    done = subprocess.run(
        ["timeout", "7200", sys.executable, "-m", "benchmarks.copies", "--build", str(docs),
         str(index)], cwd=REPO, capture_output=True, text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)})
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SQUAD_PDF)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="Keep the folders and indexes here.")
    parser.add_argument("--build", nargs=2, type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.build:
        build_timed(*options.build)
        return
    work = options.keep or Path(tempfile.mkdtemp(prefix="qa-copies-"))
    one, many = work / "one", work / "copies"
    for folder, count in ((one, 1), (many, options.copies)):
        shutil.rmtree(folder, ignore_errors=True)
        for number in range(count):
            shutil.copytree(options.source, folder / f"copy-{number + 1:02d}")
    runs: dict[str, list[dict[str, Any]]] = {"one": [], "copies": []}
    for _ in range(options.rounds):
        runs["one"].append(build(one, work / "one-index"))
        runs["copies"].append(build(many, work / "copies-index"))
    results: dict[str, Any] = {"source": str(options.source), "copies": options.copies,
                               "rounds": options.rounds}
    for name, figures in runs.items():
        for key in figures[0]:
            results[f"{name}_{key}"] = statistics.median(run[key] for run in figures)
    for key in ("extraction_s", "index_s", "encoder_s", "texts_embedded"):
        results[f"{key}_ratio"] = results[f"copies_{key}"] / results[f"one_{key}"]
    save(results, "copies")


if __name__ == "__main__":
    main()
