"""Reading files in worker processes, each file under a time and a memory limit.

A reader is third-party code fed with files from anywhere: one odd PDF may loop for hours, one
lying zip may inflate gigabytes, one bug in a C library may crash. None of that may stop a build
or take the server down, so every file is read in a worker (`python -m qa.reading.isolation`), and the
worker's fate is the file's: a worker that answers late is killed and the file skipped with the
reason; a worker that dies takes only its file with it.

The workers speak JSON lines over their standard input and output (no pickle): a request is
{"source", "path"}, an answer is the extracted document or the reason it was skipped. Before its
answer, a long read (OCR) sends {"progress"} lines, each of which renews the file's time limit,
and {"notice"} lines for the user. However often it reports, a file has a total budget too
(QA_READ_TOTAL_SECONDS): OCR of a 2,000-frame TIFF that is always alive must still end.
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from qa.core.settings import READING, Settings, usable_cores
from qa.reading.load import Document, SkippedFile, no_documents, read_file, readable_files
from qa.reading.readers import Heading, set_reporter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReadLimits:
    """What reading one file may cost: wall-clock seconds since it last said it was alive, and
    in all; the worker's address space; and how much text it may yield."""

    seconds: float = 60.0
    memory_mb: int = 2048
    workers: int = 0  # 0: one per usable core
    text_mb: float = 50.0
    total_seconds: float = 600.0
    # The reading settings not at their defaults (OCR's among them) as QA_ variables: a worker
    # reads its settings from its environment, so settings made in code reach it as well as
    # the variables it inherits (which still speak for a setting left at its default).
    environment: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, settings: Settings) -> ReadLimits:
        """The limits the settings name (QA_READ_SECONDS, QA_READ_MEMORY_MB, QA_THREADS,
        QA_MAX_TEXT_MB, QA_READ_TOTAL_SECONDS), and the reading settings for the workers."""
        return cls(settings.read_seconds, settings.read_memory_mb, settings.threads,
                   settings.max_text_mb, settings.read_total_seconds,
                   tuple(settings.environment(READING, changed=True).items()))


class _Worker:
    """One reader process, started on first use and replaced when it fails."""

    def __init__(self, limits: ReadLimits) -> None:
        self.limits = limits
        package_root = str(Path(__file__).resolve().parent.parent)
        environment = {**os.environ, **dict(limits.environment), "PYTHONPATH": os.pathsep.join(
            filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
        # A session of its own: stopping the worker stops what it started (Tesseract) too.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "qa.reading.isolation", str(limits.memory_mb), str(limits.text_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment,
            start_new_session=True)
        self.source: str | None = None  # the file being read, if any
        self.deadline = 0.0  # the time limit, renewed by each progress line, never past...
        self.final_deadline = 0.0  # ...the file's total budget
        self._received = bytearray()  # output read but not yet a whole line

    @property
    def output(self) -> IO[bytes]:
        assert self.process.stdout is not None
        return self.process.stdout

    def send(self, source: str, path: Path) -> None:
        assert self.process.stdin is not None
        now = time.monotonic()
        self.source, self.final_deadline = source, now + self.limits.total_seconds
        self.deadline = min(now + self.limits.seconds, self.final_deadline)
        self.process.stdin.write(json.dumps({"source": source, "path": str(path)}).encode() + b"\n")
        self.process.stdin.flush()

    def receive(self) -> Document | SkippedFile | None:
        """The answer for the file being read, once it has come whole; None before (a progress
        line renews the time limit); a worker that died names how."""
        assert self.source is not None
        # Read what is there without blocking for more: select() sees the pipe, not a buffer.
        chunk = os.read(self.output.fileno(), 1 << 20)
        self._received += chunk
        if chunk and b"\n" not in chunk:
            return None  # a long answer still coming: nothing to look at yet
        while b"\n" in self._received:
            end = self._received.index(b"\n")
            line = bytes(self._received[:end])
            del self._received[:end + 1]
            try:
                message = json.loads(line)
                if "progress" in message:
                    self.deadline = min(time.monotonic() + self.limits.seconds,
                                        self.final_deadline)
                    log.info("%s: %s", self.source, message["progress"])
                elif "notice" in message:
                    log.warning("%s: %s", self.source, message["notice"])
                else:
                    self._received.clear()
                    return _outcome_from_json(message)
            except (ValueError, KeyError, TypeError):
                break
        if chunk:
            return None
        self._received.clear()
        return SkippedFile(self.source, self._death())

    def _death(self) -> str:
        code = self.process.wait()
        if code < 0:
            return (f"its reader crashed ({signal.Signals(-code).name}): the file may be damaged, "
                    f"or need more than {self.limits.memory_mb:,} MB (QA_READ_MEMORY_MB)")
        return f"its reader stopped unexpectedly (exit status {code})"

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except OSError:
                self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


def read_files(files: list[tuple[str, Path]], limits: ReadLimits,
               started: Callable[[str], None] | None = None,
               wanted: Callable[[str], bool] | None = None) -> Iterator[Document | SkippedFile]:
    """Each (source, path) read in a worker, in the order the answers come; a file that takes
    longer than `limits.seconds`, exhausts `limits.memory_mb` or crashes its reader is skipped
    with that reason.

    `started` is told each source as a worker takes it. `wanted` is asked before a file is
    read and about each file being read, about once a second: a file it says no to is not
    read, or its worker is stopped, and no answer comes for it."""
    pending = list(reversed(files))
    count = min(len(files), limits.workers or usable_cores())
    idle: list[_Worker] = []  # started lazily, and again after one fails
    busy: dict[int, _Worker] = {}
    selector = selectors.DefaultSelector()
    try:
        while pending or busy:
            while pending and len(busy) < count:
                source, path = pending.pop()
                if wanted is not None and not wanted(source):
                    continue
                worker = idle.pop() if idle else _Worker(limits)
                try:
                    worker.send(source, path)
                except OSError:  # it died before it could take the file: a fresh one will
                    worker.stop()
                    worker = _Worker(limits)
                    worker.send(source, path)
                busy[worker.output.fileno()] = worker
                selector.register(worker.output, selectors.EVENT_READ)
                if started is not None:
                    started(source)
            if busy:
                yield from _collect(selector, busy, idle, limits, 1.0 if wanted else None)
            if wanted is not None:
                _stop_unwanted(selector, busy, wanted)
    finally:
        selector.close()
        for worker in [*idle, *busy.values()]:
            worker.stop()


def _collect(selector: selectors.BaseSelector, busy: dict[int, _Worker], idle: list[_Worker],
             limits: ReadLimits, most: float | None = None) -> Iterator[Document | SkippedFile]:
    """Wait for the first answer or deadline (or `most` seconds); hand back what finished,
    stop what failed."""
    timeout = max(0.0, min(worker.deadline for worker in busy.values()) - time.monotonic())
    if most is not None:
        timeout = min(timeout, most)
    ready = {key.fileobj.fileno() for key, _ in selector.select(timeout)}  # type: ignore[union-attr]
    for descriptor, worker in list(busy.items()):
        if descriptor in ready:
            received = worker.receive()
            if received is None:
                continue
            outcome = received
            reusable = worker.process.poll() is None and not _gave_up(outcome)
        elif time.monotonic() >= worker.deadline:
            outcome = SkippedFile(worker.source or "", _late(worker, limits))
            reusable = False
        else:
            continue
        selector.unregister(worker.output)
        del busy[descriptor]
        if reusable:
            worker.source = None
            idle.append(worker)
        else:
            worker.stop()
        yield outcome


def _stop_unwanted(selector: selectors.BaseSelector, busy: dict[int, _Worker],
                   wanted: Callable[[str], bool]) -> None:
    for descriptor, worker in list(busy.items()):
        if not wanted(worker.source or ""):
            selector.unregister(worker.output)
            del busy[descriptor]
            worker.stop()


def _late(worker: _Worker, limits: ReadLimits) -> str:
    """Why a worker past its deadline was stopped: silent too long, or over the total budget."""
    if worker.deadline >= worker.final_deadline:
        return (f"took longer than {limits.total_seconds:g} s in all to read "
                "(QA_READ_TOTAL_SECONDS), so it was stopped")
    return f"took longer than {limits.seconds:g} s to read (QA_READ_SECONDS), so it was stopped"


def _gave_up(outcome: Document | SkippedFile) -> bool:
    """A worker that ran out of memory is replaced: its heap may be in any state."""
    return isinstance(outcome, SkippedFile) and outcome.reason.startswith("ran out of memory")


def _outcome_to_json(outcome: Document | SkippedFile) -> dict[str, Any]:
    if isinstance(outcome, SkippedFile):
        return {"skipped": asdict(outcome)}
    return {"document": asdict(outcome)}


def _outcome_from_json(message: dict[str, Any]) -> Document | SkippedFile:
    if "skipped" in message:
        return SkippedFile(**message["skipped"])
    fields = message["document"]
    return Document(fields["source"], fields["text"], fields["content_hash"],
                    tuple(fields["page_starts"]),
                    tuple(Heading(**heading) for heading in fields["headings"]))


def _serve(memory_mb: int, text_mb: float) -> None:
    """The worker's loop: one request line in, one answer line out, until its input closes."""
    import resource

    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    def send(kind: str, message: str) -> None:
        sys.stdout.buffer.write(json.dumps({kind: message}).encode() + b"\n")
        sys.stdout.buffer.flush()

    set_reporter(send)
    for line in sys.stdin.buffer:
        request = json.loads(line)
        try:
            outcome = read_file(request["source"], Path(request["path"]))
        except MemoryError:
            outcome = SkippedFile(request["source"], f"ran out of memory while being read (over "
                                  f"the {memory_mb:,} MB limit, QA_READ_MEMORY_MB)")
        if isinstance(outcome, Document):
            outcome = _within_text_limit(outcome, text_mb)
        sys.stdout.buffer.write(json.dumps(_outcome_to_json(outcome)).encode() + b"\n")
        sys.stdout.buffer.flush()


def _within_text_limit(document: Document, text_mb: float) -> Document | SkippedFile:
    """The document, or its skip when its text is over `text_mb`: checked here, so that so
    much text never crosses the pipe nor reaches the build."""
    text = document.text
    if len(text) <= text_mb * 1e6 / 4:  # 4 bytes at most a character: surely within
        return document
    size_mb = (len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))) / 1e6
    if size_mb <= text_mb:
        return document
    return SkippedFile(document.source, f"yields {size_mb:,.1f} MB of text, over the limit of "
                                        f"{text_mb:g} MB (QA_MAX_TEXT_MB)")


# Reading a whole folder at once: what tests and benchmarks use; the library reads through its
# catalogue (qa.indexing.catalog.read_folder), which reads only what changed.
@dataclass(frozen=True)
class LoadedFolder:
    documents: list[Document]
    skipped: list[SkippedFile]


def load_folder(folder: Path, max_file_bytes: int = 20_000_000,
                limits: ReadLimits | None = None) -> LoadedFolder:
    """Read every document under `folder` (the suffixes of qa.reading.readers.READERS), recursively,
    each in a worker process under `limits`.

    Unusable files are returned in `skipped` with a reason (and logged); a missing folder or one
    with no usable document raises DocumentFolderError.
    """
    readable, skipped = readable_files(folder, max_file_bytes)
    documents: list[Document] = []
    for outcome in read_files(readable, limits or ReadLimits()):
        if isinstance(outcome, Document):
            documents.append(outcome)
        else:
            skipped.append(outcome)
    documents.sort(key=lambda document: document.source)
    skipped.sort(key=lambda skip: skip.source)
    for skip in skipped:
        log.warning("skipping %s: %s", skip.source, skip.reason)
    if not documents:
        raise no_documents(folder, skipped)
    return LoadedFolder(documents, skipped)


if __name__ == "__main__":
    _serve(int(sys.argv[1]), float(sys.argv[2]))
