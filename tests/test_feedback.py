"""Pseudo-relevance feedback (RM3): the relevance model by hand, and its place in the search."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qa.core.settings import settings_from_env
from qa.indexing.backends.local import LocalIndex
from qa.indexing.lexical import LexicalIndex, analyse
from qa.library import QA
from qa.searching.feedback import expanded_scores, relevance_model
from qa.searching.search import Searcher


def test_relevance_model_by_hand() -> None:
    passages = [["orbit", "debris", "debris"], ["treaty"]]
    model = relevance_model(passages, np.array([1.0, 0.0]), term_count=2)
    first = math.e / (math.e + 1)  # P(D|Q) of the first passage, from exp(score)
    expected = {"debris": first * 2 / 3, "treaty": 1 - first}
    total = sum(expected.values())
    assert model.keys() == expected.keys()
    assert all(math.isclose(model[w], v / total) for w, v in expected.items())


def test_expanded_scores_interpolate_question_and_relevance_model() -> None:
    # Question "orbit orbit debris": BM25 3.0 for a passage; relevance-model words score 2.0.
    scores = expanded_scores(np.array([3.0, 0.0]), 3, np.array([2.0, 1.0]), 0.3)
    assert np.allclose(scores, [0.7 * 3.0 / 3 + 0.3 * 2.0, 0.3 * 1.0])
    assert np.allclose(expanded_scores(np.array([1.0]), 0, np.array([0.0]), 0.3), [0.7])


def test_weighted_scores_are_bm25_when_weights_are_one() -> None:
    texts = ["Debris in low Earth orbit.", "The treaty bans weapons in orbit.", "Nothing here."]
    index = LexicalIndex.build(texts)
    words = analyse(["weapons in orbit"])[0]
    plain = index.scores(words)
    assert plain[0] > 0 and plain[1] > 0 and plain[2] == 0
    every = np.arange(len(texts))
    assert np.allclose(index.weighted_scores(dict.fromkeys(words, 1.0), every), plain)
    # Only the passages asked for, in their order; weights scale each word's share.
    some = np.array([1, 2])
    assert np.allclose(index.weighted_scores(dict.fromkeys(words, 1.0), some), plain[some])
    halves = index.weighted_scores(dict.fromkeys(words, 0.5), every)
    assert np.allclose(halves, plain / 2)
    assert not index.weighted_scores({"unknown": 1.0}, every).any()


def test_feedback_reranks_and_weight_zero_is_the_plain_ranking(seeds_qa: QA) -> None:
    question = "How could states verify commitments on space weapons?"
    settings = seeds_qa.settings.with_overrides(top_k=10)

    def search(**overrides: float) -> list[tuple[str, float, float]]:
        searcher = Searcher(LocalIndex(settings.index_dir, settings),
                            settings.with_overrides(**overrides),
                            seeds_qa.embedder)
        return [(h.passage.text, h.score, h.scores["lexical"])
                for h in searcher.search(question, 10, "hybrid")]

    plain, zero, expanded = search(feedback_passages=0), search(feedback_weight=0.0), search()
    # Weight 0 leaves the question's own words, a rescaled BM25: z-score fusion ignores scale.
    assert [t for t, _, _ in zero] == [t for t, _, _ in plain]
    assert np.allclose([s for _, s, _ in zero], [s for _, s, _ in plain], atol=1e-5)
    assert [s for _, s, _ in expanded] != [s for _, s, _ in plain]
    # The lexical score stays the question's own BM25, whatever the ranking used.
    lexical = {t: b for t, _, b in plain}
    assert all(math.isclose(lexical[t], b, rel_tol=1e-6) for t, _, b in expanded if t in lexical)


def test_feedback_weight_outside_zero_to_one_is_refused(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("QA_FEEDBACK_WEIGHT", "1.5")
    with pytest.raises(ValueError, match="between 0 and 1"):
        settings_from_env()
