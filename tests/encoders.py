"""A tiny real Encoder for tests of the seams: no model, no download, deterministic."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from qa.embedding.embed import Progress
from qa.embedding.model import ModelIdentity

_WORD = re.compile(r"\w+")


class HashingEncoder:
    """Each word is hashed into one of `dimension` slots; a text's vector is its words' counts,
    scaled to unit length. A "token" is a word, so `max_tokens` words fit the model."""

    pools_by_mean = True  # a span's vector is its own words', so spans pool from the text
    marks_questions = False  # a question is hashed as any text is

    def __init__(self, dimension: int = 64, max_tokens: int = 40) -> None:
        self.dimension = dimension
        self.max_tokens = max_tokens
        self.encoded: list[str] = []  # every text encoded, in order (what a build embedded)

    def identity(self) -> ModelIdentity:
        return ModelIdentity("hashing", self.dimension, f"hashing-{self.dimension}")

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        return [len(_WORD.findall(text)) for text in texts]

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimension, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            slot = int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "big")
            vector[slot % self.dimension] += 1.0
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        self.encoded.extend(texts)
        if progress:
            progress(len(texts), len(texts))
        rows = [self._vector(text) for text in texts]
        return np.vstack(rows) if rows else np.zeros((0, self.dimension), dtype=np.float32)

    def encode_query(self, question: str) -> np.ndarray:
        return self._vector(question)[None, :]

    def encode_with_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                          progress: Progress | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        self.encoded.extend(texts)
        return [(self._vector(text),
                 np.vstack([self._vector(text[a:b]) for a, b in text_spans])
                 if text_spans else np.zeros((0, self.dimension), dtype=np.float32))
                for text, text_spans in zip(texts, spans, strict=True)]

    def release_batch_workers(self) -> None:
        """Nothing held between batches."""
