"""The Gradio handlers, called directly (no server)."""

from __future__ import annotations

import re
from pathlib import Path

from qa.library import QA
from qa.serving.webapp import build_page
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
