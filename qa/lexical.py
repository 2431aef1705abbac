"""Lexical retrieval: BM25 over whole passages with bm25s, saved as plain numpy and JSON."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
from bm25s.stopwords import STOPWORDS_EN

logging.getLogger("bm25s").setLevel(logging.WARNING)


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


# bm25s.tokenize's defaults: scikit-learn's word pattern, its English stopword list.
_WORD = re.compile(r"(?u)\b\w\w+\b")
_STOPWORDS = frozenset(STOPWORDS_EN)


def analyse(texts: Sequence[str]) -> list[list[str]]:
    """Each text as the words BM25 sees: lower-cased, English stopwords out, stemmed.

    The same words as the bm25s.tokenize call that builds the index (a test checks it), without
    its per-call set-up, which cost about 0.4 ms of every question's search."""
    kept = [[w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS] for text in texts]
    distinct = list({word for words in kept for word in words})
    stems = dict(zip(distinct, _stemmer().stemWords(distinct), strict=True))
    return [[stems[word] for word in words] for words in kept]


def _index_tokens(texts: Sequence[str]) -> bm25s.tokenization.Tokenized:
    return bm25s.tokenize(list(texts), stopwords="en", stemmer=_stemmer(), show_progress=False)


class LexicalIndex:
    """BM25 scores for every passage, in passage order."""

    def __init__(self, retriever: bm25s.BM25) -> None:
        self._retriever = retriever

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        retriever = bm25s.BM25()
        retriever.index(_index_tokens(texts), show_progress=False)
        _check_postings_sorted(retriever)
        return cls(retriever)

    def save(self, folder: Path) -> None:
        self._retriever.save(str(folder))

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        return cls(bm25s.BM25.load(str(folder), mmap=True, allow_pickle=False))

    def scores(self, words: Sequence[str]) -> np.ndarray:
        """BM25 score of every passage for a question's analysed words (zeros when none is
        known), a word counted as often as it occurs, as bm25s.get_scores does.

        Summed with one np.bincount over the words' postings: bm25s's np.add.at took 3.4 ms
        a question at 300,000 passages, this 2.7 ms (benchmarks in docs/benchmarks.md)."""
        scores = self._retriever.scores
        data, indices, indptr = scores["data"], scores["indices"], scores["indptr"]
        size = int(scores["num_docs"])
        tokens = [self._retriever.vocab_dict[w] for w in words if w in self._retriever.vocab_dict]
        if not tokens:
            return np.zeros(size, dtype=np.float32)
        postings = np.concatenate([indices[indptr[t] : indptr[t + 1]] for t in tokens])
        values = np.concatenate([data[indptr[t] : indptr[t + 1]] for t in tokens])
        return np.bincount(postings, weights=values, minlength=size).astype(np.float32)

    def weighted_scores(self, weights: Mapping[str, float], passages: np.ndarray) -> np.ndarray:
        """Sum over the words of weight × the word's BM25 score, for the given passages.

        Each passage is looked up in each word's postings by binary search (postings are in
        passage order, checked when the index is built), so the cost grows with the number of
        candidates, not with how common the word is: for ten frequent feedback words and 400
        candidates at 300,000 passages, 0.8 ms against 12.3 ms for a set intersection."""
        scores = self._retriever.scores
        data, indices, indptr = scores["data"], scores["indices"], scores["indptr"]
        order = np.argsort(passages, kind="stable")
        ordered = passages[order]
        total = np.zeros(len(passages), dtype=np.float32)
        for word, weight in weights.items():
            token = self._retriever.vocab_dict.get(word)
            if token is None or indptr[token] == indptr[token + 1]:
                continue
            first, docs = int(indptr[token]), indices[indptr[token] : indptr[token + 1]]
            at = np.minimum(np.searchsorted(docs, ordered), len(docs) - 1)
            found = docs[at] == ordered
            word_scores = np.zeros(len(passages), dtype=np.float32)
            word_scores[order[found]] = data[first + at[found]]
            total += weight * word_scores
        return total


def _check_postings_sorted(retriever: bm25s.BM25) -> None:
    """weighted_scores binary-searches each word's postings: they must ascend by passage."""
    indices, indptr = retriever.scores["indices"], retriever.scores["indptr"]
    steps = np.diff(np.asarray(indices, dtype=np.int64))
    column_ends = np.asarray(indptr[1:-1], dtype=np.int64) - 1
    ascending = steps > 0
    ascending[column_ends[(column_ends >= 0) & (column_ends < len(steps))]] = True
    if not ascending.all():
        raise RuntimeError("bm25s wrote postings out of passage order; qa's BM25 lookups "
                           "assume them sorted")
