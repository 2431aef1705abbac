"""The JSON API's argument checks and the route guard, called directly (no server)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from qa.library import QA
from qa.serving.api import ApiInputError, search_json
from qa.serving.guard import RouteGuard

PAROS = "Who co-organised the 2018 PAROS workshop?"


def test_defaults_and_one_document_as_a_string(seeds_qa: QA) -> None:
    answer = search_json(seeds_qa, PAROS)
    assert len(answer["hits"]) == seeds_qa.settings.top_k
    only = search_json(seeds_qa, PAROS, 3.0, "lexical", "000_6ca77c0da08b2a40.txt")
    assert {hit["source"] for hit in only["hits"]} == {"000_6ca77c0da08b2a40.txt"}


@pytest.mark.parametrize(("arguments", "message"), [
    ((None,), "question must be a string"),
    ((PAROS, float("nan")), "whole number"),
    ((PAROS, float("inf")), "whole number"),
    ((PAROS, True), "whole number"),
    ((PAROS, 101), "from 1 to 100"),
    ((PAROS, 5, "semantic"), "mode must be one of"),
    ((PAROS, 5, None, [1, 2]), "documents must be a list of file names"),
    ((PAROS, 5, None, ["a", "b"]), "not indexed: 'a', 'b'"),
])
def test_wrong_arguments_are_refused_by_name(seeds_qa: QA, arguments: tuple[Any, ...],
                                             message: str) -> None:
    with pytest.raises(ApiInputError, match=message):
        search_json(seeds_qa, *arguments)


def respond(guard: RouteGuard, path: str) -> int:
    """The status the guard answers `path` with; 200 when it passes the request on."""
    statuses: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        statuses.append(200)

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def receive() -> dict[str, Any]:
        return {"type": "http.request"}

    guarded = RouteGuard(app, served_files=guard.served_files, uploads_allowed=guard.uploads_allowed,
                         monitoring=guard.monitoring)
    asyncio.run(guarded({"type": "http", "path": path}, receive, send))
    return statuses[0]


def test_guard_serves_only_handed_out_files_and_uploads_when_allowed() -> None:
    handed_out = {"/tmp/gradio/abc/qa-results-1.md"}
    closed = RouteGuard(lambda *a: None, lambda: [handed_out], uploads_allowed=False)  # type: ignore[arg-type, return-value]
    assert respond(closed, "/gradio_api/file=/tmp/gradio/abc/qa-results-1.md") == 200
    assert respond(closed, "/gradio_api/file=/tmp/gradio/abc/../abc/qa-results-1.md") == 200
    assert respond(closed, "/gradio_api/file=/tmp/gradio/def/upload.txt") == 403
    assert respond(closed, "/gradio_api/file=/etc/passwd") == 403
    assert respond(closed, "/gradio_api/upload") == 403
    assert respond(closed, "/gradio_api/call/search") == 200
    opened = RouteGuard(lambda *a: None, lambda: [handed_out], uploads_allowed=True)  # type: ignore[arg-type, return-value]
    assert respond(opened, "/gradio_api/upload") == 200


def test_a_huge_filter_of_unknown_names_is_not_echoed_back(seeds_qa: QA) -> None:
    names = [f"missing-{number}-" + "x" * 200 + ".txt" for number in range(100_000)]
    with pytest.raises(ApiInputError) as refused:
        search_json(seeds_qa, PAROS, 5, None, names)
    message = str(refused.value)
    assert len(message) < 2_000 and "99,995 more" in message, message[:300]


def test_bidi_controls_in_file_names_are_shown_escaped() -> None:
    from qa.showing.cite import display_source

    assert display_source("evil\u202etxt.md") == "evil\\u202etxt.md"
    assert display_source("\u2067report\u2069.md") == "\\u2067report\\u2069.md"
    assert display_source("كتاب.md") == "كتاب.md"  # right-to-left letters are not controls
