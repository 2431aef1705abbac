"""Build or refresh the index: re-embed only passages whose text is new, reuse the rest."""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from qa import store
from qa.chunk import CHUNKING_VERSION, Passage, chunk_document, file_offsets, sentence_spans
from qa.dense import build_dense_index, choose_index_spec, save_dense_index
from qa.embed import Embedder, Progress, window_runs, windows
from qa.lexical import LexicalIndex
from qa.load import Document, SkippedFile
from qa.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceText:
    """What the indexer needs of one source: its passages and the text their offsets point into."""

    document: Document
    passages: list[Passage]


@dataclass(frozen=True)
class IndexReport:
    files: int
    passages: int
    embedded_passages: int
    reused_passages: int
    seconds: float
    skipped: list[SkippedFile]
    rebuilt_because: str  # empty when nothing needed rebuilding

    def summary(self) -> str:
        state = (f"{self.embedded_passages} embedded, {self.reused_passages} reused"
                 if self.rebuilt_because else "up to date")
        skipped = f", {len(self.skipped)} skipped" if self.skipped else ""
        return (f"{self.files} files, {self.passages} passages ({state}{skipped}) "
                f"in {self.seconds:.1f} s")


def chunking_settings(settings: Settings, embedder: Embedder) -> dict[str, Any]:
    return {"chunking_version": CHUNKING_VERSION, "max_tokens": embedder.max_tokens,
            "window_overlap_sentences": settings.window_overlap_sentences,
            "sentence_vectors": sentence_vectors(settings, embedder)}


def sentence_vectors(settings: Settings, embedder: Embedder) -> str:
    """"late" (pooled from the paragraph's forward pass) when the model mean-pools, else
    "separate" (each sentence encoded on its own)."""
    return "late" if settings.sentence_vectors == "late" and embedder.pools_by_mean \
        else "separate"


# Vectors kept somewhere other than the local build (a server's published build, shards'
# parts): given the model and chunking identity and the text keys still missing, the
# (passage, rows) it holds for any of them.
KnownVectors = Callable[[dict[str, Any], list[str]],
                        dict[str, tuple[store.IndexedPassage, np.ndarray]]]


@dataclass(frozen=True)
class Shard:
    """Share `number` of `count` (1-based) of a folder's files, by a hash of each file's name,
    so every process that reads the same folder agrees on who embeds what."""

    number: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """"I/N", 1 <= I <= N."""
        try:
            number, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise ValueError(f"a shard is I/N, such as 1/2, not {text!r}") from None
        if not 1 <= number <= count:
            raise ValueError(f"shard {text}: I must be from 1 to N")
        return cls(number, count)

    def holds(self, source: str) -> bool:
        digest = hashlib.sha256(source.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.number - 1

    def __str__(self) -> str:
        return f"{self.number}/{self.count}"


def identity(settings: Settings, embedder: Embedder) -> dict[str, Any]:
    """What vectors depend on besides the text: the model and the chunking settings."""
    return {"model": embedder.identity().__dict__,
            "chunking": chunking_settings(settings, embedder)}


def file_hashes(sources: list[SourceText]) -> dict[str, str]:
    return {source.document.source: source.document.content_hash for source in sources}


@dataclass
class _Reusable:
    """Vectors of an earlier build, found by passage text."""

    by_text: dict[str, tuple[store.IndexedPassage, np.ndarray]]

    @classmethod
    def empty(cls) -> _Reusable:
        return cls({})

    @classmethod
    def from_index(cls, folder: Path) -> _Reusable:
        vectors = store.read_vectors(folder)
        by_text = {}
        for item in store.read_passages(folder):
            rows = vectors[item.first_row : item.first_row + item.row_count]
            by_text[store.text_key(item.passage.text)] = (item, np.asarray(rows))
        return cls(by_text)


def _sound_manifest(index_dir: Path) -> tuple[store.Manifest | None, str]:
    """The manifest of the index on disk if every file checks out; else None and why not."""
    try:
        manifest = store.read_manifest(index_dir)
        store.verify_checksums(index_dir, manifest)
    except store.IndexUnusableError as error:
        return None, str(error)
    return manifest, ""


def why_rebuild(manifest: store.Manifest, expected: dict[str, Any], files: dict[str, str],
                settings: Settings) -> str:
    """Empty if a sound index matches the model, settings and files; otherwise the reason."""
    if manifest.model != expected["model"]:
        return (f"index was built with model {manifest.model.get('name')} "
                f"({manifest.model.get('fingerprint')}), not {expected['model']['name']} "
                f"({expected['model']['fingerprint']})")
    if manifest.chunking != expected["chunking"]:
        return "chunking settings changed"
    spec = choose_index_spec(manifest.vector_count, int(manifest.model["dimension"]), settings)
    if manifest.dense_index != spec.to_json():
        return "dense index settings changed"
    if manifest.files != files:
        changed = sorted(set(manifest.files.items()) ^ set(files.items()))
        return f"{len({name for name, _ in changed})} document(s) changed"
    return ""


def _reusable(index_dir: Path, manifest: store.Manifest | None, expected: dict[str, Any]
              ) -> _Reusable:
    """Earlier vectors, only when they came from the same model and chunking."""
    if manifest is None or manifest.model != expected["model"] \
            or manifest.chunking != expected["chunking"]:
        return _Reusable.empty()
    try:
        return _Reusable.from_index(store.build_folder(index_dir, manifest))
    except store.IndexUnusableError:
        return _Reusable.empty()


@dataclass
class _Pending:
    """A passage still to embed: its window texts, and its sentences either as spans to pool
    from the windows' own forward passes (late: `window_spans[w]` are the sentences taken from
    window w, in order) or as texts of their own (`window_spans` None)."""

    block: int
    texts: list[str]
    window_spans: list[list[tuple[int, int]]] | None = None


def _segment(passage: Passage, fits_model: bool, embedder: Embedder, settings: Settings,
             block: int) -> tuple[_Pending, tuple[tuple[int, int], ...]]:
    """What to embed for a new passage, and its sentence spans in the passage text."""
    spans = tuple(sentence_spans(passage.text))
    sentences = [passage.text[a:b] for a, b in spans]
    late = sentence_vectors(settings, embedder) == "late" and bool(spans)
    if fits_model:
        window_texts = [passage.text]
        return (_Pending(block, window_texts, [list(spans)]) if late else
                _Pending(block, window_texts + sentences)), spans
    sizes = embedder.token_counts(sentences)
    if late and max(sizes) <= embedder.max_tokens:
        runs = window_runs(sizes, embedder.max_tokens, settings.window_overlap_sentences)
        return _Pending(block, [" ".join(sentences[a:b]) for a, b in runs],
                        _sentences_by_window(sentences, runs)), spans
    window_texts = windows(sentences, embedder.token_counts, embedder.max_tokens,
                           settings.window_overlap_sentences)
    return _Pending(block, window_texts + sentences), spans


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


def _file_spans(passage: Passage, document_text: str, spans: tuple[tuple[int, int], ...]
                ) -> tuple[tuple[int, int], ...]:
    original = document_text[passage.start : passage.end]
    return tuple((passage.start + a, passage.start + b)
                 for a, b in file_offsets(original, list(spans)))


def build_index(sources: list[SourceText], settings: Settings, embedder: Embedder,
                skipped: list[SkippedFile], progress: Progress | None = None,
                force: bool = False, known: KnownVectors | None = None) -> IndexReport:
    """Bring the index in settings.index_dir up to date with `sources`. Passage texts an
    earlier local build has keep their vectors; `known` is asked for the rest before anything
    is embedded (with `force`, nothing is reused).

    Builds of one index folder take turns (a file lock): the second sees the first's result,
    and only then decides what is left to do."""
    with store.writer_lock(settings.index_dir):
        store.remove_leftovers(settings.index_dir)
        return _build_locked(sources, settings, embedder, skipped, progress, force, known)


def _build_locked(sources: list[SourceText], settings: Settings, embedder: Embedder,
                  skipped: list[SkippedFile], progress: Progress | None, force: bool,
                  known: KnownVectors | None) -> IndexReport:
    started = time.perf_counter()
    index_dir = settings.index_dir
    files = file_hashes(sources)
    passages = [p for source in sources for p in source.passages]
    expected = identity(settings, embedder)
    manifest, damage = (None, "rebuild requested") if force else _sound_manifest(index_dir)
    reason = why_rebuild(manifest, expected, files, settings) if manifest else damage
    if not reason:
        return IndexReport(len(files), len(passages), 0, len(passages),
                           time.perf_counter() - started, skipped, "")
    log.info("indexing %s: %s", index_dir, reason)
    reusable = _reusable(index_dir, manifest, expected)
    missing = [key for key in dict.fromkeys(store.text_key(p.text) for p in passages)
               if key not in reusable.by_text]
    if known is not None and missing and not force:
        reusable.by_text.update(known(expected, missing))
    # The new build's folder exists from the start: a build killed at any point leaves an
    # unreferenced folder (removed by the next build), never a damaged index; a build that
    # fails removes its own.
    folder = store.new_build_folder(index_dir)
    try:
        embedded = _write_build(folder, sources, passages, reusable, expected, files, settings,
                                embedder, progress)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return IndexReport(len(files), len(passages), embedded, len(passages) - embedded,
                       time.perf_counter() - started, skipped, reason)


def _write_build(folder: Path, sources: list[SourceText], passages: list[Passage],
                 reusable: _Reusable, expected: dict[str, Any], files: dict[str, str],
                 settings: Settings, embedder: Embedder, progress: Progress | None) -> int:
    """Embed what is new, write every index file into `folder`, commit it; passages embedded."""
    indexed, vectors, embedded = _embed_passages(sources, reusable, settings, embedder, progress)
    spec = choose_index_spec(int(vectors.shape[0]), embedder.dimension, settings)
    store.write_passages(folder, indexed)
    store.write_vectors(folder, vectors, spec.stored)
    if spec.kind != "exact":  # exact search reads vectors.npy itself
        dense_rows = store.dense_rows(indexed, spec.vectors)
        save_dense_index(build_dense_index(vectors, spec, dense_rows), folder / store.DENSE_NAME)
    # Past the exact-BM25 size, each word's best postings are stored too: a question's new words
    # then cost a read, not a partition of their whole postings.
    LexicalIndex.build([p.text for p in passages], settings.lexical_head_size(len(passages))
                       ).save(folder / store.LEXICAL_FOLDER)
    new_manifest = store.Manifest(
        format_version=store.FORMAT_VERSION, build=folder.name, model=expected["model"],
        chunking=expected["chunking"], files=files, passage_count=len(indexed),
        vector_count=int(vectors.shape[0]), dense_index=spec.to_json())
    store.commit_build(settings.index_dir, folder, new_manifest)
    return embedded


def _embed_passages(sources: list[SourceText], reusable: _Reusable, settings: Settings,
                    embedder: Embedder, progress: Progress | None
                    ) -> tuple[list[store.IndexedPassage], np.ndarray, int]:
    """Lay out every passage's rows; embed only the texts no earlier build has."""
    indexed: list[store.IndexedPassage] = []
    blocks: list[np.ndarray | None] = []
    pending: list[_Pending] = []
    row = 0
    # Token counts in one batch: only passages too long for the model are cut into windows.
    new_texts = [p.text for s in sources for p in s.passages
                 if store.text_key(p.text) not in reusable.by_text]
    tokens = dict(zip(new_texts, embedder.token_counts(new_texts), strict=True))
    for source in sources:
        for passage in source.passages:
            known = reusable.by_text.get(store.text_key(passage.text))
            if known is not None:
                old, rows = known
                offsets = _file_spans(passage, source.document.text, old.sentences)
                item = replace(old, passage=passage, first_row=row, sentence_offsets=offsets)
                blocks.append(rows)
            else:
                todo, spans = _segment(passage, tokens[passage.text] <= embedder.max_tokens,
                                       embedder, settings, len(blocks))
                offsets = _file_spans(passage, source.document.text, spans)
                window_count = len(todo.texts) - (0 if todo.window_spans else len(spans))
                item = store.IndexedPassage(passage, spans, offsets, row, window_count)
                pending.append(todo)
                blocks.append(None)
            indexed.append(item)
            row += item.row_count
    try:
        _embed_pending(pending, blocks, embedder, progress)
    finally:
        embedder.release_batch_workers()
    vectors = np.concatenate([b for b in blocks if b is not None]) if blocks else \
        np.zeros((0, embedder.dimension), dtype=np.float32)
    return indexed, vectors.astype(np.float32, copy=False), len(pending)


def _embed_pending(pending: list[_Pending], blocks: list[np.ndarray | None], embedder: Embedder,
                   progress: Progress | None) -> None:
    """Fill each pending passage's block of rows (windows, then sentences): late passages with
    one forward pass per window, the others text by text."""
    late = [p for p in pending if p.window_spans]
    separate = [p for p in pending if not p.window_spans]
    late_texts = [text for p in late for text in p.texts]
    total = len(late_texts) + sum(len(p.texts) for p in separate)

    def shifted(offset: int) -> Progress | None:
        return (lambda done, _: progress(offset + done, total)) if progress else None

    passes = iter(embedder.encode_with_spans(
        late_texts, [spans for p in late for spans in p.window_spans or []], shifted(0)))
    for item in late:
        window_rows, sentence_rows = zip(*[next(passes) for _ in item.texts], strict=True)
        blocks[item.block] = np.vstack([np.vstack(window_rows), *sentence_rows])
    texts = [text for p in separate for text in p.texts]
    fresh = embedder.encode(texts, shifted(len(late_texts))) if texts else None
    cursor = 0
    for item in separate:
        assert fresh is not None
        blocks[item.block] = fresh[cursor : cursor + len(item.texts)]
        cursor += len(item.texts)


def sources_from_documents(documents: list[Document]) -> list[SourceText]:
    return [SourceText(document, chunk_document(document)) for document in documents]
