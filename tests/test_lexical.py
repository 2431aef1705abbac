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
