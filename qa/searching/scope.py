"""Which passages a query may return: its filters and constraints, worked out before ranking.

Filters on documents (type, folder, name, date, title) narrow the documents searched, which
every backend filters by; constraints on passages (phrases, +words, -words, pages) become the
numbers of the passages that satisfy them. Both go to the retrievers, so the k best passages
come from those allowed, however few they are (qa.searching.search).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import PurePosixPath

import numpy as np

from qa.indexing import store
from qa.searching.query import Query, fold


@dataclass(frozen=True)
class DocumentFacts:
    """What document filters read of an indexed document. `modified` is its file's modification
    day when last indexed (None when unknown: no date filter keeps it)."""

    source: str
    title: str
    modified: date | None

    @cached_property
    def folded(self) -> tuple[str, str, str, str]:
        """Its suffix, path, name and stem, case folded, and its folded title: made once, as
        every query with a filter reads them for every document."""
        path = PurePosixPath(self.source.casefold())
        return path.suffix, str(path), path.name, fold(self.title)


def kept_documents(query: Query, documents: Sequence[DocumentFacts]) -> list[str]:
    """The sources of `documents` that every document filter of `query` keeps."""
    titles = [_term_pattern(term) for term in query.titles]
    folders = tuple(folder.casefold() for folder in query.folders)
    files = [glob.casefold() for glob in query.files]
    kept = []
    for document in documents:
        suffix, path, name, title = document.folded
        if (query.types and suffix not in query.types) \
                or (folders and not path.startswith(folders)) \
                or (files and not any(_named(glob, path, name) for glob in files)) \
                or not all(pattern.search(title) for pattern in titles) \
                or not _dated(query, document.modified):
            continue
        kept.append(document.source)
    return kept


def _dated(query: Query, day: date | None) -> bool:
    if not (query.after or query.before):
        return True
    return day is not None and not (query.after and day < query.after) \
        and not (query.before and day >= query.before)


def _named(glob: str, path: str, name: str) -> bool:
    """A glob with a / matches the whole path; one without, the name or the name's stem (all
    case folded)."""
    if "/" in glob:
        return fnmatch.fnmatchcase(path, glob.strip("/"))
    return fnmatch.fnmatchcase(name, glob) or fnmatch.fnmatchcase(PurePosixPath(name).stem, glob)


def _term_pattern(term: str) -> re.Pattern[str]:
    """A folded term as a pattern over folded text: whole words at its ends ("cat" is not in
    "category"; "re-" is in "re-read")."""
    folded = fold(term)
    before = r"(?<!\w)" if _WORD_CHARACTER.match(folded) else ""
    after = r"(?!\w)" if _WORD_CHARACTER.match(folded[-1:]) else ""
    return re.compile(before + re.escape(folded) + after)


_WORD_CHARACTER = re.compile(r"\w")


class PassageTexts:
    """Every passage of an index as constraints read it: its document and pages, and its folded
    text, held as one string (the passages joined by line breaks, which no folded term holds)
    so that a term is found by scanning it. Made once per opened index, on the first
    constrained query."""

    def __init__(self, items: Sequence[store.IndexedPassage]) -> None:
        folded = [fold(item.passage.text) for item in items]
        self._source_numbers: dict[str, int] = {}
        self.sources = np.array([self._source_numbers.setdefault(item.passage.source,
                                                                 len(self._source_numbers))
                                 for item in items], dtype=np.int64)
        self.first_pages = np.array([item.passage.page or 0 for item in items], dtype=np.int64)
        self.last_pages = np.array([item.passage.page_end or item.passage.page or 0
                                    for item in items], dtype=np.int64)
        self.starts = np.cumsum([0] + [len(text) + 1 for text in folded], dtype=np.int64)
        self.text = "\n".join(folded)

    def containing(self, term: str) -> np.ndarray:
        """One flag per passage: does its folded text hold the term (at word boundaries)?"""
        held = np.zeros(len(self.sources), dtype=bool)
        folded, pattern = fold(term), _term_pattern(term)
        at = self.text.find(folded)
        # str.find runs far faster than a pattern starting with a look-behind: it finds the
        # term, the pattern only checks the word boundaries there; past a passage's first
        # hit, the scan moves on to the next passage.
        while at >= 0:
            if pattern.match(self.text, at):  # (its look-behind sees the text before `at`)
                passage = int(np.searchsorted(self.starts, at, side="right")) - 1
                held[passage] = True
                at = self.text.find(folded, int(self.starts[passage + 1]))
            else:
                at = self.text.find(folded, at + 1)
        return held

    def permitted(self, query: Query, sources: Collection[str] | None) -> np.ndarray:
        """The numbers of the passages of `sources` (all: None) that the query's constraints
        on passages keep, in order."""
        allowed = np.ones(len(self.sources), dtype=bool)
        if sources:
            chosen = [self._source_numbers[s] for s in sources if s in self._source_numbers]
            allowed &= np.isin(self.sources, chosen)
        for term in (*query.phrases, *query.required):
            allowed &= self.containing(term)
        for term in query.excluded:
            allowed &= ~self.containing(term)
        if query.pages:
            allowed &= np.logical_or.reduce([
                (self.first_pages >= 1) & (self.first_pages <= last) & (self.last_pages >= first)
                for first, last in query.pages])
        return np.flatnonzero(allowed)
