"""A search's hits as HTML for the page: each hit's rank, score bar, source, page link,
passage with its answer sentence marked, citation, the places of its collapsed copies and a
"More like this" link; a grouped result as one card per document, its other passages folded
under it; the search's notices above them. Everything in it is escaped."""

from __future__ import annotations

import html
from urllib.parse import quote, urlencode

from qa.searching.search import DocumentGroup, Hit, SearchResult
from qa.showing.cite import (
    citation_text,
    display_source,
    highlighted_html,
    page_label,
    place_label,
    view_url,
)
from qa.showing.view_html import DOCUMENT_ROUTE, notice

# The page's own address parameters for "More like this" (qa.serving.webapp reads them).
LIKE_PARAMETER, LIKE_PARAGRAPH_PARAMETER = "like", "paragraph"


def render_results(result: SearchResult) -> str:
    """The notices, then every hit (or every document's card), its score bar scaled to the
    best hit's score."""
    notices = "".join(notice(text) for text in result.notices)
    best = max((hit.score for hit in result.hits), default=0.0)
    if result.groups is not None:
        return notices + "".join(render_group(group, number, best, result.question)
                                 for number, group in enumerate(result.groups, 1))
    return (notices + "".join(render_hit(hit, best, result.question) for hit in result.hits)
            + _none_answers(result))


def render_group(group: DocumentGroup, number: int, best_score: float, question: str = "") -> str:
    """A document's card: its best hit, then "N more passages in this document", expandable."""
    more = group.hits[1:]
    folded = "" if not more else (
        f'<details class="qa-more"><summary>{len(more)} more passage'
        f'{"s" if len(more) > 1 else ""} in this document</summary>'
        + "".join(render_hit(hit, best_score, question) for hit in more) + "</details>")
    return (f'<div class="qa-group" data-source="{html.escape(group.source, quote=True)}">'
            f'<div class="qa-group-head">Document {number}</div>'
            f"{render_hit(group.best, best_score, question)}{folded}</div>")


def render_hit(hit: Hit, best_score: float, question: str = "") -> str:
    p = hit.passage
    share = 100.0 * max(hit.score, 0.0) / best_score if best_score > 0 else 0.0
    flag = " · below threshold" if hit.below_threshold else ""
    return (
        f'<div class="qa-hit" data-source="{html.escape(p.source, quote=True)}">'
        f'<div class="qa-head"><span class="qa-rank">#{hit.rank}</span>'
        f'<span class="qa-bar" title="score {hit.score:.3f}"><span style="width:{share:.0f}%">'
        f'</span></span><span>{hit.score:.3f}{flag}</span>'
        f"<b>{html.escape(p.title)}</b><span>{html.escape(display_source(p.source))}</span>"
        f"{_page_link(p.source, p.page, p.page_end)}<span>¶ {p.paragraph}</span>"
        f"{_like_link(hit)}</div>"
        f'<div class="qa-text">{highlighted_html(p.text, hit.answer)}</div>'
        f'<div class="qa-cite">{html.escape(citation_text(hit))}</div>'
        f"{_also_in(hit, question)}{_judge_buttons(hit, question)}</div>"
    )


def _judge_buttons(hit: Hit, question: str) -> str:
    """"relevant" and "not relevant" for a hit of a question (not of "more like this"): the
    page's script (static/judge.js) sends the button's data to the judge handler."""
    if not question:
        return ""
    p = hit.passage
    data = (f'data-question="{html.escape(question, True)}" '
            f'data-source="{html.escape(p.source, True)}" data-paragraph="{p.paragraph}" '
            f'data-quote="{html.escape(p.text[hit.answer[0]:hit.answer[1]], True)}"')
    return ('<div class="qa-judge" role="group" aria-label="Does this passage answer the '
            'question?">'
            f'<button type="button" class="qa-judge-button" data-verdict="relevant" {data}>'
            "relevant</button>"
            f'<button type="button" class="qa-judge-button" data-verdict="not relevant" '
            f"{data}>not relevant</button></div>")


def _none_answers(result: SearchResult) -> str:
    """"answered by none of these", once under a question's hits."""
    if not result.hits or not result.question:
        return ""
    return ('<div class="qa-judge qa-judge-none"><button type="button" '
            'class="qa-judge-button" data-verdict="none" '
            f'data-question="{html.escape(result.question, True)}">answered by none of these'
            "</button></div>")


def _also_in(hit: Hit, question: str) -> str:
    """"also in: b.pdf p. 3 ¶ 4, c.docx ¶ 12", each place a link that opens it on the page."""
    if not hit.copies:
        return ""
    links = ", ".join(
        f'<a class="qa-copy" href="{html.escape(view_url("", question, copy).lstrip("/"), True)}"'
        f">{html.escape(place_label(copy))}</a>" for copy in hit.copies)
    return f'<div class="qa-also">also in: {links}</div>'


def _like_link(hit: Hit) -> str:
    """A link that opens the page with the passages most like this one."""
    query = urlencode({LIKE_PARAMETER: hit.passage.source,
                       LIKE_PARAGRAPH_PARAMETER: hit.passage.paragraph})
    return (f'<a class="qa-like" href="?{html.escape(query, quote=True)}" '
            f'title="Passages of other documents most like this one">More like this</a>')


def _page_link(source: str, page: int | None, page_end: int | None) -> str:
    """For a PDF, its page range as a link that opens the file at that page."""
    if page is None:
        return ""
    href = f"{DOCUMENT_ROUTE.lstrip('/')}{quote(source)}#page={page}"
    return (f'<a class="qa-open" href="{html.escape(href, quote=True)}" target="_blank" '
            f'rel="noopener">{html.escape(page_label(page, page_end))}</a>')
