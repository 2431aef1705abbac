"""The question analysis at search time sees the same words as the tokenizer that built the index."""

from __future__ import annotations

import bm25s
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.lexical import _stemmer, analyse
from tests.conftest import SEEDS


def _as_indexed(texts: list[str]) -> list[list[str]]:
    tokens = bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), return_ids=False,
                            show_progress=False)
    return [list(words) for words in tokens]


def test_analysis_matches_the_index_tokenizer_on_the_seeds() -> None:
    paragraphs = [p for path in sorted(SEEDS.glob("*.txt"))
                  for p in path.read_text(encoding="utf-8").split("\n\n")]
    assert len(paragraphs) > 20
    assert analyse(paragraphs) == _as_indexed(paragraphs)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=80), max_size=5))
def test_analysis_matches_the_index_tokenizer_on_any_text(texts: list[str]) -> None:
    texts += ["The Outer Space Treaty's 1967 articles, ÉTATS-UNIS and naïve café orbits!", ""]
    assert analyse(texts) == _as_indexed(texts)


def test_weighted_scores_read_from_postings_equal_bm25s_scores() -> None:
    """Feedback scores only the candidates, from each word's postings; they must be exactly
    what bm25s gives for each word over every passage."""
    import numpy as np

    from qa.lexical import LexicalIndex

    texts = [p for f in sorted(SEEDS.iterdir()) for p in f.read_text(encoding="utf-8").split("\n\n")]
    index = LexicalIndex.build(texts)
    rng = np.random.default_rng(3)
    words = sorted({w for ws in analyse(texts) for w in ws})
    for _ in range(20):
        weights = {str(w): float(rng.random()) for w in rng.choice(words, 6)}
        weights["notawordanywhere"] = 0.5
        passages = np.sort(rng.choice(len(texts), 15, replace=False))[::-1].copy()
        expected = np.zeros(len(passages), dtype=np.float32)
        for word, weight in weights.items():
            if word in index._retriever.vocab_dict:
                expected += weight * np.asarray(index._retriever.get_scores([word]))[passages]
        assert np.array_equal(index.weighted_scores(weights, passages), expected)


def test_question_scores_equal_bm25s_scores() -> None:
    """A question's BM25 over every passage, summed from the postings at once, is what bm25s
    gives (to float32 rounding: the sums are taken in float64), repeated words included."""
    import numpy as np

    from qa.lexical import LexicalIndex

    texts = [p for f in sorted(SEEDS.iterdir()) for p in f.read_text(encoding="utf-8").split("\n\n")]
    index = LexicalIndex.build(texts)
    rng = np.random.default_rng(5)
    words = sorted({w for ws in analyse(texts) for w in ws})
    for size in (1, 3, 8):
        question = [str(w) for w in rng.choice(words, size)] + ["notawordanywhere"]
        question += question[:1]  # a repeated word counts twice
        known = [w for w in question if w in index._retriever.vocab_dict]
        expected = np.asarray(index._retriever.get_scores(known), dtype=np.float32)
        np.testing.assert_allclose(index.scores(question), expected, rtol=1e-6, atol=1e-6)
        assert np.count_nonzero(index.scores(question)) == np.count_nonzero(expected) > 0
    assert not index.scores(["notawordanywhere"]).any()
