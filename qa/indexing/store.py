"""The persisted index in embeddings/: manifest, passage table, vectors, FAISS and BM25 files.

A build writes its files into a fresh folder, then replaces manifest.json atomically: the
manifest is the commit point, so a build killed half-way leaves the previous index intact.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import typing
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from qa.chunking.chunk import Passage
from qa.core.files import Stamp, atomic_write_text, file_sha256

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
# Formats whose passage table and vectors this qa reads, so their vectors are reused: version 2
# changed only the lexical folder (qa's own BM25 postings).
VECTOR_FORMATS = (1, 2)
MANIFEST_NAME = "manifest.json"
PASSAGES_NAME = "passages.jsonl"
# The passage table's columns a search needs at once (rows and sources), so that opening an
# index does not parse every passage: passages are parsed when a hit needs them.
COLUMNS_NAME = "passage_columns.npy"  # (passages, 4) int64: first row, windows, sentences, source
SOURCES_NAME = "passage_sources.json"  # the sources the columns' last field numbers
VECTORS_NAME = "vectors.npy"
DENSE_NAME = "dense.faiss"
LEXICAL_FOLDER = "lexical"
VERIFIED_NAME = "verified.json"
LOCK_NAME = ".writer.lock"
_SETTLE_NS = 2_000_000_000


class IndexUnusableError(Exception):
    """The index on disk is missing, damaged, from another version, or built differently."""


@dataclass(frozen=True)
class IndexedPassage:
    """A passage with its sentence spans (relative to its text) and its rows in vectors.npy:
    `window_count` window vectors, then one vector per sentence."""

    passage: Passage
    sentences: tuple[tuple[int, int], ...]
    sentence_offsets: tuple[tuple[int, int], ...]  # the same sentences as offsets into the file
    first_row: int
    window_count: int

    @property
    def row_count(self) -> int:
        return self.window_count + len(self.sentences)


def dense_rows(items: Sequence[IndexedPassage], vectors: str) -> np.ndarray | None:
    """The vectors.npy rows a FAISS index holds, by its spec's `vectors` field: the window rows
    for "windows", None (every row) for "all"."""
    return window_rows(items) if vectors == "windows" else None


def window_rows(items: Sequence[IndexedPassage]) -> np.ndarray:
    """The vectors.npy rows of every window vector, passage after passage."""
    if isinstance(items, PassageTable):  # its columns, without parsing a passage
        return row_ranges(items.first_rows, items.window_counts)
    return row_ranges(np.array([item.first_row for item in items], dtype=np.int64),
                      np.array([item.window_count for item in items], dtype=np.int64))


def row_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Rows starts[i], starts[i] + 1, ..., starts[i] + counts[i] - 1 for every i, in order."""
    # Output position p of range i holds starts[i] + (p - offset[i]): one repeat, one arange.
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return np.repeat(starts - offsets, counts) + np.arange(int(counts.sum()))


@dataclass(frozen=True)
class Manifest:
    format_version: int
    build: str
    model: dict[str, Any]
    chunking: dict[str, Any]
    files: dict[str, str]
    passage_count: int
    vector_count: int
    dense_index: dict[str, Any]
    checksums: dict[str, str] = field(default_factory=dict)
    created: float = 0.0

    @classmethod
    def from_json(cls, data: dict[str, Any], versions: Sequence[int] = (FORMAT_VERSION,)
                  ) -> Manifest:
        version = data.get("format_version")
        if version not in versions:
            raise IndexUnusableError(
                f"index format version {version} is not {FORMAT_VERSION} (built by another qa)"
            )
        try:
            return cls(**data)
        except TypeError as error:
            raise IndexUnusableError(f"manifest fields are wrong: {error}") from error


def text_key(text: str) -> str:
    """What an earlier build's vectors are found by: the passage text's SHA-256."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def passage_record(item: IndexedPassage) -> str:
    record = {**asdict(item.passage), "sentences": item.sentences,
              "sentence_offsets": item.sentence_offsets, "first_row": item.first_row,
              "window_count": item.window_count}
    return json.dumps(record, ensure_ascii=False)


def passage_from_record(line: str) -> IndexedPassage:
    record = json.loads(line)
    sentences = _spans(record.pop("sentences"))
    offsets = _spans(record.pop("sentence_offsets"))
    first_row, window_count = int(record.pop("first_row")), int(record.pop("window_count"))
    return IndexedPassage(Passage(**record), sentences, offsets, first_row, window_count)


def _spans(raw: list[list[int]]) -> tuple[tuple[int, int], ...]:
    return tuple((int(start), int(end)) for start, end in raw)


def new_build_folder(index_dir: Path) -> Path:
    index_dir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=index_dir, prefix=f"build-{time.strftime('%Y%m%d-%H%M%S')}-"))


def write_passages(folder: Path, passages: list[IndexedPassage]) -> None:
    with (folder / PASSAGES_NAME).open("w", encoding="utf-8") as stream:
        for item in passages:
            stream.write(passage_record(item) + "\n")
    columns, sources = _columns(passages)
    np.save(folder / COLUMNS_NAME, columns, allow_pickle=False)
    atomic_write_text(folder / SOURCES_NAME, json.dumps(sources, ensure_ascii=False))


class PassageTable(Sequence[IndexedPassage]):
    """An index's passages, each parsed from its line when first asked for; the columns a
    search needs for every passage (rows and sources) are arrays from the start. Opening a
    large index is then a read of bytes, not the parsing of every passage (measured: about
    60 µs a passage, over a second at 50,000)."""

    def __init__(self, lines: list[bytes], columns: np.ndarray, sources: list[str]) -> None:
        self._lines = lines
        self._parsed: dict[int, IndexedPassage] = {}
        self.first_rows = np.ascontiguousarray(columns[:, 0])
        self.window_counts = np.ascontiguousarray(columns[:, 1])
        self.row_counts = self.window_counts + columns[:, 2]
        self.source_numbers = np.ascontiguousarray(columns[:, 3])
        self.source_names = sources

    def __len__(self) -> int:
        return len(self._lines)

    @typing.overload
    def __getitem__(self, index: int) -> IndexedPassage: ...
    @typing.overload
    def __getitem__(self, index: slice) -> list[IndexedPassage]: ...

    def __getitem__(self, index: int | slice) -> IndexedPassage | list[IndexedPassage]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        index = range(len(self))[index]  # negative indices, and IndexError past the end
        item = self._parsed.get(index)
        if item is None:
            try:
                item = passage_from_record(self._lines[index].decode("utf-8"))
            except (ValueError, KeyError, TypeError) as error:
                raise IndexUnusableError(f"passage {index} of the table is unreadable: {error}"
                                         ) from error
            self._parsed[index] = item
        return item

    def numbers_in(self, source: str) -> np.ndarray:
        """The passages of one source, by number."""
        if source not in self.source_names:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(self.source_numbers == self.source_names.index(source))


def write_vectors(folder: Path, vectors: np.ndarray, stored: str = "float32") -> None:
    """vectors.npy, as float32 or float16 (half the bytes; scores move by about 1e-5)."""
    np.save(folder / VECTORS_NAME, vectors.astype(np.dtype(stored)), allow_pickle=False)


def commit_build(index_dir: Path, folder: Path, manifest: Manifest) -> Manifest:
    """Checksum the build's files, atomically point manifest.json at it, drop older builds."""
    final = seal_build(folder, manifest)
    publish_build(index_dir, final)
    return final


def seal_build(folder: Path, manifest: Manifest) -> Manifest:
    """The finished build's manifest: its files checksummed and flushed to disk. Not yet what
    searches read (publish_build), but it opens as a build (qa.indexing.backends.open_build)."""
    checksums = {
        path.relative_to(folder).as_posix(): file_sha256(path)
        for path in sorted(folder.rglob("*")) if path.is_file()
    }
    for path in folder.rglob("*"):
        if path.is_file():
            _fsync(path)
    return Manifest(**{**asdict(manifest), "build": folder.name, "checksums": checksums,
                       "created": time.time()})


def publish_build(index_dir: Path, sealed: Manifest) -> None:
    """Atomically point manifest.json at a sealed build, and drop older builds."""
    atomic_write_text(index_dir / MANIFEST_NAME, json.dumps(asdict(sealed), indent=1))
    remove_stale_builds(index_dir, keep=sealed.build)


def _fsync(path: Path) -> None:
    with path.open("rb") as stream:
        os.fsync(stream.fileno())


def remove_stale_builds(index_dir: Path, keep: str) -> None:
    for path in index_dir.glob("build-*"):
        if path.is_dir() and path.name != keep:
            shutil.rmtree(path, ignore_errors=True)


def remove_leftovers(index_dir: Path) -> None:
    """Drop what killed builds left: build folders the manifest does not name, and temporary
    files of atomic writes. Only the holder of `writer_lock` may call this."""
    try:
        keep = read_manifest(index_dir, VECTOR_FORMATS).build  # its vectors may be reused
    except IndexUnusableError:
        keep = ""
    remove_stale_builds(index_dir, keep)
    settled = time.time() - _SETTLE_NS / 1e9
    for temporary in index_dir.glob(".*.json.*"):  # atomic_write_text's names
        with contextlib.suppress(OSError):
            if temporary.stat().st_mtime < settled:  # a reader may be writing verified.json
                temporary.unlink()


@contextlib.contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time per index folder, across processes; a second one waits its turn.

    A folder nobody may write to needs no lock (and could hold no lock file): a read-only index
    stays usable for questions."""
    index_dir.mkdir(parents=True, exist_ok=True)
    if not os.access(index_dir, os.W_OK):
        yield
        return
    lock = FileLock(index_dir / LOCK_NAME)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.warning("another build of %s is running; waiting for it to finish", index_dir)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def read_manifest(index_dir: Path, versions: Sequence[int] = (FORMAT_VERSION,)) -> Manifest:
    path = index_dir / MANIFEST_NAME
    if not path.exists():
        raise IndexUnusableError(f"no index in {index_dir} (no {MANIFEST_NAME})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise IndexUnusableError(f"{path} is not readable JSON: {error}") from error
    if not isinstance(data, dict):
        raise IndexUnusableError(f"{path} is not a JSON object")
    return Manifest.from_json(data, versions)


def build_folder(index_dir: Path, manifest: Manifest) -> Path:
    return index_dir / manifest.build


def verify_checksums(index_dir: Path, manifest: Manifest) -> None:
    """Raise IndexUnusableError if any file of the build is missing or altered.

    Hashing a large index takes seconds, so a successful check records each file's size,
    modification time and inode in verified.json; a later check of unchanged files trusts it.
    """
    folder = build_folder(index_dir, manifest)
    if not manifest.checksums:
        raise IndexUnusableError("manifest lists no checksums")
    stamps = _file_stamps(folder, manifest.checksums)
    record = {"build": manifest.build, "checksums": manifest.checksums, "stamps": stamps}
    if stamps and _read_json(index_dir / VERIFIED_NAME) == record:
        return
    damage = next(_damage(folder, manifest.checksums), None)
    if damage:
        raise IndexUnusableError(damage)
    # A file changed within the clock's resolution of the check could keep its stamp: such
    # recent files are hashed again next time (the "racy git" problem).
    settled = time.time_ns() - _SETTLE_NS
    if stamps and all(mtime < settled for _, mtime, _ in stamps.values()):
        with contextlib.suppress(OSError):  # a read-only index is still usable, just slower
            atomic_write_text(index_dir / VERIFIED_NAME, json.dumps(record))


def _damage(folder: Path, checksums: dict[str, str]) -> Iterator[str]:
    """One message per index file that is missing or does not match its checksum."""
    for name, expected in checksums.items():
        path = folder / name
        if not path.is_file():
            yield f"index file {path} is missing"
        elif file_sha256(path) != expected:
            yield f"index file {path} does not match its checksum (damaged)"


@dataclass(frozen=True)
class VerifyReport:
    files: int
    bytes_hashed: int
    damage: list[str]


def verify_everything(index_dir: Path) -> VerifyReport:
    """Hash every file of the index, trusting no saved stamp (like `git fsck`).

    Damage also drops the saved stamps, so the next open hashes again and rebuilds."""
    manifest = read_manifest(index_dir)
    folder = build_folder(index_dir, manifest)
    damage = list(_damage(folder, manifest.checksums))
    if damage:
        (index_dir / VERIFIED_NAME).unlink(missing_ok=True)
    hashed = sum((folder / name).stat().st_size for name in manifest.checksums
                 if (folder / name).is_file())
    return VerifyReport(len(manifest.checksums), hashed, damage)


def _file_stamps(folder: Path, names: Iterable[str]) -> dict[str, list[int]]:
    """{name: [size, mtime_ns, inode]}; empty if any file is missing."""
    stamps = {}
    for name in names:
        stamp = Stamp.of_or_none(folder / name)
        if stamp is None:
            return {}
        stamps[name] = [stamp.size, stamp.mtime_ns, stamp.inode]
    return stamps


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def read_passages(folder: Path) -> list[IndexedPassage]:
    try:
        with (folder / PASSAGES_NAME).open(encoding="utf-8") as stream:
            return [passage_from_record(line) for line in stream if line.strip()]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise IndexUnusableError(f"passage table in {folder} is unreadable: {error}") from error


def read_passage_table(folder: Path) -> PassageTable:
    """The passage table for searching; an index built before its columns were stored has
    them worked out from its passages, once."""
    try:
        lines = [line for line in (folder / PASSAGES_NAME).read_bytes().split(b"\n") if line.strip()]
        if not (folder / COLUMNS_NAME).exists():
            return _table_of(lines, [passage_from_record(line.decode("utf-8")) for line in lines])
        columns = np.load(folder / COLUMNS_NAME, allow_pickle=False)
        sources = json.loads((folder / SOURCES_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise IndexUnusableError(f"passage table in {folder} is unreadable: {error}") from error
    if columns.ndim != 2 or columns.shape != (len(lines), 4) or not isinstance(sources, list) \
            or (len(columns) and not 0 <= int(columns[:, 3].min()) <= int(columns[:, 3].max())
                < len(sources)):
        raise IndexUnusableError(f"passage table in {folder} ({len(lines)} passages) does not "
                                 f"match its columns ({len(columns)} rows)")
    return PassageTable(lines, columns.astype(np.int64, copy=False), [str(s) for s in sources])


def _table_of(lines: list[bytes], passages: list[IndexedPassage]) -> PassageTable:
    return PassageTable(lines, *_columns(passages))


def _columns(passages: Sequence[IndexedPassage]) -> tuple[np.ndarray, list[str]]:
    """The passage table's columns (see COLUMNS_NAME) and the sources they number."""
    sources = list(dict.fromkeys(item.passage.source for item in passages))
    number = {source: n for n, source in enumerate(sources)}
    columns = np.array([(item.first_row, item.window_count, len(item.sentences),
                         number[item.passage.source]) for item in passages],
                       dtype=np.int64).reshape(len(passages), 4)
    return columns, sources


def read_vectors(folder: Path) -> np.ndarray:
    """vectors.npy, memory-mapped, as a plain ndarray over the mapping: every slice of a
    np.memmap builds another memmap object, which the query path need not pay for."""
    try:
        return np.asarray(np.load(folder / VECTORS_NAME, mmap_mode="r", allow_pickle=False))
    except (OSError, ValueError) as error:
        raise IndexUnusableError(f"vectors in {folder} are unreadable: {error}") from error
