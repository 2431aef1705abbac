"""Index stage: bring the index up to date with the chunked documents, re-embedding only
passages whose text is new and reusing the vectors of the rest.

A build has two halves: `plan_embedding` (pure: passages and reusable vectors in, every
passage's rows and what is left to embed out) and the writing of the build folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable, Container, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from qa.chunking.chunk import CHUNKING_VERSION, ChunkedCorpus, ChunkedDocument
from qa.core.settings import Settings
from qa.embedding.embed import Encoder, Progress, window_runs, windows
from qa.indexing import store
from qa.indexing.build import BuildIdentity, BuildOptions, KnownVectors
from qa.indexing.dense import build_dense_index, choose_index_spec, save_dense_index
from qa.indexing.lexical import LexicalIndex
from qa.reading.load import SkippedFile

log = logging.getLogger(__name__)

# Texts embedded between two saves of a build's progress (index_dir/partial/): a build killed
# at any moment loses about this many texts' work at most (a run ends with the passage that
# reaches it). One slice of the encoder's length-sorted work (qa.embedding.embed._PROGRESS_SLICE); the cost of
# saving this often is measured in docs/benchmarks.md (issue 33).
DURABLE_TEXTS = 512
PARTIAL_FOLDER = "partial"


@dataclass(frozen=True)
class IndexReport:
    files: int
    passages: int
    embedded_passages: int
    reused_passages: int
    seconds: float
    skipped: list[SkippedFile]
    rebuilt_because: str  # empty when nothing needed rebuilding
    # How many distinct texts the embedded passages have (copies of a file share theirs), and
    # the texts (windows, sentences) the encoder was given for them, each distinct text once.
    distinct_passages: int = 0
    texts_embedded: int = 0
    # Why the new build was not published (the old one keeps serving); empty when it was.
    declined: str = ""

    def summary(self) -> str:
        state = (f"{self.embedded_passages} embedded, {self.reused_passages} reused"
                 if self.rebuilt_because else "up to date")
        if self.embedded_passages:
            state += (f"; {self.texts_embedded} texts embedded for {self.embedded_passages} "
                      f"passages ({self.distinct_passages} distinct)")
        skipped = f", {len(self.skipped)} skipped" if self.skipped else ""
        declined = "; not published, the old build keeps serving" if self.declined else ""
        return (f"{self.files} files, {self.passages} passages ({state}{skipped}{declined}) "
                f"in {self.seconds:.1f} s")


def chunking_settings(settings: Settings, encoder: Encoder) -> dict[str, Any]:
    return {"chunking_version": CHUNKING_VERSION, "max_tokens": encoder.max_tokens,
            "window_overlap_sentences": settings.window_overlap_sentences,
            "sentence_vectors": sentence_vectors(settings, encoder)}


def sentence_vectors(settings: Settings, encoder: Encoder) -> str:
    """"late" (pooled from the paragraph's forward pass) when the model mean-pools, else
    "separate" (each sentence encoded on its own)."""
    return "late" if settings.sentence_vectors == "late" and encoder.pools_by_mean \
        else "separate"


def identity(settings: Settings, encoder: Encoder) -> BuildIdentity:
    """What vectors depend on besides the text: the model and the chunking settings (the
    dense index is chosen once the build's size is known)."""
    return BuildIdentity(encoder.identity().__dict__, chunking_settings(settings, encoder))


def settings_of(built: BuildIdentity) -> dict[str, Any]:
    """The settings a build's vectors were made with, by name: what `identity` reads of the
    settings, read back (the model's own files and qa's chunking code are no setting's)."""
    model, chunking = built.model, built.chunking
    # A build at another precision than float32 has it after a "+" in its model's fingerprint
    # (qa.embedding.embed.Embedder.identity).
    precision = str(model.get("fingerprint", "")).partition("+")[2] or "float32"
    return {"model": model.get("name"), "build_precision": precision,
            "window_overlap_sentences": chunking.get("window_overlap_sentences"),
            "sentence_vectors": chunking.get("sentence_vectors")}


def file_hashes(chunked: list[ChunkedDocument]) -> dict[str, str]:
    return {item.document.source: item.document.content_hash for item in chunked}


# Vectors of earlier builds by passage text (store.text_key): the passage record and its rows.
Reusable = dict[str, tuple[store.IndexedPassage, np.ndarray]]

# Asked between a build's writing and its publishing, with the sealed build's manifest: "" to
# publish it, else why not (the build is then dropped and the old one keeps serving).
Vet = Callable[[store.Manifest], str]


# ---- planning ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Windowing:
    """How a passage becomes rows: its text whole when it fits the model, else windows of
    sentences; then one row per sentence, pooled from the windows' own forward passes (`late`)
    or encoded on its own."""

    count_tokens: Callable[[Sequence[str]], list[int]]
    max_tokens: int
    overlap_sentences: int
    late: bool

    @classmethod
    def of(cls, settings: Settings, encoder: Encoder) -> Windowing:
        return cls(encoder.token_counts, encoder.max_tokens, settings.window_overlap_sentences,
                   sentence_vectors(settings, encoder) == "late")


@dataclass(frozen=True)
class PendingPassage:
    """A passage still to embed: the texts of its rows (windows, then sentences unless late),
    and for late sentences the spans to pool from each window's pass (`window_spans[w]`: the
    sentences taken from window w, as spans of its text; None when not late)."""

    block: int
    texts: list[str]
    window_spans: list[list[tuple[int, int]]] | None = None


@dataclass(frozen=True)
class EmbedPlan:
    """Every passage with its rows laid out; each passage's block of rows, reused or None
    until embedded; what is left to embed; and the passages whose text an earlier pending
    passage has (`copies`: block -> the block whose rows it takes), embedded once for all."""

    passages: list[store.IndexedPassage]
    blocks: list[np.ndarray | None]
    pending: list[PendingPassage]
    copies: dict[int, int] = field(default_factory=dict)


def plan_embedding(chunked: list[ChunkedDocument], reusable: Reusable,
                   windowing: Windowing) -> EmbedPlan:
    """Lay out every passage's rows in document order, taking an earlier build's vectors for
    any passage text it has (with force, `reusable` is empty), and embedding a text that
    occurs in several passages (copies of a file) once."""
    indexed: list[store.IndexedPassage] = []
    blocks: list[np.ndarray | None] = []
    pending: list[PendingPassage] = []
    first_pending: dict[str, int] = {}  # text key -> block of the first passage with that text
    copies: dict[int, int] = {}
    row = 0
    # Token counts in one batch: only passages too long for the model are cut into windows.
    new_texts = list(dict.fromkeys(p.text for item in chunked for p in item.passages
                                   if store.text_key(p.text) not in reusable))
    tokens = dict(zip(new_texts, windowing.count_tokens(new_texts), strict=True))
    for item in chunked:
        for passage in item.passages:
            key = store.text_key(passage.text)
            old: store.IndexedPassage | None = None
            rows: np.ndarray | None = None
            if key in reusable:
                old, rows = reusable[key]
            elif key in first_pending:  # its rows are the first's, once that is embedded
                old = indexed[first_pending[key]]
                copies[len(blocks)] = first_pending[key]
            if old is not None:  # sentences depend on the text alone: the same spans
                sentences = item.sentences(passage, old.sentences)
                record = replace(old, passage=passage, first_row=row,
                                 sentence_offsets=sentences.offsets)
                blocks.append(rows)
            else:
                first_pending[key] = len(blocks)
                sentences = item.sentences(passage)
                todo = _rows_to_embed(passage.text, sentences.spans,
                                      tokens[passage.text] <= windowing.max_tokens, windowing,
                                      len(blocks))
                window_count = len(todo.texts) - (0 if todo.window_spans else len(sentences.spans))
                record = store.IndexedPassage(passage, sentences.spans, sentences.offsets, row,
                                              window_count)
                pending.append(todo)
                blocks.append(None)
            indexed.append(record)
            row += record.row_count
    return EmbedPlan(indexed, blocks, pending, copies)


def _rows_to_embed(text: str, spans: tuple[tuple[int, int], ...], fits_model: bool,
                   windowing: Windowing, block: int) -> PendingPassage:
    sentences = [text[a:b] for a, b in spans]
    late = windowing.late and bool(spans)
    if fits_model:
        return PendingPassage(block, [text], [list(spans)]) if late else \
            PendingPassage(block, [text, *sentences])
    sizes = windowing.count_tokens(sentences)
    if late and max(sizes) <= windowing.max_tokens:
        runs = window_runs(sizes, windowing.max_tokens, windowing.overlap_sentences)
        return PendingPassage(block, [" ".join(sentences[a:b]) for a, b in runs],
                              _sentences_by_window(sentences, runs))
    window_texts = windows(sentences, windowing.count_tokens, windowing.max_tokens,
                           windowing.overlap_sentences)
    return PendingPassage(block, window_texts + sentences)


def _sentences_by_window(sentences: list[str], runs: list[tuple[int, int]]
                         ) -> list[list[tuple[int, int]]]:
    """Each sentence read in the first window that holds it, as a span of that window's text
    (window texts join their sentences with one space)."""
    taken = 0
    result: list[list[tuple[int, int]]] = []
    for first, last in runs:
        spans, start = [], 0
        for i in range(first, last):
            if i >= taken:
                spans.append((start, start + len(sentences[i])))
            start += len(sentences[i]) + 1
        result.append(spans)
        taken = max(taken, last)
    return result


# ---- building ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Job:
    """One build: what it indexes, as what, with which encoder."""

    chunked: list[ChunkedDocument]
    files: dict[str, str]
    expected: BuildIdentity
    settings: Settings
    encoder: Encoder
    progress: Progress | None

    @property
    def passage_count(self) -> int:
        return sum(len(item.passages) for item in self.chunked)

    @property
    def durable(self) -> _Progress:
        """Where this build's embedded passages are saved as they are done."""
        return _Progress(self.settings.index_dir, self.expected)


def build_index(corpus: ChunkedCorpus, settings: Settings, encoder: Encoder,
                options: BuildOptions | None = None, progress: Progress | None = None,
                known: KnownVectors | None = None, vet: Vet | None = None) -> IndexReport:
    """Bring the index in settings.index_dir up to date with `corpus`, whose documents are read
    only when something changed. Passage texts an earlier local build has keep their vectors;
    `known` is asked for the rest before anything is embedded (with options.force, nothing is
    reused). A written build is published only if `vet` (when given) does not decline it.

    Builds of one index folder take turns (a file lock): the second sees the first's result,
    and only then decides what is left to do."""
    with store.writer_lock(settings.index_dir):
        store.remove_leftovers(settings.index_dir)
        return _build_locked(corpus, settings, encoder, options or BuildOptions(), progress,
                             known, vet)


def _build_locked(corpus: ChunkedCorpus, settings: Settings, encoder: Encoder,
                  options: BuildOptions, progress: Progress | None,
                  known: KnownVectors | None, vet: Vet | None) -> IndexReport:
    started = time.perf_counter()
    index_dir = settings.index_dir
    expected = identity(settings, encoder)
    manifest, damage = (None, "rebuild requested") if options.force else _sound_manifest(index_dir)
    reason = why_rebuild(manifest, expected, corpus.files, settings) if manifest else damage
    if manifest is not None and not reason:
        return IndexReport(len(corpus.files), manifest.passage_count, 0, manifest.passage_count,
                           time.perf_counter() - started, corpus.skipped, "")
    log.info("indexing %s: %s", index_dir, reason)
    chunked = corpus.read()
    job = _Job(chunked, file_hashes(chunked), expected, settings, encoder, progress)
    reusable = _reusable(index_dir, manifest, job.expected)
    if not options.force:  # what a killed build had embedded already
        reusable.update(job.durable.vectors())
    missing = [key for key in dict.fromkeys(store.text_key(p.text) for item in job.chunked
                                            for p in item.passages) if key not in reusable]
    if known is not None and missing and not options.force:
        reusable.update(known(job.expected, missing))
    # The new build's folder exists from the start: a build killed at any point leaves an
    # unreferenced folder (removed by the next build), never a damaged index; a build that
    # fails removes its own.
    folder = store.new_build_folder(index_dir)
    try:
        manifest, (embedded, distinct, texts) = _write_build(job, folder, reusable)
        declined = _publish(job, folder, manifest, vet)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return IndexReport(len(job.files), job.passage_count, embedded, job.passage_count - embedded,
                       time.perf_counter() - started, corpus.skipped, reason, distinct, texts,
                       declined)


def _publish(job: _Job, folder: Path, manifest: store.Manifest, vet: Vet | None) -> str:
    """Seal the written build and publish it, unless `vet` declines it: then the build is
    dropped (its embedded passages stay saved for the next build) and why is returned."""
    sealed = store.seal_build(folder, manifest)
    declined = vet(sealed) if vet is not None else ""
    if declined:
        shutil.rmtree(folder, ignore_errors=True)
        return declined
    store.publish_build(job.settings.index_dir, sealed)
    job.durable.clear()
    return ""


def _sound_manifest(index_dir: Path) -> tuple[store.Manifest | None, str]:
    """The manifest of the index on disk if every file checks out; else None and why not. An
    index of an earlier format whose vectors this qa reads counts: its vectors are reused."""
    try:
        manifest = store.read_manifest(index_dir, store.VECTOR_FORMATS)
        store.verify_checksums(index_dir, manifest)
    except store.IndexUnusableError as error:
        return None, str(error)
    return manifest, ""


def why_rebuild(manifest: store.Manifest, expected: BuildIdentity, files: dict[str, str],
                settings: Settings) -> str:
    """Empty if a sound index matches the model, settings and files; otherwise the reason."""
    spec = choose_index_spec(manifest.vector_count, int(manifest.model["dimension"]), settings)
    reason = replace(expected, dense_index=spec.to_json()).why_not_served_by(
        BuildIdentity.of(manifest))
    if reason or manifest.files == files:
        return reason
    changed = sorted(set(manifest.files.items()) ^ set(files.items()))
    return f"{len({name for name, _ in changed})} document(s) changed"


def _reusable(index_dir: Path, manifest: store.Manifest | None, expected: BuildIdentity
              ) -> Reusable:
    """Earlier vectors by passage text, only when they came from the same model and chunking."""
    if manifest is None or not expected.shares_vectors_with(BuildIdentity.of(manifest)):
        return {}
    try:
        folder = store.build_folder(index_dir, manifest)
        vectors = store.read_vectors(folder)
        return {store.text_key(item.passage.text):
                (item, np.asarray(vectors[item.first_row : item.first_row + item.row_count]))
                for item in store.read_passages(folder)}
    except store.IndexUnusableError:
        return {}


def _write_build(job: _Job, folder: Path, reusable: Reusable
                 ) -> tuple[store.Manifest, tuple[int, int, int]]:
    """Embed what is new and write every index file into `folder`. Returns the build's
    manifest (not yet published), and the passages embedded, how many distinct texts they
    have, and the texts encoded for them."""
    settings = job.settings
    plan = plan_embedding(job.chunked, reusable, Windowing.of(settings, job.encoder))
    embedded = _embed(plan, job, reusable)
    vectors = embedded.vectors
    spec = choose_index_spec(int(vectors.shape[0]), job.encoder.dimension, settings)
    store.write_passages(folder, plan.passages)
    store.write_vectors(folder, vectors, spec.stored)
    if spec.kind != "exact":  # exact search reads vectors.npy itself
        dense_rows = store.dense_rows(plan.passages, spec.vectors)
        save_dense_index(build_dense_index(vectors, spec, dense_rows), folder / store.DENSE_NAME)
    # Past the exact-BM25 size, each word's best postings are stored too: a question's new words
    # then cost a read, not a partition of their whole postings.
    texts = [item.passage.text for item in plan.passages]
    LexicalIndex.build(texts, settings.lexical_head_size(len(texts))
                       ).save(folder / store.LEXICAL_FOLDER)
    built = replace(job.expected, dense_index=spec.to_json())
    new_manifest = store.Manifest(
        format_version=built.format_version, build=folder.name, model=dict(built.model),
        chunking=dict(built.chunking), files=job.files, passage_count=len(plan.passages),
        vector_count=int(vectors.shape[0]), dense_index=dict(built.dense_index))
    return new_manifest, (len(plan.pending) + len(plan.copies), len(plan.pending),
                          embedded.texts)


class _Progress:
    """A build's embedded passages, saved as they are computed (in runs of DURABLE_TEXTS:
    their records as JSON lines, their rows as .npy), so the next build after a kill reuses
    them. Kept per identity; dropped once a build is committed. Never served: only a
    committed build is."""

    def __init__(self, index_dir: Path, identity: BuildIdentity) -> None:
        key = json.dumps([identity.model, identity.chunking], sort_keys=True)
        self.root = index_dir / PARTIAL_FOLDER
        self.folder = self.root / hashlib.sha256(key.encode()).hexdigest()[:16]

    def save(self, records: list[store.IndexedPassage], rows: list[np.ndarray]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"run-{time.time_ns()}"
        np.save(self.folder / f"{name}.npy", np.concatenate(rows).astype(np.float32),
                allow_pickle=False)
        # The records are written last, atomically: a run without them is ignored.
        store.atomic_write_text(self.folder / f"{name}.jsonl",
                                "".join(store.passage_record(r) + "\n" for r in records))

    def vectors(self) -> Reusable:
        found: Reusable = {}
        for records in sorted(self.folder.glob("run-*.jsonl")):
            try:
                rows = np.load(records.with_suffix(".npy"), allow_pickle=False)
                items = [store.passage_from_record(line) for line in
                         records.read_text(encoding="utf-8").splitlines()]
            except (OSError, ValueError, KeyError) as error:
                log.warning("ignoring a damaged part of an earlier build (%s): %s", records, error)
                continue
            first = 0
            for item in items:
                found[store.text_key(item.passage.text)] = (item, rows[first:first + item.row_count])
                first += item.row_count
        if found:
            log.info("reusing %d passages a stopped build had embedded", len(found))
        return found

    def clear(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass(frozen=True)
class _Embedded:
    """What a build's embedding came to: every passage's rows in order, and how many texts
    the encoder was given."""

    vectors: np.ndarray
    texts: int


def _embed(plan: EmbedPlan, job: _Job, reusable: Reusable) -> _Embedded:
    """Every passage's rows, in order: the reused blocks, and the pending ones embedded (with
    sentences encoded on their own, a sentence `reusable` has is not encoded again)."""
    encoder = job.encoder
    earlier = reusable if sentence_vectors(job.settings, encoder) == "separate" else {}
    try:
        blocks, texts = _embed_pending(plan, encoder, job.progress, job.durable, earlier)
    finally:
        encoder.release_batch_workers()
    if not blocks:
        return _Embedded(np.zeros((0, encoder.dimension), dtype=np.float32), 0)
    return _Embedded(np.concatenate(blocks).astype(np.float32, copy=False), texts)


class _TextRows:
    """Where each text encoded on its own in this build has its row, so a text met again is
    taken from there rather than encoded again; and the rows earlier builds have for the
    sentences of pending passages. A text of this build is kept as its row number in the
    build's vectors, not as an array: a few dozen bytes a text."""

    def __init__(self, plan: EmbedPlan, blocks: list[np.ndarray | None]) -> None:
        self.blocks = blocks  # the build's blocks, filled as runs are embedded
        self.first_rows = np.array([item.first_row for item in plan.passages], dtype=np.int64)
        self.row_of: dict[str, int] = {}
        self.earlier: dict[str, np.ndarray] = {}

    def __contains__(self, text: str) -> bool:
        return text in self.row_of or text in self.earlier

    def add(self, block: int, texts: Sequence[str], first: int = 0) -> None:
        """`texts` are rows first, first + 1, ... of passage `block`."""
        start = int(self.first_rows[block]) + first
        for offset, text in enumerate(texts):
            self.row_of.setdefault(text, start + offset)

    def vector(self, text: str) -> np.ndarray:
        if text in self.earlier:
            return self.earlier[text]
        row = self.row_of[text]
        block = int(np.searchsorted(self.first_rows, row, side="right")) - 1
        rows = self.blocks[block]
        assert rows is not None  # a text is added only once its passage's rows are known
        return rows[row - int(self.first_rows[block])]

    def add_earlier_sentences(self, reusable: Reusable, wanted: Container[str]) -> None:
        """The rows earlier builds have for `wanted` texts among their passages' sentences
        (only when sentences are encoded on their own, as these would be)."""
        for item, rows in reusable.values():
            text = item.passage.text
            for number, (start, end) in enumerate(item.sentences):
                sentence = text[start:end]
                if sentence in wanted:
                    self.earlier.setdefault(sentence, rows[item.window_count + number])


def _embed_pending(plan: EmbedPlan, encoder: Encoder, progress: Progress | None,
                   durable: _Progress, earlier: Reusable) -> tuple[list[np.ndarray], int]:
    """Fill each pending passage's block of rows (windows, then sentences), a run of passages
    at a time, each run saved as soon as it is embedded and only then counted as progress (so
    what progress shows done, a killed build has kept); then give each copy its first's rows.
    A text is encoded once however many passages have it, and not at all when it is a sentence
    of an `earlier` passage. Returns the blocks and the texts encoded."""
    blocks = list(plan.blocks)
    known = _TextRows(plan, blocks)
    wanted = dict.fromkeys(text for p in plan.pending if not p.window_spans for text in p.texts)
    if wanted:
        known.add_earlier_sentences(earlier, wanted)
    total = sum(len(p.texts) for p in plan.pending if p.window_spans) \
        + sum(1 for text in wanted if text not in known)
    del wanted
    done = 0
    for run in _runs(plan.pending):
        rows, encoded = _embed_run(run, encoder, known)
        for item, item_rows in zip(run, rows, strict=True):
            blocks[item.block] = item_rows
            if not item.window_spans:
                known.add(item.block, item.texts)
        durable.save([plan.passages[item.block] for item in run], rows)
        done += encoded
        if progress is not None:
            progress(done, total)
    for copy, first_with_text in plan.copies.items():
        blocks[copy] = blocks[first_with_text]
    return [filled for filled in blocks if filled is not None], done


def _runs(pending: list[PendingPassage]) -> Iterator[list[PendingPassage]]:
    """The pending passages in order, in runs of about DURABLE_TEXTS texts."""
    run: list[PendingPassage] = []
    texts = 0
    for item in pending:
        run.append(item)
        texts += len(item.texts)
        if texts >= DURABLE_TEXTS:
            yield run
            run, texts = [], 0
    if run:
        yield run


def _embed_run(run: list[PendingPassage], encoder: Encoder, known: _TextRows
               ) -> tuple[list[np.ndarray], int]:
    """Each passage's rows, and the texts encoded: late passages with one forward pass per
    window, the others text by text, each text not `known` encoded once."""
    late = [p for p in run if p.window_spans]
    separate = [p for p in run if not p.window_spans]
    late_texts = [text for p in late for text in p.texts]
    new = [text for text in dict.fromkeys(t for p in separate for t in p.texts)
           if text not in known]
    rows: dict[int, np.ndarray] = {}
    passes = iter(encoder.encode_with_spans(
        late_texts, [spans for p in late for spans in p.window_spans or []]))
    for item in late:
        window_rows, sentence_rows = zip(*[next(passes) for _ in item.texts], strict=True)
        rows[item.block] = np.vstack([np.vstack(window_rows), *sentence_rows])
    fresh = dict(zip(new, encoder.encode(new), strict=True)) if new else {}
    for item in separate:
        # Copied out of `fresh`, so nothing holds the run's encoded array once it is done.
        rows[item.block] = np.vstack([fresh[text] if text in fresh else known.vector(text)
                                      for text in item.texts])
    return [rows[item.block] for item in run], len(late_texts) + len(new)
