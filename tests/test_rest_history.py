"""A signed-in reader's recent questions on REST (issue 36, item 7): `GET /api/history` lists
them, `DELETE /api/history` forgets them, an answered `/api/search` is kept in the same history
the page keeps, each reader's apart; a server without sign-in says the browser keeps it. The
tiny encoder: these are the mechanics, not the ranking."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from encoders import HashingEncoder
from fastapi.testclient import TestClient

from qa.core.access import Access
from qa.core.settings import Settings
from qa.library import QA
from qa.serving.api import search_json
from qa.serving.handlers import Handlers
from qa.serving.history import QuestionHistory
from qa.serving.rest import HistoryAnswer, rest_app
from qa.showing.exports import ExportFolder
from qa.showing.facets_html import render_history
from qa.showing.view_html import DocumentViews

FILES = {
    "public/harbour.txt": "Harbour\n\nThe ferry timetable of the harbour depot.",
    "public/ferries.md": "Ferries\n\nThe ferry timetable for the winter.",
    "notes.txt": "Notes\n\nA lighthouse keeper's notes on the tides.",
}
ALICE = Access("alice", ("*",), ())


@pytest.fixture()
def library(tmp_path: Path) -> QA:
    docs = tmp_path / "docs"
    for name, text in FILES.items():
        path = docs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return QA.open(Settings(docs_dir=docs, index_dir=tmp_path / "index"),
                   embedder=HashingEncoder())


def as_named(headers: Any) -> Access:
    """The reader the test names in x-user, as the guard names a signed-in one."""
    return Access(headers["x-user"], ("*",), ())


@pytest.fixture()
def history(tmp_path: Path) -> QuestionHistory:
    return QuestionHistory(tmp_path / "index" / "history", kept=3)


@pytest.fixture()
def client(library: QA, history: QuestionHistory) -> TestClient:
    return TestClient(rest_app(library, None, as_named, history))


def asked(client: TestClient, user: str, **params: Any) -> list[str]:
    answer = client.get("/api/history", params=params, headers={"x-user": user})
    assert answer.status_code == 200, answer.text
    HistoryAnswer.model_validate(answer.json())
    assert answer.json()["user"] == user
    return [entry["question"] for entry in answer.json()["questions"]]


def test_each_readers_searches_are_kept_apart_newest_first_and_bounded(
        client: TestClient) -> None:
    alice, bob = {"x-user": "alice"}, {"x-user": "bob"}
    for number in range(4):
        assert client.get("/api/search", params={"q": f"ferry {number}"},
                          headers=alice).status_code == 200
    assert client.post("/api/search", json={"question": "tides"}, headers=bob).status_code == 200
    assert client.post("/api/search", json={"question": "ferry 2"}, headers=alice).status_code \
        == 200  # asked again: moves up, kept once
    assert asked(client, "alice") == ["ferry 2", "ferry 3", "ferry 1"]  # kept=3
    assert asked(client, "alice", limit=2) == ["ferry 2", "ferry 3"]
    assert asked(client, "bob") == ["tides"]
    entry = client.get("/api/history", headers=bob).json()
    assert entry["kept"] == 3 and entry["questions"][0]["asked"][:2] == "20"


def test_a_searchs_documents_are_kept_as_the_filters_that_ask_it_again(
        client: TestClient, library: QA) -> None:
    chosen = ["public/harbour.txt", "notes.txt"]
    answer = client.post("/api/search", json={"question": "ferry timetable", "k": 5,
                                              "documents": chosen}, headers={"x-user": "alice"})
    assert answer.status_code == 200
    kept = asked(client, "alice")
    assert kept == ["ferry timetable file:public/harbour.txt file:/notes.txt"]
    # The kept question, asked again (a click on the page), finds what the search found.
    again = search_json(library, kept[0], 5, access=ALICE)
    assert [(h["source"], h["paragraph"]) for h in again["hits"]] == [
        (h["source"], h["paragraph"]) for h in answer.json()["hits"]]


def test_a_refused_search_is_not_kept(client: TestClient) -> None:
    for params in ({"q": '"unclosed ferry'}, {"q": "ferry after:2024-13-40"},
                   {"q": "ferry", "documents": "nope.txt"}):
        answer = client.get("/api/search", params=params, headers={"x-user": "alice"})
        assert answer.status_code == 422, answer.text
    assert asked(client, "alice") == []


def test_clearing_forgets_one_readers_questions(client: TestClient,
                                               history: QuestionHistory) -> None:
    for question in ("ferry", "tides"):
        client.get("/api/search", params={"q": question}, headers={"x-user": "alice"})
    client.get("/api/search", params={"q": "harbour"}, headers={"x-user": "bob"})
    cleared = client.delete("/api/history", headers={"x-user": "alice"})
    assert cleared.status_code == 200 and cleared.json() == {"cleared": 2}
    assert asked(client, "alice") == [] and not history.path("alice").exists()
    assert asked(client, "bob") == ["harbour"]
    assert client.delete("/api/history", headers={"x-user": "alice"}).json() == {"cleared": 0}


def test_a_clearing_that_fails_says_so(client: TestClient, history: QuestionHistory,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    history.add("alice", "ferry")

    def refused(path: Path, missing_ok: bool = False) -> None:
        raise PermissionError(f"cannot remove {path}")

    monkeypatch.setattr(Path, "unlink", refused)
    answer = client.delete("/api/history", headers={"x-user": "alice"})
    assert answer.status_code == 500
    assert answer.json() == {"error": "your question history could not be cleared (the "
                                      "server's log says why)"}
    monkeypatch.undo()
    assert history.recent("alice") == ["ferry"]


def test_the_page_and_rest_see_one_list(library: QA, client: TestClient,
                                        history: QuestionHistory, tmp_path: Path) -> None:
    page = Handlers(library, ExportFolder(tmp_path / "exports"),
                    DocumentViews(library, 1_000_000), history=history)
    page.remember("asked on the page", ALICE)
    client.get("/api/search", params={"q": "asked on REST"}, headers={"x-user": "alice"})
    assert asked(client, "alice") == ["asked on REST", "asked on the page"]
    assert page.recent(ALICE) == render_history(["asked on REST", "asked on the page"])
    client.delete("/api/history", headers={"x-user": "alice"})
    assert page.recent(ALICE) == ""


def test_a_search_does_not_wait_for_the_history_file(client: TestClient,
                                                     history: QuestionHistory,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    disk_answers = threading.Event()
    written = QuestionHistory._write

    def slow_disk(self: QuestionHistory, user: str, entries: list[dict[str, str]]) -> None:
        disk_answers.wait(30)
        written(self, user, entries)

    monkeypatch.setattr(QuestionHistory, "_write", slow_disk)
    answers: list[int] = []
    searching = threading.Thread(target=lambda: answers.append(client.get(
        "/api/search", params={"q": "ferry"}, headers={"x-user": "alice"}).status_code))
    searching.start()
    searching.join(15)
    disk_answers.set()
    assert answers == [200], "the search waited for the history's file"
    assert asked(client, "alice") == ["ferry"]


def test_questions_kept_for_later_are_written_in_order_by_the_history_itself(
        history: QuestionHistory) -> None:
    history.add("alice", "first")
    for question in ("second", "first", "third", "  "):
        history.keep("alice", question)
    history.keep("bob", "bob's")
    deadline = time.time() + 15  # its own thread writes them, unasked
    while "third" not in history.path("alice").read_text(encoding="utf-8") \
            and time.time() < deadline:
        time.sleep(0.05)
    assert QuestionHistory(history.folder).recent("alice") == ["third", "first", "second"]
    assert history.recent("bob") == ["bob's"]


@pytest.mark.parametrize("method", ["get", "delete"])
def test_without_sign_in_history_is_a_404_saying_the_browser_keeps_it(
        library: QA, tmp_path: Path, method: str) -> None:
    client = TestClient(rest_app(library))  # a local server: no sign-in, no history
    assert client.get("/api/search", params={"q": "ferry"}).status_code == 200
    answer = client.request(method, "/api/history")
    assert answer.status_code == 404
    assert "no sign-in" in answer.json()["error"] and "browser" in answer.json()["error"]
    assert not (tmp_path / "index" / "history").exists()  # nothing kept of the search


@pytest.mark.parametrize(("method", "params", "message"), [
    ("get", {"limit": "0"}, "limit: Input should be greater than or equal to 1"),
    ("get", {"limit": "51"}, "limit: Input should be less than or equal to 50"),
    ("get", {"last": "3"}, "last: not an argument of /api/history (it takes limit)"),
    ("delete", {"limit": "3"}, "limit: not an argument of /api/history (it takes none)"),
])
def test_bad_arguments_are_422s_that_name_them(client: TestClient, method: str,
                                               params: dict[str, str], message: str) -> None:
    answer = client.request(method, "/api/history", params=params, headers={"x-user": "alice"})
    assert answer.status_code == 422 and answer.json() == {"error": message}


def test_openapi_documents_history(client: TestClient) -> None:
    route = client.get("/api/openapi.json").json()["paths"]["/api/history"]
    assert set(route) == {"get", "delete"}
    assert route["get"]["responses"]["200"]["content"]["application/json"]["schema"][
        "$ref"].endswith("/HistoryAnswer")
    assert {"404", "422"} <= set(route["get"]["responses"]) and "404" in route["delete"][
        "responses"]
    assert [p["name"] for p in route["get"]["parameters"]] == ["limit"]
