"""Relevance judgements a user made of hits, kept beside the index: one JSONL file per user under
`index_dir/judgements/`, a line per judgement, written under a lock by rewriting the file to a
temporary one and renaming it (a crash leaves the old file or the new one, never half a line).

A judgement names its passage by source and paragraph, and remembers the passage text's hash and a
short quote of it. Read against the passages indexed now (`place`), it is current (same text), has
moved (its paragraph's text changed but the quote is found in another passage of the same file,
which it then follows) or is stale (the quote is found nowhere in that file). Evaluation over the
judgements is qa.evaluating.judged; this module holds only the records (it sits below the library,
which records and reads them)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal
from urllib.parse import quote as url_quote

from filelock import FileLock

from qa.chunking.chunk import Passage, normalise_whitespace
from qa.core.files import atomic_write_text
from qa.indexing.store import text_key

Verdict = Literal["relevant", "not relevant", "none"]
VERDICTS: tuple[Verdict, ...] = ("relevant", "not relevant", "none")  # none: no hit answers
Standing = Literal["current", "moved", "stale"]
LOCAL_USER = "local"  # whose judgements they are on a server without sign-in, and in the CLI
QUOTE_CHARS = 160  # a quote long enough to find its passage again, short enough to read
FOLDER = "judgements"


@dataclass(frozen=True)
class Judgement:
    """One verdict on one hit of one question; for "none" (no hit answers the question) the
    source is "" and the paragraph 0."""

    question: str
    source: str
    paragraph: int
    text_hash: str  # SHA-256 of the passage's text when judged (qa.indexing.store.text_key)
    quote: str  # a short stretch of the passage's text, what finds it again if it moves
    verdict: Verdict
    time: float  # seconds since the epoch
    build: str  # the build the hit came from (the manifest's `build`)
    user: str

    @property
    def passage_key(self) -> tuple[str, str, int]:
        return (self.question, self.source, self.paragraph)


@dataclass(frozen=True)
class Placed:
    """A judgement read against the index of now: where its passage is (`paragraph`, None when
    stale) and whether it is where it was judged."""

    judgement: Judgement
    paragraph: int | None
    standing: Standing


def quote_of(text: str, wanted: str = "") -> str:
    """The quote kept of a passage's `text`: `wanted` (say the hit's answer sentence) when the
    text holds it, else the text's start, cut at a word within QUOTE_CHARS characters."""
    text = normalise_whitespace(text)
    wanted = normalise_whitespace(wanted)[:QUOTE_CHARS]
    if wanted and _fold(wanted) in _fold(text):
        return wanted
    if len(text) <= QUOTE_CHARS:
        return text
    cut = text[:QUOTE_CHARS]
    return cut.rsplit(" ", 1)[0] if " " in cut else cut


def _fold(text: str) -> str:
    return normalise_whitespace(text).casefold()


def question_key(question: str) -> str:
    """The question as judgements of it are grouped: its words, whitespace and case folded."""
    return _fold(question)


def place(judgement: Judgement, passages: Sequence[Passage]) -> Placed:
    """Where `judgement`'s passage is among `passages` (its file's, as indexed now)."""
    if not judgement.source:  # "none": judged of the question, not of a passage
        return Placed(judgement, None, "current")
    same = next((p for p in passages if p.paragraph == judgement.paragraph), None)
    if same is not None and text_key(same.text) == judgement.text_hash:
        return Placed(judgement, same.paragraph, "current")
    quote = _fold(judgement.quote)
    holding = [p.paragraph for p in passages if quote and quote in _fold(p.text)]
    if not holding:
        return Placed(judgement, None, "stale")
    nearest = min(holding, key=lambda number: abs(number - judgement.paragraph))
    return Placed(judgement, nearest, "current" if nearest == judgement.paragraph else "moved")


def latest(judgements: Iterable[Judgement]) -> list[Judgement]:
    """Each (question, passage)'s last judgement: a verdict given again replaces the earlier."""
    kept: dict[tuple[str, str, int], Judgement] = {}
    for judgement in sorted(judgements, key=lambda j: j.time):
        key = (question_key(judgement.question), judgement.source, judgement.paragraph)
        kept.pop(key, None)
        kept[key] = judgement
    return list(kept.values())


class JudgementStore:
    """The judgements of every user of one index folder."""

    def __init__(self, index_dir: Path) -> None:
        self.folder = index_dir / FOLDER

    def path(self, user: str) -> Path:
        """The user's file; a name is kept readable where it is safe as a file name."""
        safe = user if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}", user) else \
            url_quote(user, safe="")
        return self.folder / f"{safe}.jsonl"

    def add(self, judgement: Judgement) -> None:
        """Append `judgement` to its user's file, atomically and one writer at a time."""
        path = self.path(judgement.user)
        self.folder.mkdir(parents=True, exist_ok=True)
        line = json.dumps(asdict(judgement), ensure_ascii=False) + "\n"
        with FileLock(self.folder / ".lock"):
            before = path.read_text(encoding="utf-8") if path.exists() else ""
            atomic_write_text(path, before + line)

    def read(self, user: str) -> list[Judgement]:
        """Every judgement `user` made, oldest first; a line that is not a judgement is passed
        over (a file edited by hand stays usable)."""
        path = self.path(user)
        if not path.exists():
            return []
        judgements = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
                judgement = Judgement(**record)
            except (json.JSONDecodeError, TypeError):
                continue
            if judgement.verdict in VERDICTS and judgement.user == user:
                judgements.append(replace(judgement, paragraph=int(judgement.paragraph)))
        return judgements
