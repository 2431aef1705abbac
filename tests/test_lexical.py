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


def test_impact_heads_find_the_top_and_candidates_keep_exact_scores(seeds_qa, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Past lexical_exact_max_passages, BM25 candidates come from each word's best postings;
    with heads as long as every posting list the top is the exact one, and with short heads
    the candidates found still carry their exact BM25 scores."""
    from collections import Counter

    import numpy as np

    from qa.backends.local import LocalIndex

    exact = seeds_qa.searcher.index
    words = analyse(["Which countries joined China in submitting the working paper on PAROS?"])[0]
    full = exact._bm25(words)
    whole = LocalIndex(seeds_qa.settings.index_dir, seeds_qa.settings.with_overrides(
        lexical_exact_max_passages=5, lexical_head=10_000))
    assert whole._lexical_head == 10_000
    expected = exact.lexical_top(words, 8, None)
    assert whole.lexical_top(words, 8, None).tolist() == expected.tolist()
    short = LocalIndex(seeds_qa.settings.index_dir, seeds_qa.settings.with_overrides(
        lexical_exact_max_passages=5, lexical_head=2))
    found = short.lexical_top(words, 8, None)
    assert 0 < len(found) <= 2 * len(set(words)) and (full[found] > 0).all()
    assert found[0] == expected[0]  # the best passage leads the heads of its words
    # The head candidates kept are ranked by their exact BM25, not by the heads' partial sums.
    assert (np.diff(full[found]) <= 1e-6).all()
    np.testing.assert_allclose(short.lexical_scores(words, found), full[found], rtol=1e-6)
    assert np.array_equal(short.lexical_scores(words, found),
                          short._lexical.weighted_scores(Counter(words), found))
    # A document filter scores every chosen passage exactly, as before.
    source = seeds_qa.searcher.sources[0]
    assert short.lexical_top(words, 8, [source]).tolist() == exact.lexical_top(words, 8, [source]).tolist()
