"""Pseudo-relevance feedback: the question's words, expanded with the words of the passages the
first ranking put on top (RM3: Lavrenko & Croft 2001, Abdul-Jaleel et al. 2004).

It helps questions that many passages answer in different words (Cranfield nDCG@10 0.425 →
0.448) and costs little where one passage answers (SQuAD Recall@1 0.871 → 0.868); the figures for
each weight are in docs/benchmarks.md."""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np


def relevance_model(passages: Sequence[Sequence[str]], scores: np.ndarray,
                    term_count: int) -> dict[str, float]:
    """RM1: P(t|R) = sum over feedback passages D of P(t|D) P(D|Q), keeping the `term_count`
    likeliest terms, renormalised to sum to 1.

    P(D|Q) is proportional to exp(score): `scores` play the part of query log-likelihoods, so
    pass them on a common scale (the search z-normalises the ranking over all candidates)."""
    weights = np.exp(scores - scores.max())  # shifted: the same ratios, no overflow
    weights /= weights.sum()
    model: defaultdict[str, float] = defaultdict(float)
    for words, weight in zip(passages, weights, strict=True):
        for word, count in Counter(words).items():
            model[word] += float(weight) * count / len(words)
    top = dict(heapq.nlargest(term_count, model.items(), key=lambda item: item[1]))
    total = sum(top.values())
    return {word: value / total for word, value in top.items()} if total else {}


def expanded_scores(question_bm25: np.ndarray, question_length: int,
                    relevance_bm25: np.ndarray, feedback_weight: float) -> np.ndarray:
    """RM3: BM25 of the question's term distribution interpolated with the relevance model's.

    Both halves are sums of P(word) × BM25(word). The question's is its plain BM25 (each word
    counted as often as it occurs) over its length, so its words are not scored twice."""
    question = question_bm25 / max(question_length, 1)
    return (1.0 - feedback_weight) * question + feedback_weight * relevance_bm25
