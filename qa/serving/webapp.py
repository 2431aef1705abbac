"""The Gradio page: a thin layer over qa.library. Handlers are plain functions, tested directly."""

from __future__ import annotations

import atexit
import html
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import gradio as gr
from starlette.middleware import Middleware

from qa.core.access import EVERYONE, Access
from qa.core.settings import SEARCH_MODES, Settings
from qa.embedding.embed import Progress
from qa.library import QA, QuestionRefused
from qa.reading.isolation import ReadLimits, read_files
from qa.reading.load import SkippedFile, real_source
from qa.reading.readers import READERS
from qa.searching.search import Hit, SearchResult
from qa.serving.api import ApiInputError, search_json
from qa.serving.guard import DOCUMENT_ROUTE, RouteGuard
from qa.serving.rest import rest_app
from qa.serving.signin import SignIn, no_sign_in, trusted_proxies
from qa.serving.uploads import UploadRefused, safe_name, store_upload
from qa.serving.users import UsersFile, UsersFileError
from qa.serving.watch import FolderWatcher, watcher_for
from qa.showing.cite import citation_text, display_source, highlighted_html, page_label
from qa.showing.exports import ExportFolder, keep_pruning
from qa.showing.view_html import PICTURED_VIEW, DocumentViews, ViewRequest, zoomed

EXAMPLES = [
    "When did the third ARF workshop on space security open?",
    "Why is amending the Outer Space Treaty not a workable solution?",
    "Which countries joined China in submitting working paper CD/1679?",
]

CSS = """
.qa-hit {border: 1px solid #ddd; border-radius: 8px; padding: 10px 12px; margin: 8px 0;}
.qa-head {display: flex; flex-wrap: wrap; gap: 8px; align-items: center; font-size: 0.9em;}
.qa-rank {font-weight: bold;}
.qa-bar {display: inline-block; width: 80px; height: 8px; background: #eee; border-radius: 4px;}
.qa-bar > span {display: block; height: 8px; background: #4a7dd8; border-radius: 4px;}
.qa-text {margin-top: 6px; line-height: 1.45;}
.qa-text mark, .qa-view mark {background: #ffe58a; color: #000; text-decoration: underline;
  text-decoration-thickness: 2px; text-underline-offset: 2px;}
.qa-notice {padding: 8px 12px; background: #fff6d6; color: #000; border-radius: 6px;
  margin: 6px 0;}
.qa-cite {font-size: 0.85em; color: #555;}
.qa-open {font-size: 0.9em;}
.qa-view-head {display: flex; flex-wrap: wrap; gap: 6px; align-items: baseline;}
.qa-legend {font-size: 0.85em; color: #444; margin: 4px 0 8px 0;}
.qa-text-whole {white-space: pre-wrap; line-height: 1.5; max-height: 70vh; overflow: auto;
  padding: 8px 12px; border: 1px solid #ddd; border-radius: 6px; background: #fff; color: #111;}
.qa-title {font-size: 1.25em; font-weight: bold;}
.qa-heading {font-size: 1.1em; font-weight: bold;}
.qa-aside {color: #595959; font-style: italic;}
.qa-target {background: #e8f0ff; box-shadow: -4px 0 0 #1f4fb4; outline: 1px solid #1f4fb4;}
.qa-pagebreak::before {content: "— " attr(data-label) " —"; display: block; margin: 6px 0;
  font-size: 0.8em; color: #595959; border-top: 1px dashed #999; user-select: none;}
.qa-sheets {max-height: 80vh; overflow: auto; border: 1px solid #ddd; border-radius: 6px;
  padding: 8px; background: #f3f3f3;}
.qa-sheet {margin: 0 auto 12px auto; max-width: none;}
.qa-picture {position: relative;}
.qa-sheet img {display: block; width: 100%; height: auto; background: #fff;
  box-shadow: 0 1px 4px rgba(0, 0, 0, 0.3);}
.qa-sheet figcaption {font-size: 0.8em; color: #444; text-align: center;}
.qa-box {position: absolute; pointer-events: none; border-radius: 2px;}
.qa-box-passage {border: 2px dashed #1f4fb4; background: rgba(31, 79, 180, 0.08);}
.qa-box-answer {border: 2px solid #8a5a00; background: rgba(255, 214, 0, 0.35);}
.qa-view :focus-visible, #qa-view-controls button:focus-visible {outline: 3px solid #1f4fb4;}
@media (max-width: 600px) {.qa-bar {width: 50px;}}
"""

# After a view is shown: the page's address opens it again (bookmark, share), and the cited
# place is scrolled into view (the answer's box or mark, else the passage).
SHOW_VIEW = (
    "() => { setTimeout(() => { const view = document.querySelector('#qa-document .qa-view');"
    " if (!view) return; history.replaceState(null, '', '?' + view.dataset.query);"
    " const cited = view.querySelector('.qa-box-answer, mark, .qa-box-passage, .qa-target');"
    " if (cited) cited.scrollIntoView({block: 'center'}); }, 80); }"
)


def _notice(text: str) -> str:
    return f'<div class="qa-notice">{html.escape(text)}</div>'


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


def render_results(result: SearchResult) -> str:
    notices = "".join(_notice(text) for text in result.notices)
    best = max((hit.score for hit in result.hits), default=0.0)
    return notices + "".join(render_hit(hit, best) for hit in result.hits)


def index_status(qa: QA, watcher: FolderWatcher | None = None, access: Access = EVERYONE
                 ) -> str:
    """The index panel's line; a signed-in user counts only the documents they may read."""
    manifest = qa.searcher.manifest
    age = time.time() - manifest.created
    documents, passages = len(manifest.files), manifest.passage_count
    if not access.everything:
        readable = qa.documents(access)
        documents, passages = len(readable), sum(d.passages for d in readable)
    line = (f"**Index** · {documents} documents · {passages} passages · "
            f"model `{manifest.model.get('name')}` · {manifest.dense_index.get('kind')} search · "
            f"built {_age(age)} ago")
    return line + (f"  \n{html.escape(watcher.status.line(access.everything))}"
                   if watcher else "")


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


SEARCH_ARGUMENTS = ("question", "k", "mode", "documents")  # the /search API's, in order


@dataclass(frozen=True)
class ServeOptions:
    """How the page is served; the CLI fills it from flags, Gradio's variables and defaults."""

    host: str = "127.0.0.1"
    port: int = 7860
    mcp: bool = False
    uploads: bool = False
    read_only: bool = False  # no uploads and no Rebuild: nothing a visitor does writes anything
    monitoring: bool = False  # Gradio's /monitoring pages (every handler's counts and times)
    users: Path | None = None  # sign-in on: the users file (qa users add ...)


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

    def served_files(self) -> list[set[str]]:
        return [self.downloads.temp_files]


def _embedding_progress(progress: gr.Progress) -> Progress:
    def report(done: int, total: int) -> None:
        progress(done / max(total, 1), desc=f"embedding {done}/{total}")

    return report


def build_page(qa: QA, exports: ExportFolder, uploads: bool = False, rebuild: bool = True,
               watcher: FolderWatcher | None = None, signin: SignIn | None = None,
               views: DocumentViews | None = None) -> Page:
    """The page over `qa`; result downloads are written to `exports`; with `uploads`, a panel
    adds documents to the folder and refreshes the index; with `rebuild`, a button (and an API
    event) rebuilds the index; with `watcher`, the index panel follows what it applies; with
    `signin`, every handler answers within what the request's user may read; `views` shows a
    result in its document (one is made when not given)."""
    views = views or DocumentViews(qa, qa.settings.page_cache_mb * 1_000_000)

    def access(request: gr.Request | None) -> Access:
        if signin is None:
            return EVERYONE
        return signin.access_of(request.headers if request is not None else {})

    def ask(question: str, k: float, mode: str, sources: list[str] | None,
            request: gr.Request) -> tuple[Any, ...]:
        reader = access(request)
        try:
            result = qa.search(question or "", int(k), mode, sources or None,  # type: ignore[arg-type]
                               reader)
        except QuestionRefused as error:
            raise gr.Error(str(error)) from error
        citations = "\n".join(citation_text(h) for h in result.hits)
        owner = signin.export_tag(reader.user) if signin is not None else ""
        files = [str(path) for path in exports.export(result, owner)] if result.hits else None
        return (render_results(result), citations, gr.update(choices=citation_choices(result),
                                                              value=None), files)

    def search(question: str, k: int | None = None, mode: str | None = None,
               documents: list[str] | None = None, request: gr.Request = None  # type: ignore[assignment]
               ) -> dict[str, Any]:
        """Search the user's documents; return the best passages, each with a citation.

        Args:
            question: A natural-language question.
            k: How many passages to return, 1 to 100 (default 5).
            mode: "hybrid" (default), "dense" (meaning) or "lexical" (words).
            documents: Only search these files (names as in a hit's "source"); all when empty.

        Returns:
            {"question", "hits": [{"rank", "score", "text", "source", "title", "paragraph",
            "start", "end", "answer", "citation", ...}], "no_good_match", "notices"}.
        """
        try:
            return search_json(qa, question, k, mode, documents, access(request),
                               _server_of(request))
        except ApiInputError as error:
            raise gr.Error(str(error)) from error

    def view(wanted: ViewRequest | None, request: gr.Request | None) -> tuple[str, str, Any]:
        """The document view, the request it shows (the controls' state), and whether its page
        controls are shown (a picture of pages has them)."""
        if wanted is None:
            return "", "", gr.update(visible=False)
        shown = views.html(wanted, access(request))
        return shown, wanted.to_json(), gr.update(visible=shown.startswith(PICTURED_VIEW))

    def show_document(choice: str | None, request: gr.Request) -> tuple[str, str, Any]:
        return view(ViewRequest.from_json(choice) if isinstance(choice, str) else None, request)

    def moved(turn: int, zoom: int) -> Any:
        def move(state: str, request: gr.Request) -> tuple[str, str, Any]:
            wanted = ViewRequest.from_json(state) if state else None
            if wanted is not None:
                wanted = zoomed(views.turned(wanted, turn, access(request)), zoom)
            return view(wanted, request)
        return move

    def open_address(request: gr.Request) -> tuple[Any, ...]:
        """A page opened at an address a view wrote (?q=...&open=...): the question asked again
        and the view shown, so a bookmarked or shared view opens as it was."""
        params = dict(request.query_params) if request is not None else {}
        wanted = ViewRequest.from_query(params)
        asked: tuple[Any, ...] = (gr.skip(),) * 5
        if params.get("q"):
            asked = (params["q"], *ask(params["q"], qa.settings.top_k, qa.settings.mode, None,
                                       request))
        return (*asked, *view(wanted, request))

    def rebuild_index(request: gr.Request,
                      progress: gr.Progress = gr.Progress()  # noqa: B008
                      ) -> tuple[str, Any]:
        reader = access(request)
        if not reader.may_write("*"):  # a rebuild is everyone's: only a user who may write all
            raise gr.Error("Rebuilding needs write permission on every folder (--write '*').")
        summary = qa.index(force=True, progress=_embedding_progress(progress)).summary()
        return (index_status(qa, watcher, reader) + f"  \nRebuilt: {summary}",
                gr.update(choices=qa.sources(reader)))

    def follow_watcher(seen: int, request: gr.Request) -> tuple[str, Any, int]:
        """The panel's line every few seconds; the documents list once a batch was applied."""
        assert watcher is not None
        reader = access(request)
        applied = watcher.status.applied
        choices = gr.update(choices=qa.sources(reader)) if applied != seen else gr.skip()
        return index_status(qa, watcher, reader), choices, applied

    def add_documents(files: list[str] | None, request: gr.Request,
                      progress: gr.Progress = gr.Progress()  # noqa: B008
                      ) -> tuple[str, Any, str, None]:
        reader = access(request)
        lines = add_files(qa, [Path(f) for f in files or []], _embedding_progress(progress),
                          reader)
        return (index_status(qa, watcher, reader), gr.update(choices=qa.sources(reader)),
                "\n".join(f"- {line}" for line in lines), None)

    with gr.Blocks(title="qa — ask your documents") as page:
        gr.Markdown("## qa — ask your documents\nPassages that answer, with citations you can "
                    "check by hand.")
        with gr.Row():
            question = gr.Textbox(label="Question", placeholder="Ask a question and press Enter",
                                  scale=4, elem_id="qa-question", max_length=10_000)
            submit = gr.Button("Ask", variant="primary", scale=1, elem_id="qa-ask")
        with gr.Row():
            top_k = gr.Slider(1, 20, value=qa.settings.top_k, step=1, label="Results")
            mode = gr.Radio(list(SEARCH_MODES), value=qa.settings.mode, label="Search")
            sources = gr.Dropdown([] if signin else qa.searcher.sources, multiselect=True, value=[],
                                  label="Search within (all when empty)")
        gr.Examples(EXAMPLES, inputs=question)
        results = gr.HTML(elem_id="qa-results")
        with gr.Accordion("Citations, downloads and sources", open=True):
            citations = gr.Textbox(label="Citations", lines=3, buttons=["copy"],
                                   interactive=False, elem_id="qa-citations")
            downloads = gr.File(label="Download results (Markdown, JSON)", file_count="multiple",
                                interactive=False, elem_id="qa-downloads")
            choice = citation_radio()
            with gr.Row(visible=False, elem_id="qa-view-controls") as view_controls:
                previous_page = gr.Button("← Previous page", size="sm", elem_id="qa-previous")
                next_page = gr.Button("Next page →", size="sm", elem_id="qa-next")
                zoom_out = gr.Button("Zoom out −", size="sm", elem_id="qa-zoom-out")
                zoom_in = gr.Button("Zoom in +", size="sm", elem_id="qa-zoom-in")
            document = gr.HTML(elem_id="qa-document")
            shown_view = gr.State("")
        with gr.Row():
            # Filled per reader when the page loads (the counts of what they may read).
            status = gr.Markdown("" if signin else index_status(qa, watcher),
                                 elem_id="qa-status")
            if rebuild:
                rebuild_button = gr.Button("Rebuild index", scale=0)
                # Callable by name (the load benchmark rebuilds mid-run), not in the API docs.
                rebuild_button.click(rebuild_index, None, [status, sources], api_name="rebuild",
                                     api_visibility="undocumented")
        if uploads:
            with gr.Accordion("Add documents", open=False) as upload_panel:
                new_files = gr.File(label=f"Drop files here ({', '.join(READERS)})",
                                    file_count="multiple", file_types=list(READERS),
                                    type="filepath", elem_id="qa-upload")
                added = gr.Markdown(elem_id="qa-added")
            new_files.upload(add_documents, new_files, [status, sources, added, new_files],
                             api_visibility="private")

        outputs = [results, citations, choice, downloads]
        question.submit(ask, [question, top_k, mode, sources], outputs, api_name="ask",
                        api_visibility="undocumented")  # /search is the documented API
        submit.click(ask, [question, top_k, mode, sources], outputs, api_visibility="private")
        view_outputs = [document, shown_view, view_controls]
        # Callable by name (benchmarks.view times it), not in the API docs.
        choice.change(show_document, choice, view_outputs, api_name="view",
                      api_visibility="undocumented").then(None, js=SHOW_VIEW)
        for button, turn, zoom in ((previous_page, -1, 0), (next_page, 1, 0), (zoom_out, 0, -1),
                                   (zoom_in, 0, 1)):
            button.click(moved(turn, zoom), shown_view, view_outputs,
                         api_visibility="private").then(None, js=SHOW_VIEW)
        page.load(open_address, None, [question, *outputs, *view_outputs],
                  api_visibility="private").then(None, js=SHOW_VIEW)
        # Not queued: an MCP tool call then runs in the request that passed the guard (who it
        # is from goes with it), not through Gradio's loopback client, which has no sign-in.
        gr.api(search, api_name="search", queue=False)
        if signin is not None:
            # What this reader may not do is not shown: Rebuild needs write on everything, and
            # the upload panel a folder to write to (the handlers refuse either way).
            whoami = gr.Markdown(elem_id="qa-user")
            shown = [status, sources, whoami, *([rebuild_button] if rebuild else []),
                     *([upload_panel] if uploads else [])]

            def show_signed_in(request: gr.Request) -> tuple[Any, ...]:
                """The panel, the documents list and the buttons as this user may see them."""
                reader = access(request)
                hidden = [gr.update(visible=reader.may_write("*"))] if rebuild else []
                if uploads:
                    hidden.append(gr.update(visible=reader.upload_folder() is not None))
                return (index_status(qa, watcher, reader), gr.update(choices=qa.sources(reader)),
                        f"Signed in as **{html.escape(str(reader.user))}** · "
                        "[sign out](/logout)", *hidden)

            page.load(show_signed_in, None, shown, api_visibility="private")
        if watcher is not None:
            seen = gr.State(watcher.status.applied)
            gr.Timer(3.0).tick(follow_watcher, seen, [status, sources, seen],
                               api_visibility="private", show_progress="hidden")
    return Page(page, downloads)


def _server_of(request: gr.Request | None) -> str:
    """The address the page was reached at (a hit's `url` points there); "" when unknown."""
    try:
        return str(request.base_url) if request is not None else ""
    except (AttributeError, KeyError, TypeError):
        return ""


def add_files(qa: QA, uploaded: list[Path], progress: Progress | None = None,
              access: Access = EVERYONE) -> list[str]:
    """Store uploaded files in the documents folder (in the folder `access` may write to),
    refresh the index; one line per outcome. A stored file qa then cannot read is removed
    again, with the reason."""
    lines, added = [], []
    folder = access.upload_folder()
    if folder is None:
        for path in uploaded:
            path.unlink(missing_ok=True)
        return [f"refused: {access.user} may not add documents (no write permission)"]
    read_failures = _unreadable_uploads(qa.settings, uploaded)
    for path in uploaded:
        try:
            if path in read_failures:
                raise UploadRefused(f"{path.name}: not added, {read_failures[path]}")
            if not access.may_write(_in_folder(folder, safe_name(path.name))):
                raise UploadRefused(f"{path.name}: not added, {folder or 'the top folder'} is "
                                    "not yours to write")
            target = qa.settings.docs_dir / folder
            target.mkdir(parents=True, exist_ok=True)
            if folder and real_source(target, qa.settings.docs_dir) != folder:
                # Judged on where the folder really is, as reading is: an upload to a
                # public/uploads that links to hr/ would land in hr/.
                raise UploadRefused(f"{path.name}: not added, {folder} is a link to another "
                                    "folder")
            stored = store_upload(target, path.name, path, qa.settings.max_file_bytes)
        except (UploadRefused, OSError) as error:
            lines.append(f"refused: {error}")
            continue
        finally:
            path.unlink(missing_ok=True)  # Gradio's copy: the folder now holds the file
        name = _in_folder(folder, stored.name)
        if stored.new:
            added.append(name)
        else:
            lines.append(f"{name}: already in the folder")
    if not added:
        return lines
    report = qa.index(progress=progress)
    unreadable = {skip.source: skip.reason for skip in report.skipped}
    for name in added:
        if name in unreadable:
            (qa.settings.docs_dir / name).unlink(missing_ok=True)
            lines.append(f"{name}: not added, {unreadable[name]}")
        else:
            lines.append(f"added {name}")
    return [*lines, f"index: {report.summary()}"]


def _in_folder(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _unreadable_uploads(settings: Settings, uploaded: list[Path]) -> dict[Path, str]:
    """Why each upload that qa cannot read is so, found by reading it in a worker (under the
    read limits) before it joins the folder: a file that would hang a build is never stored,
    so it can neither hold the build lock for long nor stall the next start."""
    readable = [path for path in uploaded if path.suffix.lower() in READERS and path.is_file()]
    limits = ReadLimits.of(settings)
    by_name = {str(path): path for path in readable}
    return {by_name[outcome.source]: outcome.reason
            for outcome in read_files([(str(path), path) for path in readable], limits)
            if isinstance(outcome, SkippedFile)}


def _own_gradio_folder() -> Path:
    """A folder of this server's own for Gradio's uploads and cached downloads (inside
    GRADIO_TEMP_DIR when set), removed at exit: its pruner then never deletes another server's
    files, and nothing is left behind."""
    parent = os.environ.get("GRADIO_TEMP_DIR") or None
    folder = Path(tempfile.mkdtemp(prefix="qa-gradio-", dir=parent))
    os.environ["GRADIO_TEMP_DIR"] = str(folder)  # read by Gradio as it makes the page and app
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _answers_in_json(page: gr.Blocks) -> None:
    """MCP clients get the search result as JSON text: Gradio's MCP server writes str() of a
    returned dict, a Python repr that no agent can parse."""
    server = page.mcp_server_obj
    if server is None:
        return
    as_text = server.postprocess_output_data

    def postprocess(data: Any, root_url: str) -> Any:
        return as_text([json.dumps(output, ensure_ascii=False)
                        if isinstance(output, dict) and "hits" in output else output
                        for output in data], root_url)

    server.postprocess_output_data = postprocess  # type: ignore[method-assign]


def _signin(users_path: Path) -> SignIn:
    """Sign-in over a users file that must exist and hold someone (a clear error otherwise)."""
    users = UsersFile(users_path)
    if not users.users():
        raise UsersFileError(f"{users_path} holds no user: add one with `qa users add NAME "
                             f"--folders GLOBS --users {users_path}`")
    warning = users.warn_if_readable_by_others()
    if warning:
        print(f"qa: {warning}", file=sys.stderr, flush=True)
    print(f"qa: sign-in on ({len(users.users())} users in {users_path}); the API needs "
          "Authorization: Bearer TOKEN", file=sys.stderr, flush=True)
    return SignIn(users)


def launch(settings: Settings, options: ServeOptions, block: bool = True) -> gr.Blocks:
    # The users file first: a mistake in it is one clear error before any index is built.
    signin = _signin(options.users) if options.users else None
    # uvicorn (which Gradio starts) rewrites a request's client address from X-Forwarded-For
    # when the peer is one it trusts, by default loopback: then anyone on this machine could
    # pick the address their failed sign-ins count against. Only the named proxies are trusted.
    os.environ["FORWARDED_ALLOW_IPS"] = trusted_proxies(settings.trusted_proxies)
    qa = QA(settings)
    watcher = watcher_for(qa)
    # A watched folder is answered from the last index at once, while the watcher's first
    # batch brings it up to date (a large folder's changes take a while); otherwise, or when
    # no index for this model exists, it is brought up to date before the page opens.
    if watcher is None or not qa.open_published():
        qa.prepare()
    if watcher is not None:
        print(f"qa: following {settings.docs_dir} for changes ({watcher.how}); --no-watch turns "
              "it off", file=sys.stderr, flush=True)
        atexit.register(watcher.start(wait=False).stop)
    exports = ExportFolder(Path(tempfile.mkdtemp(prefix="qa-exports-")),
                           settings.downloads_kept_files, settings.downloads_kept_bytes)
    atexit.register(shutil.rmtree, exports.folder, ignore_errors=True)
    uploads_folder = _own_gradio_folder()
    uploads = options.uploads and not options.read_only
    views = DocumentViews(qa, settings.page_cache_mb * 1_000_000)
    built = build_page(qa, exports, uploads, rebuild=not options.read_only, watcher=watcher,
                       signin=signin, views=views)
    # Gradio copies every download into its cache; without pruning the copies pile up. Uploads
    # land there too, and one posted without its event would stay for ever.
    keep_pruning(built.served_files, settings.downloads_kept_seconds, uploads_folder,
                 settings.uploads_kept_seconds)
    page = built.blocks.queue(default_concurrency_limit=4)
    guard = Middleware(RouteGuard, served_files=built.served_files,
                       uploads_allowed=uploads, document_file=qa.document_path,
                       monitoring=options.monitoring, api_arguments={"search": SEARCH_ARGUMENTS},
                       rest=rest_app(qa, watcher, signin.access_of if signin else no_sign_in),
                       signin=signin, page_image=views.page_png)
    # Every API call is a new Gradio session holding a copy of the page's settings (tens of
    # kilobytes): without a cap they pile up to Gradio's default of 10,000 sessions.
    page.launch(server_name=options.host, server_port=options.port, css=CSS,
                state_session_capacity=settings.sessions_kept,
                prevent_thread_lock=True, show_error=True, footer_links=[],
                max_file_size=settings.max_file_bytes, mcp_server=options.mcp,
                auth=signin.check_password if signin else None,
                auth_message="Sign in with your qa name and password." if signin else None,
                app_kwargs={"middleware": [guard]})
    if signin is not None:
        signin.attach(page.server_app)
    # Launch made the MCP server (and already listens): a tool call in this first instant would
    # still get Gradio's repr text.
    _answers_in_json(page)
    if block:
        # `kill` and service managers stop a server with SIGTERM, which by default skips atexit:
        # turned into a normal exit, the export and upload folders are removed.
        signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(0))
        page.block_thread()
    return page
