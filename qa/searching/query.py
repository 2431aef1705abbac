"""The query syntax: what a search box, `qa ask`, REST, the JSON API and MCP all accept, parsed
once into a `Query` (docs/search.md is its user's page).

A query is a question plus, optionally: "exact phrase" and +word (every hit contains them),
-word and -"phrase" (no hit does), and filters name:value (type, in, file, after, before,
title, page). Phrases and +words stay in the question too: they are what the person is asking
about, so they rank as well as constrain. A word with a colon whose name is no filter
("note: ...", "10:30") is a plain word: questions hold colons. A query of plain words parses to
itself, unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from qa.chunking.chunk import normalise_whitespace
from qa.reading.readers import KINDS, READERS

FILTERS = ("type", "in", "file", "after", "before", "title", "page")
_EXAMPLES = {"type": "type:pdf", "in": "in:reports/2024/", "file": "file:*.pdf",
             "after": "after:2024-03-01", "before": "before:2024-03-01", "title": "title:budget",
             "page": "page:3-7"}
_QUOTES = {'"': '"', "\u201c": "\u201d", "\u201d": "\u201d"}  # straight, and typographic pairs
# A filter (its name and a colon), a +/- sign before a word or a quote, or a quote alone.
_OPERATOR = re.compile(r"(?P<filter>(?i:" + "|".join(FILTERS) + r")):"
                       r'|(?P<sign>[+-])(?=[^\W\d_]|["\u201c\u201d])|(?P<quote>["\u201c\u201d])')


class QueryError(ValueError):
    """A query that cannot be searched as written; the message names the part and the fix."""


@dataclass(frozen=True)
class Query:
    """A parsed query. `question` is what ranks (plain words, phrases and +words, in order);
    `phrases` and `required` must each be in every hit, `excluded` (words and phrases) in none,
    all case and whitespace folded, matched at word boundaries. Filters: `types` (suffixes,
    ".pdf"), `folders` (path prefixes, "hr/"), `files` (globs over names) and `pages` (ranges)
    each keep what matches any of their values; `titles` must all be in the document's title;
    a document is kept from `after` (that day included) and `before` (that day excluded)."""

    question: str
    phrases: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()
    after: date | None = None
    before: date | None = None
    pages: tuple[tuple[int, int], ...] = ()

    @property
    def filters_documents(self) -> bool:
        """True when some filter keeps or drops whole documents."""
        return bool(self.types or self.folders or self.files or self.titles or self.after
                    or self.before)

    @property
    def filters_passages(self) -> bool:
        """True when some constraint keeps or drops single passages."""
        return bool(self.phrases or self.required or self.excluded or self.pages)


def fold(text: str) -> str:
    """Text as constraints compare it: whitespace runs as one space, case folded."""
    return normalise_whitespace(text).casefold()


@dataclass(frozen=True)
class QueryPart:
    """One operator as written in a query: `kind` is "filter" (then `name` is the filter's,
    lower case), "phrase", "required" or "excluded"; `value` is its term, whitespace folded;
    `start` and `end` its span in the text (the page removes a filter's chip by cutting it)."""

    kind: str
    name: str
    value: str
    start: int
    end: int


def parse_query(text: str) -> Query:
    """The query `text` spells; QueryError names the part that cannot be read."""
    plain: list[str] = []
    found: dict[str, list[str]] = {name: [] for name in ("phrases", "required", "excluded")}
    filters: dict[str, list[str]] = {name: [] for name in FILTERS}
    at = 0
    for part in query_parts(text):
        plain.append(text[at:part.start] + " ")
        if part.kind == "filter":
            filters[part.name].append(part.value)
        elif part.kind == "excluded":
            found["excluded"].append(part.value)
        else:
            found["phrases" if part.kind == "phrase" else "required"].append(part.value)
            plain.append(f" {part.value} ")  # what a hit must contain is also what is asked about
        at = part.end
    plain.append(text[at:])
    return _query(" ".join("".join(plain).split()), found, filters)


def query_parts(text: str) -> list[QueryPart]:
    """The operators of `text` in order, each with its span; QueryError names the part that
    cannot be read. What lies between them is the plain question."""
    parts: list[QueryPart] = []
    at = 0
    while (match := _OPERATOR.search(text, at)) is not None:
        inside_word = match.start() > 0 and not text[match.start() - 1].isspace() \
            and match.lastgroup != "quote"
        bare_name = match.lastgroup == "filter" and (match.end() == len(text)
                                                     or text[match.end()].isspace())
        if inside_word or bare_name:  # "well-known", "x:" in a word, "title: The Road"
            at = match.end()
            continue
        parts.append(_operator(text, match))
        at = parts[-1].end
    return parts


def _operator(text: str, match: re.Match[str]) -> QueryPart:
    """The operator `match` begins."""
    if match.lastgroup == "filter":
        value, end = _value(text, match.end(), match.group())
        return QueryPart("filter", match.group("filter").lower(), value, match.start(), end)
    start = match.end() if match.lastgroup == "sign" else match.start()
    term, end = _value(text, start, match.group())
    if match.group("sign") == "-":
        kind = "excluded"
    else:
        kind = "required" if match.lastgroup == "sign" and text[start] not in _QUOTES \
            else "phrase"
    return QueryPart(kind, "", term, match.start(), end)


def _value(text: str, start: int, operator: str) -> tuple[str, int]:
    """The quoted or unquoted term at `start`, and where it ends."""
    if start < len(text) and text[start] in _QUOTES:
        close = text.find(_QUOTES[text[start]], start + 1)
        if text[start] == '"' or close < 0:  # a straight quote, or typographic quotes mixed
            close = min((i for i in (text.find(q, start + 1) for q in '"\u201d') if i >= 0),
                        default=-1)
        if close < 0:
            raise QueryError(f"{text[start:start + 30]!r}: this quote is never closed; close "
                             'it ("like this") or leave it out')
        term, end = text[start + 1:close], close + 1
    else:
        end = start
        while end < len(text) and not text[end].isspace():
            end += 1
        term = text[start:end]
    if not term.strip():
        example = _EXAMPLES.get(operator.lower().rstrip(":"), '"exact words"')
        raise QueryError(f"{operator!r} is followed by nothing to search for (e.g. {example})")
    return " ".join(term.split()), end


def _query(question: str, found: dict[str, list[str]], filters: dict[str, list[str]]) -> Query:
    after = [_date(value, "after") for value in filters["after"]]
    before = [_date(value, "before") for value in filters["before"]]
    return Query(question, tuple(found["phrases"]), tuple(found["required"]),
                 tuple(found["excluded"]), tuple(_suffixes(filters["type"])),
                 tuple(_folder(value) for value in filters["in"]), tuple(filters["file"]),
                 tuple(filters["title"]), max(after, default=None), min(before, default=None),
                 tuple(_pages(value) for value in filters["page"]))


def _suffixes(values: list[str]) -> list[str]:
    """Each type as the suffixes it stands for: a suffix qa reads, or a kind of document."""
    suffixes: list[str] = []
    for value in values:
        name = value.lower().lstrip(".")
        kind = KINDS.get(name) or KINDS.get(name.removesuffix("s"))
        if kind is not None:
            suffixes.extend(kind)
        elif f".{name}" in READERS:
            suffixes.append(f".{name}")
        else:
            known = sorted({suffix.lstrip(".") for suffix in READERS} | set(KINDS))
            raise QueryError(f"type:{value}: qa reads no such type; one of {', '.join(known)}")
    return suffixes


def _folder(value: str) -> str:
    """A path prefix as sources are written (relative, / separators), ending with a /."""
    folder = value.replace("\\", "/").strip("/").removeprefix("./")
    return f"{folder}/" if folder else ""


_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")


def _date(value: str, name: str) -> date:
    """YYYY, YYYY-MM or YYYY-MM-DD, as the first day it names."""
    match = _DATE.fullmatch(value)
    try:
        if match is None:
            raise ValueError
        return date(int(match[1]), int(match[2] or 1), int(match[3] or 1))
    except ValueError:
        raise QueryError(f"{name}:{value}: not a date; write it as YYYY-MM-DD (or YYYY-MM, "
                         "or YYYY)") from None


_PAGES = re.compile(r"(\d+)(?:-(\d+))?")


def _pages(value: str) -> tuple[int, int]:
    match = _PAGES.fullmatch(value)
    first, last = (int(match[1]), int(match[2] or match[1])) if match else (0, 0)
    if not 1 <= first <= last:
        raise QueryError(f"page:{value}: not a page or a range of pages; write page:3 or "
                         "page:3-7 (pages count from 1)")
    return first, last
