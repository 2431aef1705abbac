"""Retrieval metrics over plain rankings and relevance judgements (no index knowledge here)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def recall_at(ranking: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    """Share of the relevant items found in the first k."""
    positive = {item for item, grade in relevant.items() if grade > 0}
    if not positive:
        return 0.0
    return len(positive.intersection(ranking[:k])) / len(positive)


def hit_at(first_relevant_rank: int | None, k: int) -> float:
    """1 if the first relevant item is within the first k (recall for one-answer questions)."""
    return 1.0 if first_relevant_rank is not None and first_relevant_rank <= k else 0.0


def first_relevant_rank(ranking: Sequence[str], relevant: Mapping[str, int]) -> int | None:
    for rank, item in enumerate(ranking, start=1):
        if relevant.get(item, 0) > 0:
            return rank
    return None


def reciprocal_rank_at(ranking: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    rank = first_relevant_rank(ranking[:k], relevant)
    return 1.0 / rank if rank else 0.0


def ndcg_at(ranking: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    """nDCG with linear gains (the grade itself) and log2 discounts, as trec_eval computes it."""
    gains = [max(relevant.get(item, 0), 0) for item in ranking[:k]]
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    ideal_dcg = _dcg(ideal)
    return _dcg(gains) / ideal_dcg if ideal_dcg > 0 else 0.0


def _dcg(gains: Sequence[float]) -> float:
    return sum(gain / math.log2(position + 2) for position, gain in enumerate(gains))


def auroc(positive_scores: Sequence[float], negative_scores: Sequence[float]) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    if not positive_scores or not negative_scores:
        return float("nan")
    wins = 0.0
    for p in positive_scores:
        for n in negative_scores:
            wins += 1.0 if p > n else 0.5 if p == n else 0.0
    return wins / (len(positive_scores) * len(negative_scores))


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """The `share`-th percentile (0–100) of sorted values, linearly interpolated as numpy does."""
    if not sorted_values:
        return 0.0
    position = (len(sorted_values) - 1) * share / 100
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def answer_sentence_accuracy(first_relevant_ranks: Sequence[int | None],
                             answers_right: Sequence[bool], k: int = 10) -> float | None:
    """Share of the questions whose first relevant item is within the first k that have its
    answer sentence right (`answers_right[i]`: question i's first relevant item's); None when
    no question has a relevant item there."""
    judged = [right for rank, right in zip(first_relevant_ranks, answers_right, strict=True)
              if rank is not None and rank <= k]
    return mean([float(right) for right in judged]) if judged else None


def answer_at_1(first_relevant_ranks: Sequence[int | None], answers_right: Sequence[bool]
                ) -> float | None:
    """Share of the questions whose first item is relevant and has its answer sentence right;
    None for no question."""
    if not first_relevant_ranks:
        return None
    return mean([float(rank == 1 and right)
                 for rank, right in zip(first_relevant_ranks, answers_right, strict=True)])
