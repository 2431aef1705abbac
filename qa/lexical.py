"""Lexical retrieval: BM25 over whole passages with bm25s, saved as plain numpy and JSON."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
_KEPT_HEADS = 4096  # words whose impact heads are kept (at most 4096 × 5,000 postings: 160 MB)


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

    def __init__(self, retriever: bm25s.BM25, stored_heads: ImpactHeads | None = None
                 ) -> None:
        # Plain ndarrays over bm25s's memory maps: slicing a np.memmap builds a memmap object
        # each time (about 100 postings slices a question; the candidates' BM25 and feedback
        # went from 1.73 to 1.49 ms at a million passages).
        retriever.scores = {key: np.asarray(value) if isinstance(value, np.ndarray) else value
                            for key, value in retriever.scores.items()}
        self._retriever = retriever
        self._stored = stored_heads
        self._heads: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._per_thread = threading.local()

    @classmethod
    def build(cls, texts: Sequence[str], head: int = 0) -> LexicalIndex:
        """BM25 over the texts; with `head`, each word's `head` best postings stored too."""
        retriever = bm25s.BM25()
        retriever.index(_index_tokens(texts), show_progress=False)
        _check_postings_sorted(retriever)
        return cls(retriever, ImpactHeads.build(retriever, head) if head else None)

    def save(self, folder: Path) -> None:
        self._retriever.save(str(folder))
        if self._stored is not None:
            self._stored.save(folder)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        return cls(bm25s.BM25.load(str(folder), mmap=True, allow_pickle=False),
                   ImpactHeads.load(folder))

    def scores(self, words: Sequence[str]) -> np.ndarray:
        """BM25 score of every passage for a question's analysed words (zeros when none is
        known), a word counted as often as it occurs, as bm25s.get_scores does.

        Summed with one np.bincount over the words' postings: bm25s's np.add.at took 3.4 ms
        a question at 300,000 passages, this 2.7 ms (benchmarks in docs/benchmarks.md)."""
        size = int(self._retriever.scores["num_docs"])
        tokens = [self._retriever.vocab_dict[w] for w in words if w in self._retriever.vocab_dict]
        if not tokens:
            return np.zeros(size, dtype=np.float32)
        postings = [self._postings(token) for token in tokens]
        return np.bincount(np.concatenate([passages for passages, _ in postings]),
                           weights=np.concatenate([values for _, values in postings]),
                           minlength=size).astype(np.float32)

    def _postings(self, token: int) -> tuple[np.ndarray, np.ndarray]:
        """A word's postings: the passages it occurs in, ascending, and its BM25 score in each."""
        scores = self._retriever.scores
        first, last = int(scores["indptr"][token]), int(scores["indptr"][token + 1])
        return scores["indices"][first:last], scores["data"][first:last]

    def head_top(self, words: Sequence[str], depth: int, head: int) -> np.ndarray:
        """Up to `depth` passages, best first, ranked by the sum over the words of their scores
        among each word's `head` best postings: an approximation of the top that reads a few
        thousand postings, not every passage's (10.4 against 1.5 ms at 300,000 passages, with
        98 % of the exact top 10 found among 200; benchmarks in docs/benchmarks.md)."""
        heads = [self._head(token, head) for token in
                 (self._retriever.vocab_dict.get(w) for w in words) if token is not None]
        if not heads:
            return np.zeros(0, dtype=np.int64)
        passages = np.concatenate([h[0] for h in heads])
        # Summed in a per-thread array over every passage, not by sorting the postings (np.unique
        # took 1.6 ms for eight heads of 5,000 at a million passages; this about a quarter).
        totals = self._totals()
        np.add.at(totals, passages, np.concatenate([h[1] for h in heads]))
        sums = totals[passages]
        # A passage occurs at most once per head, so its best `depth` are among the best
        # depth × heads entries.
        keep = depth * len(heads)
        entries = np.argpartition(-sums, keep)[:keep] if len(sums) > keep else slice(None)
        found = np.unique(passages[entries])
        found_sums = totals[found]
        totals[passages] = 0.0
        return found[np.argsort(-found_sums, kind="stable")[:depth]].astype(np.int64)

    def _totals(self) -> np.ndarray:
        """This thread's zeroed array of a float per passage (threads search at once)."""
        totals: np.ndarray | None = getattr(self._per_thread, "totals", None)
        if totals is None:
            totals = np.zeros(int(self._retriever.scores["num_docs"]), dtype=np.float32)
            self._per_thread.totals = totals
        return totals

    def _head(self, token: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        """A word's `size` best (passage, score) postings: read from the stored heads where
        they are long enough, else partitioned from the postings and kept, as questions share
        words."""
        if self._stored is not None:
            stored = self._stored.head(token, size)
            if stored is not None:
                return stored
        key = (token, size)
        kept = self._heads.get(key)
        if kept is None:
            passages, values = self._postings(token)
            values = values.astype(np.float32, copy=False)  # np.add.at is slow across dtypes
            if len(values) > size:
                best = np.argpartition(-values, size)[:size]
                passages, values = passages[best], values[best]
            if len(self._heads) >= _KEPT_HEADS:
                self._heads.clear()
            kept = self._heads[key] = (passages, values)
        return kept

    def weighted_scores(self, weights: Mapping[str, float], passages: np.ndarray) -> np.ndarray:
        """Sum over the words of weight × the word's BM25 score, for the given passages.

        Each passage is looked up in each word's postings by binary search (postings are in
        passage order, checked when the index is built), so the cost grows with the number of
        candidates, not with how common the word is: for ten frequent feedback words and 400
        candidates at 300,000 passages, 0.8 ms against 12.3 ms for a set intersection."""
        order = np.argsort(passages, kind="stable")
        # In the postings' own integer type: searchsorted would otherwise convert the whole of
        # each word's postings to match (6x the time for 300,000 postings and 400 candidates).
        ordered = passages[order].astype(self._retriever.scores["indices"].dtype)
        total = np.zeros(len(passages), dtype=np.float32)
        for word, weight in weights.items():
            token = self._retriever.vocab_dict.get(word)
            if token is None:
                continue
            docs, values = self._postings(token)
            if len(docs) == 0:
                continue
            at = np.minimum(np.searchsorted(docs, ordered), len(docs) - 1)
            found = docs[at] == ordered
            word_scores = np.zeros(len(passages), dtype=np.float32)
            word_scores[order[found]] = values[at[found]]
            total += weight * word_scores
        return total


@dataclass(frozen=True)
class ImpactHeads:
    """Each long-listed word's best postings, best first, computed when the index is built.

    Only words with more postings than the head length have one (a shorter list is its own
    head). A stored head is a slice of a memory map, where a computed one partitions the word's
    whole postings and is then kept in this process: at a million passages, the head step's p95
    for questions' first words went from 4.5 to 3.1 ms (p50 1.70 to 1.59; docs/benchmarks.md)."""

    length: int
    starts: np.ndarray  # per word: where its head begins in `passages`, and one past the last
    passages: np.ndarray
    scores: np.ndarray

    _FILES = ("starts", "passages", "scores")

    @classmethod
    def build(cls, retriever: bm25s.BM25, length: int) -> ImpactHeads:
        indptr, indices, data = (np.asarray(retriever.scores[key])
                                 for key in ("indptr", "indices", "data"))
        heads: list[np.ndarray] = []
        sizes = np.zeros(len(indptr) - 1, dtype=np.int64)
        for token in np.flatnonzero(np.diff(indptr) > length):
            values = data[indptr[token]:indptr[token + 1]]
            best = np.argpartition(-values, length)[:length]
            heads.append(indptr[token] + best[np.argsort(-values[best], kind="stable")])
            sizes[token] = length
        order = np.concatenate(heads) if heads else np.zeros(0, dtype=np.int64)
        return cls(length, np.concatenate([[0], np.cumsum(sizes)]), indices[order],
                   data[order].astype(np.float32))

    def save(self, folder: Path) -> None:
        for name in self._FILES:
            np.save(folder / f"heads.{name}.npy", getattr(self, name), allow_pickle=False)
        (folder / "heads.json").write_text(json.dumps({"length": self.length}))

    @classmethod
    def load(cls, folder: Path) -> ImpactHeads | None:
        """The stored heads, memory-mapped; None for an index built without them."""
        if not (folder / "heads.json").exists():
            return None
        arrays = {name: np.asarray(np.load(folder / f"heads.{name}.npy", mmap_mode="r",
                                           allow_pickle=False)) for name in cls._FILES}
        return cls(json.loads((folder / "heads.json").read_text())["length"], **arrays)

    def head(self, token: int, size: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The word's `size` best postings, if its stored head holds them."""
        first, last = int(self.starts[token]), int(self.starts[token + 1])
        if size > last - first:
            return None
        return self.passages[first:first + size], self.scores[first:first + size]


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
