"""Scale benchmark (no model): exact vs HNSW search over random unit vectors of the model's size.

    .venv/bin/python -m benchmarks.scale --sizes 100000 1000000

Prints p50 latency per query (one thread), recall@10 against exact search, and index bytes
against the raw float32 bytes, as a table and as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from qa.dense import DenseIndexSpec, build_dense_index, load_dense_index, save_dense_index
from qa.settings import Settings

DIMENSION = 384


def unit_vectors(count: int, rng: np.random.Generator) -> np.ndarray:
    vectors = rng.standard_normal((count, DIMENSION), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def p50_ms(index: faiss.Index, queries: np.ndarray) -> tuple[float, np.ndarray]:
    timings, results = [], []
    for query in queries:
        started = time.perf_counter()
        _, rows = index.search(query.reshape(1, -1), 10)
        timings.append(time.perf_counter() - started)
        results.append(rows[0])
    return 1000 * float(np.median(timings)), np.array(results)


def measure(size: int, queries: int, settings: Settings, folder: Path) -> dict[str, float]:
    rng = np.random.default_rng(7)
    vectors = unit_vectors(size, rng)
    # Queries near stored vectors, as real questions are near their passages.
    picks = rng.integers(0, size, queries)
    probe = vectors[picks] + 0.5 * unit_vectors(queries, rng)
    probe /= np.linalg.norm(probe, axis=1, keepdims=True)
    faiss.omp_set_num_threads(1)
    exact = build_dense_index(vectors, DenseIndexSpec("flat"))
    exact_ms, truth = p50_ms(exact, probe)
    started = time.perf_counter()
    spec = DenseIndexSpec("hnsw", settings.hnsw_m, settings.hnsw_ef_construction)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    hnsw = build_dense_index(vectors, spec)
    build_s = time.perf_counter() - started
    path = folder / f"hnsw-{size}.faiss"
    save_dense_index(hnsw, path)
    loaded = load_dense_index(path, settings.hnsw_ef_search)
    faiss.omp_set_num_threads(1)
    hnsw_ms, found = p50_ms(loaded, probe)
    sweep = {}
    for ef_search in (128, 256, 512):
        loaded.hnsw.efSearch = ef_search
        ms, rows = p50_ms(loaded, probe)
        sweep[f"ef{ef_search}_p50_ms"], sweep[f"ef{ef_search}_recall@10"] = ms, recall_at_10(truth, rows)
    return {"vectors": size, "exact_p50_ms": exact_ms, "hnsw_p50_ms": hnsw_ms,
            "speedup": exact_ms / hnsw_ms, "hnsw_recall@10": recall_at_10(truth, found),
            "hnsw_build_s": build_s, "index_bytes_ratio": path.stat().st_size / vectors.nbytes,
            "ef_search": settings.hnsw_ef_search, "m": settings.hnsw_m, **sweep}


def recall_at_10(truth: np.ndarray, found: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, found, strict=True)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            rows.append(measure(size, args.queries, Settings(), Path(folder)))
            row = rows[-1]
            print(f"{size:>9} vectors: exact p50 {row['exact_p50_ms']:.2f} ms, HNSW p50 "
                  f"{row['hnsw_p50_ms']:.3f} ms ({row['speedup']:.0f}x), recall@10 "
                  f"{row['hnsw_recall@10']:.3f}, index/raw bytes {row['index_bytes_ratio']:.2f}, "
                  f"build {row['hnsw_build_s']:.0f} s", flush=True)
            print("   efSearch sweep: " + ", ".join(
                f"{ef}: {row[f'ef{ef}_p50_ms']:.2f} ms / {row[f'ef{ef}_recall@10']:.3f}"
                for ef in (128, 256, 512)), flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
