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


def kept_documents(query: Query, documents: Sequence[DocumentFacts]) -> list[str]:
    """The sources of `documents` that every document filter of `query` keeps."""
    return [document.source for document in documents if _keeps(query, document)]


def _keeps(query: Query, document: DocumentFacts) -> bool:
    source, name = document.source, PurePosixPath(document.source)
    folded_source = source.casefold()
    if query.types and name.suffix.lower() not in query.types:
        return False
    if query.folders and not any(folded_source.startswith(folder.casefold())
                                 for folder in query.folders):
        return False
    if query.files and not any(_named(glob, source) for glob in query.files):
        return False
    title = fold(document.title)
    if not all(_term_pattern(term).search(title) for term in query.titles):
        return False
    if query.after or query.before:
        day = document.modified
        if day is None or (query.after and day < query.after) \
                or (query.before and day >= query.before):
            return False
    return True


def _named(glob: str, source: str) -> bool:
    """A glob with a / matches the whole path; one without, the name or the name's stem."""
    glob, path = glob.casefold(), PurePosixPath(source.casefold())
    if "/" in glob:
        return fnmatch.fnmatchcase(str(path), glob.strip("/"))
    return fnmatch.fnmatchcase(path.name, glob) or fnmatch.fnmatchcase(path.stem, glob)


def _term_pattern(term: str) -> re.Pattern[str]:
    """A folded term as a pattern over folded text: whole words at its ends ("cat" is not in
    "category"; "re-" is in "re-read")."""
    folded = fold(term)
    before = r"(?<!\w)" if re.match(r"\w", folded) else ""
    after = r"(?!\w)" if re.search(r"\w$", folded) else ""
    return re.compile(before + re.escape(folded) + after)


class PassageTexts:
    """Every passage of an index as constraints read it: its pages and its folded text, held as
    one string (the passages joined by line breaks, which no folded term holds) so that a term
    is found by one scan of it. Made once per opened index, on the first constrained query."""

    def __init__(self, items: Sequence[store.IndexedPassage]) -> None:
        folded = [fold(item.passage.text) for item in items]
        self.sources = np.array([item.passage.source for item in items], dtype=object)
        self.first_pages = np.array([item.passage.page or 0 for item in items], dtype=np.int64)
        self.last_pages = np.array([item.passage.page_end or item.passage.page or 0
                                    for item in items], dtype=np.int64)
        self.starts = np.cumsum([0] + [len(text) + 1 for text in folded[:-1]], dtype=np.int64)
        self.text = "\n".join(folded)

    def containing(self, term: str) -> np.ndarray:
        """One flag per passage: does its folded text hold the term (at word boundaries)?"""
        held = np.zeros(len(self.sources), dtype=bool)
        offsets = [match.start() for match in _term_pattern(term).finditer(self.text)]
        if offsets:
            held[np.searchsorted(self.starts, offsets, side="right") - 1] = True
        return held

    def permitted(self, query: Query, sources: Collection[str] | None) -> np.ndarray:
        """The numbers of the passages of `sources` (all: None) that the query's constraints
        on passages keep, in order."""
        allowed = np.ones(len(self.sources), dtype=bool)
        if sources:
            allowed &= np.isin(self.sources, list(sources))
        for term in (*query.phrases, *query.required):
            allowed &= self.containing(term)
        for term in query.excluded:
            allowed &= ~self.containing(term)
        if query.pages:
            allowed &= np.logical_or.reduce([
                (self.first_pages >= 1) & (self.first_pages <= last) & (self.last_pages >= first)
                for first, last in query.pages])
        return np.flatnonzero(allowed)
