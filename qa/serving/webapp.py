"""The Gradio page: its layout, and the wiring of its events to the handlers of
qa.serving.handlers (plain functions of a reader's access, tested without a server). The wiring
only turns a request into an access and a handler's answer into Gradio's updates. The server
around the page (Gradio's folders, the guard, REST, MCP) is qa.serving.server."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files as package_files
from pathlib import Path
from typing import Any

import gradio as gr

from qa.core.access import EVERYONE, Access
from qa.core.settings import BUNDLED_DOCS, SEARCH_MODES
from qa.embedding.embed import Progress
from qa.library import QA
from qa.reading.readers import READERS
from qa.serving.api import (
    ApiInputError,
    PassageNotFound,
    judge_json,
    search_json,
    similar_json,
    status_json,
)
from qa.serving.handlers import ActionRefused, Answer, Handlers, ServerNotice, Shown
from qa.serving.history import QuestionHistory
from qa.serving.signin import SignIn
from qa.serving.watch import FolderWatcher
from qa.showing.exports import ExportFolder
from qa.showing.facets_html import QUERY_HELP
from qa.showing.hits_html import LIKE_PARAGRAPH_PARAMETER, LIKE_PARAMETER
from qa.showing.judged_html import NO_FIGURES
from qa.showing.view_html import DocumentViews, ViewRequest

EXAMPLES = [
    "When did the third ARF workshop on space security open?",
    "Why is amending the Outer Space Treaty not a workable solution?",
    "Which countries joined China in submitting working paper CD/1679?",
]

# The arguments of the JSON API's functions, in order.
SEARCH_ARGUMENTS = ("question", "k", "mode", "documents", "collapse", "group")
# The arguments search took before collapse and group: a call by list giving only these still
# works (the guard gives the later ones as null).
SEARCH_ARGUMENTS_BEFORE_SHAPING = 4
SIMILAR_ARGUMENTS = ("source", "paragraph", "k", "same_document", "collapse")
JUDGE_ARGUMENTS = ("question", "source", "paragraph", "verdict", "quote")


def static_text(name: str) -> str:
    """A file of qa/serving/static (the page's CSS and script), shipped inside the package."""
    return package_files("qa.serving").joinpath("static", name).read_text(encoding="utf-8")


# After a view is shown: the page's address opens it again (bookmark, share), and the cited
# place is scrolled into view (the answer's box or mark, else the passage).
SHOW_VIEW = static_text("show_view.js")
# A click on a facet, a chip's × or a past question asks the question it holds.
REFINE = static_text("refine.js")
# The recent questions of a page without sign-in, kept in the browser.
BROWSER_HISTORY = static_text("history.js")
# After a document was chosen: the question asked again when the hidden box says so.
ASK_AGAIN = "(asks) => { if (asks) document.querySelector('#qa-ask')?.click(); }"
# The hits' judging buttons send their judgement through the hidden box of `Judging`.
JUDGE = static_text("judge.js")


def citation_radio() -> gr.Radio:
    """The "Show a result in its document" radio group. Its value is checked by the handler
    (ViewRequest.from_json), not against Gradio's session copy of the choices: the server forgets idle
    sessions (`sessions_kept`) while their browsers still show the choices, and a click must
    still work then. (An instance override: a subclass would make Gradio write a .pyi file.)"""
    radio = gr.Radio([], label="Show a result in its document", elem_id="qa-show")
    radio.preprocess = lambda payload: payload  # type: ignore[method-assign]
    return radio


@dataclass(frozen=True)
class Page:
    """The Gradio app, and the files it may serve: Gradio's cached copies of qa's downloads."""

    blocks: gr.Blocks
    downloads: gr.File
    # Signed-in readers' recent questions; the REST API keeps and shows the same (one lock).
    history: QuestionHistory | None = None

    def served_files(self) -> list[set[str]]:
        return [self.downloads.temp_files]


@dataclass(frozen=True)
class Asking:
    """The question and its options."""

    question: gr.Textbox
    submit: gr.Button
    top_k: gr.Slider
    mode: gr.Radio
    sources: gr.Dropdown  # a document chosen adds its file: filter to the question
    group: gr.Checkbox
    every_copy: gr.Checkbox  # near-duplicates shown each as a hit (not collapsed)
    history: gr.HTML  # the reader's recent questions, under the box
    chosen_asks: gr.Textbox  # hidden: "ask" when a document chosen left a question to ask
    answered: gr.Textbox  # hidden: the question last answered, for the history ("" when refused)
    examples: gr.helpers.Examples | None  # questions about the bundled seeds, shown over them alone


@dataclass(frozen=True)
class Showing:
    """The results, their citations and downloads, and the document view with its buttons."""

    results: gr.HTML
    refinements: gr.HTML  # above the results: the filters in force as chips, the facets
    citations: gr.Textbox
    downloads: gr.File
    choice: gr.Radio
    controls: gr.Row
    moves: list[tuple[gr.Button, int, int]]  # a button, the pages it turns, the zoom steps
    document: gr.HTML
    state: gr.State

    @property
    def answer(self) -> list[Any]:
        return [self.results, self.citations, self.choice, self.downloads, self.refinements]

    @property
    def view(self) -> list[Any]:
        return [self.document, self.state, self.controls]


@dataclass(frozen=True)
class Judging:
    """Where a hit's judging button sends its judgement (hidden), the line saying so, and the
    panel of the reader's judged figures (kept as JSON in `figures`, shown in `panel`)."""

    sent: gr.Textbox
    send: gr.Button
    judged: gr.Markdown
    panel: gr.HTML
    recompute: gr.Button
    figures: gr.State


@dataclass(frozen=True)
class Uploads:
    """The "Add documents" panel: where files are dropped, and what became of them."""

    panel: gr.Accordion
    new_files: gr.File
    added: gr.Markdown


@dataclass(frozen=True)
class Panel:
    """The index's line with its Rebuild button, and the upload panel."""

    status: gr.Markdown
    rebuild: gr.Button | None
    uploads: Uploads | None = None


def build_page(qa: QA, exports: ExportFolder, uploads: bool = False, rebuild: bool = True,
               watcher: FolderWatcher | None = None, signin: SignIn | None = None,
               views: DocumentViews | None = None, notice: ServerNotice | None = None
               ) -> Page:
    """The page over `qa`; result downloads are written to `exports`; with `uploads`, a panel
    adds documents to the folder and refreshes the index; with `rebuild`, a button (and an API
    event) rebuilds the index; with `watcher`, the index panel follows what it applies; with
    `signin`, every handler answers within what the request's user may read; `views` shows a
    result in its document (one is made when not given); `notice` is shown under the index
    line (what the server's start-up build's check found)."""
    history = QuestionHistory(qa.settings.index_dir / "history") if signin else None
    handlers = Handlers(qa, exports, views or DocumentViews(qa, qa.settings.page_cache_mb
                                                            * 1_000_000), watcher, signin,
                        history, notice)
    with gr.Blocks(title="qa — ask your documents") as blocks:
        gr.Markdown("## qa — ask your documents\nPassages that answer, with citations you can "
                    "check by hand.")
        asking = _asking(qa, signed_in=signin is not None, examples=serves_bundled_docs(qa))
        showing = _showing()
        panel = _panel(handlers, rebuild, uploads)
        _wire(blocks, handlers, asking, showing, panel)
        _wire_judging(blocks, handlers, _reader(handlers), _judging(), asking.mode)
    return Page(blocks, showing.downloads, history)


def serves_bundled_docs(qa: QA) -> bool:
    """Whether `qa` serves the bundled seeds, which the page's example questions are about."""
    return qa.settings.docs_dir.resolve() == BUNDLED_DOCS.resolve()


def _asking(qa: QA, signed_in: bool, examples: bool) -> Asking:
    with gr.Row():
        question = gr.Textbox(label="Question", placeholder="Ask a question and press Enter",
                              scale=4, elem_id="qa-question", max_length=10_000)
        submit = gr.Button("Ask", variant="primary", scale=1, elem_id="qa-ask")
    gr.HTML(QUERY_HELP, elem_id="qa-query-help")
    history = gr.HTML(elem_id="qa-history")
    with gr.Row():
        top_k = gr.Slider(1, 20, value=qa.settings.top_k, step=1, label="Results")
        mode = gr.Radio(list(SEARCH_MODES), value=qa.settings.mode, label="Search")
        # Signed in, the list is filled per reader when the page loads.
        sources = gr.Dropdown([] if signed_in else qa.searcher.sources, multiselect=True,
                              value=[], label="Search within a document (adds a file: filter)",
                              elem_id="qa-sources")
        with gr.Column(scale=0, min_width=200):
            group = gr.Checkbox(False, label="One card per document", elem_id="qa-group")
            every_copy = gr.Checkbox(False, label="Show every copy", elem_id="qa-every-copy")
    shown_examples = gr.Examples(EXAMPLES, inputs=question) if examples else None
    chosen_asks = gr.Textbox(visible="hidden", elem_id="qa-chosen-asks")
    # A box, not a gr.State: the browser's history script reads it.
    answered = gr.Textbox(visible="hidden", elem_id="qa-answered")
    return Asking(question, submit, top_k, mode, sources, group, every_copy, history,
                  chosen_asks, answered, shown_examples)


def _showing() -> Showing:
    refinements = gr.HTML(elem_id="qa-refine")
    results = gr.HTML(elem_id="qa-results")
    with gr.Accordion("Citations, downloads and sources", open=True):
        citations = gr.Textbox(label="Citations", lines=3, buttons=["copy"],
                               interactive=False, elem_id="qa-citations")
        downloads = gr.File(label="Download results (Markdown, JSON)", file_count="multiple",
                            interactive=False, elem_id="qa-downloads")
        choice = citation_radio()
        with gr.Row(visible=False, elem_id="qa-view-controls") as controls:
            moves = [(gr.Button("← Previous page", size="sm", elem_id="qa-previous"), -1, 0),
                     (gr.Button("Next page →", size="sm", elem_id="qa-next"), 1, 0),
                     (gr.Button("Zoom out −", size="sm", elem_id="qa-zoom-out"), 0, -1),
                     (gr.Button("Zoom in +", size="sm", elem_id="qa-zoom-in"), 0, 1)]
        document = gr.HTML(elem_id="qa-document")
        state = gr.State("")
    return Showing(results, refinements, citations, downloads, choice, controls, moves,
                   document, state)


def _panel(handlers: Handlers, rebuild: bool, uploads: bool) -> Panel:
    with gr.Row():
        # Signed in, filled per reader when the page loads (the counts of what they may read).
        status = gr.Markdown("" if handlers.signin else handlers.status(EVERYONE),
                             elem_id="qa-status")
        rebuild_button = gr.Button("Rebuild index", scale=0) if rebuild else None
    if not uploads:
        return Panel(status, rebuild_button)
    with gr.Accordion("Add documents", open=False) as upload_panel:
        new_files = gr.File(label=f"Drop files here ({', '.join(READERS)})",
                            file_count="multiple", file_types=list(READERS),
                            type="filepath", elem_id="qa-upload")
        added = gr.Markdown(elem_id="qa-added")
    return Panel(status, rebuild_button, Uploads(upload_panel, new_files, added))


def _wire(blocks: gr.Blocks, handlers: Handlers, asking: Asking, showing: Showing,
          panel: Panel) -> None:
    """Every event of the page, each to its handler."""
    reader = _reader(handlers)
    _wire_index(handlers, reader, asking, panel)
    answer_of, asked = _wire_questions(handlers, reader, asking, showing)
    _wire_history(blocks, handlers, reader, asking, asked)
    show = _wire_views(handlers, reader, showing)

    def open_address(request: gr.Request) -> tuple[Any, ...]:
        """A page opened at an address a view wrote (?q=...&open=...): the question asked again
        and the view shown, so a bookmarked or shared view opens as it was."""
        params = dict(request.query_params) if request is not None else {}
        asked: tuple[Any, ...] = (gr.skip(),) * (1 + len(showing.answer))
        if params.get("q"):
            settings = handlers.qa.settings
            asked = (params["q"], *_answered(answer_of(params["q"], settings.top_k,
                                                       settings.mode, None, False, False,
                                                       request)))
        elif params.get(LIKE_PARAMETER):  # "More like this" on a hit
            asked = (gr.skip(), *_answered(handlers.similar(
                params[LIKE_PARAMETER], _whole(params.get(LIKE_PARAGRAPH_PARAMETER)),
                reader(request))))
        return (*asked, *show(ViewRequest.from_query(params), request))

    blocks.load(open_address, None, [asking.question, *showing.answer, *showing.view],
                api_visibility="private").then(None, js=SHOW_VIEW)
    blocks.load(None, js=REFINE)
    # Not queued: an MCP tool call then runs in the request that passed the guard (who it
    # is from goes with it), not through Gradio's loopback client, which has no sign-in.
    gr.api(_search_api(handlers, reader), api_name="search", queue=False)
    gr.api(_status_api(handlers, reader), api_name="status", queue=False)
    gr.api(_similar_api(handlers, reader), api_name="similar", queue=False)
    if handlers.signin is not None:
        _wire_signed_in(blocks, handlers, reader, asking, panel)
    else:
        _wire_status(blocks, handlers, reader, panel)
    if handlers.watcher is not None:
        _wire_watcher(handlers, reader, asking, panel)


Reader = Callable[[gr.Request | None], Access]


class Refusal(gr.Error):
    """A refused call, its message as said: gr.Error's str() is the message's repr, which
    Gradio's MCP server hands an agent as the error text, quotes and all."""

    def __str__(self) -> str:
        return str(self.message)


def _reader(handlers: Handlers) -> Reader:
    """Who a request is from, as the access the handlers answer within."""
    def reader(request: gr.Request | None) -> Access:
        return handlers.access_of(request.headers if request is not None else {})

    return reader


def _embedding_progress(progress: gr.Progress) -> Progress:
    def report(done: int, total: int) -> None:
        progress(done / max(total, 1), desc=f"embedding {done}/{total}")

    return report


def _wire_index(handlers: Handlers, reader: Reader, asking: Asking, panel: Panel) -> None:
    """Rebuild, and adding documents."""
    qa = handlers.qa

    def rebuild_index(request: gr.Request,
                      progress: gr.Progress = gr.Progress()  # noqa: B008
                      ) -> tuple[str, Any]:
        access = reader(request)
        try:
            line = handlers.rebuild(access, _embedding_progress(progress))
        except ActionRefused as error:
            raise Refusal(str(error)) from error
        return line, gr.update(choices=qa.sources(access))

    def add_documents(files: list[str] | None, request: gr.Request,
                      progress: gr.Progress = gr.Progress()  # noqa: B008
                      ) -> tuple[str, Any, str, None]:
        access = reader(request)
        lines = handlers.add([Path(f) for f in files or []], access,
                             _embedding_progress(progress))
        return (handlers.status(access), gr.update(choices=qa.sources(access)),
                "\n".join(f"- {line}" for line in lines), None)

    if panel.rebuild is not None:
        # Callable by name (the load benchmark rebuilds mid-run), not in the API docs.
        panel.rebuild.click(rebuild_index, None, [panel.status, asking.sources],
                            api_name="rebuild", api_visibility="undocumented")
    if panel.uploads is not None:
        uploads = panel.uploads
        uploads.new_files.upload(add_documents, uploads.new_files,
                                 [panel.status, asking.sources, uploads.added, uploads.new_files],
                                 api_visibility="private")


def _wire_questions(handlers: Handlers, reader: Reader, asking: Asking, showing: Showing
                    ) -> tuple[Callable[..., Answer], list[Any]]:
    """Asking by Enter, by the button and by an example; returns the handler (a page's address
    asks too) and the events."""
    def answer_of(question: str, k: float, mode: str, sources: list[str] | None, group: bool,
                  every_copy: bool, request: gr.Request | None) -> Answer:
        return handlers.ask(question, k, mode, sources, reader(request), bool(group),
                            bool(every_copy))

    def ask(question: str, k: float, mode: str, sources: list[str] | None, group: bool,
            every_copy: bool, request: gr.Request) -> tuple[Any, ...]:
        answer = answer_of(question, k, mode, sources, group, every_copy, request)
        # A refused question is said in the results; it is not kept in the history.
        return (*_answered(answer), "" if answer.refused else question)

    def choose(question: str, chosen: list[str] | None, request: gr.Request
               ) -> tuple[str, list[str], str]:
        within, asks = handlers.within(question, chosen, reader(request))
        return within, [], "ask" if asks else ""

    inputs = [asking.question, asking.top_k, asking.mode, asking.sources, asking.group,
              asking.every_copy]
    outputs = [*showing.answer, asking.answered]
    asked = [asking.question.submit(ask, inputs, outputs, api_name="ask",
                                    api_visibility="undocumented"),  # /search is documented
             asking.submit.click(ask, inputs, outputs, api_visibility="private")]
    if asking.examples is not None:  # an example clicked is asked, not only put in the box
        asked.append(asking.examples.load_input_event.then(ask, inputs, outputs,
                                                           api_visibility="private"))
    # A document chosen from the list becomes a filter in the question (a chip once asked);
    # the question is asked again when it has words to ask.
    asking.sources.input(choose, [asking.question, asking.sources],
                         [asking.question, asking.sources, asking.chosen_asks],
                         api_visibility="private").then(
        None, asking.chosen_asks, None, js=ASK_AGAIN)
    return answer_of, asked


def _wire_history(blocks: gr.Blocks, handlers: Handlers, reader: Reader, asking: Asking,
                  asked: list[Any]) -> None:
    """Each answered question kept in the reader's history (signed in, on the server; else in
    the browser), shown under the box from the page's load on."""
    def remember(question: str, request: gr.Request) -> str:
        return handlers.remember(question, reader(request))

    def recent(request: gr.Request) -> str:
        return handlers.recent(reader(request))

    for event in asked:
        if handlers.signin is not None:
            event.success(remember, asking.answered, asking.history, api_visibility="private")
        else:
            event.success(None, asking.answered, asking.history, js=BROWSER_HISTORY,
                          api_visibility="private")
    if handlers.signin is not None:
        blocks.load(recent, None, asking.history, api_visibility="private")
    else:
        blocks.load(None, None, asking.history, js=BROWSER_HISTORY, api_visibility="private")


def _answered(answer: Answer) -> tuple[Any, ...]:
    """An answer as the updates of Showing.answer."""
    return (answer.results, answer.citations, gr.update(choices=answer.choices, value=None),
            answer.downloads, answer.refinements)


def _whole(text: str | None) -> int:
    """A page address's paragraph number; 0 (no passage has it) when it is not one."""
    return int(text) if text and text.isdigit() and len(text) < 10 else 0


def _shown(shown: Shown) -> tuple[str, str, Any]:
    return shown.html, shown.state, gr.update(visible=shown.pictured)


def _wire_views(handlers: Handlers, reader: Reader, showing: Showing
                ) -> Callable[..., tuple[Any, ...]]:
    """Showing a result in its document, and its page and zoom buttons; returns the handler
    that shows a view (a page's address opens one too)."""
    def show(wanted: ViewRequest | None, request: gr.Request | None) -> tuple[str, str, Any]:
        return _shown(handlers.view(wanted, reader(request)))

    def show_document(choice: str | None, request: gr.Request) -> tuple[str, str, Any]:
        return show(ViewRequest.from_json(choice) if isinstance(choice, str) else None, request)

    def moved(turn: int, zoom: int) -> Callable[..., tuple[str, str, Any]]:
        def move(state: str, request: gr.Request) -> tuple[str, str, Any]:
            return _shown(handlers.move(state, turn, zoom, reader(request)))
        return move

    # Callable by name (benchmarks.view times it), not in the API docs.
    showing.choice.change(show_document, showing.choice, showing.view, api_name="view",
                          api_visibility="undocumented").then(None, js=SHOW_VIEW)
    for button, turn, zoom in showing.moves:
        button.click(moved(turn, zoom), showing.state, showing.view,
                     api_visibility="private").then(None, js=SHOW_VIEW)
    return show


def _search_api(handlers: Handlers, reader: Reader) -> Callable[..., dict[str, Any]]:
    """The JSON API and MCP tool; its docstring is the tool's help."""
    def search(question: str, k: int | None = None, mode: str | None = None,
               documents: list[str] | None = None, collapse: bool | None = None,
               group: str | None = None,
               request: gr.Request = None  # type: ignore[assignment]
               ) -> dict[str, Any]:
        """Search the user's documents; return the best passages, each with a citation.

        Args:
            question: A question; may hold "exact phrase", -word, type:pdf, in:folder/, after:2024.
            k: How many passages (documents, with group) to return, 1 to 100 (default 5).
            mode: "hybrid" (default), "dense" (meaning) or "lexical" (words).
            documents: Only search these files (names as in a hit's "source"); all when empty.
            collapse: false: every copy of a passage (default: copies in one hit's "also_in").
            group: "document": the k best documents, each with its passages; "none" (default).

        Returns:
            {"question", "hits": [{"rank", "score", "text", "source", "title", "paragraph",
            "start", "end", "answer", "citation", "also_in", ...}], "no_good_match",
            "notices", "collapsed", "facets": {"type", "folder", "year": [{"label", "count",
            "filter"}]}}; with group "document", also "groups": [{"source", "title", "score",
            "more", "hits"}].
        """
        try:
            return search_json(handlers.qa, question, k, mode, documents, reader(request),
                               _server_of(request), collapse, group)
        except ApiInputError as error:
            raise Refusal(str(error)) from error

    return search


def _similar_api(handlers: Handlers, reader: Reader) -> Callable[..., dict[str, Any]]:
    def similar(source: str, paragraph: int, k: int | None = None, same_document: bool = False,
                collapse: bool | None = None, request: gr.Request = None  # type: ignore[assignment]
                ) -> dict[str, Any]:
        """More like one passage: the passages closest in meaning to it, best first.

        Args:
            source: The passage's file (a hit's "source").
            paragraph: The passage's number in its file (a hit's "paragraph").
            k: How many passages to return, 1 to 100 (default 5).
            same_document: Also passages of the same file (default: other files only).
            collapse: false: every copy of a passage (default: near-duplicates shown once).

        Returns:
            {"like": {"source", "paragraph"}, "hits": [...], ...} as search returns them; an
            error when no such passage is indexed that you may read.
        """
        try:
            return similar_json(handlers.qa, source, paragraph, k, same_document,
                                reader(request), _server_of(request), collapse)
        except (ApiInputError, PassageNotFound) as error:
            raise Refusal(str(error)) from error

    return similar


def _status_api(handlers: Handlers, reader: Reader) -> Callable[..., dict[str, Any]]:
    def status(request: gr.Request) -> dict[str, Any]:
        """How big and how old the searched index is, in the documents you may read.

        Returns:
            {"status": "ok" or "unavailable", "documents", "passages", "model", "dense_index",
            "index_age_s", "watching", "notice"}; with "unavailable", an "error" saying why.
            "watching" is what the folder watcher is doing ("" when off), "notice" what the
            check of the server's start-up build found ("" for nothing).
        """
        access = reader(request)
        watcher, notice = handlers.watcher, handlers.notice
        return status_json(handlers.qa, access,
                           watcher.status.line(access.everything) if watcher is not None else "",
                           notice.text(access.everything) if notice is not None else "")

    return status


def _server_of(request: gr.Request | None) -> str:
    """The address the page was reached at (a hit's `url` points there); "" when unknown."""
    try:
        return str(request.base_url) if request is not None else ""
    except (AttributeError, KeyError, TypeError):
        return ""


def _judging() -> Judging:
    judged = gr.Markdown(elem_id="qa-judged")
    # Rendered but hidden: the page's script fills the box and presses the button.
    sent = gr.Textbox(visible="hidden", elem_id="qa-judgement")
    send = gr.Button("Send judgement", visible="hidden", elem_id="qa-judge-send")
    with gr.Accordion("Your judged questions: how well qa answers them", open=False,
                      elem_id="qa-figures-panel"):
        panel = gr.HTML(NO_FIGURES, elem_id="qa-figures")
        recompute = gr.Button("Recompute", size="sm", elem_id="qa-figures-recompute")
    return Judging(sent, send, judged, panel, recompute, gr.State(None))


def _wire_judging(blocks: gr.Blocks, handlers: Handlers, reader: Reader, judging: Judging,
                  mode: gr.Radio) -> None:
    """The hits' judging buttons, the figures panel (worked out again on its button and after
    each judgement; the page's search mode marked), and the `judge` tool of the JSON API and
    MCP."""
    def judge_sent(sent: str, request: gr.Request) -> str:
        try:
            return handlers.judge(sent or "", reader(request))
        except ActionRefused as error:
            raise Refusal(str(error)) from error

    def recompute(chosen: str, request: gr.Request) -> tuple[dict[str, Any], str]:
        figures = {**handlers.figures(reader(request)), "worked_out": time.time()}
        return figures, handlers.figures_html(figures, chosen)

    def shown(figures: dict[str, Any] | None, chosen: str) -> str:
        return handlers.figures_html(figures, chosen) if figures else gr.skip()

    figures_out = [judging.figures, judging.panel]
    judging.send.click(judge_sent, judging.sent, judging.judged, api_visibility="private"
                       ).success(recompute, mode, figures_out, api_visibility="private")
    judging.recompute.click(recompute, mode, figures_out, api_visibility="private")
    mode.change(shown, [judging.figures, mode], judging.panel, api_visibility="private")
    blocks.load(None, js=JUDGE)
    gr.api(_judge_api(handlers, reader), api_name="judge", queue=False)


def _judge_api(handlers: Handlers, reader: Reader) -> Callable[..., dict[str, Any]]:
    def judge(question: str, source: str | None = None, paragraph: int | None = None,
              verdict: str = "relevant", quote: str | None = None,
              request: gr.Request = None  # type: ignore[assignment]
              ) -> dict[str, Any]:
        """Judge a hit of a question: whether the passage answers it. Your judgements measure
        how well the search answers your folder (qa eval --judgements).

        Args:
            question: The question the hit was found for.
            source: The hit's file (its "source"); none with verdict "none".
            paragraph: The hit's "paragraph"; none with verdict "none".
            verdict: "relevant", "not relevant", or "none" (no hit answers the question).
            quote: Optional: the passage's words that answer (say the hit's "answer").

        Returns:
            {"judged": {"question", "source", "paragraph", "text_hash", "quote", "verdict",
            "time", "build", "user"}}; an error for a passage not indexed that you may read.
        """
        try:
            return judge_json(handlers.qa, question, source, paragraph, verdict,
                              reader(request), quote)
        except (ApiInputError, PassageNotFound) as error:
            raise Refusal(str(error)) from error

    return judge


def _wire_signed_in(blocks: gr.Blocks, handlers: Handlers, reader: Reader, asking: Asking,
                    panel: Panel) -> None:
    """The panel, the documents list and the buttons as the signed-in reader may see them.
    What a reader may not do is not shown: Rebuild needs write on everything, and the upload
    panel a folder to write to (the handlers refuse either way)."""
    whoami = gr.Markdown(elem_id="qa-user")
    shown = [panel.status, asking.sources, whoami,
             *([panel.rebuild] if panel.rebuild is not None else []),
             *([panel.uploads.panel] if panel.uploads is not None else [])]

    def show_signed_in(request: gr.Request) -> tuple[Any, ...]:
        access = reader(request)
        hidden = [gr.update(visible=access.may_write("*"))] if panel.rebuild is not None else []
        if panel.uploads is not None:
            hidden.append(gr.update(visible=access.upload_folder() is not None))
        return (handlers.status(access), gr.update(choices=handlers.qa.sources(access)),
                handlers.whoami(access), *hidden)

    blocks.load(show_signed_in, None, shown, api_visibility="private")


def _wire_status(blocks: gr.Blocks, handlers: Handlers, reader: Reader, panel: Panel) -> None:
    """The index line as it is when the page is opened: the one the page was built with is the
    server's start, older than what the watcher or an upload has indexed since."""
    def current_status(request: gr.Request) -> str:
        return handlers.status(reader(request))

    blocks.load(current_status, None, panel.status, api_visibility="private")


def _wire_watcher(handlers: Handlers, reader: Reader, asking: Asking, panel: Panel) -> None:
    """The panel's line every few seconds; the documents list once a batch was applied."""
    watcher = handlers.watcher
    assert watcher is not None

    def follow_watcher(seen: int, request: gr.Request) -> tuple[str, Any, int]:
        access = reader(request)
        applied = watcher.status.applied
        choices = (gr.update(choices=handlers.qa.sources(access)) if applied != seen
                   else gr.skip())
        return handlers.status(access), choices, applied

    seen = gr.State(watcher.status.applied)
    gr.Timer(3.0).tick(follow_watcher, seen, [panel.status, asking.sources, seen],
                       api_visibility="private", show_progress="hidden")
