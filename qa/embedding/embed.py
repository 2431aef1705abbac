"""Embed stage: the `Encoder` protocol, the `Embedder` over a runtime (ONNX Runtime or
sentence-transformers, one module each), and token-aware windows."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.core.settings import BUILD_PRECISIONS
from qa.embedding.e5_runtime import start_e5
from qa.embedding.model import E5_MODEL, ModelFiles, ModelIdentity, fingerprint, resolve_model_path
from qa.embedding.onnx_runtime import default_onnx_cache, start_onnx
from qa.embedding.runtime import Runtime, RuntimeUnsupported
from qa.embedding.torch_runtime import start_torch

log = logging.getLogger(__name__)

# Progress callback: (texts done, texts in all).
Progress = Callable[[int, int], None]

# Texts are encoded in slices this big so progress can be shown; each slice is length-sorted.
_PROGRESS_SLICE = 512


class Encoder(Protocol):
    """What qa asks of a text encoder: unit vectors for passages and questions, the model's
    word-piece budget, and what an index built with it must agree on (`identity`). The
    sentence-transformer run by ONNX Runtime or by torch (`Embedder`) is the one qa ships."""

    dimension: int
    max_tokens: int  # word pieces a text may have before it is cut into windows
    # True when a text's vector is the mean of its word pieces' vectors, so a sentence's vector
    # can be pooled from its paragraph's pass (`encode_with_spans`).
    pools_by_mean: bool
    # True when a question is read with a prefix of its own and a passage with another (e5's
    # "query: " and "passage: "): a question's vector is then not its text's as a passage.
    marks_questions: bool

    def identity(self) -> ModelIdentity: ...

    def token_counts(self, texts: Sequence[str]) -> list[int]: ...

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """One unit float32 vector per text, rows in input order."""
        ...

    def encode_query(self, question: str) -> np.ndarray:
        """A (1, dimension) array: the question's unit vector."""
        ...

    def encode_with_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                          progress: Progress | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per text, its unit vector and one unit vector per character span of it."""
        ...

    def release_batch_workers(self) -> None:
        """Free what encoding many texts at once holds; the next build makes it again."""
        ...


# Each runtime by its QA_ENCODER name (settings.ENCODERS); a runtime that cannot run a model
# hands over to sentence-transformers (FALLBACK), which runs every model it can load.
RUNTIMES: dict[str, Callable[[ModelFiles, int, str], Runtime]] = {
    "onnx": start_onnx, "torch": start_torch, "e5": start_e5}
FALLBACK = "torch"
# A model only one runtime runs, by its model setting: that runtime, whatever QA_ENCODER says.
MODEL_RUNTIMES = {E5_MODEL: "e5"}


class Embedder:
    """Encodes texts into unit-length float32 vectors with a sentence-transformer, run by ONNX
    Runtime (`encoder="onnx"`, the default) or by sentence-transformers (`"torch"`). A model
    ONNX cannot reproduce falls back to sentence-transformers, with a notice."""

    def __init__(self, model: str, batch_size: int = 32, threads: int = 0, encoder: str = "onnx",
                 onnx_cache: Path | None = None, build_precision: str = "float32") -> None:
        if build_precision not in BUILD_PRECISIONS:
            raise ValueError(f"build precision must be one of {', '.join(BUILD_PRECISIONS)}, "
                             f"not {build_precision!r}")
        self.model_setting = model
        self.batch_size = batch_size
        self.build_precision = build_precision
        self._path = resolve_model_path(model)
        self._fingerprint = fingerprint(self._path)
        self._runtime = self._start(encoder, threads, onnx_cache or default_onnx_cache())
        self.dimension = self._runtime.dimension
        # Whether the model's text vector is the mean of its word pieces, so a sentence's vector
        # can be pooled from its paragraph's forward pass (late chunking).
        self.pools_by_mean = self._runtime.pools_by_mean
        self.marks_questions = self._runtime.marks_questions
        # Room for the [CLS] and [SEP] tokens the model adds around every text.
        self.max_tokens = self._runtime.max_seq_length - 2

    def _start(self, encoder: str, threads: int, onnx_cache: Path) -> Runtime:
        if encoder not in RUNTIMES:
            raise ValueError(f"encoder must be one of {', '.join(RUNTIMES)}, not {encoder!r}")
        model = ModelFiles(self.model_setting, self._path, self._fingerprint, onnx_cache)
        runtime: Runtime | None = None
        if self.model_setting in MODEL_RUNTIMES:
            self.runtime = MODEL_RUNTIMES[self.model_setting]
            runtime = RUNTIMES[self.runtime](model, threads, self.build_precision)
        elif encoder != FALLBACK:
            try:
                runtime = RUNTIMES[encoder](model, threads, self.build_precision)
                self.runtime = encoder
            except RuntimeUnsupported as error:
                if Path(self._path).is_dir():  # a hub name was never meant for this runtime
                    log.warning("%s; using sentence-transformers", error)
        if runtime is None:
            self.runtime = FALLBACK
            runtime = RUNTIMES[FALLBACK](model, threads, "float32")
        if self.build_precision not in runtime.build_precisions:
            log.warning("an %s build needs ONNX Runtime; %s builds at full precision",
                        self.build_precision, self.model_setting)
            self.build_precision = "float32"
        return runtime

    @property
    def onnx_file(self) -> Path | None:
        """The exported model the runtime runs; None when it runs none (sentence-transformers)."""
        return self._runtime.onnx_file

    def identity(self) -> ModelIdentity:
        # An int8 build's vectors are not the model's own: never reused by a full-precision
        # build, nor the other way round.
        fingerprint = self._fingerprint + ("" if self.build_precision == "float32"
                                           else f"+{self.build_precision}")
        return ModelIdentity(self.model_setting, self.dimension, fingerprint)

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        return self._runtime.token_counts(list(texts)) if texts else []

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """One unit vector per text, rows in input order. A text that occurs more than once
        (a one-sentence paragraph is also its own sentence) is encoded once."""
        distinct = list(dict.fromkeys(texts))
        vectors = self._encode_distinct(distinct, progress)
        if len(distinct) == len(texts):
            return vectors
        row_of = {text: row for row, text in enumerate(distinct)}
        return vectors[[row_of[text] for text in texts]]

    def _encode_distinct(self, texts: list[str], progress: Progress | None) -> np.ndarray:
        """Encode in length-sorted slices (less padding, visible progress)."""
        runtime = self._runtime
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        for begin in range(0, len(order), _PROGRESS_SLICE):
            rows = order[begin : begin + _PROGRESS_SLICE]
            vectors[rows] = runtime.encode([texts[i] for i in rows], self.batch_size)
            if progress:
                progress(min(begin + _PROGRESS_SLICE, len(order)), len(order))
        return vectors

    def encode_with_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                          progress: Progress | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per text, one forward pass: its unit vector, and one unit vector per character span
        of it, pooled from the text's own word pieces (each sentence read in its paragraph)."""
        runtime = self._runtime
        blocks: list[tuple[np.ndarray, np.ndarray]] = [(np.empty(0), np.empty(0))] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        for begin in range(0, len(order), _PROGRESS_SLICE):
            rows = order[begin : begin + _PROGRESS_SLICE]
            passes = runtime.encode_tokens([texts[i] for i in rows], self.batch_size)
            for row, forward in zip(rows, passes, strict=True):
                blocks[row] = (forward.vector, forward.span_vectors(spans[row]))
            if progress:
                progress(min(begin + _PROGRESS_SLICE, len(order)), len(order))
        return blocks

    def encode_query(self, question: str) -> np.ndarray:
        return self._runtime.encode_query([question])

    def release_batch_workers(self) -> None:
        """Free what encoding many texts at once holds (ONNX Runtime: a thread pool and a
        one-thread session, about 110 MB here), so a server that built an index keeps only what
        questions need. The next build makes them again."""
        self._runtime.release_batch_workers()


def windows(
    sentences: Sequence[str], count_tokens: Callable[[Sequence[str]], list[int]], max_tokens: int,
    overlap: int
) -> list[str]:
    """Join the sentences of a text too long for the model into runs that each fit, overlapping
    by `overlap` sentences. A sentence longer than the limit is cut by words."""
    pieces: list[str] = []
    for sentence, tokens in zip(sentences, count_tokens(sentences), strict=True):
        pieces.extend(_split_words(sentence, tokens, max_tokens) if tokens > max_tokens else [sentence])
    return [" ".join(pieces[first:last]) for first, last in
            window_runs(count_tokens(pieces), max_tokens, overlap)]


def window_runs(sizes: Sequence[int], max_tokens: int, overlap: int) -> list[tuple[int, int]]:
    """Runs [first, last) of consecutive pieces whose sizes add up to at most max_tokens (a piece
    larger than that is a run of its own), each run after the first starting `overlap` pieces
    before the previous one ends."""
    runs: list[tuple[int, int]] = []
    first = 0
    while first < len(sizes):
        last, used = first, sizes[first]
        while last + 1 < len(sizes) and used + sizes[last + 1] <= max_tokens:
            last += 1
            used += sizes[last]
        runs.append((first, last + 1))
        if last + 1 >= len(sizes):
            break
        first = max(first + 1, last + 1 - overlap)
    return runs


def _split_words(sentence: str, tokens: int, max_tokens: int) -> list[str]:
    words = sentence.split()
    # Word pieces per word vary; aim well under the limit so each part fits.
    per_part = max(1, int(len(words) * max_tokens * 0.8 / tokens))
    return [" ".join(words[i : i + per_part]) for i in range(0, len(words), per_part)]
