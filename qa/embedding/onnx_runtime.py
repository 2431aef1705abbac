"""The ONNX Runtime runtime: the model exported once to ONNX (qa.embedding.onnx_encoder), batched
by padded size, builds at the precision a setting names."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from qa.core.settings import BUILD_PRECISIONS, usable_cores
from qa.embedding.model import ModelFiles
from qa.embedding.runtime import Runtime, RuntimeUnsupported, TokenVectors

_Batch = TypeVar("_Batch")


# ONNX Runtime batches by padded size, not by count: a batch holds as many texts as fit in this
# many word pieces (at least one). Measured here on Cranfield (benchmarks.md): against fixed
# batches of 32, abstracts encode about 1.5x faster and sentences about 1.1x, because long padded
# batches run slower per token in ONNX Runtime than short ones.
ONNX_BATCH_TOKENS = 256


class OnnxRuntime(Runtime):
    """The export, run by ONNX Runtime: questions always at full precision, builds (every
    batch of texts) by the file `build_precision` names."""

    build_precisions = BUILD_PRECISIONS

    def __init__(self, model_path: Path, fingerprint: str, cache_dir: Path, threads: int,
                 build_precision: str = "float32") -> None:
        from qa.embedding.onnx_encoder import OnnxEncoder, cached_export, cached_int8, read_layout

        self.layout = read_layout(model_path)
        self.model_path = model_path
        self.exported = cached_export(model_path, fingerprint, cache_dir)
        self.encoder = OnnxEncoder(model_path, self.exported, self.layout, threads)
        # int8 builds ask their questions at full precision: as good or better in every measured
        # figure than int8 questions (docs/benchmarks.md).
        self.build_file = cached_int8(self.exported) if build_precision == "int8" else self.exported
        self._build_encoder: Any = None
        self.dimension = self.layout.dimension
        self.max_seq_length = self.layout.max_seq_length
        self.pools_by_mean = self.layout.pooling == "mean"
        self.onnx_file = self.exported
        self.threads = threads
        self._workers: tuple[ThreadPoolExecutor, Any] | None = None

    @property
    def build_encoder(self) -> Any:
        """The session a build's single batch runs on (made on first use when it is not the
        questions' session)."""
        from qa.embedding.onnx_encoder import OnnxEncoder

        if self.build_file == self.exported:
            return self.encoder
        if self._build_encoder is None:
            self._build_encoder = OnnxEncoder(self.model_path, self.build_file, self.layout,
                                              self.threads)
        return self._build_encoder

    def encode_query(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode(texts)

    def token_counts(self, texts: list[str]) -> list[int]:
        return self.encoder.token_counts(texts)

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """`batch_size` is sentence-transformers' setting; here batches follow ONNX_BATCH_TOKENS."""
        return np.concatenate(self._each_batch(texts, lambda encoder, batch: encoder.encode(batch)))

    def _each_batch(self, texts: list[str], work: Callable[[Any, list[str]], _Batch]
                    ) -> list[_Batch]:
        """`work(encoder, batch)` for each batch, in order. Several batches run at once, one
        core each: faster than one batch at a time on every core, as small batches leave ONNX
        Runtime's threads waiting (docs/benchmarks.md)."""
        spans = self._batches(texts)
        if len(spans) == 1:
            return [work(self.build_encoder, texts)]
        pool, encoder = self._batch_workers()
        return list(pool.map(lambda span: work(encoder, texts[span[0] : span[1]]), spans))

    def _batch_workers(self) -> tuple[ThreadPoolExecutor, Any]:
        """A pool of one thread per core and a session that runs each batch on one thread,
        made on first use: a process that only answers questions never pays for them."""
        from qa.embedding.onnx_encoder import OnnxEncoder

        if self._workers is None:
            cores = self.threads or usable_cores()
            self._workers = (ThreadPoolExecutor(cores, thread_name_prefix="qa-encode"),
                             OnnxEncoder(self.model_path, self.build_file, self.layout, threads=1))
        return self._workers

    def release_batch_workers(self) -> None:
        """Drop the pool and its session; a batch still running keeps them until it ends."""
        self._workers = None

    def _batches(self, texts: list[str]) -> list[tuple[int, int]]:
        """Runs of texts (given longest first) whose padded size stays within the budget."""
        if len(texts) <= 1:  # a question: nothing to plan, no second tokenisation
            return [(0, len(texts))]
        sizes = [min(count + 2, self.max_seq_length) for count in self.token_counts(texts)]
        batches, first, longest = [], 0, 0
        for row, size in enumerate(sizes):
            longest = max(longest, size)
            if row > first and (row - first + 1) * longest > ONNX_BATCH_TOKENS:
                batches.append((first, row))
                first, longest = row, size
        batches.append((first, len(texts)))
        return batches

    def encode_tokens(self, texts: list[str], batch_size: int) -> list[TokenVectors]:
        return [forward for batch in self._each_batch(texts, _token_vectors) for forward in batch]


def _token_vectors(encoder: Any, texts: list[str]) -> list[TokenVectors]:
    """One batch's forward passes, each text's word pieces without the special tokens."""
    vectors, hidden, encodings = encoder.encode_with_tokens(texts)
    result = []
    for row, encoding in enumerate(encodings):
        keep = (np.array(encoding.special_tokens_mask) == 0) \
            & (np.array(encoding.attention_mask) == 1)
        result.append(TokenVectors(vectors[row], hidden[row][keep],
                                   np.array(encoding.offsets, dtype=np.int64)[keep]))
    return result


def default_onnx_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qa" / "onnx"


def start_onnx(model: ModelFiles, threads: int, build_precision: str) -> Runtime:
    from qa.embedding.onnx_encoder import OnnxUnsupported

    if not Path(model.path).is_dir():
        raise RuntimeUnsupported(f"ONNX Runtime cannot run {model.setting} (not a local folder)")
    try:
        return OnnxRuntime(Path(model.path), model.fingerprint, model.cache, threads,
                            build_precision)
    except OnnxUnsupported as error:
        raise RuntimeUnsupported(f"ONNX Runtime cannot run {model.setting} ({error})") from error
