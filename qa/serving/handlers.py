"""The page's handlers: plain functions of a reader's `Access` over qa.library, each answering
within what that reader may read or write. No Gradio here: qa.serving.webapp wires them to the
page's events, and the tests call them directly."""

from __future__ import annotations

import html
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from qa.core.access import EVERYONE, Access
from qa.embedding.embed import Progress
from qa.evaluating.judged import (
    FIGURES,
    BuildComparison,
    JudgedGate,
    evaluate_judgements,
    judged_gate,
)
from qa.indexing.judgements import LOCAL_USER
from qa.library import QA, NotInUse, QuestionRefused, read_query
from qa.searching.search import SearchResult
from qa.serving.api import ApiInputError, PassageNotFound, judge_json
from qa.serving.history import QuestionHistory
from qa.serving.signin import SignIn
from qa.serving.watch import FolderWatcher
from qa.showing.cite import citation_text, display_source
from qa.showing.exports import ExportFolder
from qa.showing.facets_html import render_history, render_refinements, with_documents
from qa.showing.hits_html import render_results
from qa.showing.judged_html import render_figures
from qa.showing.view_html import PICTURED_VIEW, DocumentViews, ViewRequest, notice, zoomed


class ActionRefused(ValueError):
    """What a reader asked of the page is not theirs to do; the message says why."""


def index_status(qa: QA, watcher: FolderWatcher | None = None, access: Access = EVERYONE
                 ) -> str:
    """The index panel's line; a signed-in user counts only the documents they may read."""
    status = qa.status(access)
    line = (f"**Index** · {status.documents} documents · {status.passages} passages · "
            f"model `{status.model}` · {status.dense_index} search · "
            f"built {_age(time.time() - status.built)} ago")
    return line + (f"  \n{html.escape(watcher.status.line(access.everything))}"
                   if watcher else "")


def _compared(gate: JudgedGate | None, threshold: float) -> str:
    """The rebuild's judged figures, old against new, as Markdown tables under the panel's
    line, and a warning for each user's that fell ("" when no build was checked)."""
    if gate is None or not gate.comparisons:
        return ""
    parts = [_comparison_table(c) for c in gate.comparisons]
    for c in gate.worse(threshold):
        parts.append(f"**Warning**: the new build scores worse on {html.escape(c.user)}'s "
                     f"judged questions: {_fallen(c, threshold)} (more than judged_drop "
                     f"{threshold:g}).")
    return "\n\n" + "\n\n".join(parts)


def _fallen(c: BuildComparison, threshold: float) -> str:
    return ", ".join(f"{name} −{drop:.3f}" for name, drop in c.drops(threshold).items())


@dataclass(frozen=True)
class ServerNotice:
    """What the server says under the index line from its start on: `full` to a reader who
    may read everything, `brief` to others (other users' names and figures are not theirs to
    see); `log` is its line in the server's log ("" when the comparison's lines say it)."""

    full: str
    brief: str
    log: str = ""

    def line(self, detail: bool) -> str:
        return self.full if detail else self.brief

    def text(self, detail: bool) -> str:
        """The notice as plain text, for JSON answers (REST's health, the status tool)."""
        return html.unescape(self.line(detail).replace("**", ""))


def start_notice(gate: JudgedGate, not_in_use: NotInUse | None, threshold: float
                 ) -> ServerNotice | None:
    """What the check of the start-up build found, for the page and the log: a worse build
    published, or one declined (its settings not in use); None when there is nothing to say."""
    if not_in_use is not None:
        asked, in_use = not_in_use.asked_text(), not_in_use.in_use_text()
        head = f"{asked}, asked for at start: the build made with it was not published"
        tail = (f"the old build ({in_use}) keeps serving. To use {asked} anyway, start with "
                "--keep-if-worse=yes (or QA_KEEP_IF_WORSE=on)")
        return ServerNotice(
            f"**Not in use: {html.escape(head)}**, {html.escape(not_in_use.why)}; "
            f"{html.escape(tail)}.",
            f"**Not in use: {html.escape(head)}**, it scores worse on the judged questions; "
            f"the old build ({html.escape(in_use)}) keeps serving.",
            f"NOT IN USE: {head}, {not_in_use.why}; {tail}")
    worse = gate.worse(threshold)
    if not worse:
        return None
    said = "**Warning**: the build made at start with new settings scores worse on the judged " \
           "questions than the build it replaced"
    fallen = "; ".join(f"{html.escape(c.user)}: {_fallen(c, threshold)}" for c in worse)
    return ServerNotice(f"{said} ({fallen}; more than judged_drop {threshold:g}).", f"{said}.")


def _comparison_table(c: BuildComparison) -> str:
    rows = [("replaced", c.replaced), ("new", c.new)]
    title = (f"Judged questions of {html.escape(c.user)} ({c.mode}; {c.questions} questions, "
             f"{c.judgements} judgements){'' if c.replaced else ', no build to compare with'}:")
    lines = [title, "", "| build | " + " | ".join(FIGURES) + " |",
             "|---" + "|---:" * len(FIGURES) + "|"]
    lines += [f"| {name} | " + " | ".join(f"{values[figure]:.3f}" for figure in FIGURES) + " |"
              for name, values in rows if values is not None]
    return "\n".join(lines)


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


def citation_choices(result: SearchResult) -> list[tuple[str, str]]:
    """(label, value) per hit; the value is the hit's ViewRequest as JSON, so any character in
    a file name survives."""
    return [(f"#{h.rank} {display_source(h.passage.source)} ¶{h.passage.paragraph}",
             ViewRequest(h.passage.source, h.passage.paragraph, h.answer_offsets,
                         question=result.question).to_json()) for h in result.hits]


def add_files(qa: QA, uploaded: list[Path], progress: Progress | None = None,
              access: Access = EVERYONE) -> list[str]:
    """Add uploaded files to the documents folder through `QA.add_documents`; one line per
    outcome. Gradio's copies are removed either way: the folder now holds what was added."""
    try:
        outcome = qa.add_documents(uploaded, access, progress)
    finally:
        for path in uploaded:
            path.unlink(missing_ok=True)
    lines = [f"{skip.source}: not added, {skip.reason}" for skip in outcome.skipped]
    lines += [f"added {name}" for name in outcome.added]
    return lines + ([f"index: {outcome.index.summary()}"] if outcome.index else [])


@dataclass(frozen=True)
class Answer:
    """What the page shows for a question."""

    results: str  # the hits as HTML, notices first
    citations: str  # one citation a line
    choices: list[tuple[str, str]]  # the "Show a result in its document" choices
    downloads: list[str] | None  # the result files (Markdown, JSON); None without hits
    refinements: str = ""  # above the hits: the filters in force as chips, the facets
    refused: bool = False  # the question could not be searched; `results` says why


@dataclass(frozen=True)
class Shown:
    """A document view as the page shows it."""

    html: str  # "" when nothing is shown
    state: str  # the shown ViewRequest as JSON: what the page and zoom buttons move from
    pictured: bool  # a picture of pages, with page and zoom buttons


@dataclass(frozen=True)
class Handlers:
    """The page's handlers: each answers within what `access` may read or write."""

    qa: QA
    exports: ExportFolder
    views: DocumentViews
    watcher: FolderWatcher | None = None
    signin: SignIn | None = None
    history: QuestionHistory | None = None  # signed-in readers' recent questions
    notice: ServerNotice | None = None  # what the start-up build's check found

    def access_of(self, headers: Mapping[str, str]) -> Access:
        return EVERYONE if self.signin is None else self.signin.access_of(headers)

    def status(self, access: Access) -> str:
        line = index_status(self.qa, self.watcher, access)
        return line + (f"  \n{self.notice.line(access.everything)}" if self.notice else "")

    def ask(self, question: str, k: float, mode: str, sources: list[str] | None,
            access: Access, group: bool = False, every_copy: bool = False) -> Answer:
        """The hits (with `group`, one card per document; with `every_copy`, near-duplicates
        not collapsed), their citations and downloads; a question that cannot be searched
        gives a `refused` answer: why, where the hits go, and every other panel emptied."""
        try:
            result = self.qa.search(question or "", int(k), mode, sources or None,  # type: ignore[arg-type]
                                    access, group=group, collapse=False if every_copy else None)
        except QuestionRefused as error:
            # One message the reader can act on, not an error on each panel.
            return Answer(notice(str(error)), "", [], None, refused=True)
        answer = self._answer(result, access)
        facets = self.qa.facets(result) if result.hits else None
        return replace(answer, refinements=render_refinements(question or "", facets))

    def within(self, question: str, chosen: list[str] | None, access: Access
               ) -> tuple[str, bool]:
        """The question with a filter for each document chosen from the page's list (that
        `access` may read), and whether it now has words to ask: the list adds filters to the
        question, shown as chips, not a scope of its own."""
        readable = set(self.qa.sources(access))
        question = with_documents(question or "", [s for s in chosen or [] if s in readable])
        try:
            return question, bool(read_query(question).question)
        except QuestionRefused:  # an unclosed quote: left for the reader to see and fix
            return question, False

    def similar(self, source: str, paragraph: int, access: Access) -> Answer:
        """The passages most like one passage, as an answer; a notice alone when there is no
        such passage `access` may read (never saying which of the two)."""
        result = self.qa.similar(source, paragraph, access=access)
        if result is None:
            result = SearchResult("", [], [f"No passage {paragraph} of {display_source(source)} "
                                           "is indexed that you may read."])
        return self._answer(result, access)

    def _answer(self, result: SearchResult, access: Access) -> Answer:
        owner = self.signin.export_tag(access.user) if self.signin is not None else ""
        downloads = ([str(path) for path in self.exports.export(result, owner)]
                     if result.hits else None)
        return Answer(render_results(result), "\n".join(citation_text(h) for h in result.hits),
                      citation_choices(result), downloads)

    def remember(self, question: str, access: Access) -> str:
        """Keep an answered question in a signed-in reader's history; the history as the page
        shows it ("" without sign-in: the browser keeps that one)."""
        if self.history is None or access.user is None:
            return ""
        return render_history(self.history.add(access.user, question or ""))

    def recent(self, access: Access) -> str:
        """A signed-in reader's recent questions as the page shows them."""
        if self.history is None or access.user is None:
            return ""
        return render_history(self.history.recent(access.user))

    def view(self, wanted: ViewRequest | None, access: Access) -> Shown:
        if wanted is None:
            return Shown("", "", False)
        shown = self.views.html(wanted, access)
        return Shown(shown, wanted.to_json(), shown.startswith(PICTURED_VIEW))

    def move(self, state: str, turn: int, zoom: int, access: Access) -> Shown:
        """The shown view `turn` pages on and `zoom` steps larger."""
        wanted = ViewRequest.from_json(state) if state else None
        if wanted is not None:
            wanted = zoomed(self.views.turned(wanted, turn, access), zoom)
        return self.view(wanted, access)

    def rebuild(self, access: Access, progress: Progress | None = None) -> str:
        """Rebuild the whole index; the panel's line with what it did."""
        if not access.may_write("*"):  # a rebuild is everyone's: only a user who may write all
            raise ActionRefused("Rebuilding needs write permission on every folder "
                                "(--write '*').")
        # The rebuilder's judged questions are searched in the new build before it is
        # published (docs/judging.md): old against new, and a warning when it is worse.
        gate = judged_gate(self.qa, [access.user or LOCAL_USER], access)
        report = self.qa.index(force=True, progress=progress, check=gate)
        line = self.status(access) + f"  \nRebuilt: {report.summary()}"
        if report.declined:
            line += f"  \n**Not published**: {html.escape(report.declined)}."
        return line + _compared(gate, self.qa.settings.judged_drop)

    def figures(self, access: Access) -> dict[str, Any]:
        """The reader's judged figures, each mode's (`qa eval --judgements`'s numbers)."""
        return evaluate_judgements(self.qa, access=access).to_json()

    def figures_html(self, figures: Mapping[str, Any] | None, mode: str) -> str:
        """The figures panel, the page's search `mode` marked."""
        settings = self.qa.settings
        return render_figures(figures, mode, settings.mode, settings.judged_drop)

    def add(self, uploaded: list[Path], access: Access, progress: Progress | None = None
            ) -> list[str]:
        return add_files(self.qa, uploaded, progress, access)

    def judge(self, sent: str, access: Access) -> str:
        """Record the judgement a hit's button sent ({"question", "source", "paragraph",
        "verdict", "quote"} as JSON); the line the page shows for it."""
        try:
            wanted = json.loads(sent)
            judged = judge_json(self.qa, wanted.get("question"), wanted.get("source"),
                                wanted.get("paragraph"), wanted.get("verdict"), access,
                                wanted.get("quote"))["judged"]
        except (json.JSONDecodeError, AttributeError):
            raise ActionRefused("The judgement sent by the page could not be read.") from None
        except (ApiInputError, PassageNotFound) as error:
            raise ActionRefused(str(error)) from error
        if judged["verdict"] == "none":
            return f"Judged: no hit answers “{html.escape(judged['question'])}”."
        return (f"Judged {html.escape(display_source(judged['source']))} ¶ "
                f"{judged['paragraph']} {judged['verdict']}.")

    def whoami(self, access: Access) -> str:
        return (f"Signed in as **{html.escape(str(access.user))}** · "
                "[sign out](/logout)")
