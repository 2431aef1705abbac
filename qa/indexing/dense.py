"""Dense nearest-neighbour retrieval with FAISS: exact for small corpora, approximate above."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from qa.core.settings import Settings

# Product-quantisation codes of 4 bits per this many dimensions: 1/32 of the float32 bytes.
_DIMENSIONS_PER_CODE = 4
# PQ codebooks are trained on at most this many vectors (evenly spaced over the corpus).
_PQ_TRAINING_VECTORS = 100_000
# Rows rescored exactly after a PQ scan, per square root of the codes scanned. IVF codes encode
# the residual to their partition's centroid, finer than plain PQ: fewer rows suffice (at a
# million windows, 1,000 rows found as much of the exact top 10 as 2,500).
_RERANK_ROWS_PER_ROOT = 5
_RERANK_ROWS_PER_ROOT_IVF = 2


@dataclass(frozen=True)
class DenseIndexSpec:
    """Which FAISS index to build; recorded in the manifest."""

    kind: str  # "exact" (numpy over vectors.npy), "flat" (FAISS exact), "pq-rerank", or "hnsw"
    hnsw_m: int = 0
    ef_construction: int = 0
    pq_codes: int = 0  # "pq-rerank": 4-bit codes per vector
    ivf_lists: int = 0  # "pq-rerank": IVF partitions of the codes; 0: one scan of them all
    # "all" rows of vectors.npy, or only the "windows": an approximate index leaves the sentence
    # vectors out (about 4 in 5 rows), which are still read for each candidate passage.
    vectors: str = "all"
    stored: str = "float32"  # how vectors.npy stores them: "float32" or "float16"

    def to_json(self) -> dict[str, Any]:
        # Fields that joined the spec later are left out at their old value, so older manifests
        # still match.
        later = {"pq_codes": 0, "ivf_lists": 0, "vectors": "all", "stored": "float32"}
        return {key: value for key, value in asdict(self).items()
                if key not in later or value != later[key]}


def choose_index_spec(vector_count: int, dimension: int, settings: Settings) -> DenseIndexSpec:
    """Exact search while it is fast enough; the approximate index of the settings beyond
    (measured in benchmarks/scale.py)."""
    stored = settings.vector_storage
    if vector_count <= settings.exact_max_vectors:
        # Exact search reads vectors.npy itself: a FAISS flat index would be a second copy.
        return DenseIndexSpec("exact", stored=stored)
    if settings.approximate_index == "pq-rerank" and dimension % _DIMENSIONS_PER_CODE == 0:
        lists = ivf_lists(vector_count) if vector_count > settings.ivf_min_vectors else 0
        return DenseIndexSpec("pq-rerank", pq_codes=dimension // _DIMENSIONS_PER_CODE,
                              ivf_lists=lists, vectors="windows", stored=stored)
    return DenseIndexSpec("hnsw", settings.hnsw_m, settings.hnsw_ef_construction,
                          vectors="windows", stored=stored)


def build_dense_index(vectors: np.ndarray, spec: DenseIndexSpec,
                      rows: np.ndarray | None = None) -> faiss.Index:
    """The index of the spec over `vectors`, or over the listed rows of them."""
    vectors = np.ascontiguousarray(vectors if rows is None else vectors[rows], dtype=np.float32)
    dimension = vectors.shape[1]
    index: faiss.Index
    if spec.kind == "flat":
        index = faiss.IndexFlatIP(dimension)
    elif spec.kind == "hnsw":
        hnsw = faiss.IndexHNSWFlat(dimension, spec.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = spec.ef_construction
        index = hnsw
    elif spec.kind == "pq-rerank":
        # Only the SIMD-friendly 4-bit codes: the exact rerank reads the vectors qa stores anyway.
        partitions = f"IVF{spec.ivf_lists}," if spec.ivf_lists else ""
        index = faiss.index_factory(dimension, f"{partitions}PQ{spec.pq_codes}x4fs",
                                    faiss.METRIC_INNER_PRODUCT)
        step = max(1, len(vectors) // _PQ_TRAINING_VECTORS)
        index.train(vectors[::step])
    else:
        raise ValueError(f"unknown dense index kind {spec.kind!r}")
    index.add(vectors)
    return index


def save_dense_index(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


@dataclass(frozen=True)
class DenseIndex:
    """A loaded FAISS index over `vectors` (the stored float32 vectors), or over the rows of
    them listed in `rows`. With `rerank_rows`, the FAISS scores only pick that many candidates,
    which are then scored exactly against `vectors`."""

    faiss_index: faiss.Index
    vectors: np.ndarray
    rerank_rows: int = 0
    rows: np.ndarray | None = None  # FAISS id -> row of vectors; None: the same

    @property
    def ntotal(self) -> int:
        return int(self.faiss_index.ntotal)

    def search(self, query: np.ndarray, count: int, allowed: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Top `count` rows of `vectors` for one query, best first: (scores, rows). With
        `allowed` (one flag per row of `vectors`), only among the rows it flags: FAISS skips the
        others while it searches, so the top `count` allowed rows come back however few they are."""
        query = np.asarray(query, dtype=np.float32)  # float16 rows are scored in float32
        count = min(count, self.ntotal)
        if count <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        fetched = max(count, self.rerank_rows) if self.rerank_rows else count
        if allowed is None:
            scores, ids = _faiss_search(self.faiss_index, query, fetched)
        else:
            allowed_ids = allowed if self.rows is None else allowed[self.rows]
            found = _selected_search(self.faiss_index, query, fetched, allowed_ids)
            if found is None:  # an index that cannot skip rows, or missed some: score them all
                return self._exact(query, count, self._row_of(np.flatnonzero(allowed_ids)))
            scores, ids = found
        if not self.rerank_rows:
            return scores, self._row_of(ids)
        # Read the memory-mapped vectors in file order.
        return self._exact(query, count, np.sort(self._row_of(ids)))

    def _exact(self, query: np.ndarray, count: int, rows: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """The top `count` of `rows` by their exact inner product with the query."""
        # Scored by FAISS over the rows' own bytes: numpy widens float16 to float32 at about
        # 3 ns a number (3.5 ms for 2,738 rows at 300,000 passages), FAISS's SIMD scan does not.
        scores, slots = _faiss_search(exact_index(np.take(self.vectors, rows, axis=0)), query,
                                      count)
        return scores, rows[slots]

    def _row_of(self, ids: np.ndarray) -> np.ndarray:
        return ids if self.rows is None else self.rows[ids]


def exact_index(vectors: np.ndarray) -> faiss.Index:
    """A flat FAISS index whose codes are the stored vectors' own bytes (float16 or float32), so
    it needs no file of its own. FAISS scores float16 codes directly with SIMD, far faster than
    widening them to float32 for numpy (docs/benchmarks.md)."""
    dimension = int(vectors.shape[1]) if vectors.ndim == 2 else 0
    index: faiss.Index
    if vectors.dtype == np.float16:
        index = faiss.IndexScalarQuantizer(dimension, faiss.ScalarQuantizer.QT_fp16,
                                           faiss.METRIC_INNER_PRODUCT)
    else:
        index = faiss.IndexFlatIP(dimension)
        vectors = np.asarray(vectors, dtype=np.float32)
    if len(vectors):
        faiss.copy_array_to_vector(np.ascontiguousarray(vectors).view(np.uint8).ravel(),
                                   index.codes)
        index.ntotal = len(vectors)
    return index


def inner_products(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Each row's inner product with the query, in row order, float16 rows included. FAISS
    scores the rows' own bytes, faster than numpy's widening of them to float32 alone."""
    products = np.zeros(len(vectors), dtype=np.float32)
    if len(vectors):
        scores, rows = _faiss_search(exact_index(vectors), np.asarray(query, dtype=np.float32),
                                     len(vectors))
        products[rows] = scores
    return products


def _faiss_search(index: faiss.Index, query: np.ndarray, count: int,
                  params: faiss.SearchParameters | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    scores, rows = index.search(query.reshape(1, -1), min(count, index.ntotal), params=params)
    keep = rows[0] >= 0
    return scores[0][keep], rows[0][keep]


def _selected_search(index: faiss.Index, query: np.ndarray, count: int, allowed: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray] | None:
    """FAISS's search among the ids `allowed` flags; None where the index cannot skip ids (PQ
    fast scan without IVF) or found fewer than there are (HNSW, whose walk may run out of
    allowed neighbours under a narrow filter)."""
    if isinstance(index, faiss.IndexFastScan) and not isinstance(index, faiss.IndexIVF):
        return None
    bitmap = np.packbits(allowed, bitorder="little")  # referenced by the selector: keep alive
    selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bitmap))
    params: faiss.SearchParameters
    if isinstance(index, faiss.IndexHNSW):
        params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]  # (not in the stubs)
        params.efSearch = index.hnsw.efSearch  # type: ignore[attr-defined]  # not the default
    elif isinstance(index, faiss.IndexIVF):
        params = faiss.SearchParametersIVF()
        params.nprobe = index.nprobe
    else:
        params = faiss.SearchParameters()
    params.sel = selector
    scores, ids = _faiss_search(index, query, count, params)
    if len(ids) < min(count, int(np.count_nonzero(allowed))):
        return None
    return scores, ids


def load_dense_index(path: Path, vectors: np.ndarray, settings: Settings,
                     rows: np.ndarray | None = None, kind: str = "") -> DenseIndex:
    """Read with memory-mapping where FAISS supports it, so large indexes load lazily; apply the
    query-time knobs of the settings. `rows` as given to build_dense_index. An "exact" index has
    no FAISS file: it searches `vectors`."""
    if kind == "exact":
        return DenseIndex(exact_index(vectors), vectors)
    try:
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    except RuntimeError:
        index = faiss.read_index(str(path))
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = settings.hnsw_ef_search
    rerank = 0
    if isinstance(index, faiss.IndexPQFastScan):
        rerank = settings.pq_rerank_rows or automatic_rerank_rows(int(index.ntotal))
    if isinstance(index, faiss.IndexIVFFastScan):
        index.nprobe = max(1, round(index.nlist * settings.ivf_scanned_share))
        rerank = settings.pq_rerank_rows or automatic_rerank_rows(
            int(index.ntotal * index.nprobe / index.nlist), _RERANK_ROWS_PER_ROOT_IVF)
    return DenseIndex(index, vectors, rerank, rows)


def automatic_rerank_rows(vector_count: int, per_root: int = _RERANK_ROWS_PER_ROOT) -> int:
    """Rows to rescore after a PQ scan of `vector_count` codes: the scan's near-misses grow with
    it, measured at about √(codes) (benchmarks/scale.py: 2,000 keep recall@10 0.97 at 100k,
    5,000 0.967 at 1M)."""
    return int(per_root * math.sqrt(vector_count))


def ivf_lists(vector_count: int) -> int:
    """IVF partitions for an index over `vector_count` rows (windows are about 1 in 4 of them):
    about √(windows) / 4, 250 at a million passages, and never so many that k-means lacks the
    windows to train them. Few long lists suit the fast-scan kernel: they find more of the exact
    top 10 in the same time than many short ones (docs/benchmarks.md)."""
    return max(1, min(round(math.sqrt(vector_count) / 8), vector_count // 256))
