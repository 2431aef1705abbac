"""The Gradio handlers, called directly (no server)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from qa.library import QA
from qa.serving.webapp import EXAMPLES, Page, build_page
from qa.showing.exports import ExportFolder
from qa.showing.hits_html import render_results
from qa.showing.view_html import DocumentViews, ViewRequest


def test_results_are_cited_and_escaped(seeds_qa: QA, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = seeds_qa.search("Which countries joined China in submitting working paper CD/1679?")
    page = render_results(result)
    assert page.count('class="qa-hit"') == 5
    assert "004_0a75116a2b3c4ab4.txt" in page and "<mark>" in page
    markdown, as_json = ExportFolder(tmp_path).export(result)
    assert "CD/1679" in Path(markdown).read_text(encoding="utf-8")
    assert "\"paragraph\"" in Path(as_json).read_text(encoding="utf-8")


def test_hostile_question_is_shown_as_text(seeds_qa: QA) -> None:
    page = render_results(seeds_qa.search("<script>alert(1)</script> what is PAROS?"))
    assert "<script>" not in page


def test_empty_question_gives_friendly_message(seeds_qa: QA) -> None:
    page = render_results(seeds_qa.search(""))
    assert "Please type a question." in page and "qa-hit" not in page


def test_document_view_highlights_the_paragraph(seeds_qa: QA) -> None:
    views = DocumentViews(seeds_qa, 1_000_000)
    page = views.html(ViewRequest("001_3bdd3841a68f260c.txt", 3))
    assert 'data-paragraph="3"' in page and page.count('id="qa-target"') == 1
    assert re.search(r'class="qa-piece qa-passage qa-target" data-paragraph="3"', page)
    assert "no passage" in views.html(ViewRequest("../../etc/passwd", 1))


def test_page_builds(seeds_qa: QA, tmp_path: Path) -> None:
    page = build_page(seeds_qa, ExportFolder(tmp_path))
    assert page.blocks.title.startswith("qa")


def _hashing_library(folder: Path) -> QA:
    """A small folder (not the seeds) indexed with the test's hashing encoder."""
    from encoders import HashingEncoder

    from qa.core.settings import Settings

    docs = folder / "docs"
    docs.mkdir()
    (docs / "harbour.txt").write_text("Harbour note\n\nThe harbour depot opens at seven.",
                                      encoding="utf-8")
    return QA.open(Settings(docs_dir=docs, index_dir=folder / "index"),
                   embedder=HashingEncoder())


def _events(page: Page) -> dict[int, Any]:
    return dict(page.blocks.fns)


def _outputs(event: Any) -> list[str | None]:
    return [getattr(block, "elem_id", None) for block in event.outputs]


@pytest.mark.parametrize("question", ['the "notice period', "chain type:foo"])
def test_a_refused_question_is_said_once_where_the_results_go(question: str,
                                                              tmp_path: Path) -> None:
    page = build_page(_hashing_library(tmp_path), ExportFolder(tmp_path / "exports"))
    ask = next(event for event in _events(page).values() if event.api_name == "ask")
    shown = dict(zip(_outputs(ask), ask.fn(question, 5, "hybrid", None, False, False, None),
                     strict=True))  # no gr.Error: that badges every output panel
    assert shown["qa-results"].count('class="qa-notice"') == 1
    assert "query:" in shown["qa-results"], shown["qa-results"]
    assert (shown["qa-citations"], shown["qa-downloads"], shown["qa-refine"]) == ("", None, "")
    assert shown["qa-show"]["choices"] == []
    assert shown["qa-answered"] == ""  # not kept in the history


def test_an_answered_question_goes_to_the_history(tmp_path: Path) -> None:
    page = build_page(_hashing_library(tmp_path), ExportFolder(tmp_path / "exports"))
    ask = next(event for event in _events(page).values() if event.api_name == "ask")
    shown = dict(zip(_outputs(ask), ask.fn("When does the depot open?", 5, "hybrid", None,
                                           False, False, None), strict=True))
    assert "qa-hit" in shown["qa-results"] and shown["qa-answered"] == "When does the depot open?"


def _example_events(page: Page) -> list[Any]:
    """The events a click on an example starts: filling the box, then what follows it."""
    events = _events(page)
    examples = [block._id for block in page.blocks.blocks.values()
                if isinstance(block, gr.Dataset)]
    clicked = [event for event in events.values()
               if any(target in examples for target, _ in event.targets)]
    return clicked + [event for event in events.values()
                      if event.trigger_after in {c._id for c in clicked}]


def test_examples_are_shown_only_over_the_bundled_seeds(seeds_qa: QA, tmp_path: Path) -> None:
    assert not _example_events(build_page(_hashing_library(tmp_path), ExportFolder(tmp_path)))
    assert _example_events(build_page(seeds_qa, ExportFolder(tmp_path)))


def test_a_clicked_example_is_asked(seeds_qa: QA, tmp_path: Path) -> None:
    followed = [event for event in _example_events(build_page(seeds_qa, ExportFolder(tmp_path)))
                if "qa-results" in _outputs(event)]
    assert len(followed) == 1, "an example clicked only fills the box"
    shown = dict(zip(_outputs(followed[0]), followed[0].fn(EXAMPLES[2], 5, "hybrid", None, False,
                                                           False, None), strict=True))
    assert "CD/1679" in shown["qa-results"] and shown["qa-answered"] == EXAMPLES[2]


def test_the_index_line_is_worked_out_when_the_page_loads(tmp_path: Path) -> None:
    library = _hashing_library(tmp_path)
    page = build_page(library, ExportFolder(tmp_path / "exports"))
    (library.settings.docs_dir / "ferry.txt").write_text(
        "Ferries\n\nThe winter ferry leaves at nine.", encoding="utf-8")
    library.index()  # as the watcher does after the page was built
    loads = [event for event in _events(page).values()
             if any(trigger == "load" for _, trigger in event.targets)
             and "qa-status" in _outputs(event)]
    assert len(loads) == 1, "the index line is the server start's until a question"
    assert "2 documents" in loads[0].fn(None), loads[0].fn(None)
