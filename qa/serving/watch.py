"""Following a documents folder live: changes, debounced into batches, each applied by an
incremental `QA.index()` (the catalogue reads only what changed), while searches go on
answering from the index as it was until the new build is loaded.

Events come from the operating system (inotify and its peers, through watchfiles); on a network
filesystem, which delivers none, the folder is polled at a stated interval.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from qa.core.files import Stamp
from qa.reading.load import is_transient

if TYPE_CHECKING:
    from qa.indexing.indexer import IndexReport
    from qa.library import QA

log = logging.getLogger(__name__)

# Filesystems that deliver no change events to a watcher on this machine (changes made by other
# machines never reach inotify): these are polled.
_EVENTLESS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "afs", "ncpfs", "glusterfs", "ceph",
              "davfs", "fuse.sshfs", "fuse.rclone", "fuse.s3fs", "vboxsf", "drvfs"}
_SETTLE_SECONDS = 0.3  # a changed file is taken once its size and time hold this long
_SETTLE_LIMIT_SECONDS = 30.0


def filesystem_type(folder: Path) -> str:
    """The type of the filesystem `folder` lives on (Linux's /proc/mounts); "" if unknown."""
    try:
        mounts = Path("/proc/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    resolved, best, kind = str(folder.resolve()), "", ""
    for line in mounts:
        parts = line.split()
        if len(parts) >= 3:
            point = parts[1].replace("\\040", " ")
            inside = resolved == point or resolved.startswith(point.rstrip("/") + "/")
            if inside and len(point) > len(best):
                best, kind = point, parts[2]
    return kind


@dataclass
class WatchStatus:
    """What the watcher is doing, for the page's index panel."""

    how: str = ""  # "events" or "polling every N s (nfs4)"; "" while not watching
    pending: int = 0  # changes seen and not yet applied
    refreshing: bool = False  # bringing the index up to date with the folder on start
    embedded: tuple[int, int] = (0, 0)  # texts embedded of those the batch has, while it runs
    reading: list[str] = field(default_factory=list)  # reads that outlived their batch
    applied: int = 0  # batches applied
    last: str = ""  # the last batch: what changed and what the build did
    last_at: float = 0.0
    errors: list[str] = field(default_factory=list)

    def line(self, detail: bool = True) -> str:
        """What the watcher is doing; without `detail`, nothing of the whole folder (its counts
        and errors, which name files), for a reader who may see only part of it."""
        if not self.how:
            return ""
        parts = [f"watching the folder ({self.how})"]
        if self.refreshing:
            parts.append("bringing the index up to date with the folder")
        if self.pending:
            parts.append(f"{self.pending} change(s) being applied")
        if self.reading:
            names = f": {', '.join(self.reading[:3])}{', ...' if len(self.reading) > 3 else ''}"
            parts.append(f"still reading {len(self.reading)} file(s){names if detail else ''}, "
                         "indexed once read")
        done, total = self.embedded
        if (self.refreshing or self.pending) and total:
            parts.append(f"{done:,} of {total:,} texts embedded")
        if self.last and detail:
            parts.append(f"last applied {time.strftime('%H:%M:%S', time.localtime(self.last_at))}:"
                         f" {self.last}")
        if self.errors and detail:
            parts.append(f"last error: {self.errors[-1]}")
        return " · ".join(parts)


def watcher_for(qa: QA) -> FolderWatcher | None:
    """A watcher of the folder qa reads, where its readers build (not on a shared backend,
    whose one writer is `qa index --watch`); None when watching is off or not theirs to do."""
    settings = qa.settings
    if not settings.watch or not qa.backend.readers_build:
        return None
    return FolderWatcher(qa, settings.watch_poll_seconds, settings.watch_polling)


class FolderWatcher:
    """Applies each settled batch of changes under the documents folder with `qa.index()`."""

    def __init__(self, qa: QA, poll_seconds: float = 2.0, polling: str = "auto",
                 debounce_ms: int = 1600, on_applied: Callable[[IndexReport], None] | None = None
                 ) -> None:
        self.qa = qa
        self.folder = qa.settings.docs_dir
        self._root = self.folder.resolve()  # events name real paths
        self._index_dir = qa.settings.index_dir.resolve()
        kind = filesystem_type(self.folder)
        self.polling = polling == "always" or (polling == "auto" and kind in _EVENTLESS)
        self.poll_seconds = poll_seconds
        self.debounce_ms = debounce_ms
        self.status = WatchStatus()
        self.how = (f"polling every {poll_seconds:g} s" + (f", {kind} delivers no events"
                                                            if kind in _EVENTLESS else "")
                    if self.polling else "change events")
        self._on_applied = on_applied
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, wait: bool = True) -> FolderWatcher:
        """Watch in a thread. With `wait`, back once the watching has begun and what changed
        since the index was opened is applied; without, at once (a server answers meanwhile
        from the index as it was, and the status says it is being brought up to date)."""
        self.status.how = self.how
        self.status.refreshing = True
        self._let_reads_outlive_batches()
        self._thread = threading.Thread(target=self._run, name="qa-watch", daemon=True)
        self._thread.start()
        if wait:
            self._ready.wait(timeout=60)
        return self

    def follow(self) -> None:
        """Watch in this thread until interrupted (`qa index --watch`)."""
        self.status.how = self.how
        self._let_reads_outlive_batches()
        try:
            self._run()
        finally:
            self.qa.reads.stop()

    def stop(self) -> None:
        self._stop.set()
        self.qa.reads.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _let_reads_outlive_batches(self) -> None:
        """One long read (OCR of a large scan) must not hold back the files around it: a batch
        publishes what it read once its slow files have read for the grace, and a later batch,
        started when one of them ends, takes their outcomes."""
        self.qa.reads.grace_seconds = self.qa.settings.watch_read_grace_seconds

    def _wanted(self, change: object, path: str) -> bool:
        """Not a junk name, nor anything under a hidden folder (.git) or the index kept inside
        the folder (its own writes would start a build after every build)."""
        where = Path(path).resolve()
        if where.is_relative_to(self._index_dir):
            return False
        root = self._root
        parts = where.relative_to(root).parts if where.is_relative_to(root) else where.parts[-1:]
        return not any(is_transient(part) for part in parts)

    def _run(self) -> None:
        import watchfiles

        # The watcher yields an empty batch after each quiet second: the first says watching has
        # begun, and what changed before then (while the index was opened) is caught up.
        for changes in watchfiles.watch(
                self.folder, watch_filter=self._wanted, debounce=self.debounce_ms, step=300,
                stop_event=self._stop, force_polling=self.polling, rust_timeout=1000,
                yield_on_timeout=True, poll_delay_ms=int(self.poll_seconds * 1000),
                raise_interrupt=False):
            if changes or not self._ready.is_set() or self.qa.reads.has_news():
                self.apply(changes)
            self.status.refreshing = False
            self._ready.set()

    def apply(self, changes: Collection[tuple[object, str]]) -> None:
        """One batch: wait for the changed files to settle, then bring the index up to date."""
        self.status.pending = len(changes)
        try:
            _settle([Path(path) for _, path in changes], self._stop)
            report = self.qa.index(progress=self._embedding)
        except Exception as error:  # a bad batch must not stop the watching: say so, go on
            log.warning("applying changes under %s failed: %s", self.folder, error)
            self.status.errors = [*self.status.errors[-4:], str(error)]
        else:
            if changes or report.rebuilt_because:
                self.status.last = f"{len(changes)} change(s); {report.summary()}"
                self.status.last_at = time.time()
                self.status.applied += 1
                if self._on_applied is not None:
                    self._on_applied(report)
        finally:
            self.status.pending = 0
            self.status.embedded = (0, 0)
            self.status.reading = self.qa.reads.still_reading()

    def _embedding(self, done: int, total: int) -> None:
        self.status.embedded = (done, total)


def _settle(paths: list[Path], stop: threading.Event) -> None:
    """Wait until no changed file grows or is touched for a moment (a copy still running)."""
    deadline = time.monotonic() + _SETTLE_LIMIT_SECONDS
    before = [Stamp.of_or_none(path) for path in paths]
    while time.monotonic() < deadline and not stop.wait(_SETTLE_SECONDS):
        now = [Stamp.of_or_none(path) for path in paths]
        if now == before:
            return
        before = now
