"""What runs a model for the `Embedder`: the `Runtime` a runtime module writes, and the forward
passes that late chunking pools sentences from."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_WORD = re.compile(r"\w+")


class Runtime:
    """What runs a model for `Embedder`. A runtime must write one method, `encode`; the others
    have defaults it may replace, and what it can do beyond encoding is said by attributes, so
    that `Embedder` never asks which runtime it has."""

    dimension: int
    max_seq_length: int
    # The text vector is the mean of the word pieces' vectors: sentences can be pooled from
    # their paragraph's pass, and the runtime writes `encode_tokens`.
    pools_by_mean: bool = False
    # A question is read with a prefix of its own, a passage with another (e5's "query: " and
    # "passage: "), so a question's vector is not its text's as a passage.
    marks_questions: bool = False
    build_precisions: tuple[str, ...] = ("float32",)  # what builds may encode at
    onnx_file: Path | None = None  # the exported model it runs, when it runs one

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """One unit float32 vector per text, rows in input order."""
        raise NotImplementedError

    def encode_query(self, texts: list[str]) -> np.ndarray:
        """Questions, always at the model's full precision."""
        return self.encode(texts, 1)

    def token_counts(self, texts: list[str]) -> list[int]:
        """Word pieces per text, without special tokens or truncation (by default, words)."""
        return [len(_WORD.findall(text)) for text in texts]

    def encode_tokens(self, texts: list[str], batch_size: int) -> list[TokenVectors]:
        """Each text's forward pass (needed only when `pools_by_mean`)."""
        raise NotImplementedError(f"{type(self).__name__} does not pool sentences from a pass")

    def release_batch_workers(self) -> None:
        """Free what encoding many texts at once holds (by default, nothing)."""


@dataclass(frozen=True)
class TokenVectors:
    """One text's forward pass: its unit vector, and the vector and character span of each
    of its word pieces (special tokens left out)."""

    vector: np.ndarray
    tokens: np.ndarray  # (word pieces, dimension)
    offsets: np.ndarray  # (word pieces, 2): start and end character of each piece

    def span_vectors(self, spans: Sequence[tuple[int, int]]) -> np.ndarray:
        """Unit vectors of character spans, each the mean of the word pieces that start inside
        it ("late chunking"). A span with no piece (cut off by the model's limit) gets the
        whole text's vector."""
        result = np.empty((len(spans), self.vector.shape[0]), dtype=np.float32)
        starts = self.offsets[:, 0]
        for row, (begin, end) in enumerate(spans):
            first, last = np.searchsorted(starts, [begin, end])
            pooled = self.tokens[first:last].mean(axis=0) if last > first else self.vector
            result[row] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
        return result


class RuntimeUnsupported(Exception):
    """This runtime cannot run this model; the next in line (sentence-transformers) may."""
