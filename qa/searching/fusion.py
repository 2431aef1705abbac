"""Fusing the named signals' scores of the same candidate passages into one ranking."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


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


def reciprocal_rank_fusion(signals: Mapping[str, np.ndarray], weights: Mapping[str, float],
                           k: int) -> np.ndarray:
    """Cormack et al. (2009): sum of weight / (k + rank) over the signals."""
    total: np.ndarray | float = 0.0
    for name, scores in signals.items():
        total = total + weights[name] / (k + ranks(scores))
    return np.asarray(total).astype(np.float32)


def zscore_fusion(signals: Mapping[str, np.ndarray], weights: Mapping[str, float]
                  ) -> np.ndarray:
    """Weighted sum of each signal's z-normalised scores over the candidate set.

    Unlike RRF it keeps how far ahead a passage is, not only its place in line."""
    total: np.ndarray | float = 0.0
    for name, scores in signals.items():
        total = total + weights[name] * zscore(scores)
    return np.asarray(total, dtype=np.float32)


def fuse(signals: Mapping[str, np.ndarray], weights: Mapping[str, float], method: str,
         rrf_k: int) -> np.ndarray:
    """One score per candidate from any number of named signals: "zscore" or "rrf" fusion of
    them, weighted by name; a lone signal ranks by its own scores."""
    if len(signals) == 1:
        return next(iter(signals.values()))
    if method == "rrf":
        return reciprocal_rank_fusion(signals, weights, rrf_k)
    return zscore_fusion(signals, weights)
