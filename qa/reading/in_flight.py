"""Reads that may outlive the build that asked for them, so one long read (OCR of a scan of
thousands of pages) does not hold back the files around it.

A watching server reads each batch's files through `ReadsInFlight`: once every file still being
read has been on its worker for `grace_seconds`, the batch goes on with what was read and leaves
those reads running. A later batch that lists the same file with the same content takes the
read's outcome instead of reading it again (`has_news` tells the watcher when one is waiting);
a read that no batch lists any more (the file was deleted or changed meanwhile) is stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from qa.reading.isolation import ReadLimits, read_files
from qa.reading.load import Document, SkippedFile

log = logging.getLogger(__name__)

# A file as a batch asks for it: (source, the content hash it had when listed).
_Key = tuple[str, str]


@dataclass(frozen=True)
class Reads:
    """What a batch got: the outcomes of its files read by now, and the sources still being
    read (their outcomes go to a later batch)."""

    outcomes: list[Document | SkippedFile]
    still_reading: list[str]


class ReadsInFlight:
    """The reads of one documents folder, shared by its successive builds."""

    def __init__(self) -> None:
        # None: a build waits for every read (`qa index`); a watcher sets its grace.
        self.grace_seconds: float | None = None
        self._changed = threading.Condition()
        self._running: dict[_Key, float | None] = {}  # when a worker took it (None: queued)
        self._outcomes: dict[_Key, Document | SkippedFile] = {}  # read, not yet taken
        self._wanted: set[_Key] = set()  # what the latest batch listed
        self._news = False  # an outcome came after its batch went on
        self._threads: list[threading.Thread] = []

    @property
    def outlive_batches(self) -> bool:
        """True while reads may outlive their batch (a watcher follows the folder)."""
        return self.grace_seconds is not None

    def read(self, files: list[tuple[str, Path, str]], limits: ReadLimits) -> Reads:
        """Each (source, path, content hash) read in a worker under `limits`, or taken from a
        read already under way or done; back once every read left is past its grace."""
        wanted = {(source, content_hash): path for source, path, content_hash in files}
        with self._changed:
            self._wanted = set(wanted)
            self._outcomes = {key: got for key, got in self._outcomes.items() if key in wanted}
            new = [key for key in wanted if key not in self._running and key not in self._outcomes]
            self._running.update(dict.fromkeys(new))
        if new:
            thread = threading.Thread(target=self._read, name="qa-read", daemon=True,
                                      args=({key: wanted[key] for key in new}, limits))
            thread.start()
            self._threads = [*(t for t in self._threads if t.is_alive()), thread]
        with self._changed:
            while (pause := self._pause(wanted)) is not None:
                self._changed.wait(pause or None)
            outcomes = [self._outcomes.pop(key) for key in wanted if key in self._outcomes]
            self._news = False
        done = {outcome.source for outcome in outcomes}
        return Reads(outcomes, sorted(source for source, _ in wanted if source not in done))

    def has_news(self) -> bool:
        """True, once, when a read that outlived its batch has ended: a batch should take it."""
        with self._changed:
            news, self._news = self._news, False
            return news

    def still_reading(self) -> list[str]:
        """The sources being read for the latest batch."""
        with self._changed:
            return sorted({source for source, _ in self._running.keys() & self._wanted})

    def stop(self) -> None:
        """Stop every read under way, its workers with it, and forget what was read."""
        with self._changed:
            self.grace_seconds = None
            self._wanted.clear()
            self._outcomes.clear()
            self._changed.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)  # each asks within a second whether its files are wanted

    def _pause(self, keys: dict[_Key, Path]) -> float | None:
        """How long to wait before looking again (0: until told); None: wait no more."""
        grace = self.grace_seconds
        running = [self._running[key] for key in keys if key in self._running]
        if grace is None:
            return 0 if running else None
        now = time.monotonic()
        if any(since is None for since in running):
            return 0  # queued: told when a worker takes it
        left = [since + grace - now for since in running if since is not None]
        return min((seconds for seconds in left if seconds > 0), default=None)

    def _read(self, paths: dict[_Key, Path], limits: ReadLimits) -> None:
        hashes = {source: content_hash for source, content_hash in paths}
        unanswered = set(paths)  # this call's keys in _running (a later call may ask one again)

        def started(source: str) -> None:
            with self._changed:
                if (source, hashes[source]) in unanswered:
                    self._running[(source, hashes[source])] = time.monotonic()
                    self._changed.notify_all()

        def wanted(source: str) -> bool:
            key = (source, hashes[source])
            with self._changed:
                if key in self._wanted:
                    return True
                self._running.pop(key, None)  # dropped by read_files: not under way any more
                unanswered.discard(key)
                self._changed.notify_all()
                return False

        files = [(source, path) for (source, _), path in paths.items()]
        try:
            for outcome in read_files(files, limits, started, wanted):
                key = (outcome.source, hashes[outcome.source])
                with self._changed:
                    self._running.pop(key, None)
                    unanswered.discard(key)
                    if key in self._wanted:
                        self._outcomes[key] = outcome
                        self._news = True
                    self._changed.notify_all()
        except Exception:  # no worker could be started: the next batch asks for them again
            log.exception("reading %d file(s) failed", len(files))
        finally:
            with self._changed:
                for key in unanswered:
                    self._running.pop(key, None)
                self._changed.notify_all()
