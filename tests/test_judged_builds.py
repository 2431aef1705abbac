"""The judged questions before a build is published (a worse model warns, and with
--keep-if-worse=no the old build keeps serving), the figures panel's handler and REST route, over
a tiny folder and hashing "models" named by their size (tests/encoders.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from encoders import HashingEncoder
from fastapi.testclient import TestClient
from test_judgements import DEPOT, FERRIES, LEAVES, OPENS, SALARIES, write

import qa.cli
import qa.library
from qa.core.access import Access
from qa.core.settings import Settings
from qa.embedding.model import ModelIdentity
from qa.evaluating import judged
from qa.evaluating.judged import evaluate_judgements
from qa.indexing import store
from qa.indexing.judgements import JudgementStore
from qa.library import QA
from qa.serving.rest import rest_app

# Each judged question with the file holding its answer.
JUDGED = [(LEAVES, "ferries.txt"), (OPENS, "depot.txt"), ("Who manages the depot?", "depot.txt"),
          ("When does the summer ferry return?", "ferries.txt")]


class SizedHashing(HashingEncoder):
    """A hashing "model" named hashing-D with D slots: the fewer, the more words share one, and
    the worse its vectors tell passages apart (hashing-4 is a worse model than hashing-64)."""

    def __init__(self, name: str, *settings: object) -> None:
        super().__init__(int(name.removeprefix("hashing-")))
        self.name = name

    def identity(self) -> ModelIdentity:
        return ModelIdentity(self.name, self.dimension, self.name)


@pytest.fixture()
def library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> QA:
    """The folder indexed with hashing-64; `qa index --model hashing-D` loads hashing-D."""
    monkeypatch.setattr(qa.library, "Embedder", SizedHashing)
    docs = tmp_path / "docs"
    write(docs, "ferries.txt", FERRIES)
    write(docs, "depot.txt", DEPOT)
    write(docs, "hr/salaries.txt", SALARIES)
    return QA.open(Settings(docs_dir=docs, index_dir=tmp_path / "index", model="hashing-64"))


def judge_answers(library: QA, access: Access | None = None) -> None:
    """Each question's passage in its file judged relevant."""
    for question, source in JUDGED:
        hit = next(h for h in library.search(question, k=10, collapse=False).hits
                   if h.passage.source == source)
        library.judge(question, source, hit.passage.paragraph, "relevant",
                      access or Access(None))


def index(library: QA, *arguments: str) -> tuple[int, str, str]:
    settings = library.settings
    outcome = CliRunner().invoke(qa.cli.main, ["index", "--docs", str(settings.docs_dir),
                                               "--index", str(settings.index_dir), *arguments])
    return outcome.exit_code, outcome.stdout, outcome.stderr


def served_build(library: QA) -> str:
    return store.read_manifest(library.settings.index_dir).build


def test_a_worse_model_declined_leaves_the_old_build_serving(library: QA) -> None:
    judge_answers(library)
    before = evaluate_judgements(library, modes=["hybrid"]).modes[0].report.metrics
    assert before["recall@1"] == 1.0, before
    old = served_build(library)
    status, out, err = index(library, "--model", "hashing-4", "--keep-if-worse=no")
    assert status == qa.cli.DECLINED_STATUS, (out, err)
    assert "not published: it scores worse on the judged questions" in err
    assert "the old build keeps serving" in err and "warning: the new build scores worse" in err
    assert "judged questions of local (hybrid; 4 questions, 4 judgements)" in out
    replaced = next(line for line in out.splitlines() if line.split()[:1] == ["replaced"])
    new = next(line for line in out.splitlines() if line.split()[:1] == ["new"])
    assert replaced.split()[1] == "1.000" and float(new.split()[1]) < 1.0, out
    # The old build still serves, and answers: the folder holds it alone.
    assert served_build(library) == old
    assert [p.name for p in library.settings.index_dir.glob("build-*")] == [old]
    again = QA(library.settings)
    assert again.searcher.manifest.model["name"] == "hashing-64"
    assert again.search(LEAVES, k=1).hits[0].passage.text == FERRIES[1]


def test_a_worse_model_warns_and_is_published_by_default(library: QA) -> None:
    judge_answers(library)
    old = served_build(library)
    status, out, err = index(library, "--model", "hashing-4")
    assert status == 0, (out, err)
    assert "warning: the new build scores worse on local's judged questions: recall@1 -" in err
    assert "more than judged_drop 0.02" in err
    assert served_build(library) != old
    assert store.read_manifest(library.settings.index_dir).model["name"] == "hashing-4"


def test_a_rebuild_as_good_says_so_without_a_warning(library: QA) -> None:
    judge_answers(library)
    status, out, err = index(library, "--force", "--model", "hashing-64")
    assert status == 0 and "warning" not in err, (out, err)
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()
            if line.split()[:1] in (["replaced"], ["new"])}
    assert rows["replaced"] == rows["new"] == ["1.000"] * 4, out


def test_without_judgements_nothing_is_computed(library: QA,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*arguments: object, **named: object) -> None:
        raise AssertionError("judged figures computed without judgements")

    monkeypatch.setattr(judged, "evaluate_judgements", never)
    old = served_build(library)
    status, out, err = index(library, "--model", "hashing-4", "--keep-if-worse=no")
    assert status == 0 and "judged" not in out + err, (out, err)
    assert served_build(library) != old


def test_the_check_runs_between_writing_and_publishing(library: QA) -> None:
    old = served_build(library)
    seen: list[tuple[str, str, str]] = []

    def check(replaced: QA | None, new: QA) -> str:
        assert replaced is not None
        seen.append((served_build(library), replaced.searcher.manifest.build,
                     new.searcher.manifest.build))
        return "declined by the test"

    report = library.index(force=True, check=check)
    assert report.declined == "declined by the test"
    ((published, searched_old, searched_new),) = seen
    assert published == searched_old == old and searched_new != old
    assert not (library.settings.index_dir / searched_new).exists()
    assert served_build(library) == old and library.searcher.manifest.build == old
    assert "not published" in report.summary()


def test_the_panel_handler_and_rest_give_each_user_their_own_figures(library: QA,
                                                                      tmp_path: Path) -> None:
    from qa.serving.handlers import Handlers
    from qa.showing.exports import ExportFolder
    from qa.showing.view_html import DocumentViews

    judge_answers(library, Access("alice"))
    library.judge(OPENS, "", 0, "none", Access("bob"))
    library.judge(LEAVES, "", 0, "none", Access("carol d"))  # a name kept URL-quoted
    assert JudgementStore(library.settings.index_dir).users() == ["alice", "bob", "carol d"]
    handlers = Handlers(library, ExportFolder(tmp_path / "exports"),
                        DocumentViews(library, 1_000_000))
    alice = handlers.figures(Access("alice"))
    assert alice == evaluate_judgements(library, access=Access("alice")).to_json()
    assert (alice["judgements"], alice["modes"]["hybrid"]["questions"]) == (4, 4)
    bob = handlers.figures(Access("bob"))
    assert (bob["judgements"], bob["modes"]["hybrid"]["unanswerable"]) == (1, 1)
    client = TestClient(rest_app(library, None, lambda headers: Access(headers["x-user"])))
    for user, figures in (("alice", alice), ("bob", bob)):
        answer = client.get("/api/judgements/figures", headers={"x-user": user})
        assert answer.status_code == 200 and answer.json() == figures, answer.text
    refused = client.get("/api/judgements/figures?user=bob", headers={"x-user": "alice"})
    assert refused.status_code == 422 and "user" in refused.json()["error"]
    shown = handlers.figures_html(alice, "lexical")
    assert 'data-mode="lexical"' in shown and "qa-figures-chosen" in shown
    assert "4 questions with a relevant passage" in shown and "4 judgements" in shown


def test_the_panel_says_how_far_a_mode_falls_below_the_served_one(library: QA,
                                                                   tmp_path: Path) -> None:
    from qa.showing.judged_html import render_figures

    figures = {"user": "ann", "judgements": 5, "stale": 1, "unjudged": 0, "modes": {
        "hybrid": {"recall@1": 1.0, "recall@5": 1.0, "mrr@10": 1.0, "ndcg@10": 1.0,
                   "questions": 3, "unanswerable": 0},
        "lexical": {"recall@1": 0.5, "recall@5": 1.0, "mrr@10": 0.75, "ndcg@10": 0.99,
                    "questions": 3, "unanswerable": 0}}}
    shown = render_figures(figures, "lexical", "hybrid", 0.02)
    assert "lexical scores below hybrid on your judged questions: recall@1 −0.500, " \
           "mrr@10 −0.250." in shown
    assert "1 stale (their passage changed), left out" in shown
    assert "qa-figures-drop" not in render_figures(figures, "hybrid", "hybrid", 0.02)


def test_the_pages_rebuild_shows_old_against_new(library: QA, tmp_path: Path) -> None:
    from qa.serving.handlers import Handlers
    from qa.showing.exports import ExportFolder
    from qa.showing.view_html import DocumentViews

    handlers = Handlers(library, ExportFolder(tmp_path / "exports"),
                        DocumentViews(library, 1_000_000))
    plain = handlers.rebuild(Access("boss", ("*",), ("*",)))
    assert "Judged questions" not in plain  # nothing judged: nothing compared
    judge_answers(library, Access("boss"))
    line = handlers.rebuild(Access("boss", ("*",), ("*",)))
    assert "Judged questions of boss (hybrid; 4 questions, 4 judgements)" in line
    assert "| replaced | 1.000 | 1.000 | 1.000 | 1.000 |" in line
    assert "| new | 1.000 | 1.000 | 1.000 | 1.000 |" in line and "Warning" not in line
    assert json.dumps(line)  # one Markdown string for the panel
