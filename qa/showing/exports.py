"""Downloadable copies of a result (Markdown and JSON), in a folder that stays bounded under load."""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from qa.searching.search import SearchResult
from qa.showing.cite import hit_to_markdown, result_to_json


class ExportFolder:
    """Writes each result's files under a name derived from their content, keeping the newest.

    Many page requests run at once. Writes and trimming take one lock; identical answers share
    one file; and a file younger than `min_age_seconds` is never trimmed, because Gradio copies
    it into its own cache only after the handler has returned.
    """

    def __init__(self, folder: Path, kept_files: int = 400, kept_bytes: int = 200_000_000,
                 min_age_seconds: float = 10.0) -> None:
        self.folder = folder
        self.kept_files = kept_files
        self.kept_bytes = kept_bytes
        self.min_age_ns = int(min_age_seconds * 1e9)
        self._lock = threading.Lock()
        folder.mkdir(parents=True, exist_ok=True)

    def export(self, result: SearchResult, owner: str = "") -> tuple[Path, Path]:
        """Write the result as Markdown and JSON; return both paths. `owner` (a tag) starts
        the names, so that a signed-in user's downloads can be told from another's."""
        markdown = f"# {result.question}\n\n" + "\n".join(hit_to_markdown(h) for h in result.hits)
        as_json = json.dumps(result_to_json(result), indent=1, ensure_ascii=False)
        with self._lock:
            paths = (self._write(markdown, ".md", owner), self._write(as_json, ".json", owner))
            self._trim(keep=set(paths))
        return paths

    def _write(self, text: str, suffix: str, owner: str) -> Path:
        data = text.encode("utf-8")
        tag = f"{owner}-" if owner else ""
        path = self.folder / f"qa-results-{tag}{hashlib.sha256(data).hexdigest()[:16]}{suffix}"
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, path)  # a rewrite of the same answer also makes it the newest
        return path

    def _trim(self, keep: set[Path]) -> None:
        exports = []
        for entry in os.scandir(self.folder):
            if entry.name.startswith("qa-results-"):
                try:
                    stat = entry.stat()
                except FileNotFoundError:  # removed by hand meanwhile: nothing to trim
                    continue
                exports.append((stat.st_mtime_ns, stat.st_size, Path(entry.path)))
        exports.sort(reverse=True)  # newest first: kept while both budgets last
        young = time.time_ns() - self.min_age_ns
        total = 0
        for count, (modified, size, path) in enumerate(exports, start=1):
            total += size
            over = count > self.kept_files or total > self.kept_bytes
            if over and path not in keep and modified < young:
                path.unlink(missing_ok=True)


def prune_served_copies(served: set[str], max_age_seconds: float) -> int:
    """Delete Gradio's cached copies of downloads older than `max_age_seconds`; how many went.

    Gradio's own `delete_cache` iterates this live set while handlers add to it, and under
    concurrent load its task dies ("Set changed size during iteration"); so this walks a snapshot
    and removes entries one by one."""
    cutoff = time.time() - max_age_seconds
    removed = 0
    for name in list(served):
        try:
            if os.lstat(name).st_ctime >= cutoff:
                continue
            os.remove(name)
        except FileNotFoundError:
            pass
        served.discard(name)
        removed += 1
        with contextlib.suppress(OSError):  # Gradio's per-file folder, if now empty
            os.rmdir(os.path.dirname(name))
    return removed


def prune_abandoned_uploads(folder: Path, served: list[set[str]], max_age_seconds: float) -> int:
    """Delete files in Gradio's upload folder older than `max_age_seconds` that are not served
    downloads: uploads posted without the event that would use them, cut-off partial uploads
    and the empty files Gradio leaves; how many went. Empty folders go too."""
    cutoff = time.time() - max_age_seconds
    kept = set().union(*served)
    removed = 0
    for root, folders, files in os.walk(folder, topdown=False):
        for name in files:
            path = os.path.join(root, name)
            with contextlib.suppress(OSError):
                if path not in kept and os.lstat(path).st_mtime < cutoff:
                    os.remove(path)
                    removed += 1
        for name in folders:
            with contextlib.suppress(OSError):  # not empty, or gone: either way, fine
                os.rmdir(os.path.join(root, name))
    return removed


def keep_pruning(served: Callable[[], list[set[str]]], max_age_seconds: float,
                 uploads: Path | None = None, uploads_max_age_seconds: float = 120.0
                 ) -> threading.Thread:
    """A daemon thread pruning the served copies every tenth of their lifetime (and abandoned
    uploads in `uploads` past their age), and handing freed memory back to the system."""
    # Without an upload folder to watch, the pruner wakes as seldom as it did before uploads.
    lifetime = min(max_age_seconds, uploads_max_age_seconds) if uploads else max_age_seconds

    def prune_forever() -> None:
        while True:
            time.sleep(max(1.0, lifetime / 10))
            for files in served():
                prune_served_copies(files, max_age_seconds)
            if uploads is not None:
                prune_abandoned_uploads(uploads, served(), uploads_max_age_seconds)
            _release_free_memory()

    pruner = threading.Thread(target=prune_forever, name="qa-download-pruner", daemon=True)
    pruner.start()
    return pruner


def _release_free_memory() -> None:
    """glibc keeps memory that many server threads freed in per-thread arenas, so a long-running
    server's RSS creeps up although Python holds no more objects; malloc_trim returns it."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)
