"""The live server follows its documents folder with no flag: files added, edited, renamed and
deleted behind its back reach the JSON API's answers within 5 s each, and 300 files copied in
at once within 15 s; a deleted or renamed file's old name is never cited again."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import serving
from documents import numbered_notes

from benchmarks.load import call


def hits(app_url: str, question: str, k: int = 5) -> list[dict[str, Any]]:
    with httpx.Client(base_url=app_url, timeout=60) as http:
        answer: dict[str, Any] = call(http, "search", [question, k, "hybrid", None])[0]
    return answer["hits"]  # type: ignore[no-any-return]


def sources(app_url: str, question: str, k: int = 5) -> list[str]:
    return [hit["source"] for hit in hits(app_url, question, k)]


def within(seconds: float, condition: Callable[[], bool]) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, f"not reflected within {seconds} s"
        time.sleep(0.2)
    return time.monotonic() - started


def test_changes_behind_the_servers_back_reach_its_answers(app_url: str, live_docs: Path
                                                           ) -> None:
    note = live_docs / "watched-note.txt"
    note.write_text("Watched note\n\nThe quartermaster stored twelve brass lanterns in the "
                    "north cellar of the fort.\n", encoding="utf-8")
    question = "Where did the quartermaster store the brass lanterns?"
    within(5, lambda: sources(app_url, question)[0] == "watched-note.txt")
    note.write_text("Watched note\n\nThe quartermaster stored twelve copper kettles in the "
                    "south tower of the fort.\n", encoding="utf-8")
    within(5, lambda: "copper kettles" in hits(app_url, "Where were the copper kettles "
                                               "stored?")[0]["text"])
    assert sources(app_url, "Where were the copper kettles stored?")[0] == "watched-note.txt"
    note.rename(live_docs / "renamed-note.txt")
    within(5, lambda: sources(app_url, "Where were the copper kettles stored?")[0]
           == "renamed-note.txt")
    assert "watched-note.txt" not in sources(app_url, "copper kettles south tower", 20)
    (live_docs / "renamed-note.txt").unlink()
    within(5, lambda: "renamed-note.txt" not in sources(app_url, "copper kettles", 20))


def test_three_hundred_files_copied_at_once_are_answerable(app_url: str, live_docs: Path,
                                                           tmp_path: Path) -> None:
    staging = tmp_path / "batch"
    numbered_notes(staging, 300, "ledger", "Shipment {n} of the ledger carried barrels of tar "
                   "for the dockyard of Harbourtown-{n}.")
    shutil.copytree(staging, live_docs / "ledgers")
    try:
        within(15, lambda: sources(app_url, "Which shipment carried barrels of tar for the "
                                   "dockyard of Harbourtown-297?")[0] == "ledgers/ledger-297.txt")
    finally:
        shutil.rmtree(live_docs / "ledgers")
    within(15, lambda: not any(s.startswith("ledgers/") for s in
                               sources(app_url, "barrels of tar for the dockyard", 20)))


@pytest.mark.slow  # a server of its own, with the real model
def test_readers_that_crash_or_hang_leave_the_watching_server_answering(tmp_path: Path) -> None:
    """A reader that segfaults on one file and one that never returns, both met by a batch of
    the watcher: the server goes on answering, indexes the good file of the same batch, and
    names the two files it left out, with the reason."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "harbour.txt").write_text("Harbour\n\nThe harbour master logs every ship that "
                                      "enters the bay before dawn.\n", encoding="utf-8")
    faulty = Path(__file__).parent / "faulty_readers"
    environment = {**os.environ, "PYTHONPATH": str(faulty), "QA_READ_SECONDS": "4"}
    with serving(["--docs", str(docs), "--index", str(tmp_path / "index")], environment) as url, \
            httpx.Client(base_url=url, timeout=60) as http:
        for name in ("segfault-reader.txt", "hang-reader.txt"):
            (docs / name).write_text("Doomed\n\nThis file's reader fails before it reads a "
                                     "word about the orange lighthouse.\n", encoding="utf-8")
        (docs / "pier.txt").write_text("Pier\n\nThe old pier was painted orange and green in "
                                       "the spring of 1931.\n", encoding="utf-8")

        def pier_is_answered() -> bool:
            got = http.get("/api/search", params={"q": "When was the pier painted orange?"})
            return got.status_code == 200 and got.json()["hits"][0]["source"] == "pier.txt"

        within(30, pier_is_answered)
        skipped = {entry["source"]: entry["reason"]
                   for entry in http.get("/api/documents").json()["skipped"]}
        assert "crashed (SIGSEGV)" in skipped["segfault-reader.txt"], skipped
        assert "took longer than 4 s" in skipped["hang-reader.txt"], skipped
        assert http.get("/api/health").json()["status"] == "ok"
        assert {d["source"] for d in http.get("/api/documents").json()["documents"]} == {
            "harbour.txt", "pier.txt"}
