"""A search's hits as HTML for the page: each hit's rank, score bar, source, page link,
passage with its answer sentence marked, and citation; the search's notices above them.
Everything in it is escaped."""

from __future__ import annotations

import html
from urllib.parse import quote

from qa.searching.search import Hit, SearchResult
from qa.showing.cite import citation_text, display_source, highlighted_html, page_label
from qa.showing.view_html import DOCUMENT_ROUTE, notice


def render_results(result: SearchResult) -> str:
    """The notices, then every hit, its score bar scaled to the best hit's score."""
    notices = "".join(notice(text) for text in result.notices)
    best = max((hit.score for hit in result.hits), default=0.0)
    return notices + "".join(render_hit(hit, best) for hit in result.hits)


def render_hit(hit: Hit, best_score: float) -> str:
    p = hit.passage
    share = 100.0 * max(hit.score, 0.0) / best_score if best_score > 0 else 0.0
    flag = " · below threshold" if hit.below_threshold else ""
    return (
        f'<div class="qa-hit" data-source="{html.escape(p.source, quote=True)}">'
        f'<div class="qa-head"><span class="qa-rank">#{hit.rank}</span>'
        f'<span class="qa-bar" title="score {hit.score:.3f}"><span style="width:{share:.0f}%">'
        f'</span></span><span>{hit.score:.3f}{flag}</span>'
        f"<b>{html.escape(p.title)}</b><span>{html.escape(display_source(p.source))}</span>"
        f"{_page_link(p.source, p.page, p.page_end)}<span>¶ {p.paragraph}</span></div>"
        f'<div class="qa-text">{highlighted_html(p.text, hit.answer)}</div>'
        f'<div class="qa-cite">{html.escape(citation_text(hit))}</div></div>'
    )


def _page_link(source: str, page: int | None, page_end: int | None) -> str:
    """For a PDF, its page range as a link that opens the file at that page."""
    if page is None:
        return ""
    href = f"{DOCUMENT_ROUTE.lstrip('/')}{quote(source)}#page={page}"
    return (f'<a class="qa-open" href="{html.escape(href, quote=True)}" target="_blank" '
            f'rel="noopener">{html.escape(page_label(page, page_end))}</a>')
