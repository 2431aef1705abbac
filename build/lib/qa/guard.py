"""What the page's server decides before Gradio sees a request: uploads are refused when they are
off; Gradio's file route serves only what qa handed out itself (an uploaded file is never served
back); and /qa/documents/NAME serves an indexed document from the documents folder (PDF links
open at their page), nothing else."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

UPLOAD_ROUTE = "/gradio_api/upload"
FILE_ROUTE = "/gradio_api/file="
DOCUMENT_ROUTE = "/qa/documents/"


class RouteGuard:
    """ASGI middleware in front of the Gradio app.

    `served_files` returns the paths qa's own outputs put in Gradio's cache (the downloads); only
    those leave through the file route. `uploads_allowed` says whether the upload route is open.
    """

    def __init__(self, app: ASGIApp, served_files: Callable[[], Iterable[set[str]]],
                 uploads_allowed: bool,
                 document_file: Callable[[str], Path | None] = lambda name: None) -> None:
        self.app = app
        self.served_files = served_files
        self.uploads_allowed = uploads_allowed
        self.document_file = document_file

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(DOCUMENT_ROUTE):
            await self._document(scope, receive, send)
            return
        if scope["type"] == "http":
            refusal = self._refusal(scope["path"])
            if refusal:
                await _refuse(send, refusal)
                return
        await self.app(scope, receive, send)

    async def _document(self, scope: Scope, receive: Receive, send: Send) -> None:
        from starlette.responses import FileResponse

        path = self.document_file(scope["path"][len(DOCUMENT_ROUTE):])
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

    def _refusal(self, path: str) -> str:
        if path.rstrip("/") == UPLOAD_ROUTE and not self.uploads_allowed:
            return "uploads are turned off on this server"
        if path.startswith(FILE_ROUTE) and not self._served(path[len(FILE_ROUTE):]):
            return "this server only serves its own downloads"
        return ""

    def _served(self, requested: str) -> bool:
        wanted = os.path.abspath(requested)
        return any(wanted in files for files in self.served_files())


async def _refuse(send: Send, message: str, status: int = 403) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
