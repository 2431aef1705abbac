"""Search modes, fusion and the reranking seam over the seeds."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SEEDS
from encoders import HashingEncoder
from fastapi.testclient import TestClient

from qa.cli import main
from qa.core.settings import SearchMode
from qa.indexing.backends import IndexReader
from qa.indexing.backends.local import LocalIndex
from qa.library import QA, clean_question
from qa.searching import signals
from qa.searching.fusion import fuse, reciprocal_rank_fusion, zscore_fusion
from qa.searching.search import Searcher
from qa.serving.rest import rest_app

ONE_EACH = {"dense": 1.0, "lexical": 1.0}


def test_rrf_and_zscore_by_hand() -> None:
    signals = {"dense": np.array([0.9, 0.1, 0.5]), "lexical": np.array([0.0, 3.0, 2.0])}
    rrf = reciprocal_rank_fusion(signals, ONE_EACH, k=60)
    assert np.allclose(rrf, [1 / 61 + 1 / 63, 1 / 63 + 1 / 61, 1 / 62 + 1 / 62])
    z = zscore_fusion(signals, ONE_EACH)
    assert int(np.argmax(z)) == 2  # second in both lists beats first-in-one, last-in-other
    assert fuse({"dense": signals["dense"]}, ONE_EACH, "zscore", 60) is signals["dense"]


def test_fusion_takes_any_number_of_weighted_signals() -> None:
    signals = {"dense": np.array([0.9, 0.1, 0.5]), "lexical": np.array([0.0, 3.0, 2.0]),
               "recency": np.array([0.0, 0.0, 9.0])}
    weights = {**ONE_EACH, "recency": 0.0}
    assert np.array_equal(fuse(signals, weights, "zscore", 60),
                          fuse({k: signals[k] for k in ONE_EACH}, ONE_EACH, "zscore", 60))
    assert np.allclose(fuse(signals, {**weights, "recency": 2.0}, "rrf", 60),
                       reciprocal_rank_fusion(signals, {**weights, "recency": 2.0}, 60))
    assert int(np.argmax(fuse(signals, {**weights, "recency": 5.0}, "zscore", 60))) == 2


FAVOURED = "001_3bdd3841a68f260c.txt"
CD_1679 = "Which countries joined China in submitting working paper CD/1679?"


def from_the_favoured_document(index: IndexReader, found: signals.Candidates) -> np.ndarray:
    """A toy signal's scores: 1 for a passage of one document, 0 for the others."""
    return np.array([item.passage.source == FAVOURED
                     for item in index.passages(found.numbers.tolist())], dtype=np.float32)


@pytest.fixture()
def register_favoured(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Registers the toy signal with a weight, as its own module would; forgotten after the
    test (the registry is a copy)."""
    monkeypatch.setattr(signals, "SIGNALS", dict(signals.SIGNALS))

    def register(weight: float) -> None:
        signals.register(signals.Signal("favoured", from_the_favoured_document, weight=weight))

    return register


def sources_ranked(qa: QA, mode: SearchMode = "hybrid") -> list[tuple[str, int]]:
    return [(h.passage.source, h.passage.paragraph) for h in qa.search(CD_1679, k=5, mode=mode).hits]


def test_a_new_signal_is_one_object_and_its_weight(seeds_qa: QA,
                                                   register_favoured: Callable[[float], None]
                                                   ) -> None:
    """A signal that favours one document, registered with a weight, moves that document's
    passages up in hybrid search by its weight, and leaves the dense mode alone."""
    before, dense_before = sources_ranked(seeds_qa), sources_ranked(seeds_qa, "dense")
    assert before[0][0] != FAVOURED
    register_favoured(0.0)
    assert sources_ranked(seeds_qa) == before  # weighed at nothing, it moves nothing
    register_favoured(10.0)
    assert sources_ranked(seeds_qa)[0][0] == FAVOURED
    assert sources_ranked(seeds_qa, "dense") == dense_before


def test_every_signal_s_score_reaches_ask_json_and_rest_by_name(
        seeds_qa: QA, register_favoured: Callable[[float], None]) -> None:
    register_favoured(10.0)
    printed = CliRunner().invoke(main, ["ask", CD_1679, "-k", "5", "--json", "--docs", str(SEEDS),
                                        "--index", str(seeds_qa.settings.index_dir)])
    assert printed.exit_code == 0, printed.output
    served = TestClient(rest_app(seeds_qa)).get("/api/search", params={"q": CD_1679, "k": 5})
    assert served.status_code == 200, served.text
    for answer in (json.loads(printed.stdout), served.json()):
        hits = answer["hits"]
        assert hits[0]["source"] == FAVOURED
        for hit in hits:
            # lexical_feedback: the expanded question's BM25 that ranked (feedback is on).
            assert set(hit["scores"]) == {"dense", "lexical", "lexical_feedback", "favoured"}
            assert hit["scores"]["favoured"] == (1.0 if hit["source"] == FAVOURED else 0.0)
            assert "similarity" in hit and "score" in hit  # today's keys stay
    # A signal that does not rank in a mode is still reported in it.
    dense_hits = seeds_qa.search(CD_1679, k=5, mode="dense").hits
    assert {hit.scores["favoured"] for hit in dense_hits} <= {0.0, 1.0}
    assert all(set(hit.scores) == {"dense", "lexical", "favoured"} for hit in dense_hits)


def test_every_mode_answers(seeds_qa: QA) -> None:
    for mode in ("dense", "lexical", "hybrid"):
        hits = seeds_qa.search("Which countries joined China in submitting working paper CD/1679?",
                               k=3, mode=mode).hits
        assert hits[0].passage.source == "004_0a75116a2b3c4ab4.txt", mode
        assert [h.rank for h in hits] == [1, 2, 3]


def test_search_within_chosen_documents(seeds_qa: QA) -> None:
    hits = seeds_qa.search("space security workshop", k=10,
                           sources=["001_3bdd3841a68f260c.txt"]).hits
    assert hits and {h.passage.source for h in hits} == {"001_3bdd3841a68f260c.txt"}


class ReverseAlphabetical:
    """A deterministic stand-in for a cross-encoder (none ships in a PyPI package): it scores
    passages by their text, so the expected order is known."""

    def score(self, question: str, passages: list[str]) -> list[float]:
        order = sorted(passages, reverse=True)
        return [float(len(passages) - order.index(p)) for p in passages]


def test_reranker_seam_reorders_the_head(seeds_qa: QA) -> None:
    index = LocalIndex(seeds_qa.settings.index_dir, seeds_qa.settings)
    searcher = Searcher(index, seeds_qa.settings.with_overrides(rerank_depth=5), seeds_qa.embedder,
                        ReverseAlphabetical())
    hits = searcher.search("outer space treaty", 5, "hybrid")
    texts = [h.passage.text for h in hits]
    assert texts == sorted(texts, reverse=True)


def test_question_cleaning() -> None:
    text, notices = clean_question("  what\x00 is\u200b PAROS?\n", 2000)
    assert text == "what is PAROS?" and notices == []
    long_text, notices = clean_question("a" * 3000, 2000)
    assert len(long_text) == 2000 and "cut" in notices[0]


def test_search_holds_blas_to_one_thread(seeds_qa: QA) -> None:
    """Multithreaded BLAS spins after each product and slowed the next encoding (benchmarks)."""
    from threadpoolctl import threadpool_info

    blas_threads: list[list[int]] = []

    class RecordingEncoder(HashingEncoder):
        def encode_query(self, question: str) -> np.ndarray:
            blas_threads.append([pool["num_threads"] for pool in threadpool_info()
                                 if pool["user_api"] == "blas"])
            return super().encode_query(question)

    searcher = Searcher(LocalIndex(seeds_qa.settings.index_dir, seeds_qa.settings), seeds_qa.settings,
                        RecordingEncoder(seeds_qa.embedder.dimension))
    assert searcher.search("outer space treaty", 3, "hybrid")
    assert blas_threads and blas_threads[0] and set(blas_threads[0]) == {1}
