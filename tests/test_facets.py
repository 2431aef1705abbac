"""Working the results on the page (issue 36, items 3 and 7): facets of a result list and the
filters each adds (qa.searching.facets), the filters in force as removable chips and the query
parts they cut (qa.searching.query.query_parts, qa.showing.facets_html), and each reader's
recent questions (qa.serving.history), all without Gradio."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest
from encoders import HashingEncoder

from qa.chunking.chunk import Passage
from qa.core.access import EVERYONE, Access
from qa.core.settings import Settings
from qa.library import QA
from qa.searching.facets import result_facets, result_sources
from qa.searching.query import FILTERS, parse_query, query_parts
from qa.searching.search import Hit, SearchResult
from qa.serving.handlers import Handlers
from qa.serving.history import QuestionHistory
from qa.showing.exports import ExportFolder
from qa.showing.facets_html import (
    QUERY_HELP,
    render_chips,
    render_facets,
    render_history,
    with_filter,
    without,
)
from qa.showing.view_html import DocumentViews

# The same words in every file, so a question finds them all: the facets then count them all.
FILES = {
    "public/harbour.txt": ("2021-05-04", "Harbour\n\nThe ferry timetable of the harbour depot."),
    "public/ferries.md": ("2023-02-01", "Ferries\n\nThe ferry timetable for the winter."),
    "hr/ferry staff.txt": ("2023-09-09", "Staff\n\nThe ferry timetable of the depot staff."),
    "notes.txt": ("2022-01-01", "Notes\n\nA ferry timetable copied from the harbour."),
}
ALICE = Access("alice", ("*",), ())


@pytest.fixture()
def library(tmp_path: Path) -> QA:
    docs = tmp_path / "docs"
    for name, (day, text) in FILES.items():
        path = docs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        stamp = datetime.fromisoformat(day + "T12:00:00").timestamp()
        os.utime(path, (stamp, stamp))
    return QA.open(Settings(docs_dir=docs, index_dir=tmp_path / "index"),
                   embedder=HashingEncoder())


def page(library: QA, tmp_path: Path, history: QuestionHistory | None = None) -> Handlers:
    return Handlers(library, ExportFolder(tmp_path / "exports"),
                    DocumentViews(library, 1_000_000), history=history)


def test_query_parts_give_each_operator_as_written_and_parse_query_reads_through_them() -> None:
    text = 'tides Type:PDF -draft "notice  period" +lease in:"my folder/" note: 10:30'
    parts = query_parts(text)
    assert [text[part.start:part.end] for part in parts] == [
        "Type:PDF", "-draft", '"notice  period"', "+lease", 'in:"my folder/"']
    assert [(part.kind, part.name, part.value) for part in parts] == [
        ("filter", "type", "PDF"), ("excluded", "", "draft"), ("phrase", "", "notice period"),
        ("required", "", "lease"), ("filter", "in", "my folder/")]
    query = parse_query(text)
    assert query.question == "tides notice period lease note: 10:30"
    assert (query.types, query.folders, query.excluded) == ((".pdf",), ("my folder/",),
                                                            ("draft",))
    assert query_parts("when does the ferry leave?") == []


def test_a_chip_removes_only_its_part_and_a_facet_adds_its_filter() -> None:
    question = 'ferry type:pdf "winter timetable" in:hr/'
    chips = {question[part.start:part.end]: without(question, part)
             for part in query_parts(question)}
    assert chips == {"type:pdf": 'ferry "winter timetable" in:hr/',
                     '"winter timetable"': "ferry type:pdf in:hr/",
                     "in:hr/": 'ferry type:pdf "winter timetable"'}
    assert with_filter("ferry  ", "after:2023 before:2024") == "ferry after:2023 before:2024"
    html = render_chips(question)
    assert html.count('class="qa-chip"') == 3
    assert 'data-qa-query="ferry &quot;winter timetable&quot; in:hr/"' in html
    assert render_chips("plain words only") == "" and render_chips('an "unclosed') == ""


def test_facets_count_the_results_documents_and_each_filter_keeps_just_them(
        library: QA, tmp_path: Path) -> None:
    result = library.search("ferry timetable", 10, "hybrid")
    assert len(result_sources(result)) == 4
    facets = library.facets(result)
    assert [(v.label, v.count, v.filter) for v in facets.types] == [
        ("txt", 3, "type:txt"), ("md", 1, "type:md")]
    assert [(v.label, v.count, v.filter) for v in facets.folders] == [
        ("public/", 2, "in:public/"), ("(top folder)", 1, ""), ("hr/", 1, "in:hr/")]
    assert [(v.label, v.count) for v in facets.years] == [("2023", 2), ("2022", 1), ("2021", 1)]
    for value in (*facets.types, *facets.folders, *facets.years):
        if value.filter:
            narrowed = library.search(f"ferry timetable {value.filter}", 10, "hybrid")
            assert len(result_sources(narrowed)) == value.count, (value, narrowed.hits)
    assert library.facets(SearchResult("nothing", [])).to_json() == {
        "type": [], "folder": [], "year": []}


def test_facets_count_a_collapsed_copy_and_a_grouped_documents_passages_once() -> None:
    def hit(source: str, rank: int, copies: tuple[Hit, ...] = ()) -> Hit:
        passage = Passage(source, "T", rank, 0, 5, f"text {rank}")
        return Hit(rank, 1.0, 1.0, {}, passage, (0, 1), (0, 1), False, copies=copies)

    copy = hit("b/copy.PDF", 9)
    result = SearchResult("q", [hit("a.pdf", 1, (copy,)), hit("a.pdf", 2), hit("c.docx", 3)])
    facets = result_facets(result, {"a.pdf": datetime(2020, 3, 1).date()})
    assert [(v.label, v.count) for v in facets.types] == [("pdf", 2), ("docx", 1)]
    assert [(v.label, v.count) for v in facets.years] == [("2020", 1)]  # unknown days: none


def test_the_page_shows_chips_and_facets_and_a_filter_in_force_is_not_offered_again(
        library: QA, tmp_path: Path) -> None:
    handlers = page(library, tmp_path)
    plain = handlers.ask("ferry timetable", 10, "hybrid", None, EVERYONE)
    assert 'data-qa-query="ferry timetable in:public/"' in plain.refinements
    assert 'data-qa-query="ferry timetable after:2023 before:2024"' in plain.refinements
    assert "qa-chip" not in plain.refinements
    narrowed = handlers.ask("ferry timetable in:public/", 10, "hybrid", None, EVERYONE)
    assert 'class="qa-chip"' in narrowed.refinements
    assert 'data-qa-query="ferry timetable"' in narrowed.refinements  # the chip's ×
    assert 'data-qa-query="ferry timetable in:public/ in:public/"' not in narrowed.refinements
    assert "hr/" not in narrowed.refinements  # the facets are those of the narrowed result
    assert "qa-facets" not in handlers.ask("", 5, "hybrid", None, EVERYONE).refinements


def test_facets_and_history_escape_what_they_show() -> None:
    question = '<img src=x onerror=alert(1)> type:txt "a<b"'
    html = render_chips(question) + render_history([question])
    assert "<img" not in html and "&lt;img" in html
    facets = result_facets(SearchResult("q", [Hit(1, 1.0, 1.0, {}, Passage(
        '<b>/x".txt', "T", 1, 0, 1, "t"), (0, 1), (0, 1), False)]), {})
    assert "<b>" not in render_facets("q", facets)


def test_the_help_names_every_filter_of_the_syntax() -> None:
    for name in FILTERS:
        assert f"<code>{name}:" in QUERY_HELP, name
    for operator in ('"exact phrase"', "+word", "-word"):
        assert operator in QUERY_HELP


def test_history_is_per_user_bounded_newest_first_and_survives_a_restart(tmp_path: Path) -> None:
    folder = tmp_path / "index" / "history"
    history = QuestionHistory(folder, kept=3)
    for number in range(5):
        history.add("alice", f"question {number}")
    history.add("bob", "bob's question")
    history.add("alice", "question 2")  # asked again: moves up, kept once
    history.add("alice", "   ")  # blank: not kept
    again = QuestionHistory(folder, kept=3)  # a restarted server
    assert again.recent("alice") == ["question 2", "question 4", "question 3"]
    assert again.recent("bob") == ["bob's question"] and again.recent("carol") == []
    lines = history.path("alice").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["question"] for line in lines] == [
        "question 3", "question 4", "question 2"]  # newest last, one JSON object a line
    assert sorted(path.name for path in folder.iterdir()) == ["alice.jsonl", "bob.jsonl"]


def test_history_files_stay_in_their_folder_whatever_the_user_name(tmp_path: Path) -> None:
    history = QuestionHistory(tmp_path / "history")
    for user in ("../../etc/passwd", "a/b", "..", "é" * 200):
        history.add(user, "where?")
        assert history.path(user).parent == tmp_path / "history"
        assert history.recent(user) == ["where?"]
    assert len(list((tmp_path / "history").iterdir())) == 4


def test_history_written_atomically_and_a_damaged_line_or_folder_costs_no_answer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    history = QuestionHistory(tmp_path / "history")
    history.add("alice", "first")
    with history.path("alice").open("a", encoding="utf-8") as file:
        file.write("{not json\n")
    assert history.recent("alice") == ["first"]

    import qa.core.files

    def killed(*arguments: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(qa.core.files.os, "replace", killed)
    assert history.add("alice", "second") == ["second", "first"]  # logged, not raised
    monkeypatch.undo()
    assert history.recent("alice") == ["first"]  # the old file whole, no half-written one
    assert [path.name for path in (tmp_path / "history").iterdir()] == ["alice.jsonl"]


def test_the_handlers_keep_a_signed_in_readers_questions_and_none_without_sign_in(
        library: QA, tmp_path: Path) -> None:
    history = QuestionHistory(tmp_path / "history")
    handlers = page(library, tmp_path, history)
    assert handlers.remember("ferry timetable", EVERYONE) == ""  # no sign-in: the browser's
    assert not (tmp_path / "history").exists()
    shown = handlers.remember("ferry timetable", ALICE)
    assert 'data-qa-query="ferry timetable"' in shown and "qa-past" in shown
    assert handlers.recent(ALICE) == shown
    assert handlers.recent(Access("bob", ("*",), ())) == ""
    assert page(library, tmp_path).remember("x", ALICE) == ""  # a page without a history
    assert history.recent("alice") == ["ferry timetable"]
