"""The index-choice rule: exact search for small corpora, HNSW above the threshold."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from qa.dense import DenseIndexSpec, choose_index_spec, load_dense_index
from qa.library import QA
from qa.store import read_manifest


def test_threshold_picks_the_index_kind() -> None:
    assert choose_index_spec(50_000, 50_000, 32, 80) == DenseIndexSpec("flat")
    assert choose_index_spec(50_001, 50_000, 32, 80) == DenseIndexSpec("hnsw", 32, 80)


def test_large_corpus_gets_hnsw_with_recorded_parameters(seeds_qa: QA, tmp_path: Path) -> None:
    settings = seeds_qa.settings.with_overrides(index_dir=tmp_path, exact_max_vectors=10,
                                                hnsw_ef_search=77)
    qa = QA(settings, embedder=seeds_qa.embedder)
    qa.index()
    manifest = read_manifest(tmp_path)
    assert manifest.dense_index == {"kind": "hnsw", "hnsw_m": 32, "ef_construction": 80}
    index = load_dense_index(tmp_path / manifest.build / "dense.faiss", 77)
    assert isinstance(index, faiss.IndexHNSW) and index.hnsw.efSearch == 77
    top = qa.search("Which countries joined China in submitting working paper CD/1679?").hits[0]
    assert top.passage.source == "004_0a75116a2b3c4ab4.txt"
    # Raising the threshold again makes the next refresh go back to exact search.
    back = QA(settings.with_overrides(exact_max_vectors=1_000_000), embedder=seeds_qa.embedder)
    assert back.index().rebuilt_because == "dense index settings changed"
    assert read_manifest(tmp_path).dense_index["kind"] == "flat"


def test_exact_index_returns_true_neighbours() -> None:
    from qa.dense import build_dense_index, search_dense

    vectors = np.eye(4, 8, dtype=np.float32)
    scores, rows = search_dense(build_dense_index(vectors, DenseIndexSpec("flat")), vectors[2], 2)
    assert rows[0] == 2 and scores[0] == 1.0
