"""Load stage: find the text documents under a folder and read them safely."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DOCUMENT_SUFFIXES = (".txt", ".md")


class DocumentFolderError(Exception):
    """The documents folder cannot be used at all (missing, empty, not a folder)."""


@dataclass(frozen=True)
class Document:
    """One readable text file. `source` is its path relative to the folder, with / separators."""

    source: str
    text: str
    content_hash: str


@dataclass(frozen=True)
class SkippedFile:
    source: str
    reason: str


@dataclass(frozen=True)
class LoadedFolder:
    documents: list[Document]
    skipped: list[SkippedFile]


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_document(data: bytes) -> str:
    """Decode UTF-8 (a byte-order mark is dropped); raise ValueError on anything else."""
    if b"\x00" in data:
        raise ValueError("contains NUL bytes (binary file?)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"not valid UTF-8 (byte {error.start})") from error


def _candidate_files(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in DOCUMENT_SUFFIXES and not _is_hidden(path.relative_to(folder))
    )


def _is_hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _read_one(path: Path, folder: Path, max_bytes: int) -> Document | SkippedFile:
    source = path.relative_to(folder).as_posix()
    try:
        # A symlink may lead anywhere; only files that really live inside the folder are read.
        if not path.resolve().is_relative_to(folder.resolve()):
            return SkippedFile(source, "symlink points outside the documents folder")
        if not path.is_file():
            return SkippedFile(source, "not a regular file")
        size = path.stat().st_size
        if size > max_bytes:
            return SkippedFile(source, f"too large ({size} bytes > {max_bytes}; raise max_file_bytes)")
        data = path.read_bytes()
        text = decode_document(data)
    except (OSError, ValueError) as error:
        return SkippedFile(source, str(error))
    if not text.strip():
        return SkippedFile(source, "empty")
    return Document(source=source, text=text, content_hash=content_hash(data))


def load_folder(folder: Path, max_file_bytes: int = 20_000_000) -> LoadedFolder:
    """Read every .txt and .md file under `folder`, recursively.

    Unusable files are returned in `skipped` with a reason (and logged); a missing folder or one
    with no usable document raises DocumentFolderError.
    """
    if not folder.exists():
        raise DocumentFolderError(f"documents folder {folder} does not exist")
    if not folder.is_dir():
        raise DocumentFolderError(f"{folder} is not a folder")
    documents: list[Document] = []
    skipped: list[SkippedFile] = []
    for path in _candidate_files(folder):
        outcome = _read_one(path, folder, max_file_bytes)
        if isinstance(outcome, Document):
            documents.append(outcome)
        else:
            log.warning("skipping %s: %s", outcome.source, outcome.reason)
            skipped.append(outcome)
    if not documents:
        raise DocumentFolderError(
            f"no usable .txt or .md documents in {folder}"
            + (f" ({len(skipped)} skipped)" if skipped else "")
        )
    return LoadedFolder(documents, skipped)
