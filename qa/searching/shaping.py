"""Shaping a result list for reading: near-duplicate passages shown once, with the places of
their copies, and hits grouped by document.

Pure functions over hits (and, to tell near texts apart, the passages' vectors);
qa.library.QA.search applies them, so the CLI, the page, REST and MCP all shape alike. The
build's own sharing of vectors between equal texts (qa.indexing.indexer) is another matter:
it saves embedding, and changes no result list.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from qa.searching.search import DocumentGroup, Hit, SearchResult

# Two passages are near-duplicates when their words are the same, or when their vectors are
# this close and at most this share of their words differ (at least one word): a copy with a
# hyphen, a page number or a misread word of difference, not a paragraph that says otherwise.
NEAR_COSINE = 0.98
NEAR_EDITED_SHARE = 0.05

_WORD = re.compile(r"\w+")


def text_key(text: str) -> tuple[str, ...]:
    """A passage's words, case and compatibility forms folded, punctuation and spacing left
    out: what "the same text" compares."""
    return tuple(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def within_edits(first: Sequence[str], second: Sequence[str], limit: int) -> bool:
    """Whether two word sequences are at most `limit` word insertions, deletions or
    substitutions apart (Levenshtein over words, worked out only within `limit` of the
    diagonal)."""
    if abs(len(first) - len(second)) > limit:
        return False
    beyond = limit + 1
    previous = [min(j, beyond) for j in range(len(second) + 1)]
    for i in range(1, len(first) + 1):
        current = [min(i, beyond)] + [beyond] * len(second)
        for j in range(max(1, i - limit), min(len(second), i + limit) + 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1,
                             previous[j - 1] + (first[i - 1] != second[j - 1]), beyond)
        if min(current) > limit:
            return False
        previous = current
    return previous[-1] <= limit


def near_words(first: Sequence[str], second: Sequence[str]) -> bool:
    """The words of two passages differ by at most NEAR_EDITED_SHARE of the longer's."""
    limit = max(1, int(NEAR_EDITED_SHARE * max(len(first), len(second))))
    return within_edits(first, second, limit)


def collapse(hits: Sequence[Hit], vectors: np.ndarray | None = None) -> list[Hit]:
    """The hits with each near-duplicate of a better one folded into that one's `copies`
    (in rank order), the kept ones ranked again from 1; nothing is dropped. `vectors` holds
    each hit's passage vector at unit length, in the hits' order; without them only equal
    texts (text_key) collapse."""
    same = _Sameness(hits, vectors)
    kept: list[int] = []
    first_of_text: dict[str, int] = {}  # a passage's text as stored: equal ones at once
    copies: dict[int, list[Hit]] = {}
    for at, hit in enumerate(hits):
        first = first_of_text.get(hit.passage.text)
        if first is None:
            first = same.first_among(kept, at)
        if first is None:
            kept.append(at)
            first_of_text[hit.passage.text] = at
            copies[at] = list(hit.copies)
        else:
            first_of_text.setdefault(hit.passage.text, first)  # a third copy folds here too
            copies[first] += [replace(hit, copies=()), *hit.copies]
    return [_renumbered(hits[at], rank, copies[at]) for rank, at in enumerate(kept, 1)]


def _renumbered(hit: Hit, rank: int, copies: list[Hit]) -> Hit:
    if hit.rank == rank and list(hit.copies) == copies:
        return hit  # most hits of most lists: no copy, no rank moved
    return replace(hit, rank=rank, copies=tuple(copies))


# Passages whose words are the same are always this close in any model's vectors (only their
# case, punctuation or spacing differ): the words are compared only past it.
_COMPARED_COSINE = 0.9


class _Sameness:
    """Which earlier hit a hit duplicates. One product finds the pairs whose vectors come
    close; only their words are found (text_key) and compared, so a long result list costs
    little more than that product."""

    def __init__(self, hits: Sequence[Hit], vectors: np.ndarray | None) -> None:
        self._hits = hits
        self._keys: dict[int, tuple[str, ...]] = {}
        self._cosines: np.ndarray | None = None
        self._close: list[np.ndarray] | None = None
        if vectors is not None and len(hits):
            self._cosines = vectors @ vectors.T
            later, earlier = np.nonzero(np.tril(self._cosines >= _COMPARED_COSINE, -1))
            self._close = np.split(earlier, np.searchsorted(later, np.arange(1, len(hits))))

    def _key(self, at: int) -> tuple[str, ...]:
        if at not in self._keys:
            self._keys[at] = text_key(self._hits[at].passage.text)
        return self._keys[at]

    def first_among(self, kept: list[int], at: int) -> int | None:
        """The first of `kept` (in rank order) that hit `at` duplicates, or None."""
        if self._cosines is None or self._close is None:
            return next((k for k in kept if self._key(k) == self._key(at)), None)
        for earlier in self._close[at].tolist():  # in rank order, as np.nonzero gives them
            if earlier in kept and (self._key(earlier) == self._key(at) or (
                    self._cosines[at, earlier] >= NEAR_COSINE
                    and near_words(self._key(earlier), self._key(at)))):
                return int(earlier)
        return None


def group_by_document(hits: Sequence[Hit]) -> list[DocumentGroup]:
    """Each document's hits, best first; the documents in the order of their best hits."""
    found: dict[str, list[Hit]] = {}
    for hit in hits:
        found.setdefault(hit.passage.source, []).append(hit)
    return [DocumentGroup(tuple(group)) for group in found.values()]


def shape(result: SearchResult, count: int, vectors: np.ndarray | None, collapsed: bool,
          grouped: bool) -> SearchResult:
    """The result cut to `count` passages, or with `grouped` to `count` documents (its hits
    then each document's best), near-duplicates first collapsed when `collapsed`. `vectors`
    as for `collapse`."""
    hits = collapse(result.hits, vectors) if collapsed else list(result.hits)
    if not grouped:
        return replace(result, hits=hits[:count])
    groups = group_by_document(hits)[:count]
    return replace(result, hits=[group.best for group in groups], groups=groups)


def shown_count(result: SearchResult) -> int:
    """What a shaped result shows: documents when grouped, else passages."""
    return len(result.groups) if result.groups is not None else len(result.hits)
