"""Load stage: find the documents under a folder and read each with its format's reader."""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from qa.reading.readers import (
    READERS,
    Extracted,
    Heading,
    UnreadableError,
    well_formed,
    well_formed_text,
)

log = logging.getLogger(__name__)

DOCUMENT_SUFFIXES = tuple(READERS)
# Names editors, office suites and browsers give files that are not documents yet (or any more).
_TRANSIENT_SUFFIXES = (".swp", ".swx", ".swo", ".part", ".crdownload", ".tmp", ".download", "~")


def is_transient(name: str) -> bool:
    """Hidden files, lock files (~$x.docx, .#x), swap files and partial downloads: never
    documents, and never worth a rebuild."""
    return name.startswith((".", "~$")) or name.endswith(_TRANSIENT_SUFFIXES) or name == "4913"


class DocumentFolderError(Exception):
    """The documents folder cannot be used at all (missing, empty, not a folder)."""


@dataclass(frozen=True)
class Document:
    """One readable file. `source` is its path relative to the folder, with / separators; `text`
    is what its reader extracted (a text file's own text), which passage offsets point into.
    `page_starts` holds the offset where each page begins (paged formats only)."""

    source: str
    text: str
    content_hash: str
    page_starts: tuple[int, ...] = ()
    headings: tuple[Heading, ...] = ()


@dataclass(frozen=True)
class SkippedFile:
    """A file left out, and why. `content_hash` is set when its reader judged the content
    itself (not when reading it timed out or crashed, which may go otherwise next time)."""

    source: str
    reason: str
    content_hash: str = ""


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _candidate_files(folder: Path) -> tuple[list[Path], list[SkippedFile]]:
    """Document files under `folder` (hidden entries left out), and the entries that cannot be
    listed at all. Symlinked folders are not followed: a loop of links cannot stall a build."""
    found: list[Path] = []
    unlisted: list[SkippedFile] = []

    def cannot_list(error: OSError) -> None:
        where = Path(error.filename or folder)
        unlisted.append(SkippedFile(_source(where, folder), f"cannot list folder: {error.strerror}"))

    for root, folders, files in os.walk(folder, onerror=cannot_list):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        found.extend(Path(root, name) for name in files
                     if not is_transient(name) and Path(name).suffix.lower() in DOCUMENT_SUFFIXES)
    return sorted(found), unlisted


def _source(path: Path, folder: Path) -> str:
    """The path relative to the folder, with / separators, printable even if not UTF-8."""
    return _printable(path.relative_to(folder).as_posix() if path != folder else ".")


def _printable(relative: str) -> str:
    return os.fsencode(relative).decode("utf-8", "backslashreplace")


def real_source(path: Path, folder: Path) -> str | None:
    """Where `path` really is: its path relative to the documents folder once every symlink
    is followed (with / separators), or None when that is outside the folder. Raises
    RuntimeError or OSError on a loop of symlinks.

    A source's name is what folder permissions are judged on (qa.core.access.Access), so the index
    holds a file only under this name and the server serves a source only while its name
    still leads here: a link in public/ to hr/salaries.txt opens nothing a public/ reader
    may not read, on any route, without a check in each route."""
    real, root = path.resolve(), folder.resolve()
    return real.relative_to(root).as_posix() if real.is_relative_to(root) else None


def _checked(path: Path, folder: Path, max_bytes: int) -> SkippedFile | None:
    """Why the file must not be read at all, if it must not (before any worker is started)."""
    source = _source(path, folder)
    if source != path.relative_to(folder).as_posix():
        # Its name could not be written to the index, a JSON file, or shown on the page.
        return SkippedFile(source, "file name is not valid UTF-8; rename the file")
    try:
        # A symlink may lead anywhere; only files that really live inside the folder are read,
        # and each under its real name only (see real_source).
        real = real_source(path, folder)
        if real is None:
            return SkippedFile(source, "symlink points outside the documents folder")
        if real != source:
            return SkippedFile(source, f"symlink to {_printable(real)}: a file is indexed only "
                                       "under its own name")
        if not path.is_file():
            return SkippedFile(source, "not a regular file")
        size = path.stat().st_size
        if size > max_bytes:
            return SkippedFile(source, f"too large ({size} bytes > {max_bytes}; raise max_file_bytes)")
    except RuntimeError:  # Path.resolve on a loop of symlinks
        return SkippedFile(source, "symlink loop")
    except OSError as error:
        return SkippedFile(source, str(error))
    return None


def read_file(source: str, path: Path) -> Document | SkippedFile:
    """One file read and extracted in this process (a reader worker calls this)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        return SkippedFile(source, str(error))
    return _extract(source, data)


def _extract(source: str, data: bytes) -> Document | SkippedFile:
    reader = READERS[Path(source).suffix.lower()]
    digest = content_hash(data)
    try:
        # Every reader's text passes here: halves of UTF-16 pairs a library left are mended
        # once, for all readers, before anything is written or embedded.
        extracted = well_formed(titled(reader(data), source))
    except UnreadableError as error:
        return SkippedFile(source, well_formed_text(str(error)), digest)
    except MemoryError:
        raise  # not a verdict on the file: the worker names its memory limit (qa.reading.isolation)
    except Exception as error:  # a reader's library failing on one odd file must not stop a build
        log.debug("reader failed on %s", source, exc_info=True)
        return SkippedFile(source, well_formed_text(
            f"could not be read ({type(error).__name__}: {error})"), digest)
    if not extracted.text.strip():
        return SkippedFile(source, "empty", digest)
    return Document(source, extracted.text, digest, extracted.page_starts, extracted.headings)


def titled(extracted: Extracted, source: str) -> Extracted:
    """A text whose file holds no title headed by the file name's stem, every offset moved."""
    if not extracted.untitled:
        return extracted
    title = Path(source).stem
    shift = len(title) + 2
    return Extracted(f"{title}\n\n{extracted.text}",
                     tuple(start + shift if number else 0
                           for number, start in enumerate(extracted.page_starts)),
                     (Heading(0, len(title), 1, title),
                      *(Heading(h.start + shift, h.end + shift, h.level, h.text)
                        for h in extracted.headings)))


def readable_files(folder: Path, max_file_bytes: int
                   ) -> tuple[list[tuple[str, Path]], list[SkippedFile]]:
    """Every (source, path) under `folder` that may be read, and the files that may not."""
    if not folder.exists():
        raise DocumentFolderError(f"documents folder {folder} does not exist")
    if not folder.is_dir():
        raise DocumentFolderError(f"{folder} is not a folder")
    paths, skipped = _candidate_files(folder)
    readable: list[tuple[str, Path]] = []
    for path in paths:
        refusal = _checked(path, folder, max_file_bytes)
        if refusal:
            skipped.append(refusal)
        else:
            readable.append((_source(path, folder), path))
    return readable, skipped


def no_documents(folder: Path, skipped: list[SkippedFile]) -> DocumentFolderError:
    return DocumentFolderError(f"no usable documents ({', '.join(DOCUMENT_SUFFIXES)}) in "
                               f"{folder}" + (f" ({len(skipped)} skipped)" if skipped else ""))
