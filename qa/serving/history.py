"""Each signed-in reader's recent questions, kept on the server beside the index: one small JSONL
file per user (a line per question, newest last), bounded, rewritten atomically. A page without
sign-in keeps its history in the browser instead (qa/serving/static/history.js), and `qa ask`
keeps none."""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import threading
import time
from pathlib import Path
from urllib.parse import quote

from qa.core.files import atomic_write_text

log = logging.getLogger(__name__)

KEPT_QUESTIONS = 50
_WRITE_PAUSE_S = 0.25  # at most about four rewrites a second by keep()'s writer
_LONGEST_NAME = 120  # a file name's share for the user's name (file systems allow 255 bytes)


class QuestionHistory:
    """The recent questions of each user, in `folder` (made when first written)."""

    def __init__(self, folder: Path, kept: int = KEPT_QUESTIONS) -> None:
        self.folder = folder
        self.kept = kept
        self._lock = threading.Lock()  # one rewrite at a time: two tabs of one reader
        self._pending: list[tuple[str, str, str]] = []  # (user, question, asked), by keep()
        self._pending_lock = threading.Lock()  # held only to append or take the list
        self._wake = threading.Event()
        self._writer: threading.Thread | None = None

    def path(self, user: str) -> Path:
        """The user's file: their name, quoted so any character is safe and no two names meet;
        a long name as its hash."""
        name = quote(user, safe="")
        if len(name) > _LONGEST_NAME:
            name = "sha256-" + hashlib.sha256(user.encode("utf-8")).hexdigest()
        return self.folder / f"{name}.jsonl"

    def recent(self, user: str) -> list[str]:
        """The user's questions, newest first; none when nothing (readable) is kept."""
        return [entry["question"] for entry in self.entries(user)]

    def entries(self, user: str) -> list[dict[str, str]]:
        """The user's kept lines ({"question", "asked": local time, ISO 8601}), newest first,
        those kept for later among them."""
        self.flush()
        return self._read(user)

    def _read(self, user: str) -> list[dict[str, str]]:
        """The user's file's lines, newest first."""
        try:
            lines = self.path(user).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as error:
            log.warning("the question history %s cannot be read: %s", self.path(user), error)
            return []
        entries = []
        for line in lines:
            try:
                entry = json.loads(line)
                question, asked = entry.get("question"), entry.get("asked", "")
            except (ValueError, AttributeError):
                continue  # a line damaged by hand: the others still count
            if isinstance(question, str) and question.strip():
                entries.append({"question": question, "asked": str(asked)})
        return entries[::-1][:self.kept]

    def add(self, user: str, question: str) -> list[str]:
        """Keep `question` as the user's newest (once: asked again, it moves up); the
        questions newest first. A history that cannot be written is logged, never an error:
        the question was answered."""
        question = question.strip()
        if not question:
            return self.recent(user)
        with self._lock:
            self._write_pending()
            entries = self._added(user, [(question, _now())])
        return [entry["question"] for entry in entries]

    def keep(self, user: str, question: str) -> None:
        """Keep `question` as `add` does, written by a thread of this history's own: for a
        request that must not wait for the file (the lock and the disk cost REST searches
        under load, docs/benchmarks.md). Whatever reads the history sees it at once."""
        question = question.strip()
        if not question:
            return
        with self._pending_lock:
            self._pending.append((user, question, _now()))
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_when_woken, daemon=True,
                                                name="qa-question-history")
                self._writer.start()
                atexit.register(self.flush)  # a server stopped: nothing kept is lost
        self._wake.set()

    def flush(self) -> None:
        """Write the questions `keep` has not written yet."""
        with self._lock:
            self._write_pending()

    def clear(self, user: str) -> int:
        """Forget the user's questions; how many were kept. Raises OSError when the file cannot
        be removed: unlike a question's, a clearing asked for must not fail in silence."""
        with self._lock:
            self._write_pending()
            kept = len(self._read(user))
            self.path(user).unlink(missing_ok=True)
        return kept

    def _write_when_woken(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            self.flush()
            # A pause after each write gathers what comes meanwhile into the next: under load
            # the file is written a few times a second, not once a search.
            time.sleep(_WRITE_PAUSE_S)

    def _write_pending(self) -> None:
        """Each user's questions kept for later, in their order, one rewrite a user: under a
        load that outruns the disk they pile up and are written together. Holds the lock."""
        with self._pending_lock:
            pending, self._pending = self._pending, []
        for user in dict.fromkeys(user for user, _, _ in pending):
            self._added(user, [(question, asked) for who, question, asked in pending
                               if who == user])

    def _added(self, user: str, questions: list[tuple[str, str]]) -> list[dict[str, str]]:
        """The user's entries with `questions` (and when each was asked) added in turn, newest
        last, and written. Holds the lock."""
        entries = self._read(user)
        for question, asked in questions:
            entries = [{"question": question, "asked": asked},
                       *(entry for entry in entries if entry["question"] != question)]
        entries = entries[:self.kept]
        try:
            self._write(user, entries)
        except OSError as error:
            log.warning("the question history %s cannot be written: %s", self.path(user), error)
        return entries

    def _write(self, user: str, entries: list[dict[str, str]]) -> None:
        """The whole file anew, beside it first, then renamed over it: a reader never finds it
        half written."""
        atomic_write_text(self.path(user), "".join(json.dumps(entry, ensure_ascii=False) + "\n"
                                                   for entry in reversed(entries)))


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
