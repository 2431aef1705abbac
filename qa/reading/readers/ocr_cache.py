"""The OCR cache's files: JSON entries by key (a hex digest), private, verified and bounded.

A cache entry decides what the index cites for a scan, so nothing in the folder is believed
for being there:
- The folder and its subfolders are the user's own and closed to others (0700, tightened where
  found looser); entries are created 0600.
- An entry is read only as a regular file of the user's (never through a link, never a FIFO
  or a device, which would block the reader), and only up to a size.
- Each entry carries an HMAC-SHA256 of its key and value under a random secret kept in the
  folder (`key`, 0600). An entry edited, damaged, or copied under another page's key no longer
  matches, and the page is recognised again. A plain digest would not do: whoever edits an entry
  could recompute it. The secret guards against writers that cannot read it (a cache on shared
  or synced storage, a restored backup, a careless tool), not against this same user, who can.
- Entries are written to a fresh temporary file (O_EXCL, so never through a planted link) and
  renamed into place whole.
- The folder is bounded: once the bytes written since its last count could take it over the
  bound, the least recently used entries (by modification time, renewed on each read) go.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SECRET_FILE = "key"
_SECRET_BYTES = 64  # 32 random bytes, written as hex
MAX_ENTRY_BYTES = 8_000_000  # far above a page's words; a larger file is not an entry of ours
# Other processes (reader workers, a second build) write to the folder too, so each process
# counts the folder again after this many stores of its own rather than trusting its tally.
_RECOUNT_EVERY = 100
_KEPT_SHARE = 0.9  # eviction goes down to this share of the bound, so it is not due again at once
_STALE_PART_SECONDS = 3600  # a temporary file this old was left by a writer that was killed


def read(folder: Path, key: str) -> Any | None:
    """The value stored under `key`, or None when there is none or it is not one this cache
    wrote and vouched for (then the caller computes it again and stores it over this one)."""
    secret = _secret(folder, make=False)
    if secret is None or not _private_folder(folder / key[:2], follow=False):
        return None
    data = _read_regular(folder / key[:2] / f"{key}.json", MAX_ENTRY_BYTES, touch=True)
    if data is None:
        return None
    try:
        entry = json.loads(data, parse_constant=_refuse_constant)
        value, mac = entry["value"], entry["mac"]
        expected = _mac(secret, key, value)
    except (ValueError, KeyError, TypeError, RecursionError):
        return None
    return value if isinstance(mac, str) and hmac.compare_digest(mac, expected) else None


def write(folder: Path, key: str, value: Any, max_bytes: int) -> None:
    """`value` (plain JSON) stored under `key`, whole or not at all; then the folder is brought
    under `max_bytes` if it may be over. OSError when the folder cannot be used."""
    secret = _secret(folder, make=True)
    if secret is None:
        raise OSError(f"{folder} is not a private folder of this user's")
    data = json.dumps({"mac": _mac(secret, key, value), "value": value},
                      allow_nan=False).encode("utf-8")
    if len(data) > min(MAX_ENTRY_BYTES, max_bytes):
        return
    subfolder = folder / key[:2]
    subfolder.mkdir(mode=0o700, exist_ok=True)
    if not _private_folder(subfolder, follow=False):
        raise OSError(f"{subfolder} is not a private folder of this user's")
    _write_whole(subfolder / f"{key}.json", data)
    _tally(folder, len(data), max_bytes)


def _mac(secret: bytes, key: str, value: Any) -> str:
    """The entry's MAC over its key and its value's canonical JSON (the same value, however
    it was spaced or ordered, has the same MAC)."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hmac.new(secret, f"{key}\n{canonical}".encode(), hashlib.sha256).hexdigest()


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number an entry may hold")


def _private_folder(folder: Path, follow: bool) -> bool:
    """Whether `folder` is a folder of this user's (through a link only if `follow`: the
    cache's own location may be one the user set), made 0700 if it was looser."""
    try:
        status = folder.stat() if follow else folder.lstat()
        if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.getuid():
            return False
        if status.st_mode & 0o077:
            os.chmod(folder, 0o700)
        return True
    except OSError:
        return False


def _read_regular(path: Path, limit: int, touch: bool = False) -> bytes | None:
    """The bytes of `path` when it is a private regular file of this user's of at most `limit`
    bytes, else None. Opened without following a link and without blocking (a FIFO would wait
    for a writer forever), and judged on what was opened, not on the name."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode) or status.st_uid != os.getuid() \
                or status.st_mode & 0o077 or status.st_size > limit:
            return None
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(descriptor, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            return None
        if touch:
            os.utime(descriptor)  # used now: the last to be evicted
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(descriptor)


def _write_whole(path: Path, data: bytes) -> None:
    """`data` as `path`: written to a new 0600 file beside it (mkstemp: O_EXCL, so a planted
    link or file of that name is never followed or reused), then renamed over the name (which
    replaces whatever was there, link or FIFO included, without opening it)."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f"{path.stem}.",
                                             suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _secret(folder: Path, make: bool) -> bytes | None:
    """The cache's secret; made (with the folder) if `make` and there is none or it is not a
    good one. None when the folder is not a private folder of this user's."""
    if make:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not _private_folder(folder, follow=True):
        return None
    path = folder / _SECRET_FILE
    secret = _read_secret(path)
    if secret is not None or not make:
        return secret
    made = secrets.token_hex(_SECRET_BYTES // 2).encode()
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f"{_SECRET_FILE}.",
                                             suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(made)
        try:
            # A link, not a rename: of two processes starting on an empty cache, the first
            # secret stays and the second process reads it (it appears whole, never empty).
            os.link(temporary, path)
        except FileExistsError:
            secret = _read_secret(path)
            if secret is not None:
                return secret
            os.replace(temporary, path)  # a bad secret file (damaged, a link, a FIFO): replaced
    finally:
        Path(temporary).unlink(missing_ok=True)
    return made


def _read_secret(path: Path) -> bytes | None:
    data = _read_regular(path, _SECRET_BYTES)
    if data is None or len(data) != _SECRET_BYTES:
        return None
    try:
        bytes.fromhex(data.decode("ascii"))
    except ValueError:
        return None
    return data


@dataclass
class _Tally:
    bytes_counted: int
    stores: int


_tallies: dict[str, _Tally] = {}
_tallies_lock = threading.Lock()  # the pages of a file are stored from several threads


def _tally(folder: Path, written: int, max_bytes: int) -> None:
    """Counts `written` bytes to the folder; counts the folder itself (evicting if it is over
    the bound) on this process's first store, every _RECOUNT_EVERY stores, and once the tally
    passes the bound. A store does not list the folder, which may hold many thousands of files."""
    with _tallies_lock:
        tally = _tallies.get(str(folder))
        if tally is not None and tally.stores < _RECOUNT_EVERY \
                and tally.bytes_counted + written <= max_bytes:
            tally.bytes_counted += written
            tally.stores += 1
            return
        _tallies[str(folder)] = _Tally(_evict(folder, max_bytes), 0)


def _evict(folder: Path, max_bytes: int) -> int:
    """The least recently used entries removed until the folder's entries take at most
    _KEPT_SHARE of `max_bytes` (nothing when they are within `max_bytes`), and temporary
    files left by killed writers; the bytes of entries kept."""
    entries: list[tuple[float, int, Path]] = []
    now = time.time()
    for subfolder in _subfolders(folder):
        try:
            listing = list(os.scandir(subfolder))
        except OSError:
            continue
        for item in listing:
            try:
                status = item.stat(follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISREG(status.st_mode):
                continue
            if item.name.endswith(".json"):
                entries.append((status.st_mtime, status.st_size, Path(item.path)))
            elif item.name.endswith(".part") and now - status.st_mtime > _STALE_PART_SECONDS:
                Path(item.path).unlink(missing_ok=True)
    total = sum(size for _, size, _ in entries)
    if total <= max_bytes:
        return total
    entries.sort()
    for _, size, path in entries:
        if total <= _KEPT_SHARE * max_bytes:
            break
        try:
            path.unlink(missing_ok=True)  # missing: another process evicted it first
            total -= size
        except OSError:
            pass
    return total


def _subfolders(folder: Path) -> list[str]:
    try:
        return [item.path for item in os.scandir(folder)
                if len(item.name) == 2 and item.is_dir(follow_symlinks=False)]
    except OSError:
        return []
