"""The server around the page: the index and its watcher, Gradio's own folder, the guard in
front of every route (with the REST API and sign-in behind it), the MCP answers as JSON, and a
clean stop. `qa serve` and `app.py` call `launch`."""

from __future__ import annotations

import atexit
import errno
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from qa.core.settings import Settings
from qa.evaluating.judged import format_comparison, judged_gate
from qa.library import QA
from qa.serving.guard import RouteGuard
from qa.serving.handlers import ServerNotice, start_notice
from qa.serving.rest import rest_app
from qa.serving.signin import SignIn, no_sign_in, trusted_proxies
from qa.serving.users import UsersFile, UsersFileError
from qa.serving.watch import FolderWatcher, watcher_for
from qa.serving.webapp import (
    JUDGE_ARGUMENTS,
    SEARCH_ARGUMENTS,
    SEARCH_ARGUMENTS_BEFORE_SHAPING,
    SIMILAR_ARGUMENTS,
    Page,
    build_page,
    static_text,
)
from qa.showing.exports import ExportFolder, keep_pruning
from qa.showing.view_html import DocumentViews


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


def launch(settings: Settings, options: ServeOptions, block: bool = True) -> gr.Blocks:
    """Serve the page, the REST API (and with `options.mcp` the MCP tool) until stopped; with
    `block` false, return once it listens."""
    # The users file first: a mistake in it is one clear error before any index is built.
    signin = _signin(options.users) if options.users else None
    # And the port: Gradio finds it taken only after the index and model are loaded.
    _check_port(options.host, options.port)
    # uvicorn (which Gradio starts) rewrites a request's client address from X-Forwarded-For
    # when the peer is one it trusts, by default loopback: then anyone on this machine could
    # pick the address their failed sign-ins count against. Only the named proxies are trusted.
    os.environ["FORWARDED_ALLOW_IPS"] = trusted_proxies(settings.trusted_proxies)
    qa, watcher, notice = _open_index(settings)
    exports = ExportFolder(Path(tempfile.mkdtemp(prefix="qa-exports-")),
                           settings.downloads_kept_files, settings.downloads_kept_bytes)
    atexit.register(shutil.rmtree, exports.folder, ignore_errors=True)
    uploads_folder = _own_gradio_folder()
    uploads = options.uploads and not options.read_only
    views = DocumentViews(qa, settings.page_cache_mb * 1_000_000)
    built = build_page(qa, exports, uploads, rebuild=not options.read_only, watcher=watcher,
                       signin=signin, views=views, notice=notice)
    # Gradio copies every download into its cache; without pruning the copies pile up. Uploads
    # land there too, and one posted without its event would stay for ever.
    keep_pruning(built.served_files, settings.downloads_kept_seconds, uploads_folder,
                 settings.uploads_kept_seconds)
    page = built.blocks.queue(default_concurrency_limit=4)
    guard = _guard(qa, built, views, watcher, signin, options, uploads, notice)
    # Every API call is a new Gradio session holding a copy of the page's settings (tens of
    # kilobytes): without a cap they pile up to Gradio's default of 10,000 sessions.
    page.launch(server_name=options.host, server_port=options.port, css=static_text("page.css"),
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


def _check_port(host: str, port: int) -> None:
    """OSError, in one line saying what to do, when `port` on `host` cannot be listened on."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            # As uvicorn binds: a port left in TIME_WAIT by a stopped server counts as free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise OSError(f"port {port} on {host} is in use; choose another with --port"
                          ) from None
        raise OSError(f"cannot listen on {host} port {port}: {error.strerror or error}"
                      ) from None


def _open_index(settings: Settings) -> tuple[QA, FolderWatcher | None, ServerNotice | None]:
    """The library over the index, the watcher that follows the documents folder (None when
    off), and what the start-up build's check found (None: nothing to say). A watched folder
    is answered from the last index at once, while the watcher's first batch brings it up to
    date (a large folder's changes take a while); otherwise, or when no index for this model
    exists, it is brought up to date before the page opens."""
    qa = QA(settings)
    watcher = watcher_for(qa)
    notice = None
    if watcher is None or not qa.open_published():
        notice = _prepare_checked(qa)
    if watcher is not None:
        print(f"qa: following {settings.docs_dir} for changes ({watcher.how}); --no-watch turns "
              "it off", file=sys.stderr, flush=True)
        atexit.register(watcher.start(wait=False).stop)
    return qa, watcher, notice


def _prepare_checked(qa: QA) -> ServerNotice | None:
    """Bring the index up to date at start. A build with another model or chunking than the
    published one is checked on the judged questions first, as `qa index` checks it
    (docs/judging.md): old against new in the log, and a warning when it is worse; with
    keep_if_worse off it is declined and the published build, with its model, keeps serving."""
    gate = judged_gate(qa)
    qa.prepare(check=gate)
    if gate is None:
        return None
    threshold = qa.settings.judged_drop
    for line in format_comparison(gate, threshold):
        print(f"qa: {line}", file=sys.stderr, flush=True)
    notice = start_notice(gate, qa.not_in_use, threshold)
    if notice is not None and notice.log:
        print(f"qa: {notice.log}", file=sys.stderr, flush=True)
    return notice


def _guard(qa: QA, built: Page, views: DocumentViews, watcher: FolderWatcher | None,
           signin: SignIn | None, options: ServeOptions, uploads: bool,
           notice: ServerNotice | None) -> Middleware:
    """The guard in front of every route, with the REST API and the document files behind it."""
    return Middleware(RouteGuard, served_files=built.served_files,
                      uploads_allowed=uploads, document_file=qa.document_path,
                      monitoring=options.monitoring,
                      api_arguments={"search": SEARCH_ARGUMENTS, "similar": SIMILAR_ARGUMENTS,
                                     "judge": JUDGE_ARGUMENTS},
                      api_given={"search": SEARCH_ARGUMENTS_BEFORE_SHAPING},
                      rest=rest_app(qa, watcher, signin.access_of if signin else no_sign_in,
                                    built.history, notice),
                      signin=signin, page_image=views.page_png)


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
    """MCP clients get a tool's answer (the search result, the status) as JSON text: Gradio's
    MCP server writes str() of a returned dict, a Python repr that no agent can parse."""
    server = page.mcp_server_obj
    if server is None:
        return
    as_text = server.postprocess_output_data

    def postprocess(data: Any, root_url: str) -> Any:
        return as_text([json.dumps(output, ensure_ascii=False)
                        if isinstance(output, dict) else output
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
