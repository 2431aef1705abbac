"""Adding a file to the documents folder (an upload from the page): a safe name inside the
folder, never an overwrite. QA.add_documents decides who may add what, and indexes it."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from qa.core.files import file_sha256
from qa.reading.load import real_source
from qa.reading.readers import READERS

_MAX_NAME_BYTES = 200
_UNSAFE = re.compile(r'[\\/:*?"<>|]')


class UploadRefused(ValueError):
    """The file cannot be added; the message says why, for the user (without the file's name,
    which the caller shows beside it)."""


@dataclass(frozen=True)
class StoredUpload:
    name: str  # the file name in the documents folder
    new: bool  # False: the same content was already there under that name


def safe_name(original: str) -> str:
    """A plain file name: no folder part, no control characters, not hidden, a known suffix."""
    name = PurePosixPath(original.replace("\\", "/")).name
    name = "".join(c for c in name if not unicodedata.category(c).startswith("C"))
    name = _UNSAFE.sub("_", name).strip().lstrip(".").strip()
    stem, suffix = os.path.splitext(name)
    if suffix.lower() not in READERS:
        raise UploadRefused(f"qa reads {', '.join(READERS)} files, not "
                            f"{suffix or 'files without a suffix'}")
    while len(f"{stem}{suffix}".encode()) > _MAX_NAME_BYTES:
        stem = stem[:-1]
    return f"{stem or 'document'}{suffix}"


def store_in_folder(docs_dir: Path, folder: str, original_name: str, uploaded: Path,
                    max_bytes: int) -> StoredUpload:
    """Copy an uploaded file into `folder` (relative to `docs_dir`, "" for the top), making the
    folder when missing; the uploaded file is left where it is."""
    target = docs_dir / folder
    target.mkdir(parents=True, exist_ok=True)
    if folder and real_source(target, docs_dir) != folder:
        # Judged on where the folder really is, as reading is: an upload to a public/uploads
        # that links to hr/ would land in hr/.
        raise UploadRefused(f"{folder} is a link to another folder")
    return store_upload(target, original_name, uploaded, max_bytes)


def store_upload(folder: Path, original_name: str, uploaded: Path, max_bytes: int) -> StoredUpload:
    """Copy an uploaded file into `folder` under a safe name. A name already taken by different
    content gets a number ("report (2).pdf"); the same content is not stored twice."""
    size = uploaded.stat().st_size
    if size > max_bytes:
        raise UploadRefused(f"{size:,} bytes, over the {max_bytes:,} limit (QA_MAX_FILE_BYTES)")
    name = safe_name(original_name)
    digest = file_sha256(uploaded)
    stem, suffix = os.path.splitext(name)
    for number in range(1, 1000):
        candidate = folder / (name if number == 1 else f"{stem} ({number}){suffix}")
        if candidate.exists():
            if candidate.is_file() and file_sha256(candidate) == digest:
                return StoredUpload(candidate.name, new=False)
            continue
        if _place(uploaded, candidate):
            return StoredUpload(candidate.name, new=True)
    raise UploadRefused(f"too many files named like {name!r} already")


def _place(uploaded: Path, target: Path) -> bool:
    """Copy to a temporary file beside `target`, then link it into place: never overwrites a
    file that appeared meanwhile. False when the name was taken first."""
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    os.close(descriptor)
    try:
        shutil.copyfile(uploaded, temporary)
        os.link(temporary, target)
        return True
    except FileExistsError:
        return False
    finally:
        Path(temporary).unlink(missing_ok=True)
