"""What earlier reads of a documents folder learned, kept beside its index (index_dir/catalog/):
each file's stat stamp and content hash, what each content came to (its passage count, or why
it has none), and each readable content's extracted document.

So opening an index lists the folder and stats each file: a file whose size, modification time
and inode are unchanged is not read at all, a file whose stamp changed is read and hashed but
extracted again only when its content is new (a renamed or touched file is not), and documents
are loaded and chunked only when a build needs them. An edit that keeps size, modification time
and inode goes unseen until `qa verify` (which re-hashes everything) or a forced build.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from qa.chunking.chunk import ChunkedCorpus, ChunkedDocument, chunk_document
from qa.core.files import Stamp, atomic_write_text, file_sha256
from qa.reading.in_flight import ReadsInFlight
from qa.reading.isolation import ReadLimits, read_files
from qa.reading.load import Document, DocumentFolderError, SkippedFile, no_documents, readable_files
from qa.reading.readers import Heading

log = logging.getLogger(__name__)

# Bump when a reader extracts differently: every cached document is then read again.
EXTRACTION_VERSION = 1
_FORMAT = 1
_ENTRIES = "entries.json"
_DOCUMENTS = "documents"


@dataclass(frozen=True)
class Summary:
    """What one content came to: `passages` the chunker found in its document (None: not
    chunked under this chunking version), or `reason` it has no document."""

    passages: int | None = None
    reason: str = ""

    @property
    def indexed(self) -> bool:
        return not self.reason and bool(self.passages)


class Catalog:
    """The catalogue in `folder`; a damaged or missing one is an empty one (it is a cache)."""

    def __init__(self, folder: Path, chunking_version: int) -> None:
        self.folder = folder
        self._chunking = chunking_version
        self._files: dict[str, tuple[Stamp, str]] = {}
        self._contents: dict[str, dict[str, Any]] = {}
        self._told: set[tuple[str, str]] = set()  # the skipped files already warned of
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            data = json.loads((folder / _ENTRIES).read_text(encoding="utf-8"))
            if data.get("format") == _FORMAT:
                self._files = {source: (Stamp(*entry[:3]), entry[3])
                               for source, entry in data["files"].items()}
                self._contents = data["contents"]
                self._told = {(str(source), str(reason))
                              for source, reason in data.get("told", [])}

    @property
    def files(self) -> dict[str, tuple[Stamp, str]]:
        """Each file's stamp and content hash when it was last read or hashed."""
        return dict(self._files)

    @property
    def held_documents(self) -> bool:
        """True when the last build this catalogue saw indexed at least one passage."""
        return any(entry.get("passages") for entry in self._contents.values())

    def hash_of(self, source: str, stamp: Stamp) -> str | None:
        """The content hash of a file seen before with this very stamp."""
        known = self._files.get(source)
        return known[1] if known is not None and known[0] == stamp else None

    def summary(self, content_hash: str, limits: ReadLimits) -> Summary | None:
        """What this content came to, if it was read by this version of the readers (and, for
        its passage count, chunked by this version of the chunker). A read that ran out of
        time or memory, or yielded too much text, counts only under the same limits: raised ones
        try it again."""
        entry = self._contents.get(content_hash)
        if entry is None or entry.get("extraction") != EXTRACTION_VERSION:
            return None
        if "limits" in entry and entry["limits"] != _limits_key(limits):
            return None
        if entry.get("reason"):
            return Summary(reason=str(entry["reason"]))
        # Not a stat of its document here (one per file on every open): a build that finds
        # a document gone reads the file again (_documents).
        chunked = entry.get("chunking") == self._chunking
        return Summary(passages=int(entry["passages"]) if chunked else None)

    def document(self, content_hash: str, source: str) -> Document | None:
        """The document this content was extracted as, named `source`; None if it is gone."""
        return kept_document(self.folder, content_hash, source)

    def remember_document(self, document: Document) -> None:
        path = self._document_path(document.content_hash)
        fields = {"text": document.text, "page_starts": document.page_starts,
                  "headings": [asdict(heading) for heading in document.headings]}
        try:
            atomic_write_text(path, json.dumps(fields, ensure_ascii=False))
        except (OSError, ValueError) as error:  # a cache: the build goes on, reads it next time
            log.warning("cannot keep %s's extracted text in %s: %s", document.source,
                        self.folder, error)
            return
        self._contents.setdefault(document.content_hash, {"extraction": EXTRACTION_VERSION})

    def remember_passages(self, content_hash: str, passages: int) -> None:
        self._contents[content_hash] = {"extraction": EXTRACTION_VERSION,
                                        "chunking": self._chunking, "passages": passages}

    def remember_skip(self, skipped: SkippedFile, content_hash: str,
                      limits: ReadLimits | None = None) -> None:
        """Why this content has no document: a reader's verdict, or (with `limits`) a read
        stopped for time or memory, or a crash, which holds only under the same limits."""
        entry: dict[str, Any] = {"extraction": EXTRACTION_VERSION, "reason": skipped.reason}
        if limits is not None:
            entry["limits"] = _limits_key(limits)
        self._contents[content_hash] = entry

    def warn_of(self, skipped: list[SkippedFile]) -> None:
        """Log each skipped file: as a warning the first time it is skipped for its reason, as
        information after that (every `qa ask` checks the folder, and an empty file named
        on each would drown the answers); `save` keeps what was told."""
        for skip in skipped:
            told = (skip.source, skip.reason) in self._told
            log.log(logging.INFO if told else logging.WARNING, "skipping %s: %s", skip.source,
                    skip.reason)
        self._told = {(skip.source, skip.reason) for skip in skipped}

    def save(self, files: dict[str, tuple[Stamp, str]]) -> None:
        """Keep these files' stamps, and only the contents they hold."""
        held = {content_hash for _, content_hash in files.values()}
        self._files = dict(files)
        self._contents = {h: entry for h, entry in self._contents.items() if h in held}
        data = {"format": _FORMAT,
                "files": {source: [stamp.size, stamp.mtime_ns, stamp.inode, content_hash]
                          for source, (stamp, content_hash) in files.items()},
                "contents": self._contents, "told": sorted(self._told)}
        try:
            atomic_write_text(self.folder / _ENTRIES, json.dumps(data, ensure_ascii=False))
            for path in (self.folder / _DOCUMENTS).glob("*/*.json"):
                if path.stem not in held:
                    path.unlink(missing_ok=True)
        except (OSError, ValueError) as error:
            log.warning("cannot keep the catalogue in %s: %s", self.folder, error)

    def _document_path(self, content_hash: str) -> Path:
        return self.folder / _DOCUMENTS / content_hash[:2] / f"{content_hash}.json"  # as kept_document


def kept_document(folder: Path, content_hash: str, source: str) -> Document | None:
    """The extracted document a catalogue in `folder` keeps for this content (without reading
    the catalogue's entries: the document view asks for one document at a time)."""
    path = folder / _DOCUMENTS / content_hash[:2] / f"{content_hash}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Document(source, data["text"], content_hash, tuple(data["page_starts"]),
                        tuple(Heading(**heading) for heading in data["headings"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


NO_PROSE = "no passage: no paragraph of prose found"


def _limits_key(limits: ReadLimits) -> list[float]:
    return [float(limits.seconds), float(limits.memory_mb), float(limits.text_mb),
            float(limits.total_seconds)]


def read_folder(folder: Path, max_file_bytes: int, limits: ReadLimits, catalog: Catalog,
                reads: ReadsInFlight | None = None) -> ChunkedCorpus:
    """The documents under `folder` as a corpus, reading only files the catalogue has not seen
    with their present stamp, and extracting only contents it does not hold. With `reads`
    that outlive their batch, a file still being read past its grace is left out (or keeps the
    content it was indexed with) until a later call takes its outcome."""
    readable, skipped = readable_files(folder, max_file_bytes)
    held_documents = catalog.held_documents
    files: dict[str, tuple[Stamp, str]] = {}
    summaries: dict[str, Summary] = {}
    fresh: dict[str, ChunkedDocument] = {}  # read or chunked now: kept for the build
    to_read: list[tuple[str, Path]] = []
    for source, path in readable:
        try:
            stamp = Stamp.of(path)
            content_hash = catalog.hash_of(source, stamp) or file_sha256(path)
        except OSError as error:
            skipped.append(SkippedFile(source, str(error)))
            continue
        files[source] = (stamp, content_hash)
        summary = catalog.summary(content_hash, limits)
        if summary is not None and (summary.reason or summary.passages is not None):
            summaries[source] = summary
            continue
        # Extracted before but chunked under other rules: chunked again, not read again.
        document = catalog.document(content_hash, source) if summary is not None else None
        if document is not None:
            summaries[source] = _chunked(document, catalog, fresh)
        else:
            to_read.append((source, path))
    outcomes, still_reading = _read(to_read, files, limits, reads)
    for outcome in outcomes:
        stamp, _ = files[outcome.source]
        if isinstance(outcome, Document):
            files[outcome.source] = (stamp, outcome.content_hash)  # as read, if it just changed
            catalog.remember_document(outcome)
            summaries[outcome.source] = _chunked(outcome, catalog, fresh)
        elif outcome.content_hash:  # its reader's verdict on the content
            files[outcome.source] = (stamp, outcome.content_hash)
            catalog.remember_skip(outcome, outcome.content_hash)
            summaries[outcome.source] = Summary(reason=outcome.reason)
        else:  # timed out, out of memory, crashed or too much text: not again under the same limits
            catalog.remember_skip(outcome, files[outcome.source][1], limits)
            summaries[outcome.source] = Summary(reason=outcome.reason)
    for source in still_reading:
        _keep_indexed_content(source, catalog, limits, files, summaries)
    skipped += [SkippedFile(source, summary.reason or NO_PROSE)
                for source, summary in summaries.items() if not summary.indexed]
    skipped.sort(key=lambda skip: skip.source)
    catalog.warn_of(skipped)
    catalog.save(files)
    indexed = {source: files[source][1] for source in sorted(summaries)
               if summaries[source].indexed}
    if not indexed and held_documents:
        # Every document was deleted (or emptied) since the last build: the index must follow,
        # or a server would go on citing files that are gone.
        log.warning("no usable document is left in %s: the index will hold none", folder)
        return ChunkedCorpus.of([], skipped)
    if not any(not summary.reason for summary in summaries.values()):
        if still_reading:
            raise DocumentFolderError(f"no document of {folder} is read yet: still reading "
                                      f"{', '.join(still_reading)}")
        raise no_documents(folder, skipped)
    if not indexed:
        raise DocumentFolderError(f"no passage to index in {folder}: every document is empty "
                                  "of prose")
    return ChunkedCorpus(indexed, skipped,
                         lambda: _documents(folder, indexed, catalog, fresh, limits))


def _read(to_read: list[tuple[str, Path]], files: dict[str, tuple[Stamp, str]],
          limits: ReadLimits, reads: ReadsInFlight | None
          ) -> tuple[Iterable[Document | SkippedFile], list[str]]:
    """The outcomes of reading `to_read`, and the sources whose reads go on past this call."""
    if reads is None or not reads.outlive_batches:
        return read_files(to_read, limits), []
    # Smallest first: with few workers, a long scan must not keep small files from theirs.
    ordered = sorted(to_read, key=lambda item: files[item[0]][0].size)
    got = reads.read([(source, path, files[source][1]) for source, path in ordered], limits)
    return got.outcomes, got.still_reading


def _keep_indexed_content(source: str, catalog: Catalog, limits: ReadLimits,
                          files: dict[str, tuple[Stamp, str]], summaries: dict[str, Summary]
                          ) -> None:
    """A file still being read keeps the content it was last indexed with, if any: an edited
    scan stays searchable as it was until its new content is read."""
    earlier = catalog.files.get(source)
    summary = catalog.summary(earlier[1], limits) if earlier is not None else None
    if earlier is not None and summary is not None and summary.indexed:
        files[source] = earlier
        summaries[source] = summary


def _chunked(document: Document, catalog: Catalog, fresh: dict[str, ChunkedDocument]
             ) -> Summary:
    """The document chunked and kept in `fresh` for the build; should chunking fail on it, the
    reason it has no passages: one file is skipped, never the whole build (nor, on a watching
    server, every later batch). Not remembered: the next build tries again."""
    try:
        passages = chunk_document(document)
    except Exception as error:
        log.debug("chunking failed on %s", document.source, exc_info=True)
        return Summary(reason=f"could not be cut into passages ({type(error).__name__}: {error})")
    catalog.remember_passages(document.content_hash, len(passages))
    fresh[document.source] = ChunkedDocument(document, passages)
    return Summary(passages=len(passages))


def _documents(folder: Path, indexed: dict[str, str], catalog: Catalog,
               fresh: dict[str, ChunkedDocument], limits: ReadLimits) -> list[ChunkedDocument]:
    """Every indexed document chunked, in source order: those read now as they are, the others
    from the catalogue (read again should another process have dropped one meanwhile)."""
    found: dict[str, ChunkedDocument] = {}
    missing: list[tuple[str, Path]] = []
    for source, content_hash in indexed.items():
        if source in fresh:
            found[source] = fresh[source]
        elif (document := catalog.document(content_hash, source)) is not None:
            _chunked(document, catalog, found)
        else:
            missing.append((source, folder / source))
    for outcome in read_files(missing, limits):
        if isinstance(outcome, Document):
            _chunked(outcome, catalog, found)
    return [found[source] for source in indexed if source in found]


def changed_behind_stamps(folder: Path, catalog: Catalog) -> tuple[int, list[str]]:
    """Re-hash every file the catalogue knows (as `qa verify` does, trusting no stamp): how
    many were hashed, and those whose content changed though size, modification time and
    inode did not. Their stamps are forgotten, so the next build reads them again."""
    known = catalog.files
    changed: list[str] = []
    for source, (stamp, content_hash) in known.items():
        path = folder / source
        with contextlib.suppress(OSError):
            if Stamp.of(path) == stamp and file_sha256(path) != content_hash:
                changed.append(source)
    if changed:
        catalog.save({s: entry for s, entry in known.items() if s not in changed})
    return len(known), changed
