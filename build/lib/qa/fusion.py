"""Fusing the dense and lexical scores of the same candidate passages."""

from __future__ import annotations

import numpy as np

from qa.settings import Settings


def zscore(scores: np.ndarray) -> np.ndarray:
    """Scores as standard deviations from the candidates' mean (all zero when they are equal)."""
    spread = float(scores.std())
    if spread == 0.0:
        return np.zeros_like(scores, dtype=np.float32)
    return ((scores - scores.mean()) / spread).astype(np.float32)


def ranks(scores: np.ndarray) -> np.ndarray:
    """1 for the best score; ties keep candidate order."""
    order = np.argsort(-scores, kind="stable")
    positions = np.empty(len(scores), dtype=np.int64)
    positions[order] = np.arange(1, len(scores) + 1)
    return positions


def reciprocal_rank_fusion(dense: np.ndarray, lexical: np.ndarray, k: int,
                           dense_weight: float, lexical_weight: float) -> np.ndarray:
    """Cormack et al. (2009): sum of weight / (k + rank) over the retrievers."""
    return (dense_weight / (k + ranks(dense)) + lexical_weight / (k + ranks(lexical))).astype(
        np.float32)


def zscore_fusion(dense: np.ndarray, lexical: np.ndarray, dense_weight: float,
                  lexical_weight: float) -> np.ndarray:
    """Weighted sum of each retriever's z-normalised scores over the candidate set.

    Unlike RRF it keeps how far ahead a passage is, not only its place in line."""
    return dense_weight * zscore(dense) + lexical_weight * zscore(lexical)


def fuse(dense: np.ndarray, lexical: np.ndarray, settings: Settings) -> np.ndarray:
    if settings.fusion == "rrf":
        return reciprocal_rank_fusion(dense, lexical, settings.rrf_k, settings.dense_weight,
                                      settings.lexical_weight)
    return zscore_fusion(dense, lexical, settings.dense_weight, settings.lexical_weight)
