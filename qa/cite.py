"""Cite stage: turn hits into citations a reader can check by hand (JSON, text, HTML)."""

from __future__ import annotations

import html
import textwrap
from typing import Any

from qa.search import Hit


def citation_text(hit: Hit) -> str:
    """One line: title, file, paragraph and character offsets."""
    p = hit.passage
    return f"{p.title} — {p.source}, paragraph {p.paragraph}, characters {p.start}–{p.end}"


def answer_sentence(hit: Hit) -> str:
    start, end = hit.answer
    return hit.passage.text[start:end]


def hit_to_json(hit: Hit) -> dict[str, Any]:
    p = hit.passage
    return {
        "rank": hit.rank, "score": round(hit.score, 6), "similarity": round(hit.similarity, 6),
        "below_threshold": hit.below_threshold, "text": p.text, "source": p.source,
        "title": p.title, "paragraph": p.paragraph, "start": p.start, "end": p.end,
        "answer": answer_sentence(hit), "answer_start": hit.answer_offsets[0],
        "answer_end": hit.answer_offsets[1], "citation": citation_text(hit),
    }


def hit_to_terminal(hit: Hit, width: int = 100) -> str:
    flag = "  [below threshold]" if hit.below_threshold else ""
    body = textwrap.fill(hit.passage.text, width=width, initial_indent="    ",
                         subsequent_indent="    ")
    return (f"{hit.rank}. score {hit.score:.3f}{flag}\n   {citation_text(hit)}\n"
            f"   answer: “{answer_sentence(hit)}”\n{body}")


def highlighted_html(text: str, span: tuple[int, int]) -> str:
    """The text, HTML-escaped, with the span wrapped in <mark>."""
    start, end = span
    return (html.escape(text[:start]) + "<mark>" + html.escape(text[start:end]) + "</mark>"
            + html.escape(text[end:]))


def hit_to_markdown(hit: Hit) -> str:
    return (f"### {hit.rank}. {hit.passage.title}\n\n> {hit.passage.text}\n\n"
            f"**Answer:** {answer_sentence(hit)}\n\n*{citation_text(hit)}; score {hit.score:.3f}*\n")
