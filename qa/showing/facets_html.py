"""What the page shows around a search's hits, to work the results: the filters in force as
removable chips, the result's facets as filters to add, the reader's recent questions, and
the query syntax's help. Each clickable element is a button whose `data-qa-query` is the
question it asks next (the page's script, qa/serving/static/refine.js, puts it in the box and
asks). Everything in it is escaped."""

from __future__ import annotations

import html
from collections.abc import Sequence

from qa.searching.facets import Facets, FacetValue, document_filter
from qa.searching.query import QueryError, QueryPart, query_parts

ASKS = "data-qa-query"  # the attribute that holds the question a click asks


def without(question: str, part: QueryPart) -> str:
    """The question with one of its parts cut out (and its spacing tidied)."""
    return " ".join((question[:part.start] + " " + question[part.end:]).split())


def with_filter(question: str, filter_text: str) -> str:
    """The question with a filter added at its end."""
    return " ".join(f"{question} {filter_text}".split())


def with_documents(question: str, sources: Sequence[str]) -> str:
    """The question with the filter that keeps each of `sources` (several keep what either
    keeps): how the page's documents list, and a REST search's `documents`, read as a query."""
    for source in sources:
        question = with_filter(question, document_filter(source))
    return question


def _parts(question: str) -> list[QueryPart]:
    try:
        return query_parts(question)
    except QueryError:  # the search refused it, and said why
        return []


def _filters(question: str) -> set[str]:
    """The question's filters as name:value, case folded: what tells one already in force."""
    return {f"{part.name}:{part.value}".casefold() for part in _parts(question)
            if part.kind == "filter"}


def render_chips(question: str) -> str:
    """The question's filters and constraints as chips, each with a × that asks the question
    without it; "" when it has none."""
    chips = "".join(
        f'<span class="qa-chip">{html.escape(question[part.start:part.end])}'
        f'<button type="button" class="qa-chip-remove" {ASKS}="'
        f'{html.escape(without(question, part), quote=True)}" aria-label="Remove '
        f'{html.escape(question[part.start:part.end], quote=True)}" title="Remove">×</button>'
        "</span>" for part in _parts(question))
    return f'<div class="qa-chips" aria-label="Filters in force">{chips}</div>' if chips else ""


def render_facets(question: str, facets: Facets) -> str:
    """The facets, each value a button that adds its filter to the question; a value whose
    filter is already in force (or that no filter can say) is shown without one."""
    if not facets:
        return ""
    in_force = _filters(question)
    rows = "".join(
        f'<div class="qa-facet-row"><span class="qa-facet-name">{name}</span>'
        + "".join(_facet_value(question, value, in_force) for value in values) + "</div>"
        for name, values in (("Type", facets.types), ("Folder", facets.folders),
                             ("Year", facets.years)) if values)
    return f'<div class="qa-facets" aria-label="Narrow the results">{rows}</div>'


def _facet_value(question: str, value: FacetValue, in_force: set[str]) -> str:
    label = f"{html.escape(value.label)} <span class=\"qa-count\">{value.count}</span>"
    if not value.filter or _filters(value.filter) <= in_force:
        return f'<span class="qa-facet qa-facet-fixed">{label}</span>'
    return (f'<button type="button" class="qa-facet" {ASKS}="'
            f'{html.escape(with_filter(question, value.filter), quote=True)}" '
            f'title="{html.escape(value.filter, quote=True)}">{label}</button>')


def render_refinements(question: str, facets: Facets | None) -> str:
    """Chips, then facets (when there are any): what the page shows above the hits."""
    return render_chips(question) + (render_facets(question, facets) if facets else "")


def render_history(questions: Sequence[str]) -> str:
    """The recent questions, newest first, each a button that asks it again; "" for none.
    (qa/serving/static/history.js draws the same for a reader without sign-in.)"""
    if not questions:
        return ""
    buttons = "".join(
        f'<button type="button" class="qa-past" {ASKS}="{html.escape(question, quote=True)}">'
        f"{html.escape(question)}</button>" for question in questions)
    return f'<div class="qa-history"><span class="qa-facet-name">Recent</span>{buttons}</div>'


# The query syntax in short, behind the help link by the question box (docs/search.md is its
# whole page).
QUERY_HELP = """<details class="qa-help" id="qa-help"><summary>Query syntax</summary>
<table>
<tr><td><code>"exact phrase"</code></td><td>every hit contains the phrase</td></tr>
<tr><td><code>+word</code></td><td>every hit contains the word</td></tr>
<tr><td><code>-word</code>, <code>-"a phrase"</code></td><td>no hit contains it</td></tr>
<tr><td><code>type:pdf</code></td><td>files of that suffix or kind (<code>type:slides</code>,
<code>type:sheet</code>, <code>type:scan</code>, <code>type:mail</code>, …)</td></tr>
<tr><td><code>in:reports/2024/</code></td><td>files under that folder</td></tr>
<tr><td><code>file:budget*.xlsx</code></td><td>files whose name matches the glob</td></tr>
<tr><td><code>title:annual</code></td><td>documents whose title holds the word</td></tr>
<tr><td><code>after:2024-03-01</code>, <code>before:2024</code></td><td>files modified from
that day, or before it (<code>YYYY-MM-DD</code>, <code>YYYY-MM</code>, <code>YYYY</code>)</td></tr>
<tr><td><code>page:3</code>, <code>page:3-7</code></td><td>passages on those pages</td></tr>
</table>
<p>The rest is the question, ranked as usual. Example: <code>lease end "notice period" -draft
type:pdf in:contracts/ after:2023</code></p></details>"""
