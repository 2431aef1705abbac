"""The page's handlers (qa.serving.handlers), called without Gradio or a server, and the library
verbs the page, REST and MCP share beneath them: `QA.status` and `QA.add_documents`."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from encoders import HashingEncoder
from fastapi.testclient import TestClient

from qa.core.access import EVERYONE, Access
from qa.core.settings import Settings
from qa.indexing.store import IndexUnusableError
from qa.library import QA
from qa.serving.api import status_json
from qa.serving.handlers import ActionRefused, Handlers, add_files, index_status
from qa.serving.rest import rest_app
from qa.showing.exports import ExportFolder
from qa.showing.view_html import DocumentViews, ViewRequest

FILES = {
    "public/harbour.txt": "Harbour note\n\nThe harbour depot opens at seven in the morning.",
    "public/ferries.txt": "Ferries\n\nThe winter ferry leaves at nine.\n\nIt returns at six.",
    "hr/salaries.txt": "Salaries\n\nWages of the depot staff rise by four percent in March.",
}
PUBLIC_READER = Access("bob", ("public/**",), ())
UPLOADER = Access("alice", ("*",), ("public/uploads/*",))
NEW_NOTE = "Lighthouse\n\nThe lighthouse keeper lights the lamp at dusk every evening."


@pytest.fixture()
def library(tmp_path: Path) -> QA:
    docs = tmp_path / "docs"
    for name, text in FILES.items():
        (docs / name).parent.mkdir(parents=True, exist_ok=True)
        (docs / name).write_text(text, encoding="utf-8")
    return QA.open(Settings(docs_dir=docs, index_dir=tmp_path / "index"),
                   embedder=HashingEncoder())


def handlers(library: QA, tmp_path: Path) -> Handlers:
    return Handlers(library, ExportFolder(tmp_path / "exports"), DocumentViews(library, 1_000_000))


def upload(tmp_path: Path, name: str, text: str = NEW_NOTE) -> Path:
    """A copy of an upload, as Gradio leaves it in its folder."""
    path = tmp_path / "gradio" / str(time.monotonic_ns()) / name
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_status_counts_only_what_the_reader_may_read(library: QA) -> None:
    everything, public = library.status(), library.status(PUBLIC_READER)
    assert (everything.documents, public.documents) == (3, 2)
    assert public.passages == sum(d.passages for d in library.documents(PUBLIC_READER))
    assert everything.passages == library.searcher.manifest.passage_count > public.passages
    assert everything.model == "hashing" and 0 <= time.time() - everything.built < 600


def test_the_page_and_rest_show_the_status_of_the_library(library: QA) -> None:
    public = library.status(PUBLIC_READER)
    line = index_status(library, None, PUBLIC_READER)
    assert f"{public.documents} documents · {public.passages} passages" in line
    health = TestClient(rest_app(library, None, lambda headers: PUBLIC_READER)).get("/api/health")
    assert health.status_code == 200
    assert (health.json()["documents"], health.json()["passages"]) == (public.documents,
                                                                        public.passages)


def test_health_and_the_status_tool_say_unavailable_alike_while_no_index_opens(
        library: QA, monkeypatch: pytest.MonkeyPatch) -> None:
    def unusable(access: Access) -> None:
        raise IndexUnusableError("the index in /x is damaged: run qa index --force")

    monkeypatch.setattr(library, "status", unusable)
    health = TestClient(rest_app(library, None, lambda headers: EVERYONE)).get("/api/health")
    assert health.status_code == 503
    assert health.json() == status_json(library) == {
        "status": "unavailable", "error": "the index in /x is damaged: run qa index --force",
        "documents": 0, "passages": 0, "index_age_s": 0.0, "watching": "", "notice": ""}


def test_add_documents_stores_indexes_and_leaves_the_given_files(library: QA, tmp_path: Path
                                                                 ) -> None:
    new = upload(tmp_path, "lighthouse.txt")
    added = library.add_documents([new], UPLOADER)
    assert added.added == ["public/uploads/lighthouse.txt"] and added.skipped == []
    assert added.index is not None and new.is_file()
    assert library.search("Who lights the lamp at dusk?", 1, access=UPLOADER).hits[0] \
        .passage.source == "public/uploads/lighthouse.txt"
    again = library.add_documents([new], UPLOADER)  # the same content: not stored twice
    assert again.added == [] and again.index is None
    assert [(s.source, s.reason) for s in again.skipped] == [
        ("public/uploads/lighthouse.txt", "already in the folder")]


def test_add_documents_says_why_each_file_was_not_added(library: QA, tmp_path: Path) -> None:
    program, note = upload(tmp_path, "run.exe"), upload(tmp_path, "note.txt")
    refused = library.add_documents([program, note], PUBLIC_READER)
    assert [s.source for s in refused.skipped] == ["run.exe", "note.txt"]
    assert all("no write permission" in s.reason for s in refused.skipped)
    mixed = library.add_documents([program, note], UPLOADER)
    assert mixed.added == ["public/uploads/note.txt"]
    assert [s.source for s in mixed.skipped] == ["run.exe"]
    assert "qa reads" in mixed.skipped[0].reason and ".exe" in mixed.skipped[0].reason
    assert not (library.settings.docs_dir / "public/uploads/run.exe").exists()


def test_the_upload_handler_removes_gradios_copies_and_reports_each_file(
        library: QA, tmp_path: Path) -> None:
    copies = [upload(tmp_path, "keeper.txt"), upload(tmp_path, "run.exe")]
    lines = add_files(library, copies, access=UPLOADER)
    assert lines[0].startswith("run.exe: not added, qa reads"), lines
    assert lines[1] == "added public/uploads/keeper.txt" and lines[2].startswith("index: ")
    assert not any(copy.exists() for copy in copies)


def test_handlers_answer_within_the_readers_access(library: QA, tmp_path: Path) -> None:
    page = handlers(library, tmp_path)
    answer = page.ask("By how much do wages rise?", 5, "hybrid", None, PUBLIC_READER)
    assert answer.results and "salaries" not in answer.results
    assert all(value and "public/" in label for label, value in answer.choices)
    assert answer.downloads is not None and len(answer.downloads) == 2
    with pytest.raises(ActionRefused, match="write permission on every folder"):
        page.rebuild(PUBLIC_READER)
    assert "Rebuilt: 3 files" in page.rebuild(EVERYONE)


def test_a_view_handler_shows_a_chosen_passage_and_nothing_without_one(library: QA,
                                                                       tmp_path: Path) -> None:
    page = handlers(library, tmp_path)
    answer = page.ask("When does the winter ferry leave?", 1, "hybrid", None, EVERYONE)
    shown = page.view(ViewRequest.from_json(answer.choices[0][1]), EVERYONE)
    assert "winter ferry" in shown.html and not shown.pictured
    assert shown.state == answer.choices[0][1]
    assert page.view(None, EVERYONE) == page.move("", 1, 0, EVERYONE)
    assert page.view(None, EVERYONE).html == ""
    assert "no passage" in page.view(ViewRequest.from_json(answer.choices[0][1]),
                                     Access("carol", ("hr/**",), ())).html


def test_a_question_that_cannot_be_searched_gives_why_and_empty_panels(library: QA,
                                                                       tmp_path: Path) -> None:
    answer = handlers(library, tmp_path).ask('the "notice period', 5, "hybrid", None, EVERYONE)
    assert answer.refused and "this quote is never closed" in answer.results
    assert (answer.citations, answer.choices, answer.downloads) == ("", [], None)
    assert not handlers(library, tmp_path).ask("ferry", 5, "hybrid", None, EVERYONE).refused
