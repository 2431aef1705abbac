"""Dense nearest-neighbour retrieval with FAISS: exact for small corpora, HNSW for large ones."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np


@dataclass(frozen=True)
class DenseIndexSpec:
    """Which FAISS index to build; recorded in the manifest."""

    kind: str  # "flat" (exact inner product) or "hnsw"
    hnsw_m: int = 0
    ef_construction: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def choose_index_spec(vector_count: int, exact_max_vectors: int, hnsw_m: int,
                      ef_construction: int) -> DenseIndexSpec:
    """Exact search while it is fast enough; HNSW beyond (measured in benchmarks/scale.py)."""
    if vector_count <= exact_max_vectors:
        return DenseIndexSpec("flat")
    return DenseIndexSpec("hnsw", hnsw_m, ef_construction)


def build_dense_index(vectors: np.ndarray, spec: DenseIndexSpec) -> faiss.Index:
    dimension = vectors.shape[1]
    index: faiss.Index
    if spec.kind == "flat":
        index = faiss.IndexFlatIP(dimension)
    elif spec.kind == "hnsw":
        hnsw = faiss.IndexHNSWFlat(dimension, spec.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = spec.ef_construction
        index = hnsw
    else:
        raise ValueError(f"unknown dense index kind {spec.kind!r}")
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def save_dense_index(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def load_dense_index(path: Path, ef_search: int) -> faiss.Index:
    """Read with memory-mapping where FAISS supports it, so large indexes load lazily."""
    try:
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    except RuntimeError:
        index = faiss.read_index(str(path))
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = ef_search
    return index


def search_dense(index: faiss.Index, query: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Top `count` vector rows for one query: (scores, rows), rows >= 0 only."""
    scores, rows = index.search(query.reshape(1, -1), min(count, index.ntotal))
    keep = rows[0] >= 0
    return scores[0][keep], rows[0][keep]
