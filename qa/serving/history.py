"""Each signed-in reader's recent questions, kept on the server beside the index: one small JSONL
file per user (a line per question, newest last), bounded, rewritten atomically. A page without
sign-in keeps its history in the browser instead (qa/serving/static/history.js), and `qa ask`
keeps none."""

from __future__ import annotations

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
_LONGEST_NAME = 120  # a file name's share for the user's name (file systems allow 255 bytes)


class QuestionHistory:
    """The recent questions of each user, in `folder` (made when first written)."""

    def __init__(self, folder: Path, kept: int = KEPT_QUESTIONS) -> None:
        self.folder = folder
        self.kept = kept
        self._lock = threading.Lock()  # one rewrite at a time: two tabs of one reader

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
        """The user's kept lines ({"question", "asked": local time, ISO 8601}), newest first."""
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
            newest = {"question": question, "asked": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            entries = [newest, *(entry for entry in self.entries(user)
                                 if entry["question"] != question)][:self.kept]
            try:
                self._write(user, entries)
            except OSError as error:
                log.warning("the question history %s cannot be written: %s",
                            self.path(user), error)
        return [entry["question"] for entry in entries]

    def clear(self, user: str) -> int:
        """Forget the user's questions; how many were kept. Raises OSError when the file cannot
        be removed: unlike a question's, a clearing asked for must not fail in silence."""
        with self._lock:
            kept = len(self.entries(user))
            self.path(user).unlink(missing_ok=True)
        return kept

    def _write(self, user: str, entries: list[dict[str, str]]) -> None:
        """The whole file anew, beside it first, then renamed over it: a reader never finds it
        half written."""
        atomic_write_text(self.path(user), "".join(json.dumps(entry, ensure_ascii=False) + "\n"
                                                   for entry in reversed(entries)))
