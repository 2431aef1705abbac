"""What the page's server decides before Gradio sees a request.

Every route Gradio has is judged in ROUTES (a route added by a Gradio upgrade is refused until it
is judged there, and a test fails until then): what the page needs passes; what writes or serves
files qa does not hand out is closed. Uploads pass only when they are on; Gradio's file routes
(both spellings) serve only what qa handed out itself, so an uploaded file is never served back;
Gradio's monitoring pages only when asked for; and /qa/documents/NAME serves an indexed document
from the documents folder (PDF links open at their page), nothing else."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.core.access import EVERYONE, Access
from qa.serving.signin import SignIn
from qa.showing.view_html import DOCUMENT_ROUTE, PAGE_ROUTE

UPLOAD_ROUTE = "/gradio_api/upload"
FILE_ROUTE = "/gradio_api/file="
REST_PREFIX = "/api"

# Gradio's routes (as its router spells them) and what qa lets through: "page" passes, "closed"
# is refused, "files" serves only qa's downloads, "upload" passes when uploads are on,
# "monitoring" when the server was started with --monitoring.
ROUTES: dict[str, str] = {
    **dict.fromkeys([
        "/", "/config", "/config/", "/svelte/{path:path}", "/static/{path:path}",
        "/assets/{path:path}", "/favicon.ico", "/theme.css", "/robots.txt", "/pwa_icon",
        "/pwa_icon/{size}", "/manifest.json", "/openapi.json", "/login", "/login/", "/logout",
        "/gradio_api/deep_link", "/gradio_api/user", "/gradio_api/user/",
        "/gradio_api/login_check", "/gradio_api/login_check/", "/gradio_api/token",
        "/gradio_api/token/", "/gradio_api/app_id", "/gradio_api/app_id/", "/gradio_api/info",
        "/gradio_api/info/", "/gradio_api/openapi.json", "/gradio_api/reset",
        "/gradio_api/reset/", "/gradio_api/heartbeat/{session_hash}",
        "/gradio_api/api/{api_name}", "/gradio_api/api/{api_name}/",
        "/gradio_api/run/{api_name}", "/gradio_api/run/{api_name}/",
        "/gradio_api/call/{api_name}", "/gradio_api/call/{api_name}/",
        "/gradio_api/call/{api_name}/{event_id}", "/gradio_api/call/v2/{api_name}",
        "/gradio_api/call/v2/{api_name}/", "/gradio_api/call/v2/{api_name}/{event_id}",
        "/gradio_api/queue/join", "/gradio_api/queue/data", "/gradio_api/queue/status",
        "/gradio_api/cancel", "/gradio_api/component_server", "/gradio_api/component_server/",
        "/gradio_api/upload_progress", "/gradio_api/startup-events", "/gradio_api/theme.css",
        "/gradio_api/mcp", "/gradio_api/mcp/{path:path}",
    ], "page"),
    # qa streams no media, records no audio, proxies nothing, has no custom components, no run
    # history and no vibe editor: those routes write or serve files qa never handed out.
    **dict.fromkeys([
        "/gradio_api/process_recording", "/gradio_api/proxy={url_path:path}",
        "/gradio_api/custom_component/{id}/{environment}/{type}/{file_name}",
        "/gradio_api/stream/{event_id}", "/gradio_api/stream/{event_id}/close",
        "/gradio_api/stream/{session_hash}/{run}/{component_id}/playlist.m3u8",
        "/gradio_api/stream/{session_hash}/{run}/{component_id}/{segment_id}.{ext}",
        "/gradio_api/stream/{session_hash}/{run}/{component_id}/playlist-file",
        "/gradio_api/dev/reload", "/gradio_api/runs", "/gradio_api/runs/",
        "/gradio_api/run-history/connect", "/gradio_api/run-history/buckets",
        "/gradio_api/run-history/records",
        "/gradio_api/run-history/records/{endpoint}/{record_id}/assets/{asset_id}",
        "/gradio_api/vibe-edit", "/gradio_api/vibe-edit/", "/gradio_api/undo-vibe-edit",
        "/gradio_api/undo-vibe-edit/", "/gradio_api/vibe-code", "/gradio_api/vibe-code/",
        "/gradio_api/vibe-starter-queries", "/gradio_api/vibe-starter-queries/",
    ], "closed"),
    "/gradio_api/file={path_or_url:path}": "files",
    "/gradio_api/file/{path:path}": "files",
    UPLOAD_ROUTE: "upload",
    **dict.fromkeys(["/monitoring", "/monitoring/summary", "/monitoring/{key}"], "monitoring"),
}


def _pattern(route: str) -> str:
    """A regular expression for one of Gradio's route templates."""
    parts = re.split(r"(\{[^}]+\})", route)
    return "".join(("(.*)" if part.endswith(":path}") else "([^/]*)") if part.startswith("{")
                   else re.escape(part) for part in parts)


# Longest templates first: "/gradio_api/file=..." must win over nothing shorter by accident.
_JUDGED = [(re.compile(_pattern(route) + "$"), verdict, route)
           for route, verdict in sorted(ROUTES.items(), key=lambda item: -len(item[0]))]


def verdict(path: str) -> tuple[str, str]:
    """The verdict for a request path and the template it matched; ("unjudged", "") if none."""
    for pattern, judged, route in _JUDGED:
        match = pattern.match(path)
        if match:
            return judged, match.group(1) if judged == "files" else route
    return "unjudged", ""


async def _no_page(name: str, page: int, width: int, access: Access) -> bytes | None:
    return None


class RouteGuard:
    """ASGI middleware in front of the Gradio app.

    `served_files` returns the paths qa's own outputs put in Gradio's cache (the downloads); only
    those leave through the file route. `uploads_allowed` says whether the upload route is open.
    """

    def __init__(self, app: ASGIApp, served_files: Callable[[], Iterable[set[str]]],
                 uploads_allowed: bool,
                 document_file: Callable[[str, Access], Path | None] = lambda name, access: None,
                 monitoring: bool = False,
                 api_arguments: dict[str, tuple[str, ...]] | None = None,
                 api_given: dict[str, int] | None = None,
                 rest: ASGIApp | None = None, signin: SignIn | None = None,
                 page_image: Callable[[str, int, int, Access], Awaitable[bytes | None]]
                 = _no_page) -> None:
        self.app = app
        self.signin = signin  # None: no sign-in, every reader reads everything (loopback)
        self.rest = rest  # the REST API's own app (qa.serving.rest), handed every path under /api/
        # Named APIs whose calls are checked for arguments they do not take (Gradio drops them
        # silently, so a misspelt or extra argument would go unnoticed).
        self.api_arguments = api_arguments or {}
        # Of those, the APIs whose later arguments came later: a call by list that gives at
        # least this many arguments gets the rest as null (their defaults), so a caller
        # written before they came keeps working (Gradio refuses a short list).
        self.api_given = api_given or {}
        self.served_files = served_files
        self.uploads_allowed = uploads_allowed
        self.document_file = document_file
        # (source, page, width, access): its PNG, or None if refused; awaited on the event loop
        self.page_image = page_image
        self.monitoring = monitoring

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        access = EVERYONE
        attempt: tuple[str, ...] = ()  # a sign-in being checked, settled by its answer
        if scope["type"] == "http" and self.signin is not None:
            admission = await self.signin.admit(scope)
            if admission.refusal:
                await _refuse(send, admission.refusal, status=admission.status)
                return
            scope = {**scope, "headers": admission.headers}
            access = self.signin.access(admission.user)
            attempt = admission.attempt
        if scope["type"] == "http" and verdict(scope["path"])[0] != "upload":
            # Gradio and FastAPI read a body whole before looking at it: a body over the limit
            # is refused here, before anything of it is held (uploads stream to disk in Gradio,
            # each file under QA_MAX_FILE_BYTES).
            bounded = await _bounded_body(scope, receive)
            if bounded is None:
                if attempt and self.signin is not None:
                    self.signin.failures.settle(*attempt, failed=True)
                await _refuse(send, f"the request's body is over {_MAX_BODY:,} bytes", status=413)
                return
            receive = bounded
        if attempt:
            await self._settling(attempt, scope, receive, send)
            return
        if scope["type"] == "http" and self.rest is not None and (
                scope["path"] + "/").startswith(REST_PREFIX + "/"):
            await self.rest(scope, receive, send)
            return
        if scope["type"] == "http" and scope["path"].startswith(DOCUMENT_ROUTE):
            await self._document(scope, receive, send, access)
            return
        if scope["type"] == "http" and scope["path"].startswith(PAGE_ROUTE):
            await self._page(scope, receive, send, access)
            return
        if scope["type"] == "http":
            refusal = self._refusal(scope["path"], access)
            if refusal:
                await _refuse(send, refusal, status=404 if refusal == "not found" else 403)
                return
            api_name = _called_api(scope)
            if api_name in self.api_arguments:
                body = await _body(receive, _MAX_BODY) or b""  # within it: bounded above
                refusal = _argument_refusal(body, api_name, self.api_arguments[api_name])
                if refusal:
                    await _refuse(send, refusal, status=422)
                    return
                if api_name in self.api_given:
                    body = _padded(body, self.api_given[api_name],
                                   len(self.api_arguments[api_name]))
                receive = _replay(body)
        await self.app(scope, receive, send)

    async def _settling(self, attempt: tuple[str, ...], scope: Scope, receive: Receive,
                        send: Send) -> None:
        """Gradio's login, its reserved attempt settled by the answer: refused (400, 401) or
        never answered, it counts as a failure; signed in, it is dropped."""
        assert self.signin is not None
        failures, settled = self.signin.failures, False

        async def settling(message: Message) -> None:
            nonlocal settled
            if message["type"] == "http.response.start" and not settled:
                settled = True
                failures.settle(*attempt, failed=message["status"] in (400, 401))
            await send(message)

        try:
            await self.app(scope, receive, settling)
        finally:
            if not settled:
                failures.settle(*attempt, failed=True)

    async def _document(self, scope: Scope, receive: Receive, send: Send, access: Access
                        ) -> None:
        from starlette.responses import FileResponse

        path = self.document_file(scope["path"][len(DOCUMENT_ROUTE):], access)
        if path is None:
            await _refuse(send, "not an indexed document", status=404)
            return
        # A PDF opens in the browser's viewer (at #page=N); anything else is a download, and
        # sandboxed, so a saved web page's scripts never run on this server's origin.
        pdf = path.suffix.lower() == ".pdf"
        headers = {"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"}
        response = FileResponse(path, headers=None if pdf else headers,
                                content_disposition_type="inline" if pdf else "attachment",
                                filename=path.name)
        await response(scope, receive, send)

    async def _page(self, scope: Scope, receive: Receive, send: Send, access: Access) -> None:
        """A rendered page of an indexed PDF or image (?page=N&width=W; the widths the viewer
        asks for), awaited: renders run in a pool of their own, and the server keeps
        answering meanwhile."""
        from urllib.parse import parse_qs

        from starlette.responses import Response

        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        try:
            number, width = int(query["page"][0]), int(query["width"][0])
        except (KeyError, ValueError, IndexError):
            await _refuse(send, "a page needs ?page=N&width=W", status=422)
            return
        name = scope["path"][len(PAGE_ROUTE):]
        image = await self.page_image(name, number, width, access)
        if image is None:
            await _refuse(send, "no such page of an indexed PDF or image", status=404)
            return
        headers = {"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"}
        await Response(image, media_type="image/png", headers=headers)(scope, receive, send)

    def _refusal(self, path: str, access: Access) -> str:
        judged, detail = verdict(path)
        if judged == "page":
            return ""
        if judged == "upload":
            if not self.uploads_allowed:
                return "uploads are turned off on this server"
            # Signed in, only a user with somewhere to write may send a file at all.
            if self.signin is not None and access.upload_folder() is None:
                return f"{access.user} may not add documents (no write permission)"
            return ""
        if judged == "files":
            return "" if self._served(detail, access) else \
                "this server only serves its own downloads"
        if judged == "monitoring":
            return "" if self.monitoring else "monitoring is off (qa serve --monitoring)"
        if judged == "closed":
            return "this server does not offer that route"
        return "not found"

    def _served(self, requested: str, access: Access) -> bool:
        wanted = os.path.abspath(requested)
        if self.signin is not None:  # signed in, each user downloads only their own results
            owned = f"qa-results-{self.signin.export_tag(access.user)}-"
            if access.user is None or not os.path.basename(wanted).startswith(owned):
                return False
        return any(wanted in files for files in self.served_files())


_API_CALL = re.compile(r"^/gradio_api/(?:call/v2|call|run|api)/([^/]+)/?$")
_MAX_BODY = 1_000_000  # bytes of a request's body, uploads aside: a question is far smaller


def _called_api(scope: Scope) -> str:
    """The api_name a POST starts a call of, or ""."""
    match = _API_CALL.match(scope["path"]) if scope.get("method") == "POST" else None
    return match.group(1) if match else ""


async def _bounded_body(scope: Scope, receive: Receive) -> Receive | None:
    """`receive` for a request whose body is within _MAX_BODY bytes; None for one over it,
    known by its Content-Length without reading any of it, or, sent without one (chunked), by
    reading no more than _MAX_BODY + 1 bytes of it. The server delivers no more than a
    Content-Length says, so a body that declares its length is passed on unread."""
    headers = dict(scope.get("headers") or [])
    declared = headers.get(b"content-length")
    if declared is not None:
        return receive if declared.isdigit() and int(declared) <= _MAX_BODY else None
    if b"transfer-encoding" not in headers:
        return receive  # no body
    body = await _body(receive, _MAX_BODY)
    return None if body is None else _replay(body)


async def _body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it is over `limit` bytes (the rest is left unread)."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > limit:
            return None
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> dict[str, object]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _argument_refusal(body: bytes, api_name: str, parameters: tuple[str, ...]) -> str:
    """Why a call's arguments are refused: more than the API takes, or names it does not know."""
    try:
        data = json.loads(body or b"{}").get("data", [])
    except (ValueError, AttributeError):
        return ""  # not a call qa can read: Gradio answers it as it does
    if isinstance(data, list) and len(data) > len(parameters):
        return (f"{api_name} takes at most {len(parameters)} arguments "
                f"({', '.join(parameters)}), not {len(data)}")
    if isinstance(data, dict):
        unknown = sorted(str(name)[:50] for name in set(data) - set(parameters))[:5]
        if unknown:
            return (f"{api_name} has no argument {', '.join(map(repr, unknown))}; it takes "
                    f"{', '.join(parameters)}")
    return ""


def _padded(body: bytes, given: int, taken: int) -> bytes:
    """A call's body with its list of arguments padded with null to `taken` when it gives at
    least `given` of them; any other body as it came (Gradio answers it as it does)."""
    try:
        call = json.loads(body or b"{}")
    except ValueError:
        return body
    data = call.get("data") if isinstance(call, dict) else None
    if not isinstance(data, list) or not given <= len(data) < taken:
        return body
    return json.dumps({**call, "data": data + [None] * (taken - len(data))}).encode()


async def _refuse(send: Send, message: str, status: int = 403) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
