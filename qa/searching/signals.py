"""Retrieval signals: named scores over the same candidate passages, fused by their weights.

A signal is one `Signal`: its name, its default weight in fusion, how it scores the candidates
and, optionally, how it proposes candidates of its own. A new signal is one module that calls
`register`; hybrid search then ranks by it too, every hit carries its score by name (the JSON of
`qa ask --json`, REST, MCP and the downloads), and Settings.signal_weights() may override its
weight. The two qa ships are below: "dense" (cosines of the question with each passage's
windows and sentences) and "lexical" (BM25 of the question's words).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

import numpy as np

from qa.indexing.backends import IndexReader
from qa.indexing.dense import inner_products
from qa.indexing.store import row_ranges


@dataclass(frozen=True)
class Question:
    """What signals read of a question: its unit vector and its analysed words."""

    vector: np.ndarray
    words: list[str]


@dataclass(frozen=True)
class DenseScores:
    """Per candidate passage: window+sentence cosine sum and the best single cosine; and every
    row's cosine, with where each candidate's sentence rows begin and end in it."""

    combined: np.ndarray
    best: np.ndarray
    cosines: np.ndarray
    sentence_rows: np.ndarray  # (candidates, 2): first and past-the-last sentence row

    def best_sentence(self, slot: int) -> int:
        first, last = self.sentence_rows[slot]
        return int(self.cosines[first:last].argmax()) if last > first else 0


@dataclass(frozen=True)
class Candidates:
    """The passages a question's signals proposed (by number), and the question. `dense` is
    worked out for every search: the answer sentence and the "no good match" figure read it."""

    question: Question
    numbers: np.ndarray
    dense: DenseScores


# A score for each candidate, in the order of `candidates.numbers`; higher is better.
Scores = Callable[[IndexReader, Candidates], np.ndarray]
# Up to `depth` passage numbers for a question, from the documents `sources` names (all: None)
# and, when a query constrains passages, from the passage numbers given (all: None).
Propose = Callable[[IndexReader, Question, int, Collection[str] | None, np.ndarray | None],
                   np.ndarray]


@dataclass(frozen=True)
class Signal:
    """A retrieval signal. `weight` is its default in fusion (Settings.signal_weights() may
    override it by name); `candidates`, when given, proposes passages whenever the signal
    ranks (a signal without it scores what the others propose)."""

    name: str
    scores: Scores
    weight: float = 1.0
    candidates: Propose | None = None


SIGNALS: dict[str, Signal] = {}


def register(signal: Signal) -> None:
    SIGNALS[signal.name] = signal


def registered() -> list[Signal]:
    """Every signal, in the order they were registered."""
    return list(SIGNALS.values())


def weights(overrides: Mapping[str, float]) -> dict[str, float]:
    """Each signal's weight by name: `overrides` where it names the signal, else its default."""
    return {signal.name: overrides.get(signal.name, signal.weight) for signal in registered()}


def dense_scores(index: IndexReader, query: np.ndarray, numbers: np.ndarray) -> DenseScores:
    """Best window and best sentence cosine per candidate, in one gather and one product."""
    vectors, counts, windows = index.candidate_vectors(numbers)
    cosines = inner_products(vectors, query)
    # Each candidate's rows are its windows then its sentences: two segments to reduce.
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    bounds = np.stack([offsets, offsets + windows], axis=1).ravel()
    maxima = np.maximum.reduceat(cosines, bounds).reshape(-1, 2)
    window_best = maxima[:, 0]
    sentence_best = np.where(counts > windows, maxima[:, 1], window_best)
    return DenseScores(window_best + sentence_best, np.maximum(window_best, sentence_best),
                       cosines, np.stack([offsets + windows, offsets + counts], axis=1))


def passage_vectors(index: IndexReader, numbers: np.ndarray) -> np.ndarray:
    """Each passage's own vector, from what the index stores: the mean of its window vectors
    (one window for most passages), at unit length."""
    vectors, counts, windows = index.candidate_vectors(numbers)
    if len(numbers) == 0:
        return np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0), dtype=np.float32)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    window_vectors = vectors[row_ranges(starts, windows)].astype(np.float32)
    sums = np.add.reduceat(window_vectors, np.concatenate([[0], np.cumsum(windows)[:-1]]), axis=0)
    return sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)


register(Signal(
    "dense", scores=lambda index, found: found.dense.combined,  # best window + best sentence
    candidates=lambda index, question, depth, sources, numbers: index.dense_candidates(
        question.vector, depth, sources, numbers)))
register(Signal(
    "lexical",
    scores=lambda index, found: index.lexical_scores(Counter(found.question.words), found.numbers),
    candidates=lambda index, question, depth, sources, numbers: index.lexical_top(
        question.words, depth, sources, numbers)))
