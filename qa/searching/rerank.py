"""Optional reranking stage: a model that rescores (question, passage) pairs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from qa.embedding.model import ModelUnavailableError


class Reranker(Protocol):
    def score(self, question: str, passages: Sequence[str]) -> list[float]:
        """One score per passage; higher is better."""
        ...


class CrossEncoderReranker:
    """Any sentence-transformers cross-encoder on disk (a local path; nothing is downloaded)."""

    def __init__(self, model_path: str) -> None:
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import CrossEncoder

        try:
            self._model = CrossEncoder(model_path, device="cpu")
        except Exception as error:  # many kinds; the user needs one message
            raise ModelUnavailableError(
                f"cannot load cross-encoder {model_path!r}: {error}. "
                "Set --reranker / QA_RERANKER to a local cross-encoder folder, or leave it empty."
            ) from error

    def score(self, question: str, passages: Sequence[str]) -> list[float]:
        if not passages:
            return []
        pairs = [(question, passage) for passage in passages]
        return [float(s) for s in self._model.predict(pairs, show_progress_bar=False)]
