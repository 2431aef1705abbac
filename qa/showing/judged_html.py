"""The page's figures panel: how well qa answers the reader's judged questions (the figures of
`qa eval --judgements`, as qa.evaluating.judged's JudgedReport.to_json gives them), one row per
mode, the mode the reader searches in marked, with what the figures rest on. Everything in it is
escaped."""

from __future__ import annotations

import html
import time
from collections.abc import Mapping
from typing import Any

FIGURES = ("recall@1", "recall@5", "mrr@10", "ndcg@10")  # qa.evaluating.judged.FIGURES
NO_FIGURES = ('<p class="qa-figures-empty">No judged question yet: mark hits <b>relevant</b> or '
         '<b>not relevant</b> (or a question <b>answered by none</b>), and the figures of '
         'your judged questions show here.</p>')


def render_figures(figures: Mapping[str, Any] | None, chosen: str, served: str,
                   threshold: float) -> str:
    """The panel for one reader's `figures`, with `chosen` (the page's search mode) marked; a
    line under the table when the chosen mode scores more than `threshold` below `served` (the
    mode searches use by default) on any figure. With a `worked_out` time (seconds since the
    epoch) among the figures, the panel says when they were worked out."""
    if not figures:
        return NO_FIGURES
    modes: Mapping[str, Mapping[str, float]] = figures.get("modes", {})
    first = next(iter(modes.values()), {})
    # Figures are means over questions with a relevant passage: with none, there are no
    # figures to show (a row of 0.000 would read as a measured failure).
    if not first.get("questions"):
        judged = any(figures.get(count) for count in ("judgements", "stale", "unjudged"))
        empty = ('<p class="qa-figures-empty">Nothing to score yet: no judged question has a '
                 'passage judged relevant.</p>'
                 + _resting(figures, first)) if judged else NO_FIGURES
        return f'<div class="qa-figures"{_worked_out(figures)}>{empty}</div>'

    rows = "".join(_row(mode, values, mode == chosen) for mode, values in modes.items())
    head = "".join(f'<th scope="col">{html.escape(name)}</th>' for name in FIGURES)
    return (f'<div class="qa-figures" data-user="{html.escape(str(figures.get("user", "")))}"'
            f'{_worked_out(figures)}>'
            f'{_resting(figures, first)}<table><thead><tr><th scope="col">mode</th>{head}'
            f'</tr></thead><tbody>{rows}</tbody></table>'
            f'{_drop(modes, chosen, served, threshold)}</div>')


def _resting(figures: Mapping[str, Any], first: Mapping[str, float]) -> str:
    """What the figures rest on: questions, judgements, and what was left out."""
    parts = [f'{first.get("questions", 0)} questions with a relevant passage',
             f'{first.get("unanswerable", 0)} answered by none',
             f'{figures.get("judgements", 0)} judgements']
    if figures.get("stale"):
        parts.append(f'{figures["stale"]} stale (their passage changed), left out')
    if figures.get("unjudged"):
        parts.append(f'{figures["unjudged"]} questions judged only "not relevant", left out')
    when = figures.get("worked_out")
    at = f" (as of {time.strftime('%H:%M:%S', time.localtime(when))})" if when else ""
    return (f'<p class="qa-figures-basis">Your judged questions '
            f'({html.escape(str(figures.get("user", "")))}){at}: '
            f'{html.escape(", ".join(parts))}.</p>')


def _worked_out(figures: Mapping[str, Any]) -> str:
    when = figures.get("worked_out")
    return f' data-worked-out="{float(when):.6f}"' if when else ""


def _row(mode: str, values: Mapping[str, float], chosen: bool) -> str:
    cells = "".join(f'<td data-figure="{name}">{values.get(name, 0.0):.3f}</td>'
                    for name in FIGURES)
    mark = ' <span class="qa-figures-mark">(searching)</span>' if chosen else ""
    chosen_class = " qa-figures-chosen" if chosen else ""
    return (f'<tr class="qa-figures-mode{chosen_class}" data-mode="{html.escape(mode)}">'
            f'<th scope="row">{html.escape(mode)}{mark}</th>{cells}</tr>')


def _drop(modes: Mapping[str, Mapping[str, float]], chosen: str, served: str,
          threshold: float) -> str:
    """The line saying the chosen mode scores below the served one, and by how much."""
    if chosen == served or chosen not in modes or served not in modes:
        return ""
    fallen = {name: modes[served][name] - modes[chosen][name] for name in FIGURES}
    worse = [f"{name} −{drop:.3f}" for name, drop in fallen.items()
             if round(drop - threshold, 9) > 0]
    if not worse:
        return ""
    return (f'<p class="qa-figures-drop" role="status">{html.escape(chosen)} scores below '
            f'{html.escape(served)} on your judged questions: {html.escape(", ".join(worse))}.'
            '</p>')
