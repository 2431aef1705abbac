"""Dense nearest-neighbour retrieval with FAISS: exact for small corpora, approximate above."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from qa.settings import Settings

# Product-quantisation codes of 4 bits per this many dimensions: 1/32 of the float32 bytes.
_DIMENSIONS_PER_CODE = 4
# PQ codebooks are trained on at most this many vectors (evenly spaced over the corpus).
_PQ_TRAINING_VECTORS = 100_000


@dataclass(frozen=True)
class DenseIndexSpec:
    """Which FAISS index to build; recorded in the manifest."""

    kind: str  # "flat" (exact inner product), "hnsw", or "pq-refine"
    hnsw_m: int = 0
    ef_construction: int = 0
    pq_codes: int = 0  # "pq-refine": 4-bit codes per vector

    def to_json(self) -> dict[str, Any]:
        # pq_codes joined the spec later: left out when unused, so older manifests still match.
        return {key: value for key, value in asdict(self).items() if key != "pq_codes" or value}


def choose_index_spec(vector_count: int, dimension: int, settings: Settings) -> DenseIndexSpec:
    """Exact search while it is fast enough; the approximate index of the settings beyond
    (measured in benchmarks/scale.py)."""
    if vector_count <= settings.exact_max_vectors:
        return DenseIndexSpec("flat")
    if settings.approximate_index == "pq-refine" and dimension % _DIMENSIONS_PER_CODE == 0:
        return DenseIndexSpec("pq-refine", pq_codes=dimension // _DIMENSIONS_PER_CODE)
    return DenseIndexSpec("hnsw", settings.hnsw_m, settings.hnsw_ef_construction)


def build_dense_index(vectors: np.ndarray, spec: DenseIndexSpec) -> faiss.Index:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dimension = vectors.shape[1]
    index: faiss.Index
    if spec.kind == "flat":
        index = faiss.IndexFlatIP(dimension)
    elif spec.kind == "hnsw":
        hnsw = faiss.IndexHNSWFlat(dimension, spec.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = spec.ef_construction
        index = hnsw
    elif spec.kind == "pq-refine":
        # A scan of SIMD-friendly 4-bit codes finds candidates; the exact vectors rerank them.
        index = faiss.index_factory(dimension, f"PQ{spec.pq_codes}x4fs,RFlat",
                                    faiss.METRIC_INNER_PRODUCT)
        step = max(1, len(vectors) // _PQ_TRAINING_VECTORS)
        index.train(vectors[::step])
    else:
        raise ValueError(f"unknown dense index kind {spec.kind!r}")
    index.add(vectors)
    return index


def save_dense_index(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def load_dense_index(path: Path, settings: Settings) -> faiss.Index:
    """Read with memory-mapping where FAISS supports it, so large indexes load lazily; apply the
    query-time knobs of the settings."""
    try:
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    except RuntimeError:
        index = faiss.read_index(str(path))
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = settings.hnsw_ef_search
    elif isinstance(index, faiss.IndexRefine):
        index.k_factor = float(settings.pq_refine_factor)
    return index


def search_dense(index: faiss.Index, query: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Top `count` vector rows for one query: (scores, rows), rows >= 0 only."""
    scores, rows = index.search(query.reshape(1, -1), min(count, index.ntotal))
    keep = rows[0] >= 0
    return scores[0][keep], rows[0][keep]
