"""Every route the page's server has is judged by the guard: a route added by a Gradio upgrade
fails here until it is judged in qa.serving.guard.ROUTES; what writes or serves files is closed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_api import respond

from qa.library import QA
from qa.serving.guard import ROUTES, RouteGuard, verdict
from qa.serving.webapp import build_page
from qa.showing.exports import ExportFolder


def _routes(routes: list[Any], prefix: str = "") -> list[str]:
    """Every route template of a Starlette/FastAPI app, included routers followed."""
    found: list[str] = []
    for route in routes:
        if hasattr(route, "original_router"):
            found += _routes(route.original_router.routes, prefix + route.include_context.prefix)
        else:
            found.append(prefix + route.path)
    return found


@pytest.mark.parametrize("uploads", [False, True])
def test_every_route_of_the_page_is_judged(seeds_qa: QA, tmp_path: Path, uploads: bool) -> None:
    from gradio.routes import App

    page = build_page(seeds_qa, ExportFolder(tmp_path), uploads=uploads)
    app = App.create_app(page.blocks, mcp_server=True)
    unjudged = sorted(set(_routes(app.routes)) - set(ROUTES))
    assert not unjudged, f"judge these routes in qa.serving.guard.ROUTES first: {unjudged}"


def _guard(uploads: bool = False, monitoring: bool = False) -> RouteGuard:
    handed_out = {"/tmp/gradio/abc/qa-results-1.md"}
    return RouteGuard(lambda *a: None, lambda: [handed_out], uploads_allowed=uploads,  # type: ignore[arg-type, return-value]
                      monitoring=monitoring)


def test_routes_that_write_or_serve_files_are_closed() -> None:
    guard = _guard(uploads=True)
    for path in ["/gradio_api/process_recording", "/gradio_api/proxy=http://example.org/",
                 "/gradio_api/stream/abc", "/gradio_api/dev/reload", "/gradio_api/vibe-edit",
                 "/gradio_api/run-history/records", "/gradio_api/custom_component/a/b/c/d"]:
        assert respond(guard, path) == 403, path
    assert respond(guard, "/gradio_api/no-such-route") == 404
    assert respond(guard, "/gradio_api/queue/join") == 200
    assert respond(guard, "/gradio_api/mcp/") == 200


def test_both_file_routes_serve_only_handed_out_downloads() -> None:
    guard = _guard()
    assert respond(guard, "/gradio_api/file=/tmp/gradio/abc/qa-results-1.md") == 200
    assert respond(guard, "/gradio_api/file//tmp/gradio/abc/qa-results-1.md") == 200
    for path in ["/gradio_api/file//tmp/gradio/def/upload.txt", "/gradio_api/file//etc/passwd",
                 "/gradio_api/file=/tmp/gradio/def/upload.txt"]:
        assert respond(guard, path) == 403, path


def test_monitoring_only_when_asked_for() -> None:
    assert respond(_guard(), "/monitoring/summary") == 403
    assert respond(_guard(monitoring=True), "/monitoring/summary") == 200


def test_verdicts_name_the_template() -> None:
    assert verdict("/gradio_api/call/search/abc123") == ("page", "/gradio_api/call/{api_name}/{event_id}")
    assert verdict("/gradio_api/file=/x/y.md") == ("files", "/x/y.md")
    assert verdict("/nothing/here") == ("unjudged", "")


def test_a_read_only_page_has_no_rebuild_event(seeds_qa: QA, tmp_path: Path) -> None:
    names = {fn.api_name for fn in build_page(seeds_qa, ExportFolder(tmp_path),
                                              rebuild=False).blocks.fns.values()}
    assert "rebuild" not in names and "search" in names
    names = {fn.api_name for fn in build_page(seeds_qa, ExportFolder(tmp_path)).blocks.fns.values()}
    assert "rebuild" in names


def _call(body: bytes, path: str = "/gradio_api/call/search") -> tuple[int, bytes]:
    """The status and body the guard's app sees (200 and the replayed body) or its refusal."""
    import asyncio
    import json

    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append((200, (await receive())["body"]))

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            seen.append([message["status"]])
        elif seen and isinstance(seen[-1], list):
            seen[-1].append(json.loads(message["body"])["error"].encode())

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    guard = RouteGuard(app, lambda: [], uploads_allowed=False,
                       api_arguments={"search": ("question", "k", "mode", "documents")})
    asyncio.run(guard({"type": "http", "path": path, "method": "POST"}, receive, send))
    return tuple(seen[0])  # type: ignore[return-value]


def test_search_calls_with_arguments_it_does_not_take_are_refused() -> None:
    assert _call(b'{"data": ["q", 5, null, null]}') == (200, b'{"data": ["q", 5, null, null]}')
    status, message = _call(b'{"data": ["q", 5, null, null, "extra"]}')
    assert status == 422 and b"at most 4 arguments" in message
    status, message = _call(b'{"data": {"question": "q", "top": 5}}', "/gradio_api/call/v2/search")
    assert status == 422 and b"no argument 'top'" in message
    assert _call(b'{"data": ["q", 1, 2, 3, 4, 5]}', "/gradio_api/call/ask")[0] == 200


def test_the_checked_arguments_are_the_search_functions(seeds_qa: QA, tmp_path: Path) -> None:
    from gradio.utils import get_function_params

    from qa.serving.webapp import SEARCH_ARGUMENTS, SIMILAR_ARGUMENTS

    page = build_page(seeds_qa, ExportFolder(tmp_path))
    [search] = [fn.fn for fn in page.blocks.fns.values() if fn.api_name == "search"]
    [similar] = [fn.fn for fn in page.blocks.fns.values() if fn.api_name == "similar"]
    # The arguments a caller gives (Gradio fills the gr.Request itself).
    assert tuple(name for name, *_ in get_function_params(search)) == SEARCH_ARGUMENTS
    assert tuple(name for name, *_ in get_function_params(similar)) == SIMILAR_ARGUMENTS


def _sent_to(path: str, headers: list[tuple[bytes, bytes]], chunks: int,
             chunk: bytes = b"x" * 65_536) -> tuple[int, int]:
    """The status a POST of `chunks` chunks gets from the guard (with the REST API and Gradio
    behind it, both reading bodies whole, as FastAPI and Gradio do), and the bytes read of it."""
    import asyncio

    received = 0
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": received < chunks * len(chunk)}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    guard = RouteGuard(app, lambda: [], uploads_allowed=True, rest=app,
                       api_arguments={"search": ("question", "k", "mode", "documents")})
    asyncio.run(guard({"type": "http", "path": path, "method": "POST", "headers": headers},
                      receive, send))
    return statuses[0], received


@pytest.mark.parametrize("path", ["/gradio_api/call/search", "/gradio_api/queue/join",
                                  "/api/search", "/gradio_api/mcp/messages/"])
def test_a_body_over_the_limit_is_refused_before_it_is_read(path: str) -> None:
    """An 800 MB body once peaked the server at 3.5 GB before it was refused: a declared length
    over the limit is refused unread, a chunked body once it passes the limit."""
    declared = [(b"content-length", b"800000000")]
    assert _sent_to(path, declared, chunks=12_000) == (413, 0)
    chunked = [(b"transfer-encoding", b"chunked")]
    status, read = _sent_to(path, chunked, chunks=12_000)  # 786 MB offered
    assert status == 413 and read <= 1_100_000, (status, read)
    assert _sent_to(path, chunked, chunks=2)[0] == 200
    assert _sent_to(path, [(b"content-length", b"131072")], chunks=2)[0] == 200


def test_uploads_are_left_to_their_own_limit() -> None:
    """Gradio writes uploads to disk as they come, each file under QA_MAX_FILE_BYTES."""
    assert _sent_to("/gradio_api/upload", [(b"content-length", b"5000000")], chunks=77)[0] == 200
