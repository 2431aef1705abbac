"""The server's start-up build with another model or chunking than the published build's is
checked on the judged questions as `qa index` checks a build (docs/judging.md): old against new
in the log, a worse build warned of in the log and under the page's index line, and with
keep_if_worse off declined, the old build and its model serving on. Over the tiny folder and
the hashing "models" of tests/test_judged_builds.py (hashing-4 is worse than hashing-64)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import gradio_client
import pytest
import requests
from test_judged_builds import SizedHashing, judge_answers, library, served_build
from test_judgements import FERRIES, LEAVES

import qa.library
from qa.core.access import EVERYONE, Access
from qa.evaluating import judged
from qa.library import QA
from qa.serving import server
from qa.serving.handlers import Handlers
from qa.serving.server import ServeOptions
from qa.showing.exports import ExportFolder
from qa.showing.view_html import DocumentViews

__all__ = ["library"]  # the fixture, used by name


def start(library: QA, **overrides: Any) -> tuple[QA, Any]:
    """What `qa serve` does with the index before the page opens, with `overrides` (a model
    asked for with --model, say), not following the folder."""
    opened, watcher, notice = server._open_index(
        library.settings.with_overrides(watch=False, **overrides))
    assert watcher is None
    return opened, notice


def status_line(opened: QA, notice: Any, tmp_path: Path, access: Access = EVERYONE) -> str:
    handlers = Handlers(opened, ExportFolder(tmp_path / "exports"),
                        DocumentViews(opened, 1_000_000), notice=notice)
    return handlers.status(access)


def test_a_worse_model_at_start_warns_in_the_log_and_on_the_page(
        library: QA, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    judge_answers(library)
    old = served_build(library)
    opened, notice = start(library, model="hashing-4")
    log = capsys.readouterr().err
    assert "qa: judged questions of local (hybrid; 4 questions, 4 judgements):" in log, log
    replaced = next(line for line in log.splitlines() if line.split()[1:2] == ["replaced"])
    new = next(line for line in log.splitlines() if line.split()[1:2] == ["new"])
    assert replaced.split()[2] == "1.000" and float(new.split()[2]) < 1.0, log
    assert "qa: warning: the new build scores worse on local's judged questions: recall@1 -" \
        in log, log
    # Published (keep_if_worse is on by default), with the warning under the index line.
    assert served_build(library) != old
    assert opened.searcher.manifest.model["name"] == "hashing-4" and opened.not_in_use is None
    line = status_line(opened, notice, tmp_path)
    assert "model `hashing-4`" in line, line
    assert "**Warning**: the build made at start with new settings scores worse on the judged " \
           "questions than the build it replaced (local: recall@1 −" in line, line
    # A reader who may not read everything is told without other users' names and figures.
    brief = status_line(opened, notice, tmp_path, Access("ann", ("ferries.txt",)))
    assert "scores worse on the judged questions" in brief and "local" not in brief, brief


def test_a_worse_model_at_start_declined_leaves_the_old_build_and_its_model_serving(
        library: QA, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    judge_answers(library)
    old = served_build(library)
    opened, notice = start(library, model="hashing-4", keep_if_worse=False)
    log = capsys.readouterr().err
    assert "qa: NOT IN USE: model hashing-4, asked for at start: the build made with it was " \
           "not published, it scores worse on the judged questions (local: recall@1 -" in log, log
    assert "the old build (model hashing-64) keeps serving" in log, log
    assert served_build(library) == old
    assert [p.name for p in library.settings.index_dir.glob("build-*")] == [old]
    # The server answers from the old build, its questions encoded with the old build's model.
    assert opened.settings.model == "hashing-64" and opened.embedder.dimension == 64
    assert opened.searcher.manifest.build == old
    assert opened.search(LEAVES, k=1).hits[0].passage.text == FERRIES[1]
    assert opened.not_in_use is not None and opened.not_in_use.asked == {"model": "hashing-4"}
    line = status_line(opened, notice, tmp_path)
    assert "model `hashing-64`" in line
    assert "**Not in use: model hashing-4, asked for at start: the build made with it was not " \
           "published**, it scores worse on the judged questions (local: recall@1 -" in line, line
    assert "start with --keep-if-worse=yes" in line, line
    # A watcher's batch (or the page's Rebuild) goes on with the old build's identity: the
    # asked-for model does not slip in unchecked.
    assert opened.index().rebuilt_because == ""
    opened.index(force=True)
    assert served_build(library) != old
    assert opened.searcher.manifest.model["name"] == "hashing-64"


def test_other_chunking_at_start_is_checked_and_declined(library: QA, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    judge_answers(library)
    old = served_build(library)
    seen: list[int] = []
    # Say the other chunking scores worse: the check is judged's, whatever it finds.
    monkeypatch.setattr(judged.JudgedGate, "__call__",
                        lambda gate, replaced, new: seen.append(
                            new.settings.window_overlap_sentences) or "declined by the test")
    opened, notice = start(library, window_overlap_sentences=0, keep_if_worse=False)
    assert seen == [0] and served_build(library) == old
    assert opened.settings.window_overlap_sentences == 1
    assert opened.not_in_use is not None
    assert opened.not_in_use.asked == {"window_overlap_sentences": 0}
    assert opened.not_in_use.in_use == {"window_overlap_sentences": 1}
    assert notice is not None and "Not in use: window_overlap_sentences 0" in notice.full
    assert "the old build (window_overlap_sentences 1) keeps serving" in notice.full


def test_without_judgements_or_a_change_nothing_is_computed(
        library: QA, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*arguments: object, **named: object) -> None:
        raise AssertionError("judged figures computed")

    monkeypatch.setattr(judged, "evaluate_judgements", never)
    loaded: list[str] = []
    monkeypatch.setattr(qa.library, "Embedder", lambda name, *rest: loaded.append(name)
                        or SizedHashing(name, *rest))
    old = served_build(library)
    opened, notice = start(library, model="hashing-4", keep_if_worse=False)
    # No judgements: the new model is published unchecked, the old one never loaded.
    assert notice is None and served_build(library) != old and loaded == ["hashing-4"]
    assert "judged" not in capsys.readouterr().err
    # Judged, but the same model and chunking (a document changed): not checked either.
    judge_answers(opened)
    (library.settings.docs_dir / "more.txt").write_text("The kiosk sells tickets.\n",
                                                        encoding="utf-8")
    again, notice = start(library, model="hashing-4", keep_if_worse=False)
    assert notice is None and "more.txt" in again.sources()
    assert loaded == ["hashing-4", "hashing-4"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_server_started_with_a_worse_model_answers_from_the_old_build(
        library: QA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    judge_answers(library)
    old = served_build(library)
    # launch sets these for Gradio; put back after the test.
    (tmp_path / "gradio").mkdir()
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "")
    port = free_port()
    page = server.launch(library.settings.with_overrides(model="hashing-4", watch=False,
                                                         keep_if_worse=False),
                         ServeOptions(port=port), block=False)
    try:
        url = f"http://127.0.0.1:{port}"
        found = requests.post(f"{url}/api/search", json={"question": LEAVES, "k": 1},
                              timeout=30).json()
        assert found["hits"][0]["text"] == FERRIES[1], found
        config = requests.get(f"{url}/config", timeout=30).text
        assert "Not in use: model hashing-4" in config and "keeps serving" in config
        assert "model `hashing-64`" in config
        # REST's health and the status tool (the JSON API and MCP) say it too, as plain text.
        health = requests.get(f"{url}/api/health", timeout=30).json()
        assert health["model"] == "hashing-64", health
        assert health["notice"].startswith("Not in use: model hashing-4, asked for at start: "
                                           "the build made with it was not published, it "
                                           "scores worse"), health
        assert "**" not in health["notice"] and "keeps serving" in health["notice"], health
        status = gradio_client.Client(url + "/").predict(api_name="/status")
        assert status["notice"] == health["notice"], status
    finally:
        page.close()
    assert served_build(library) == old
