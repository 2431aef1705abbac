"""Cite stage: turn hits into citations a reader can check by hand (JSON, text, HTML)."""

from __future__ import annotations

import html
import textwrap
import unicodedata
from typing import Any
from urllib.parse import urlencode

from qa.searching.facets import Facets
from qa.searching.search import DocumentGroup, Hit, SearchResult

# Characters that reorder the text around them: "evil\u202etxt.md" would read as "evildm.txt".
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                           "\u2066\u2067\u2068\u2069")


def display_source(source: str) -> str:
    """A file name on one line, read in its own order: tabs, newlines, other control characters
    and bidirectional controls shown escaped."""
    return "".join(repr(c)[1:-1] if unicodedata.category(c) == "Cc" or c in _BIDI_CONTROLS
                   else c for c in source)


def page_label(first: int | None, last: int | None) -> str:
    """"p. 3", "p. 3–4", or "" for a format without pages."""
    if first is None:
        return ""
    return f"p. {first}" if last in (None, first) else f"p. {first}–{last}"


def citation_text(hit: Hit) -> str:
    """One line: title, file, page, section, paragraph and character offsets into the text."""
    p = hit.passage
    parts = [f"{p.title} — {display_source(p.source)}", page_label(p.page, p.page_end),
             p.section or "", f"¶ {p.paragraph}"]
    return ", ".join(part for part in parts if part) + f" (characters {p.start}–{p.end})"


def place_label(hit: Hit) -> str:
    """Where a passage is, short: "b.pdf p. 3 ¶ 12", or "c.docx ¶ 12" for a format without
    pages. The paragraph is always named: two copies on one page are two places."""
    p = hit.passage
    return " ".join(part for part in (display_source(p.source), page_label(p.page, p.page_end),
                                      f"¶ {p.paragraph}") if part)


def also_in_text(hit: Hit) -> str:
    """"also in: b.pdf p. 3 ¶ 4, c.docx ¶ 12" for a hit with collapsed copies; else ""."""
    return "also in: " + ", ".join(place_label(copy) for copy in hit.copies) if hit.copies else ""


def answer_sentence(hit: Hit) -> str:
    start, end = hit.answer
    return hit.passage.text[start:end]


def view_url(server: str, question: str, hit: Hit) -> str:
    """The address of the page at `server` that opens this hit's document view, with its
    passage and answer sentence marked (the page reads these parameters when it loads)."""
    p = hit.passage
    start, end = hit.answer_offsets
    query = urlencode({"q": question, "open": p.source, "p": p.paragraph, "a": f"{start}-{end}"})
    return f"{server.rstrip('/')}/?{query}"


def cosine(value: float) -> float:
    """A cosine as reported: rounded, and kept within [-1, 1] (float32 sums of unit vectors
    overshoot by a few millionths)."""
    return round(min(1.0, max(-1.0, value)), 6)


def hit_to_json(hit: Hit, question: str = "", server: str = "") -> dict[str, Any]:
    """A hit as JSON; with the `server`'s address, its `url` opens the hit's document view.
    `scores` holds every retrieval signal's score by the signal's name."""
    p = hit.passage
    found = {
        "rank": hit.rank, "score": round(hit.score, 6), "similarity": cosine(hit.similarity),
        "scores": {name: round(value, 6) for name, value in hit.scores.items()},
        "below_threshold": hit.below_threshold, "text": p.text, "source": p.source,
        "title": p.title, "paragraph": p.paragraph, "page": p.page, "page_end": p.page_end,
        "section": p.section, "start": p.start, "end": p.end,
        "answer": answer_sentence(hit), "answer_start": hit.answer_offsets[0],
        "answer_end": hit.answer_offsets[1], "citation": citation_text(hit),
    }
    found["also_in"] = [copy_to_json(copy, question, server) for copy in hit.copies]
    if server:
        found["url"] = view_url(server, question, hit)
    return found


def copy_to_json(copy: Hit, question: str = "", server: str = "") -> dict[str, Any]:
    """A collapsed copy's place: its file, paragraph, page and citation (and `url`, as a hit's)."""
    p = copy.passage
    place: dict[str, Any] = {"source": p.source, "paragraph": p.paragraph, "page": p.page,
                             "citation": citation_text(copy)}
    if server:
        place["url"] = view_url(server, question, copy)
    return place


def group_to_json(group: DocumentGroup, question: str = "", server: str = "") -> dict[str, Any]:
    """A document's card in a grouped result: its best score and every hit of it."""
    return {"source": group.source, "title": group.best.passage.title,
            "score": round(group.best.score, 6), "more": len(group.hits) - 1,
            "hits": [hit_to_json(hit, question, server) for hit in group.hits]}


def result_to_json(result: SearchResult, server: str = "", facets: Facets | None = None
                   ) -> dict[str, Any]:
    """What `qa ask --json`, the page's downloads and the JSON API all give for one question;
    each hit with a `url` when the `server`'s address is known, and the places of its collapsed
    copies (`also_in`; `collapsed` counts them all). A grouped result also has `groups`; with
    `facets` (QA.facets of the result), `facets` counts its documents by type, folder and year
    (docs/search.md)."""
    found = {"question": result.question,
             "hits": [hit_to_json(hit, result.question, server) for hit in result.hits],
             "no_good_match": result.no_good_match, "notices": list(result.notices),
             "model": result.model,
             "collapsed": sum(len(hit.copies) for hit in _every_hit(result))}
    if result.groups is not None:
        found["groups"] = [group_to_json(group, result.question, server)
                           for group in result.groups]
    if facets is not None:
        found["facets"] = facets.to_json()
    return found


def _every_hit(result: SearchResult) -> list[Hit]:
    """Every hit shown: a grouped result's hits are its groups'."""
    if result.groups is None:
        return result.hits
    return [hit for group in result.groups for hit in group.hits]


def hit_to_terminal(hit: Hit, width: int = 100) -> str:
    flag = "  [below threshold]" if hit.below_threshold else ""
    body = textwrap.fill(hit.passage.text, width=width, initial_indent="    ",
                         subsequent_indent="    ")
    also = f"   {also_in_text(hit)}\n" if hit.copies else ""
    return (f"{hit.rank}. score {hit.score:.3f}{flag}\n   {citation_text(hit)}\n{also}"
            f"   answer: “{answer_sentence(hit)}”\n{body}")


def group_to_terminal(group: DocumentGroup, number: int, width: int = 100) -> str:
    """A document's card: its title and file, its best score and how many more passages it
    has, then each of its hits."""
    best = group.best.passage
    more = f", {len(group.hits) - 1} more passages in this document" if len(group.hits) > 1 \
        else ""
    head = f"[{number}] {best.title} — {display_source(best.source)} (score " \
           f"{group.best.score:.3f}{more})"
    return "\n\n".join([head, *(hit_to_terminal(hit, width) for hit in group.hits)])


def highlighted_html(text: str, span: tuple[int, int]) -> str:
    """The text, HTML-escaped, with the span wrapped in <mark>."""
    start, end = span
    return (html.escape(text[:start]) + "<mark>" + html.escape(text[start:end]) + "</mark>"
            + html.escape(text[end:]))


def hit_to_markdown(hit: Hit) -> str:
    also = f"\n*{also_in_text(hit)}*\n" if hit.copies else ""
    return (f"### {hit.rank}. {hit.passage.title}\n\n> {hit.passage.text}\n\n"
            f"**Answer:** {answer_sentence(hit)}\n\n*{citation_text(hit)}; score {hit.score:.3f}*\n"
            f"{also}")
