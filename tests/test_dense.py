"""The index-choice rule: exact search for small corpora, an approximate index above the threshold."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from qa.core.settings import Settings, settings_from_env
from qa.indexing.dense import (
    DenseIndexSpec,
    automatic_rerank_rows,
    build_dense_index,
    choose_index_spec,
    ivf_lists,
    load_dense_index,
    save_dense_index,
)
from qa.indexing.store import read_manifest, read_passages, window_rows
from qa.library import QA


def test_threshold_picks_the_index_kind() -> None:
    settings = Settings(exact_max_vectors=50_000)
    assert choose_index_spec(50_000, 384, settings) == DenseIndexSpec("exact", stored="float16")
    assert choose_index_spec(50_001, 384, settings) == DenseIndexSpec(
        "pq-rerank", pq_codes=96, vectors="windows", stored="float16")
    # 4-bit codes need the dimension to divide by 4; otherwise the graph index is used.
    assert choose_index_spec(50_001, 383, settings).kind == "hnsw"
    graph = settings.with_overrides(approximate_index="hnsw")
    assert choose_index_spec(50_001, 384, graph) == DenseIndexSpec("hnsw", 32, 80,
                                                                   vectors="windows",
                                                                   stored="float16")
    full = settings.with_overrides(vector_storage="float32")
    assert choose_index_spec(10, 384, full) == DenseIndexSpec("exact")
    # Fields added later keep their old value's manifests matching.
    assert DenseIndexSpec("flat").to_json() == {"kind": "flat", "hnsw_m": 0, "ef_construction": 0}


def test_window_rows_follow_the_passage_layout() -> None:
    from qa.chunking.chunk import Passage
    from qa.indexing.store import IndexedPassage, window_rows

    def item(first_row: int, windows: int, sentences: int) -> IndexedPassage:
        spans = ((0, 1),) * sentences
        return IndexedPassage(Passage("a.txt", "A", 1, 0, 1, "x"), spans, spans, first_row, windows)

    # Rows: passage 1 = window 0, sentences 1-2; passage 2 = windows 3-4, sentences 5-7; ...
    items = [item(0, 1, 2), item(3, 2, 3), item(8, 1, 1)]
    assert window_rows(items).tolist() == [0, 3, 4, 8]
    assert window_rows([]).tolist() == []


def test_unknown_approximate_index_setting_is_refused(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("QA_APPROXIMATE_INDEX", "annoy")
    with pytest.raises(ValueError, match="pq-rerank or hnsw"):
        settings_from_env()


def test_large_corpus_gets_hnsw_with_recorded_parameters(seeds_qa: QA, tmp_path: Path) -> None:
    settings = seeds_qa.settings.with_overrides(index_dir=tmp_path, exact_max_vectors=10,
                                                approximate_index="hnsw", hnsw_ef_search=77)
    qa = QA(settings, embedder=seeds_qa.embedder)
    qa.index()
    manifest = read_manifest(tmp_path)
    assert manifest.dense_index == {"kind": "hnsw", "hnsw_m": 32, "ef_construction": 80,
                                    "vectors": "windows", "stored": "float16"}
    index = load_dense_index(tmp_path / manifest.build / "dense.faiss", np.empty(0), settings)
    assert isinstance(index.faiss_index, faiss.IndexHNSW)
    assert index.faiss_index.hnsw.efSearch == 77
    # Only the window vectors: the sentence vectors stay out.
    windows = window_rows(read_passages(tmp_path / manifest.build))
    assert index.ntotal == len(windows) < manifest.vector_count
    top = qa.search("Which countries joined China in submitting working paper CD/1679?").hits[0]
    assert top.passage.source == "004_0a75116a2b3c4ab4.txt"
    # Raising the threshold again makes the next refresh go back to exact search.
    back = QA(settings.with_overrides(exact_max_vectors=1_000_000), embedder=seeds_qa.embedder)
    report = back.index()
    assert report.rebuilt_because == "dense index settings changed"
    assert report.embedded_passages == 0 and report.reused_passages == report.passages > 0
    assert read_manifest(tmp_path).dense_index["kind"] == "exact"
    assert not (tmp_path / read_manifest(tmp_path).build / "dense.faiss").exists()


def test_exact_index_returns_true_neighbours() -> None:
    from qa.indexing.dense import DenseIndex, build_dense_index

    vectors = np.eye(4, 8, dtype=np.float32)
    index = DenseIndex(build_dense_index(vectors, DenseIndexSpec("flat")), vectors)
    scores, rows = index.search(vectors[2], 2)
    assert rows[0] == 2 and scores[0] == 1.0


def test_exact_search_over_float16_vectors_matches_faiss_over_float32() -> None:
    from qa.indexing.dense import DenseIndex, build_dense_index, exact_index

    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((3000, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    faiss_exact = DenseIndex(build_dense_index(vectors, DenseIndexSpec("flat")), vectors)
    stored = vectors.astype(np.float16)
    halved = DenseIndex(exact_index(stored), stored)
    for query in vectors[:25]:
        expected_scores, expected_rows = faiss_exact.search(query, 10)
        scores, rows = halved.search(query, 10)
        assert rows[0] == expected_rows[0]
        assert np.allclose(scores, expected_scores, atol=2e-3)
    whole = DenseIndex(exact_index(vectors), vectors)  # float32 codes: FAISS flat exactly
    assert whole.search(vectors[3], 5)[1].tolist() == faiss_exact.search(vectors[3], 5)[1].tolist()
    assert halved.search(vectors[0], 0)[1].tolist() == []
    assert len(halved.search(vectors[0], 5000)[1]) == 3000


def test_pq_rerank_index_is_built_recorded_and_searched(seeds_qa: QA, tmp_path: Path) -> None:
    settings = seeds_qa.settings.with_overrides(index_dir=tmp_path, exact_max_vectors=10,
                                                pq_rerank_rows=7)
    qa = QA(settings, embedder=seeds_qa.embedder)
    qa.index()
    manifest = read_manifest(tmp_path)
    assert manifest.dense_index == {"kind": "pq-rerank", "hnsw_m": 0, "ef_construction": 0,
                                    "pq_codes": 96, "vectors": "windows", "stored": "float16"}
    build = tmp_path / manifest.build
    vectors = np.load(build / "vectors.npy")
    windows = window_rows(read_passages(build))
    index = load_dense_index(build / "dense.faiss", vectors, settings, windows)
    assert index.ntotal == len(windows) < len(vectors)
    # By default the rows rescored grow with the square root of the index.
    automatic = load_dense_index(build / "dense.faiss", vectors, Settings(), windows)
    assert automatic.rerank_rows == automatic_rerank_rows(len(windows)) == int(5 * len(windows) ** 0.5)
    assert automatic_rerank_rows(1_000_000) == 5000 and automatic_rerank_rows(100_000) == 1581
    # The FAISS file holds codes and codebooks, no copy of the vectors: the rerank reads those.
    assert isinstance(index.faiss_index, faiss.IndexPQFastScan) and index.rerank_rows == 7
    assert (build / "dense.faiss").stat().st_size < vectors.nbytes / 2
    top = qa.search("Which countries joined China in submitting working paper CD/1679?").hits[0]
    assert top.passage.source == "004_0a75116a2b3c4ab4.txt"
    # Search returns window rows of vectors.npy with their exact cosines, best first, and the
    # best is the exact search's best over the windows.
    for query in vectors[:20]:
        scores, rows = index.search(query, 3)
        assert set(rows) <= set(windows.tolist())
        stored = vectors.astype(np.float32)
        assert np.allclose(scores, stored[rows] @ query, atol=1e-5)
        assert np.isclose(scores[0], (stored[windows] @ query).max(), atol=1e-5)


def test_past_ivf_min_vectors_the_pq_codes_are_partitioned(seeds_qa: QA, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Large indexes split the PQ codes into IVF lists and scan a share of them; the spec
    records the lists, and the rerank still returns exact cosines of indexed rows."""
    assert choose_index_spec(4_000_000, 384, Settings()).ivf_lists == 250
    assert choose_index_spec(2_000_000, 384, Settings()).ivf_lists == 0  # at the threshold: one scan
    assert ivf_lists(1_000) == 3  # never more lists than the windows can train
    settings = Settings(exact_max_vectors=10, ivf_min_vectors=10)
    vectors = np.random.default_rng(3).standard_normal((8_000, 384)).astype(np.float32)
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float16)
    spec = choose_index_spec(len(vectors), 384, settings)
    assert spec.ivf_lists == ivf_lists(8_000) == 11 and spec.to_json()["ivf_lists"] == 11
    indexed = np.arange(0, len(vectors), 2)  # as windows: a subset of the rows
    save_dense_index(build_dense_index(vectors, spec, indexed), tmp_path / "dense.faiss")
    half = load_dense_index(tmp_path / "dense.faiss", vectors,
                            settings.with_overrides(ivf_scanned_share=0.5), indexed)
    assert isinstance(half.faiss_index, faiss.IndexIVFPQFastScan)
    assert half.faiss_index.nlist == 11 and half.faiss_index.nprobe == round(11 / 2)
    assert half.rerank_rows == automatic_rerank_rows(len(indexed) * 6 // 11, 2)
    # Scanning every list and reranking every row is exact search over the indexed rows.
    every = load_dense_index(tmp_path / "dense.faiss", vectors, settings.with_overrides(
        ivf_scanned_share=1.0, pq_rerank_rows=len(indexed)), indexed)
    stored = vectors.astype(np.float32)
    for query in stored[:20]:
        scores, rows = every.search(query, 5)
        exact = indexed[np.argsort(-(stored[indexed] @ query), kind="stable")[:5]]
        assert set(rows) <= set(indexed.tolist())
        assert np.allclose(scores, stored[rows] @ query, atol=1e-5)
        assert np.allclose(scores, stored[exact] @ query, atol=1e-5)
    # Through qa: the build records the lists, and the search still finds the answer.
    qa = QA(seeds_qa.settings.with_overrides(index_dir=tmp_path / "index", exact_max_vectors=10,
                                             ivf_min_vectors=10), embedder=seeds_qa.embedder)
    qa.index()
    manifest = read_manifest(tmp_path / "index")
    assert manifest.dense_index["ivf_lists"] == ivf_lists(manifest.vector_count)
    top = qa.search("Which countries joined China in submitting working paper CD/1679?").hits[0]
    assert top.passage.source == "004_0a75116a2b3c4ab4.txt"
    monkeypatch.setenv("QA_IVF_SCANNED_SHARE", "0")
    with pytest.raises(ValueError, match="QA_IVF_SCANNED_SHARE"):
        settings_from_env()
