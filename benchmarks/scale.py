"""Scale benchmark (no model): exact search vs approximate FAISS indexes over random unit
vectors of the model's size.

    .venv/bin/python -m benchmarks.scale --sizes 100000 1000000

For each size: exact inner-product search (the baseline), then qa's two approximate indexes,
built and searched exactly as qa builds and searches them: "pq-rerank" (the default: 4-bit PQ
fast scan, exact rerank of the best rows from the stored vectors) with a sweep of the rows
reranked, and HNSW with an efSearch sweep; and IVF-Flat with an nprobe sweep for comparison
(`--indexes` picks among them). Each row gives p50 latency per query on one thread, recall@10 and
recall@1 against exact search, and the bytes qa keeps on disk for that index (FAISS file plus the
float32 vectors.npy every qa index stores) against the raw float32 bytes.
Prints a table and the rows as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np

from qa.core.settings import APPROXIMATE_INDEXES, Settings
from qa.indexing.dense import (
    DenseIndex,
    DenseIndexSpec,
    build_dense_index,
    choose_index_spec,
    load_dense_index,
    save_dense_index,
)

DIMENSION = 384
EF_SEARCH = (64, 128, 256, 512, 1024)
NPROBE = (8, 32, 128)
RERANK_ROWS = (0, 1000, 2000, 5000, 10000)  # 0: qa's default, 5 × √(vectors)
INDEXES = (*APPROXIMATE_INDEXES, "ivf")


@dataclass(frozen=True)
class Row:
    vectors: int
    index: str
    knob: str
    p50_ms: float
    speedup_vs_exact: float
    recall_at_10: float
    recall_at_1: float
    bytes_vs_raw: float
    build_s: float


def unit_vectors(count: int, rng: np.random.Generator) -> np.ndarray:
    vectors = rng.standard_normal((count, DIMENSION), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


Search = Callable[[np.ndarray], np.ndarray]  # one query -> its top-10 rows


def timed_search(search: Search, queries: np.ndarray) -> tuple[float, np.ndarray]:
    """p50 milliseconds of one-query searches, and the top-10 rows of each."""
    faiss.omp_set_num_threads(1)
    timings, results = [], []
    for query in queries:
        started = time.perf_counter()
        rows = search(query)
        timings.append(time.perf_counter() - started)
        results.append(rows)
    return 1000 * float(np.median(timings)), np.array(results)


def top10(index: DenseIndex) -> Search:
    return lambda query: index.search(query, 10)[1]


def recall(truth: np.ndarray, found: np.ndarray, k: int) -> float:
    return float(np.mean([len(set(a[:k]) & set(b[:k])) / k for a, b in zip(truth, found, strict=True)]))


def built(make, folder: Path, name: str) -> tuple[faiss.Index, float, int]:  # type: ignore[no-untyped-def]
    """Build with every core (as `qa index` does), save, and report seconds and file bytes."""
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    started = time.perf_counter()
    index = make()
    seconds = time.perf_counter() - started
    path = folder / name
    save_dense_index(index, path)
    return index, seconds, path.stat().st_size


def measure(size: int, queries: int, indexes: list[str], folder: Path) -> list[Row]:
    rng = np.random.default_rng(7)
    vectors = unit_vectors(size, rng)
    # Queries near stored vectors, as real questions are near their passages.
    probe = vectors[rng.integers(0, size, queries)] + 0.5 * unit_vectors(queries, rng)
    probe /= np.linalg.norm(probe, axis=1, keepdims=True)
    raw = vectors.nbytes
    # The stored vectors, memory-mapped as qa reads them (pq-rerank's exact rerank uses them).
    np.save(folder / "vectors.npy", vectors)
    stored = np.load(folder / "vectors.npy", mmap_mode="r")
    exact = build_dense_index(vectors, DenseIndexSpec("flat"))
    exact_ms, truth = timed_search(top10(DenseIndex(exact, stored)), probe)
    rows = [Row(size, "exact", "-", exact_ms, 1.0, 1.0, 1.0, 2.0, 0.0)]

    def row(index: str, knob: str, search: Search, build_s: float, nbytes: int) -> Row:
        ms, found = timed_search(search, probe)
        return Row(size, index, knob, ms, exact_ms / ms, recall(truth, found, 10),
                   recall(truth, found, 1), (nbytes + raw) / raw, build_s)

    if "pq-rerank" in indexes:
        rows += _sweep(row, stored, folder, "pq-rerank", "rows reranked", RERANK_ROWS)
    if "hnsw" in indexes:
        rows += _sweep(row, stored, folder, "hnsw", "efSearch", EF_SEARCH)
    if "ivf" in indexes:
        lists = int(4 * np.sqrt(size))
        ivf, build_s, nbytes = built(lambda: _ivf(vectors, lists), folder, "ivf.faiss")
        for nprobe in NPROBE:
            faiss.ParameterSpace().set_index_parameter(ivf, "nprobe", nprobe)
            rows.append(row(f"IVF{lists},Flat", f"nprobe={nprobe}", top10(DenseIndex(ivf, stored)),
                            build_s, nbytes))
    return rows


def _sweep(row, vectors: np.ndarray, folder: Path, kind: str, knob: str,  # type: ignore[no-untyped-def]
           values: tuple[int, ...]) -> list[Row]:
    """Build the index `qa index` would build with approximate_index=kind; search at each knob."""
    settings = Settings(exact_max_vectors=0, approximate_index=kind)
    spec = choose_index_spec(len(vectors), DIMENSION, settings)
    _, build_s, nbytes = built(lambda: build_dense_index(vectors, spec), folder, f"{kind}.faiss")
    name = f"HNSW M={spec.hnsw_m}" if kind == "hnsw" else f"PQ{spec.pq_codes}x4fs + exact rerank"
    rows = []
    for value in values:
        knobs = {"hnsw_ef_search": value} if kind == "hnsw" else {"pq_rerank_rows": value}
        index = load_dense_index(folder / f"{kind}.faiss", vectors,
                                 settings.with_overrides(**knobs))
        label = f"{value}" if value else f"{index.rerank_rows} (default)"
        if kind == "hnsw" and value == Settings().hnsw_ef_search:
            label += " (default)"
        rows.append(row(name, f"{knob}={label}", top10(index), build_s, nbytes))
    return rows


def _ivf(vectors: np.ndarray, lists: int) -> faiss.Index:
    index = faiss.index_factory(DIMENSION, f"IVF{lists},Flat", faiss.METRIC_INNER_PRODUCT)
    index.train(vectors[: min(len(vectors), 64 * lists)])
    index.add(vectors)
    return index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--indexes", nargs="+", choices=INDEXES, default=list(INDEXES))
    args = parser.parse_args()
    rows: list[Row] = []
    print("| vectors | index | knob | p50 ms | × faster than exact | recall@10 | recall@1 "
          "| bytes / raw | build s |\n|---|---|---|---|---|---|---|---|---|", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            for r in measure(size, args.queries, args.indexes, Path(folder)):
                rows.append(r)
                print(f"| {r.vectors:,} | {r.index} | {r.knob} | {r.p50_ms:.2f} | "
                      f"{r.speedup_vs_exact:.1f} | {r.recall_at_10:.3f} | {r.recall_at_1:.3f} | "
                      f"{r.bytes_vs_raw:.2f} | {r.build_s:.0f} |", flush=True)
    print(json.dumps([asdict(r) for r in rows]))


if __name__ == "__main__":
    main()
