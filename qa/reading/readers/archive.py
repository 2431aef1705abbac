"""Zip-based formats (.docx, .pptx, .xlsx, .odt, .epub): a file that is not a zip, lacks the
member that makes it its format, or would expand past a size limit (a zip bomb) is refused
before any library opens it."""

from __future__ import annotations

import io
import zipfile
import zlib

from qa.reading.readers import UnreadableError

MAX_EXPANDED_BYTES = 200_000_000
_PIECE_BYTES = 1 << 20


def checked_archive(data: bytes, format_name: str, required_member: str) -> zipfile.ZipFile:
    """The archive, once every member has inflated soundly within the limit."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise UnreadableError(f"not a {format_name} (not a zip archive)") from error
    expanded = sum(entry.file_size for entry in archive.infolist())
    if expanded > MAX_EXPANDED_BYTES:
        raise UnreadableError(f"expands to {expanded:,} bytes, over the {MAX_EXPANDED_BYTES:,} "
                              "limit (a zip bomb?)")
    if required_member not in archive.namelist():
        raise UnreadableError(f"not a {format_name} (no {required_member} inside)")
    for entry in archive.infolist():
        _check_member(archive, entry)
    return archive


def _check_member(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> None:
    """Inflate a member in small pieces: one whose header under-declares its size stops at the
    declared size and fails its checksum here, where a library would inflate it whole (up to
    2 GB at once) before noticing."""
    try:
        with archive.open(entry) as member:
            while member.read(_PIECE_BYTES):
                pass
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as error:
        raise UnreadableError(f"damaged archive: {entry.filename} ({error})") from error
