"""The question analysis at search time sees the same words as the tokenizer that built the index."""

from __future__ import annotations

import bm25s
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.indexing.lexical import _stemmer, analyse
from tests.conftest import SEEDS, SHARED


def _as_indexed(texts: list[str]) -> list[list[str]]:
    tokens = bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer("english"), return_ids=False,
                            show_progress=False)
    return [list(words) for words in tokens]


def test_analysis_matches_the_index_tokenizer_on_the_seeds() -> None:
    paragraphs = [p for path in sorted(SEEDS.glob("*.txt"))
                  for p in path.read_text(encoding="utf-8").split("\n\n")]
    assert len(paragraphs) > 20
    assert analyse(paragraphs) == _as_indexed(paragraphs)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="latin-1"), max_size=80), max_size=5))
def test_analysis_matches_the_index_tokenizer_on_any_latin_text(texts: list[str]) -> None:
    """Latin text splits as bm25s splits it; other scripts are split by qa.core.languages (their
    own test below)."""
    texts += ["The Outer Space Treaty's 1967 articles, ÉTATS-UNIS and naïve café orbits!", ""]
    assert analyse(texts) == _as_indexed(texts)


def _seed_paragraphs() -> list[str]:
    return [p for f in sorted(SEEDS.iterdir()) for p in f.read_text(encoding="utf-8").split("\n\n")]


def _bm25s_reference(texts: list[str]) -> bm25s.BM25:
    """bm25s over the same texts: qa's postings were bm25s's before qa computed them itself."""
    reference = bm25s.BM25()
    reference.index(bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer("english"), show_progress=False),
                    show_progress=False)
    return reference


def test_postings_are_bm25s_scores_to_the_bit() -> None:
    """qa's one BM25 formula gives, word by word and passage by passage, the very float32
    weights bm25s (Lucene's variant) computes: empty and stopword-only passages included."""
    import numpy as np

    from qa.indexing.lexical import LexicalIndex

    squad = sorted((SHARED / "squad" / "docs").glob("*"))
    for texts in ([*_seed_paragraphs(), "", "the of and", "orbit orbit orbit debris"],
                  [p for f in squad[:40] for p in f.read_text(encoding="utf-8").split("\n\n")]):
        ours, reference = LexicalIndex.build(texts), _bm25s_reference(texts)
        assert set(ours.vocabulary) == set(reference.vocab_dict) - {""}
        for word in ours.vocabulary:
            expected = np.asarray(reference.get_scores([word]), dtype=np.float32)
            assert np.array_equal(ours.scores([word]), expected), word


def test_candidate_scores_from_words_equal_the_postings() -> None:
    """A backend that keeps passages' words (Milvus) scores candidates with the same formula:
    the same figures as the local postings, to the bit."""
    from collections import Counter

    import numpy as np

    from qa.indexing.lexical import CollectionStatistics, LexicalIndex, candidate_scores

    texts = _seed_paragraphs()
    index, words = LexicalIndex.build(texts), analyse(texts)
    frequencies = Counter(word for passage in words for word in set(passage))
    statistics = CollectionStatistics.of(words)
    assert statistics == index.statistics
    rng = np.random.default_rng(7)
    vocabulary = sorted(frequencies)
    for _ in range(20):
        weights = {str(w): float(rng.random()) for w in rng.choice(vocabulary, 6)}
        weights["notawordanywhere"] = 0.5
        passages = rng.choice(len(texts), 12, replace=False)
        assert np.array_equal(
            candidate_scores(weights, [words[p] for p in passages], frequencies, statistics),
            index.weighted_scores(weights, passages))


def test_weighted_scores_read_from_postings_equal_bm25s_scores() -> None:
    """Feedback scores only the candidates, from each word's postings; they must be what
    bm25s gives for each word over every passage, weighted (summed in float64)."""
    import numpy as np

    from qa.indexing.lexical import LexicalIndex

    texts = _seed_paragraphs()
    index, reference = LexicalIndex.build(texts), _bm25s_reference(texts)
    rng = np.random.default_rng(3)
    words = sorted({w for ws in analyse(texts) for w in ws})
    for _ in range(20):
        weights = {str(w): float(rng.random()) for w in rng.choice(words, 6)}
        weights["notawordanywhere"] = 0.5
        passages = np.sort(rng.choice(len(texts), 15, replace=False))[::-1].copy()
        expected = np.zeros(len(passages), dtype=np.float64)
        for word, weight in weights.items():
            if word in index.vocabulary:
                expected += weight * np.asarray(reference.get_scores([word]),
                                                dtype=np.float64)[passages]
        assert np.array_equal(index.weighted_scores(weights, passages),
                              expected.astype(np.float32))


def test_question_scores_equal_bm25s_scores() -> None:
    """A question's BM25 over every passage, summed from the postings at once, is what bm25s
    gives (to float32 rounding: the sums are taken in float64), repeated words included; and
    the candidates' scores of the question's words are the same figures to the bit."""
    from collections import Counter

    import numpy as np

    from qa.indexing.lexical import LexicalIndex

    texts = _seed_paragraphs()
    index, reference = LexicalIndex.build(texts), _bm25s_reference(texts)
    rng = np.random.default_rng(5)
    words = sorted({w for ws in analyse(texts) for w in ws})
    for size in (1, 3, 8):
        question = [str(w) for w in rng.choice(words, size)] + ["notawordanywhere"]
        question += question[:1]  # a repeated word counts twice
        known = [w for w in question if w in index.vocabulary]
        expected = np.asarray(reference.get_scores(known), dtype=np.float32)
        np.testing.assert_allclose(index.scores(question), expected, rtol=1e-6, atol=1e-6)
        assert np.count_nonzero(index.scores(question)) == np.count_nonzero(expected) > 0
        everyone = np.arange(len(texts))
        assert np.array_equal(index.weighted_scores(Counter(question), everyone),
                              index.scores(question))
    assert not index.scores(["notawordanywhere"]).any()


def test_impact_heads_find_the_top_and_candidates_keep_exact_scores(seeds_qa, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Past lexical_exact_max_passages, BM25 candidates come from each word's best postings;
    with heads as long as every posting list the top is the exact one, and with short heads
    the candidates found still carry their exact BM25 scores."""
    from collections import Counter

    import numpy as np

    from qa.indexing.backends.local import LocalIndex

    exact = seeds_qa.searcher.index
    words = analyse(["Which countries joined China in submitting the working paper on PAROS?"])[0]
    full = exact._lexical.scores(words)
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
    np.testing.assert_allclose(short.lexical_scores(Counter(words), found), full[found],
                               rtol=1e-6)
    assert np.array_equal(short.lexical_scores(Counter(words), found),
                          short._lexical.weighted_scores(Counter(words), found))
    # A document filter scores every chosen passage exactly, as before.
    source = seeds_qa.searcher.sources[0]
    assert short.lexical_top(words, 8, [source]).tolist() == exact.lexical_top(words, 8, [source]).tolist()


def test_stored_impact_heads_are_each_words_best_postings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Heads written at build time hold each long-listed word's best postings, best first; a
    shorter head is their prefix, a longer one falls back to the postings."""
    import numpy as np

    from qa.indexing.lexical import LexicalIndex

    texts = _seed_paragraphs()
    LexicalIndex.build(texts, head=3).save(tmp_path)
    stored, plain = LexicalIndex.load(tmp_path), LexicalIndex.build(texts)
    assert stored._stored is not None and stored._stored.length == 3
    lengths = np.diff(plain._indptr)
    long_listed, short_listed = np.flatnonzero(lengths > 3), np.flatnonzero(lengths <= 3)
    assert len(long_listed) > 10 and len(short_listed) > 10
    for token in long_listed.tolist():
        passages, scores = stored._head(token, 3)
        docs, values = plain._postings(token)
        np.testing.assert_array_equal(scores, np.sort(values)[::-1][:3].astype(np.float32))
        at = np.searchsorted(docs, passages)
        assert (docs[at] == passages).all() and np.array_equal(values[at], scores)
        shorter = stored._head(token, 2)
        assert shorter[0].tolist() == passages[:2].tolist()
        _, longer_scores = stored._head(token, 5)  # past the stored length: from the postings
        assert sorted(longer_scores.tolist()) == sorted(plain._head(token, 5)[1].tolist())
    assert all(stored._stored.head(token, 3) is None for token in short_listed.tolist())
    for words in analyse(["Which countries submitted the working paper on PAROS?",
                          "space debris from anti-satellite weapon tests"]):
        found = stored.head_top(words, 6, 3)
        assert np.array_equal(stored.weighted_scores({w: 1.0 for w in words}, found),
                              plain.weighted_scores({w: 1.0 for w in words}, found))
        assert sorted(plain.scores(words)[found].tolist()) == \
            sorted(plain.scores(words)[plain.head_top(words, 6, 3)].tolist())


def test_a_large_index_build_stores_heads_and_a_small_one_does_not(tiny_encoder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from qa.core.settings import Settings
    from qa.library import QA

    docs = tmp_path / "docs"
    docs.mkdir()
    for number in range(6):
        (docs / f"note{number}.txt").write_text(
            f"Orbital debris note {number}.\n\nDebris from test {number} stays in orbit for "
            f"years.\n\nA paragraph about treaty {number} and debris.", encoding="utf-8")
    for name, exact_max in (("large", 5), ("small", 1000)):
        settings = Settings(docs_dir=docs, index_dir=tmp_path / name,
                            lexical_exact_max_passages=exact_max, lexical_head=2)
        qa = QA.open(settings, embedder=tiny_encoder)
        lexical = qa.searcher.index._lexical
        assert (lexical._stored is not None) == (name == "large")
        if name == "large":
            assert lexical._stored.length == 2
            hits = qa.search("debris in orbit", mode="lexical").hits
            assert hits and all("debris" in hit.passage.text.lower() for hit in hits)
