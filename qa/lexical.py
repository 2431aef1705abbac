"""Lexical retrieval: BM25 over whole passages with bm25s, saved as plain numpy and JSON."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np

logging.getLogger("bm25s").setLevel(logging.WARNING)


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


def analyse(texts: Sequence[str]) -> list[list[str]]:
    """Each text as the words BM25 sees: lower-cased, English stopwords out, stemmed."""
    tokens = bm25s.tokenize(
        list(texts), stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False
    )
    return [list(words) for words in tokens]


class LexicalIndex:
    """BM25 scores for every passage, in passage order."""

    def __init__(self, retriever: bm25s.BM25) -> None:
        self._retriever = retriever

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        retriever = bm25s.BM25()
        retriever.index(bm25s.tokenize(list(texts), stopwords="en", stemmer=_stemmer(),
                                       show_progress=False), show_progress=False)
        return cls(retriever)

    def save(self, folder: Path) -> None:
        self._retriever.save(str(folder))

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        return cls(bm25s.BM25.load(str(folder), mmap=True, allow_pickle=False))

    def scores(self, words: Sequence[str]) -> np.ndarray:
        """BM25 score of every passage for a question's analysed words (zeros when none is
        known)."""
        known = [w for w in words if w in self._retriever.vocab_dict]
        size = int(self._retriever.scores["num_docs"])
        if not known:
            return np.zeros(size, dtype=np.float32)
        return np.asarray(self._retriever.get_scores(known), dtype=np.float32)

    def weighted_scores(self, weights: Mapping[str, float], passages: np.ndarray) -> np.ndarray:
        """Sum over the words of weight × the word's BM25 score, for the given passages."""
        total = np.zeros(len(passages), dtype=np.float32)
        for word, weight in weights.items():
            if word in self._retriever.vocab_dict:
                total += weight * np.asarray(self._retriever.get_scores([word]))[passages]
        return total
