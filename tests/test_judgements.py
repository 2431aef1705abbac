"""Relevance judgements of the user's own folder: the store beside the index (per user, appended,
stale, following a moved paragraph), the library verbs, POST /api/judgements, and `qa eval
--judgements` with its exports, over a tiny folder and the tiny encoder."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from encoders import HashingEncoder
from fastapi.testclient import TestClient

import qa.cli
from qa.core.access import Access
from qa.core.settings import Settings
from qa.evaluating.evaluate import read_question_set
from qa.evaluating.judged import (
    evaluate_judgements,
    export_judgements,
    format_judged,
    question_id,
)
from qa.evaluating.runs import evaluate_question_files
from qa.indexing.judgements import Judgement, JudgementStore
from qa.library import QA, QuestionRefused
from qa.serving.rest import rest_app
from qa.showing.judged_html import NO_FIGURES, render_figures

FERRIES = ["Ferries",
           "The winter ferry to Roscoff leaves the harbour at nine every morning.",
           "The summer ferry returns from Roscoff at six in the evening on weekdays.",
           "Tickets are sold at the harbour office beside the canteen."]
DEPOT = ["Depot", "The harbour depot opens at seven and is managed by Colette Moreau."]
SALARIES = ["Salaries", "Wages of the depot staff rise by four percent in March."]
LEAVES = "When does the winter ferry leave the harbour?"
OPENS = "When does the harbour depot open?"


def write(docs: Path, name: str, paragraphs: list[str]) -> None:
    (docs / name).parent.mkdir(parents=True, exist_ok=True)
    (docs / name).write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")


@pytest.fixture()
def library(tmp_path: Path) -> QA:
    docs = tmp_path / "docs"
    write(docs, "ferries.txt", FERRIES)
    write(docs, "depot.txt", DEPOT)
    write(docs, "hr/salaries.txt", SALARIES)
    return QA.open(Settings(docs_dir=docs, index_dir=tmp_path / "index"),
                   embedder=HashingEncoder())


def paragraph_of(library: QA, source: str, text: str) -> int:
    return next(p.paragraph for p in library.passages(source) if p.text == text)


def test_judgements_are_appended_per_user_as_jsonl_beside_the_index(library: QA) -> None:
    alice, bob = Access("alice"), Access("bob")
    library.judge(LEAVES, "ferries.txt", 1, "relevant", alice)
    library.judge(LEAVES, "ferries.txt", 2, "not relevant", alice)
    library.judge(OPENS, "depot.txt", 1, "relevant", bob)
    library.judge("Who painted the lighthouse?", "", 0, "none")  # no sign-in: the local user
    store = JudgementStore(library.settings.index_dir)
    lines = store.path("alice").read_text(encoding="utf-8").splitlines()
    assert store.path("alice").parent == library.settings.index_dir / "judgements"
    assert [json.loads(line)["verdict"] for line in lines] == ["relevant", "not relevant"]
    record = json.loads(lines[0])
    assert record["quote"] == FERRIES[1] and record["user"] == "alice"
    assert record["build"] == library.searcher.manifest.build and len(record["text_hash"]) == 64
    assert [j.judgement.question for j in library.judgements(access=bob)] == [OPENS]
    assert [j.judgement.verdict for j in library.judgements("local")] == ["none"]
    assert {j.judgement.paragraph for j in library.judgements("alice")} == {1, 2}


def test_a_verdict_given_again_replaces_the_earlier_one(library: QA) -> None:
    library.judge(LEAVES, "ferries.txt", 1, "not relevant")
    library.judge("  when does the WINTER ferry leave the harbour? ", "ferries.txt", 1, "relevant")
    assert len(JudgementStore(library.settings.index_dir).read("local")) == 2
    assert [j.judgement.verdict for j in library.judgements()] == ["relevant"]


def test_a_judgement_follows_its_moved_paragraph_and_is_stale_once_it_changes(library: QA
                                                                               ) -> None:
    docs = library.settings.docs_dir
    library.judge(LEAVES, "ferries.txt", paragraph_of(library, "ferries.txt", FERRIES[1]),
                  "relevant", quote="leaves the harbour at nine")
    write(docs, "depot.txt", [*DEPOT, "The depot closes at five."])  # another file edited
    library.index()
    assert [(j.standing, j.paragraph) for j in library.judgements()] == [("current", 1)]
    write(docs, "ferries.txt", [FERRIES[0], "Timetables change in April.", *FERRIES[1:]])
    library.index()
    assert [(j.standing, j.paragraph) for j in library.judgements()] == [("moved", 2)]
    write(docs, "ferries.txt", [FERRIES[0], "The winter ferry to Roscoff leaves at ten.",
                                *FERRIES[2:]])
    library.index()
    assert [(j.standing, j.paragraph) for j in library.judgements()] == [("stale", None)]


def test_judge_refuses_what_the_user_may_not_read_and_bad_input(library: QA) -> None:
    public = Access("bob", ("ferries.txt", "depot.txt"), ())
    assert library.judge(OPENS, "hr/salaries.txt", 1, "relevant", public) is None
    assert library.judge(OPENS, "depot.txt", 9, "relevant", public) is None
    assert not JudgementStore(library.settings.index_dir).path("bob").exists()
    with pytest.raises(ValueError, match="verdict must be one of"):
        library.judge(OPENS, "depot.txt", 1, "maybe", public)  # type: ignore[arg-type]
    with pytest.raises(QuestionRefused, match="needs the question"):
        library.judge("   ", "depot.txt", 1, "relevant", public)
    # Judged when everything was readable, a passage later out of reach is not shown.
    library.judge(OPENS, "hr/salaries.txt", 1, "relevant", Access("bob"))
    assert library.judgements("bob", public) == []


def test_rest_records_the_signed_in_users_judgement(library: QA) -> None:
    readers = {"alice": Access("alice"), "bob": Access("bob", ("ferries.txt",), ())}
    client = TestClient(rest_app(library, None,
                                 lambda headers: readers[headers.get("x-test-user", "alice")]))
    answer = client.post("/api/judgements", json={"question": LEAVES, "source": "ferries.txt",
                                                  "paragraph": 1, "verdict": "relevant"},
                         headers={"x-test-user": "bob"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["judged"]["user"] == "bob"
    assert [j.judgement.user for j in library.judgements("bob")] == ["bob"]
    hidden = client.post("/api/judgements", json={"question": OPENS, "source": "depot.txt",
                                                  "paragraph": 1, "verdict": "relevant"},
                         headers={"x-test-user": "bob"})
    missing = client.post("/api/judgements", json={"question": OPENS, "source": "nowhere.txt",
                                                   "paragraph": 1, "verdict": "relevant"})
    assert (hidden.status_code, missing.status_code) == (404, 404)
    assert hidden.json()["error"].replace("depot", "nowhere") == missing.json()["error"]
    for body, named in [({"question": OPENS, "source": "depot.txt", "paragraph": 1,
                          "verdict": "maybe"}, "verdict"),
                        ({"question": OPENS, "source": "depot.txt", "verdict": "relevant"},
                         "paragraph is required (with verdict 'relevant')"),
                        ({"question": OPENS, "paragraph": 1, "verdict": "relevant"},
                         "source is required (with verdict 'relevant')"),
                        ({"question": OPENS, "source": "depot.txt", "paragraph": True,
                          "verdict": "relevant"}, "paragraph: Input should be a valid integer"),
                        ({"question": "why " * 600, "source": "depot.txt", "paragraph": 1,
                          "verdict": "relevant"}, "question: at most 2000 characters"),
                        ({"question": OPENS, "source": "depot.txt", "paragraph": 1,
                          "verdict": "none"}, "none"),
                        ({"question": OPENS, "verdict": "none", "extra": 1}, "extra")]:
        refused = client.post("/api/judgements", json=body)
        assert refused.status_code == 422 and named in refused.json()["error"], refused.text
    assert client.post("/api/judgements", json={"question": OPENS, "verdict": "none"}
                       ).status_code == 200
    assert [j.judgement.verdict for j in library.judgements("alice")] == ["none"]


def judge_known_ranks(library: QA) -> None:
    """LEAVES answered by its first lexical hit, OPENS by its second (its first judged not
    relevant): Recall@1 1/2, Recall@5 1, MRR@10 (1 + 1/2)/2, nDCG@10 (1 + 1/log2 3)/2."""
    first = library.search(LEAVES, mode="lexical", collapse=False).hits[0].passage
    library.judge(LEAVES, first.source, first.paragraph, "relevant")
    hits = library.search(OPENS, mode="lexical", collapse=False).hits
    library.judge(OPENS, hits[0].passage.source, hits[0].passage.paragraph, "not relevant")
    library.judge(OPENS, hits[1].passage.source, hits[1].passage.paragraph, "relevant")
    library.judge("Who painted the lighthouse?", "", 0, "none")


KNOWN = {"recall@1": 0.5, "recall@5": 1.0, "mrr@10": 0.75,
         "ndcg@10": (1 + 1 / math.log2(3)) / 2}


def test_cli_eval_judgements_scores_known_ranks(library: QA, monkeypatch: pytest.MonkeyPatch
                                                 ) -> None:
    judge_known_ranks(library)
    monkeypatch.setattr(qa.cli, "open_qa", lambda settings, quiet=False: library)
    arguments = ["eval", "--judgements", "--docs", str(library.settings.docs_dir),
                 "--index", str(library.settings.index_dir)]
    outcome = CliRunner().invoke(qa.cli.main, [*arguments, "--json", "--mode", "lexical"])
    assert outcome.exit_code == 0, outcome.output
    figures = json.loads(outcome.output)
    assert figures["judgements"] == 4
    lexical = figures["modes"]["lexical"]
    assert (lexical["questions"], lexical["unanswerable"]) == (2, 1)
    for name, value in KNOWN.items():
        assert lexical[name] == pytest.approx(value), (name, lexical[name])
    table = CliRunner().invoke(qa.cli.main, arguments)
    assert table.exit_code == 0, table.output
    assert [line.split()[0] for line in table.output.splitlines()[2:5]] == [
        "hybrid", "dense", "lexical"]
    assert "2 questions with a relevant passage, 1 answered by none, 4 judgements" in table.output
    assert "0.750" in table.output.splitlines()[4]


def test_eval_judgements_with_nothing_judged_says_so_not_zeros(
        library: QA, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qa.cli, "open_qa", lambda settings, quiet=False: library)
    arguments = ["eval", "--judgements", "--docs", str(library.settings.docs_dir),
                 "--index", str(library.settings.index_dir), "--user", "nobody"]
    table = CliRunner().invoke(qa.cli.main, arguments)
    assert table.exit_code == 0, table.output
    assert table.output.startswith("nothing judged by nobody yet: no figures")
    assert "0.000" not in table.output
    figures = json.loads(CliRunner().invoke(qa.cli.main, [*arguments, "--json"]).output)
    assert figures["judged_questions"] == 0 and figures["judgements"] == 0
    assert all(mode[name] is None for mode in figures["modes"].values() for name in KNOWN)
    page = render_figures(figures, "hybrid", "hybrid", 0.05)
    assert NO_FIGURES in page and "0.000" not in page
    # Only "answered by none": judged, but nothing to average figures over.
    library.judge("Who painted the lighthouse?", "", 0, "none")
    only_none = evaluate_judgements(library).to_json()
    assert only_none["judged_questions"] == 1
    assert all(mode["recall@1"] is None for mode in only_none["modes"].values())  # type: ignore[attr-defined]
    shown = render_figures(only_none, "hybrid", "hybrid", 0.05)
    assert "Nothing to score yet" in shown and "0.000" not in shown
    assert "no figures to show" in format_judged(evaluate_judgements(library))


def test_eval_judgements_verbose_prints_each_questions_rank(
        library: QA, monkeypatch: pytest.MonkeyPatch) -> None:
    judge_known_ranks(library)
    monkeypatch.setattr(qa.cli, "open_qa", lambda settings, quiet=False: library)
    outcome = CliRunner().invoke(qa.cli.main, [
        "eval", "--judgements", "--docs", str(library.settings.docs_dir), "--index",
        str(library.settings.index_dir), "--mode", "lexical", "--verbose"])
    assert outcome.exit_code == 0, outcome.output
    ranks = [line.split("\t") for line in outcome.output.splitlines() if "\t" in line]
    assert {(qid, rank) for qid, rank, _ in ranks} == {
        (question_id(LEAVES), "1"), (question_id(OPENS), "2")} | {
        (question_id("Who painted the lighthouse?"), "-")}


def test_exports_are_a_question_set_qrels_and_runs_that_score_the_same(
        library: QA, tmp_path: Path) -> None:
    judge_known_ranks(library)
    report = evaluate_judgements(library, modes=["lexical"])
    written = export_judgements(report, tmp_path / "export")
    assert [path.name for path in written] == ["questions.jsonl", "qrels.txt", "run-lexical.txt"]
    records = [json.loads(line) for line in written[0].read_text(encoding="utf-8").splitlines()]
    assert {r["id"] for r in records} == {question_id(LEAVES), question_id(OPENS),
                                          question_id("Who painted the lighthouse?")}
    assert all(set(r) == {"id", "question", "relevant"} for r in records)
    assert [len(r["relevant"]) for r in records] == [1, 1, 0]
    assert set(records[0]["relevant"][0]) == {"source", "evidence"}
    # `qa eval` of the exported file gives the figures of the judgements.
    again = evaluate_question_files([written[0]], library.settings.with_overrides(mode="lexical"),
                                    embedder=HashingEncoder())
    assert again.metrics == report.modes[0].report.metrics
    assert len(read_question_set(written[0])) == 3
    qrels = [line.split() for line in written[1].read_text(encoding="utf-8").splitlines()]
    assert all(len(fields) == 4 and fields[1] == "0" for fields in qrels)
    assert sorted(fields[3] for fields in qrels) == ["0", "1", "1"]
    run = [line.split() for line in written[2].read_text(encoding="utf-8").splitlines()]
    assert all(len(fields) == 6 and fields[1] == "Q0" and fields[5] == "qa-lexical"
               for fields in run)
    opens = [fields for fields in run if fields[0] == question_id(OPENS)]
    relevant = {fields[2] for fields in qrels if fields[3] == "1"}
    assert [fields[3] for fields in opens][:2] == ["1", "2"] and opens[1][2] in relevant


def test_exported_docids_quote_a_hash_in_a_file_name(library: QA, tmp_path: Path) -> None:
    """A DOCID is the quoted source, `#`, the paragraph: a `#` of the name itself is quoted,
    so a tool that parts a DOCID at its `#` finds the file and the paragraph."""
    write(library.settings.docs_dir, "log #2 [draft].txt",
          ["Log", "The harbour depot opens at seven and at six on market days."])
    library.prepare()
    library.judge(OPENS, "log #2 [draft].txt", 1, "relevant")
    written = export_judgements(evaluate_judgements(library, modes=["lexical"]),
                                tmp_path / "export")
    qrels = [line.split() for line in written[1].read_text(encoding="utf-8").splitlines()]
    run = [line.split() for line in written[2].read_text(encoding="utf-8").splitlines()]
    assert [fields[2] for fields in qrels] == ["log%20%232%20%5Bdraft%5D.txt#1"]
    assert qrels[0][2] in {fields[2] for fields in run}
    assert all(fields[2].count("#") == 1 for fields in qrels + run)


def test_a_judgement_with_a_bad_line_beside_it_still_reads(tmp_path: Path) -> None:
    store = JudgementStore(tmp_path)
    judgement = Judgement(OPENS, "depot.txt", 1, "0" * 64, "opens", "relevant", 1.0, "b", "a b")
    store.add(judgement)
    with store.path("a b").open("a", encoding="utf-8") as stream:
        stream.write('{"not": "a judgement"}\nnot json\n')
    store.add(judgement)
    assert store.path("a b").name == "a%20b.jsonl"
    assert store.read("a b") == [judgement, judgement]


def test_the_page_judges_a_hit_through_its_buttons_handler(library: QA, tmp_path: Path) -> None:
    from qa.serving.handlers import ActionRefused, Handlers
    from qa.showing.exports import ExportFolder
    from qa.showing.view_html import DocumentViews

    handlers = Handlers(library, ExportFolder(tmp_path / "exports"),
                        DocumentViews(library, 1_000_000))
    page = handlers.ask(LEAVES, 3, "lexical", None, Access("alice"))
    # Each hit has its two buttons, reachable by Tab (buttons), and the question one more.
    assert page.results.count('data-verdict="relevant"') == 3
    assert page.results.count('data-verdict="not relevant"') == 3
    assert page.results.count('data-verdict="none"') == 1
    assert page.results.count('<button type="button"') == 7
    sent = json.dumps({"question": LEAVES, "source": "ferries.txt", "paragraph": 1,
                       "verdict": "relevant", "quote": "leaves the harbour at nine"})
    assert handlers.judge(sent, Access("alice")) == "Judged ferries.txt ¶ 1 relevant."
    assert [j.judgement.quote for j in library.judgements("alice")] == [
        "leaves the harbour at nine"]
    with pytest.raises(ActionRefused, match=r"no passage 1 of 'hr/salaries\.txt'"):
        handlers.judge(sent.replace("ferries.txt", "hr/salaries.txt"),
                       Access("bob", ("ferries.txt",), ()))
    with pytest.raises(ActionRefused, match="could not be read"):
        handlers.judge("{", Access("alice"))
    more_like = handlers.similar("ferries.txt", 1, Access("alice"))
    assert "qa-judge" not in more_like.results  # no question: nothing to judge against


def test_the_page_builds_with_the_judge_api(library: QA, tmp_path: Path) -> None:
    from qa.serving.webapp import build_page
    from qa.showing.exports import ExportFolder

    page = build_page(library, ExportFolder(tmp_path / "exports"))
    names = {fn.api_name for fn in page.blocks.fns.values()}
    assert "judge" in names
