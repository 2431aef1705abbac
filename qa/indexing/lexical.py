"""Lexical retrieval: BM25 over whole passages, its formula in one place, saved as plain numpy and
JSON.

`bm25_weights` is the only place qa computes BM25. The local index stores each posting's weight
from it when it is built; a backend that keeps the words elsewhere (a server) hands the candidates'
words and the collection's statistics to `candidate_scores`, which applies the same function.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from bm25s.stopwords import STOPWORDS_EN

from qa.core.languages import stemmer_for, tokens

logging.getLogger("bm25s").setLevel(logging.WARNING)

# Lucene's BM25 (bm25s's default method): idf = ln(1 + (N - df + 0.5) / (df + 0.5)), and a
# term frequency part tf / (tf + k1 (1 - b + b len / mean len)), without the (k1 + 1) factor.
BM25_K1, BM25_B = 1.5, 0.75


@cache
def _stemmer(language: str):  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer(language)


# bm25s.tokenize's defaults for ASCII text: scikit-learn's word pattern, its English stopword
# list. Other text is split by qa.core.languages (combining marks kept, unspaced scripts in pairs).
_ASCII_WORD = re.compile(r"(?u)\b\w\w+\b")
_STOPWORDS = frozenset(STOPWORDS_EN)
_KEPT_HEADS = 4096  # words whose impact heads are kept (at most 4096 × 5,000 postings: 160 MB)


def analyse(texts: Sequence[str]) -> list[list[str]]:
    """Each text as the words BM25 sees: lower-cased, English stopwords out, each word stemmed
    by its script's stemmer where there is one (English for Latin text: the words
    bm25s.tokenize gives, a test checks it)."""
    kept = [[w for w in _words(text) if w not in _STOPWORDS] for text in texts]
    by_stemmer: dict[str | None, list[str]] = {}
    for word in {word for words in kept for word in words}:
        by_stemmer.setdefault(stemmer_for(word), []).append(word)
    stems: dict[str, str] = {}
    for language, words in by_stemmer.items():
        stemmed = _stemmer(language).stemWords(words) if language else words
        stems.update(zip(words, stemmed, strict=True))
    return [[stems[word] for word in words] for words in kept]


def _words(text: str) -> list[str]:
    return _ASCII_WORD.findall(text.lower()) if text.isascii() else tokens(text)


@dataclass(frozen=True)
class CollectionStatistics:
    """What BM25 needs of the whole collection besides each word's document frequency."""

    passage_count: int
    mean_length: float  # analysed words per passage

    @classmethod
    def of(cls, words: Sequence[Sequence[str]]) -> CollectionStatistics:
        lengths = np.array([len(passage) for passage in words], dtype=np.int64)
        return cls(len(words), float(lengths.mean()) if len(words) else 0.0)


def inverse_frequency(document_frequency: int, passage_count: int) -> float:
    """BM25's idf of a word held by `document_frequency` of `passage_count` passages."""
    return math.log(1 + (passage_count - document_frequency + 0.5) / (document_frequency + 0.5))


def word_idf(words: Sequence[str], document_frequencies: Mapping[str, int],
             passage_count: int) -> dict[str, float]:
    """Each word's idf; 0 for a word no passage holds (it tells no passage apart)."""
    return {word: inverse_frequency(document_frequencies[word], passage_count)
            if document_frequencies.get(word) else 0.0 for word in words}


def bm25_weights(term_frequencies: np.ndarray, lengths: np.ndarray,
                 document_frequencies: np.ndarray, statistics: CollectionStatistics
                 ) -> np.ndarray:
    """Each posting's BM25 weight: a word occurring `term_frequencies[i]` times in a passage of
    `lengths[i]` words, the word being in `document_frequencies[i]` passages.

    With bm25s's arithmetic (idf rounded to float32, the rest in float64, the weight rounded to
    float32), so the weights are bm25s's to the bit (a test checks it): the ranking does not
    move with the implementation."""
    frequencies = np.asarray(term_frequencies, dtype=np.float64)
    counts = np.asarray(document_frequencies, dtype=np.int64)
    distinct, slot = np.unique(counts, return_inverse=True)
    total = statistics.passage_count
    idf = np.array([inverse_frequency(df, total) for df in distinct.tolist()],
                   dtype=np.float32)[slot].astype(np.float64)
    norm = BM25_K1 * ((1 - BM25_B) + BM25_B * np.asarray(lengths, dtype=np.float64)
                      / statistics.mean_length)
    return (idf * (frequencies / (norm + frequencies))).astype(np.float32)


def candidate_scores(weights: Mapping[str, float], candidate_words: Sequence[Sequence[str]],
                     document_frequencies: Mapping[str, int],
                     statistics: CollectionStatistics) -> np.ndarray:
    """Sum over words of weight × the word's BM25, for passages given by their analysed words
    (a backend that keeps them; the local index reads its stored postings instead)."""
    counts = [Counter(words) for words in candidate_words]
    lengths = np.array([len(words) for words in candidate_words], dtype=np.int64)
    total = np.zeros(len(candidate_words), dtype=np.float64)
    for word, weight in weights.items():
        frequency = document_frequencies.get(word, 0)
        if not frequency:
            continue
        found = np.array([c[word] for c in counts], dtype=np.int64)
        held = np.flatnonzero(found)
        if len(held):
            word_weights = bm25_weights(found[held], lengths[held],
                                        np.full(len(held), frequency), statistics)
            total[held] += weight * word_weights.astype(np.float64)
    return total.astype(np.float32)


class LexicalIndex:
    """BM25 postings of every word, in passage order: for each word the passages it occurs in
    (ascending) and its weight in each, from bm25_weights."""

    _FILES = ("indptr", "passages", "weights")

    def __init__(self, vocabulary: dict[str, int], indptr: np.ndarray, passages: np.ndarray,
                 weights: np.ndarray, statistics: CollectionStatistics,
                 stored_heads: ImpactHeads | None = None) -> None:
        self.vocabulary = vocabulary
        self.statistics = statistics
        self._indptr, self._passages, self._weights = indptr, passages, weights
        self._stored = stored_heads
        self._heads: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._per_thread = threading.local()

    @classmethod
    def build(cls, texts: Sequence[str], head: int = 0) -> LexicalIndex:
        """BM25 over the texts; with `head`, each word's `head` best postings stored too."""
        words = analyse(texts)
        vocabulary: dict[str, int] = {}
        for passage_words in words:
            for word in passage_words:
                vocabulary.setdefault(word, len(vocabulary))
        count = len(words)
        lengths = np.array([len(passage_words) for passage_words in words], dtype=np.int64)
        tokens = np.fromiter((vocabulary[w] for ws in words for w in ws), dtype=np.int64,
                             count=int(lengths.sum()))
        owners = np.repeat(np.arange(count, dtype=np.int64), lengths)
        # One key per (word, passage), sorted by word and then passage: the postings' order.
        keys, frequencies = np.unique(tokens * max(count, 1) + owners, return_counts=True)
        token_of, passages = np.divmod(keys, max(count, 1))
        indptr = np.concatenate([[0], np.cumsum(np.bincount(token_of, minlength=len(vocabulary)))])
        statistics = CollectionStatistics.of(words)
        weights = bm25_weights(frequencies, lengths[passages], np.diff(indptr)[token_of], statistics)
        passages = passages.astype(np.int32)
        heads = ImpactHeads.build(indptr, passages, weights, head) if head else None
        return cls(vocabulary, indptr, passages, weights, statistics, heads)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in self._FILES:
            np.save(folder / f"postings.{name}.npy", getattr(self, f"_{name}"), allow_pickle=False)
        words = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        (folder / "lexical.json").write_text(json.dumps(
            {"passage_count": self.statistics.passage_count,
             "mean_length": self.statistics.mean_length, "words": words}, ensure_ascii=False),
            encoding="utf-8")
        if self._stored is not None:
            self._stored.save(folder)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        """The postings memory-mapped, as plain ndarrays: slicing a np.memmap builds a memmap
        object each time (about 100 slices a question)."""
        meta = json.loads((folder / "lexical.json").read_text(encoding="utf-8"))
        indptr, passages, weights = (
            np.asarray(np.load(folder / f"postings.{name}.npy", mmap_mode="r", allow_pickle=False))
            for name in cls._FILES)
        return cls({word: token for token, word in enumerate(meta["words"])}, indptr, passages,
                   weights,
                   CollectionStatistics(int(meta["passage_count"]), float(meta["mean_length"])),
                   ImpactHeads.load(folder))

    def scores(self, words: Sequence[str]) -> np.ndarray:
        """BM25 score of every passage for a question's analysed words (zeros when none is
        known), a word counted as often as it occurs.

        Summed with one np.bincount over the words' postings (faster than np.add.at; figures in
        docs/benchmarks.md)."""
        size = self.statistics.passage_count
        tokens = [self.vocabulary[w] for w in words if w in self.vocabulary]
        if not tokens:
            return np.zeros(size, dtype=np.float32)
        postings = [self._postings(token) for token in tokens]
        return np.bincount(np.concatenate([passages for passages, _ in postings]),
                           weights=np.concatenate([values for _, values in postings]),
                           minlength=size).astype(np.float32)

    def _postings(self, token: int) -> tuple[np.ndarray, np.ndarray]:
        """A word's postings: the passages it occurs in, ascending, and its weight in each."""
        first, last = int(self._indptr[token]), int(self._indptr[token + 1])
        return self._passages[first:last], self._weights[first:last]

    def head_top(self, words: Sequence[str], depth: int, head: int) -> np.ndarray:
        """Up to `depth` passages, best first, ranked by the sum over the words of their scores
        among each word's `head` best postings: an approximation of the top that reads a few
        thousand postings, not every passage's (its speed and agreement with the exact top are
        in docs/benchmarks.md)."""
        heads = [self._head(token, head) for token in
                 (self.vocabulary.get(w) for w in words) if token is not None]
        if not heads:
            return np.zeros(0, dtype=np.int64)
        passages = np.concatenate([h[0] for h in heads])
        # Summed in a per-thread array over every passage, not by sorting the postings
        # (np.unique is slower at a million passages; docs/benchmarks.md).
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
            totals = np.zeros(self.statistics.passage_count, dtype=np.float32)
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
            if len(values) > size:
                best = np.argpartition(-values, size)[:size]
                passages, values = passages[best], values[best]
            if len(self._heads) >= _KEPT_HEADS:
                self._heads.clear()
            kept = self._heads[key] = (passages, values)
        return kept

    def idf(self, words: Sequence[str]) -> dict[str, float]:
        """Each word's idf over the whole index (word_idf)."""
        frequencies = {word: int(self._indptr[token + 1] - self._indptr[token])
                       for word in words if (token := self.vocabulary.get(word)) is not None}
        return word_idf(words, frequencies, self.statistics.passage_count)

    def weighted_scores(self, weights: Mapping[str, float], passages: np.ndarray) -> np.ndarray:
        """Sum over the words of weight × the word's BM25 score, for the given passages (a
        question's own words weigh how often they occur in it).

        Each passage is looked up in each word's postings by binary search (postings are in
        passage order), so the cost grows with the number of candidates, not with how common
        the word is. Summed in float64 as `scores` sums, so the two agree to the bit."""
        order = np.argsort(passages, kind="stable")
        # In the postings' own integer type: searchsorted would otherwise convert the whole of
        # each word's postings to match.
        ordered = passages[order].astype(self._passages.dtype)
        total = np.zeros(len(passages), dtype=np.float64)
        for word, weight in weights.items():
            token = self.vocabulary.get(word)
            if token is None:
                continue
            docs, values = self._postings(token)
            if len(docs) == 0:
                continue
            at = np.minimum(np.searchsorted(docs, ordered), len(docs) - 1)
            found = docs[at] == ordered
            total[order[found]] += weight * values[at[found]].astype(np.float64)
        return total.astype(np.float32)


@dataclass(frozen=True)
class ImpactHeads:
    """Each long-listed word's best postings, best first, computed when the index is built.

    Only words with more postings than the head length have one (a shorter list is its own
    head). A stored head is a slice of a memory map, where a computed one partitions the word's
    whole postings and is then kept in this process (docs/benchmarks.md has the difference)."""

    length: int
    starts: np.ndarray  # per word: where its head begins in `passages`, and one past the last
    passages: np.ndarray
    scores: np.ndarray

    _FILES = ("starts", "passages", "scores")

    @classmethod
    def build(cls, indptr: np.ndarray, passages: np.ndarray, weights: np.ndarray,
              length: int) -> ImpactHeads:
        heads: list[np.ndarray] = []
        sizes = np.zeros(len(indptr) - 1, dtype=np.int64)
        for token in np.flatnonzero(np.diff(indptr) > length):
            values = weights[indptr[token]:indptr[token + 1]]
            best = np.argpartition(-values, length)[:length]
            heads.append(indptr[token] + best[np.argsort(-values[best], kind="stable")])
            sizes[token] = length
        order = np.concatenate(heads) if heads else np.zeros(0, dtype=np.int64)
        return cls(length, np.concatenate([[0], np.cumsum(sizes)]), passages[order],
                   weights[order].astype(np.float32))

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
