"""Facets of a result list: how many of its documents are of each type, in each folder and of
each year, each with the query filter that keeps only those (the page offers them as clicks).

Pure functions over a result's hits and what document filters read of each document
(qa.searching.scope.DocumentFacts), so every count is one a filter of the query syntax
(qa.searching.query) would reproduce.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import PurePosixPath
from typing import TypeVar

from qa.searching.search import SearchResult

_Name = TypeVar("_Name", str, int)


@dataclass(frozen=True)
class FacetValue:
    """One value of a facet: its label, how many of the result's documents have it, and the
    filter (as written in a query) that keeps them; "" when no filter can say it."""

    label: str
    count: int
    filter: str


@dataclass(frozen=True)
class Facets:
    """A result's documents counted by type, folder and year, each most frequent first."""

    types: tuple[FacetValue, ...] = ()
    folders: tuple[FacetValue, ...] = ()
    years: tuple[FacetValue, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.types or self.folders or self.years)

    def to_json(self) -> dict[str, list[dict[str, object]]]:
        return {name: [{"label": value.label, "count": value.count, "filter": value.filter}
                       for value in values]
                for name, values in (("type", self.types), ("folder", self.folders),
                                     ("year", self.years))}


def result_sources(result: SearchResult) -> list[str]:
    """The documents a result shows, once each in order of first showing: its hits' (and
    their folded copies', and in groups every hit's)."""
    hits = [hit for group in result.groups for hit in group.hits] \
        if result.groups is not None else result.hits
    seen: dict[str, None] = {}
    for hit in hits:
        for shown in (hit, *hit.copies):
            seen.setdefault(shown.passage.source, None)
    return list(seen)


def result_facets(result: SearchResult, modified: Mapping[str, date | None]
           | Callable[[str], date | None]) -> Facets:
    """The facets of `result`'s documents; `modified` gives a document's day as date filters
    read it (None: unknown, counted in no year)."""
    day_of = modified.get if isinstance(modified, Mapping) else modified
    sources = result_sources(result)
    types = Counter(PurePosixPath(source).suffix.lower() for source in sources)
    folders = Counter(str(PurePosixPath(source).parent) for source in sources)
    years = Counter(day.year for day in map(day_of, sources) if day is not None)
    return Facets(
        tuple(FacetValue(suffix.lstrip(".") or "(none)", count,
                         f"type:{suffix.lstrip('.')}" if suffix else "")
              for suffix, count in _ordered(types)),
        tuple(FacetValue("(top folder)" if folder == "." else f"{folder}/", count,
                         _folder_filter(folder)) for folder, count in _ordered(folders)),
        tuple(FacetValue(str(year), count, f"after:{year} before:{year + 1}")
              for year, count in sorted(years.items(), reverse=True)))


def _ordered(counts: Counter[_Name]) -> list[tuple[_Name, int]]:
    """Most frequent first, then by name, so a list reads the same each time."""
    return sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))


def _folder_filter(folder: str) -> str:
    """in:folder/ as the query syntax reads it; "" for the top folder (no prefix names only
    it) or a name no quote can hold."""
    if folder == ".":
        return ""
    if not any(character.isspace() or character in "\"\u201c\u201d" for character in folder):
        return f"in:{folder}/"
    return "" if '"' in folder or "\u201d" in folder or "\u201c" in folder else f'in:"{folder}/"'
