"""The query syntax (qa.searching.query) and its filters and constraints, which narrow the
passages before ranking (qa.searching.scope): on every route, k hits whenever k passages match."""

from __future__ import annotations

import json
import os
import re
import time
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SEEDS
from encoders import HashingEncoder
from fastapi.testclient import TestClient

from qa.cli import main
from qa.core.settings import Settings
from qa.indexing.backends.local import LocalIndex
from qa.library import NOTHING_TO_RANK, QA, QuestionRefused
from qa.reading.readers import KINDS, READERS
from qa.searching.query import Query, QueryError, fold, parse_query
from qa.serving.rest import rest_app

# ---- the parser ------------------------------------------------------------------------------


@pytest.mark.parametrize("question", [
    "Who co-organised the 2018 PAROS workshop?",
    "What is C++ used for, and is it well-known?",
    "note: the meeting at 10:30 - what was decided?",
    "What is -40 degrees in Fahrenheit, and +1 more?",
    "title: The Road; in: which year; type: what kind?",
    "Is the price 5-7 euros? Isn't it?",
    "",
])
def test_a_plain_question_is_its_own_question(question: str) -> None:
    assert parse_query(question) == Query(question)


def test_each_form() -> None:
    query = parse_query('who said "to  be or NOT" -hamlet -"bad words" +king type:pdf '
                        'type:slides in:hr/2024 in:"my folder/" file:*.pdf title:"annual report" '
                        "after:2024-03 before:2025 page:3-7 page:9")
    assert query.question == "who said to be or NOT king"  # phrases and +words rank too
    assert query.phrases == ("to be or NOT",)
    assert query.required == ("king",)
    assert query.excluded == ("hamlet", "bad words")
    assert query.types == (".pdf", *KINDS["slides"])
    assert query.folders == ("hr/2024/", "my folder/")
    assert query.files == ("*.pdf",)
    assert query.titles == ("annual report",)
    assert query.after == date(2024, 3, 1) and query.before == date(2025, 1, 1)
    assert query.pages == ((3, 7), (9, 9))
    assert query.filters_documents and query.filters_passages


def test_typographic_quotes_and_filter_names_in_any_case() -> None:
    query = parse_query("\u201cnuclear testing\u201d Type:PDF In:Reports")
    assert query.phrases == ("nuclear testing",)
    assert query.types == (".pdf",) and query.folders == ("Reports/",)
    assert query.question == "nuclear testing"


def test_every_kind_is_of_suffixes_qa_reads() -> None:
    assert all(suffix in READERS for suffixes in KINDS.values() for suffix in suffixes)
    assert parse_query("x type:sheets").types == parse_query("x type:sheet").types == KINDS["sheet"]


@pytest.mark.parametrize(("text", "message"), [
    ('find "the unclosed phrase', r"'\"the unclosed phrase': this quote is never closed"),
    ("x after:2024-13-01", r"after:2024-13-01: not a date; write it as YYYY-MM-DD"),
    ("x before:yesterday", r"before:yesterday: not a date"),
    ("x type:foo", r"type:foo: qa reads no such type; one of .*pdf.*slides"),
    ("x page:7-3", r"page:7-3: not a page or a range of pages; write page:3 or page:3-7"),
    ("x page:0", r"page:0: not a page"),
    ('x in:""', r"'in:' is followed by nothing to search for \(e\.g\. in:reports/2024/\)"),
    ('x -""', r"'-' is followed by nothing to search for"),
])
def test_a_malformed_query_names_its_part(text: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse_query(text)


# ---- over a folder -----------------------------------------------------------------------------

TOPICS = ["harbour cranes unload containers", "orchard apples ripen slowly",
          "violin strings need tuning", "glacier ice melts each summer",
          "bakery ovens bake bread daily"]
SPECIAL = "special/needle.txt"  # the one document a narrow filter keeps
K = 4


def _folder(root: Path) -> Path:
    """40 documents of 3 passages in three folders and two formats, dated a year apart
    in two groups, and one document on its own under special/."""
    docs = root / "docs"
    for number in range(40):
        folder = docs / ("reports" if number % 2 else "notes")
        folder.mkdir(parents=True, exist_ok=True)
        suffix = ".md" if number % 4 == 0 else ".txt"
        topic = TOPICS[number % len(TOPICS)]
        paragraphs = [f"Paragraph {p} of file {number}: the {topic} near the river."
                      + (" The secret ledger was audited." if p == 2 and number % 3 == 0 else "")
                      for p in range(1, 4)]
        path = folder / f"file{number:02d}{suffix}"
        path.write_text(f"Document {number}\n\n" + "\n\n".join(paragraphs), encoding="utf-8")
        stamp = time.mktime((2023 if number < 20 else 2024, 6, 15, 12, 0, 0, 0, 0, -1))
        os.utime(path, (stamp, stamp))
    (docs / "special").mkdir()
    (docs / SPECIAL).write_text(
        "Needle\n\n" + "\n\n".join(f"Note {n}: an unrelated line about pottery glazes, kiln "
                                   f"number {n}." for n in range(1, 7)), encoding="utf-8")
    return docs


@pytest.fixture(scope="module")
def folder_qa(tmp_path_factory: pytest.TempPathFactory) -> QA:
    root = tmp_path_factory.mktemp("query-folder")
    # Few candidates per retriever, so that a filter keeping a tenth of the folder is searched
    # among its rows by FAISS, and one keeping one document is scored whole.
    settings = Settings(docs_dir=_folder(root), index_dir=root / "index", candidates=5,
                        top_k=K)
    return QA.open(settings, embedder=HashingEncoder())


def _number(source: str) -> int:
    found = re.search(r"file(\d+)", source)
    return int(found[1]) if found else -1


def _hits(qa: QA, question: str, k: int = K) -> list[tuple[str, str]]:
    result = qa.search(question, k)
    return [(hit.passage.source, hit.passage.text) for hit in result.hits]


def test_a_filter_keeping_one_document_still_gives_k_hits(folder_qa: QA) -> None:
    question = "harbour cranes unload containers"
    unfiltered = _hits(folder_qa, question)
    assert SPECIAL not in {source for source, _ in unfiltered}  # it is far from the question
    for query in (f"{question} in:special/", f"{question} file:needle", f"{question} file:needle.*",
                  f"{question} title:needle"):
        hits = _hits(folder_qa, query)
        assert len(hits) == K and {source for source, _ in hits} == {SPECIAL}, query


def test_type_folder_and_date_filters_keep_only_matching_files(folder_qa: QA) -> None:
    question = "orchard apples ripen near the river"
    checks = {
        "type:md": lambda source: source.endswith(".md"),
        "type:text": lambda source: source.endswith((".txt", ".md")),
        "in:reports/": lambda source: source.startswith("reports/"),
        "in:notes type:md": lambda source: source.startswith("notes/") and source.endswith(".md"),
        "file:file1*": lambda source: re.fullmatch(r"\w+/file1\d\.\w+", source) is not None,
        "before:2024-01-01": lambda source: _number(source) < 20,
        "after:2024": lambda source: source == SPECIAL or _number(source) >= 20,
    }
    for filters, matches in checks.items():
        hits = _hits(folder_qa, f"{question} {filters}", 5)
        assert len(hits) == 5, filters
        assert all(matches(source) for source, _ in hits), (filters, hits)


def test_phrases_and_required_words_are_in_every_hit(folder_qa: QA) -> None:
    hits = _hits(folder_qa, 'violin strings "secret ledger"', 5)
    assert len(hits) == 5  # of the 14 passages that hold it (the files numbered a multiple of 3)
    assert all("secret ledger" in text.casefold() for _, text in hits)
    hits = _hits(folder_qa, "violin strings +AUDITED", 5)
    assert len(hits) == 5 and all("audited" in text for _, text in hits)
    # Case and whitespace folded, whole words at its ends.
    assert len(_hits(folder_qa, 'violin "SECRET\tledger"', 5)) == 5
    assert _hits(folder_qa, 'violin "secret ledg"', 5) == []


def test_excluded_words_and_phrases_are_in_no_hit(folder_qa: QA) -> None:
    question = "violin strings need tuning"
    assert all("violin" in text for _, text in _hits(folder_qa, question, 5))
    for query, absent in ((f"{question} -violin", "violin"),
                          (f'{question} -"need tuning"', "need tuning")):
        hits = _hits(folder_qa, query, 5)
        assert len(hits) == 5 and not any(absent in text for _, text in hits), query


def test_page_filter_needs_pages(folder_qa: QA) -> None:
    """Text files have no pages: a page filter keeps none of their passages, and says so."""
    result = folder_qa.search("harbour cranes page:1-3")
    assert result.hits == [] and "Nothing matches" in result.notices[0]


def test_nothing_matches_is_said_not_silent(folder_qa: QA) -> None:
    result = folder_qa.search("harbour cranes type:pdf")
    assert result.hits == [] and "Nothing matches" in result.notices[0]


@pytest.mark.parametrize("text", ["type:pdf", "-tides", 'in:reports/ -"notice period"'])
def test_a_query_of_filters_alone_says_it_has_nothing_to_rank_by(folder_qa: QA,
                                                                 text: str) -> None:
    result = folder_qa.search(text)
    assert result.hits == [] and result.notices == [NOTHING_TO_RANK]
    assert folder_qa.search("  ").notices == ["Please type a question."]


def test_a_malformed_query_is_refused_by_the_library(folder_qa: QA) -> None:
    with pytest.raises(QuestionRefused, match=r"query: after:soon: not a date"):
        folder_qa.search("harbour cranes after:soon")


def test_a_question_set_is_searched_as_written(folder_qa: QA, tmp_path: Path) -> None:
    """Question sets are plain language: a lone quote or a sign in one is words to rank, never
    a refusal that stops the evaluation (qa eval over SQuAD's unanswerable questions)."""
    from qa.evaluating.runs import evaluate_question_files

    odd = 'Which "secret ledger was audited near the river?'
    with pytest.raises(QuestionRefused, match="never closed"):
        folder_qa.search(odd)
    assert folder_qa.search(odd, literal=True).hits
    questions = tmp_path / "questions.jsonl"
    line = {"id": "q1", "question": odd, "relevant": [
        {"source": "reports/file03.txt", "evidence": "The secret ledger was audited."}]}
    questions.write_text(json.dumps(line) + "\n", encoding="utf-8")
    report = evaluate_question_files([questions], folder_qa.settings,
                                     embedder=folder_qa.embedder)
    assert len(report.outcomes) == 1


def test_a_plain_question_ranks_as_before(folder_qa: QA) -> None:
    """The same hits, scores included, as the searcher gives without any query."""
    question = "glacier ice melts each summer"
    plain = folder_qa.search(question).hits
    direct = folder_qa.searcher.search(question, K, folder_qa.settings.mode)
    assert [(h.passage, h.score, dict(h.scores)) for h in plain] == \
        [(h.passage, h.score, dict(h.scores)) for h in direct]


def test_faiss_searches_among_the_allowed_rows(folder_qa: QA) -> None:
    """A filter wider than what is scored whole: FAISS's selected search gives the allowed
    passages nearest the query, the same as scoring every allowed passage exactly."""
    index = folder_qa.searcher.index
    assert isinstance(index, LocalIndex)
    numbers = np.arange(0, index.passage_count, 3, dtype=np.int64)
    query = HashingEncoder().encode_query("bakery ovens bake bread")[0]
    found = index.dense_candidates(query, 3, None, numbers)
    assert len(found) == 3 and set(found.tolist()) <= set(numbers.tolist())
    rows, counts, _ = index.candidate_vectors(numbers)
    owners = np.repeat(numbers, counts)
    best = {}
    for owner, cosine in zip(owners.tolist(), (rows @ query).tolist(), strict=True):
        best[owner] = max(best.get(owner, -1.0), cosine)
    expected = sorted(best.values(), reverse=True)[:3]
    assert np.allclose(sorted((best[n] for n in found.tolist()), reverse=True), expected,
                       atol=1e-6)


# ---- the routes ----------------------------------------------------------------------------------


def test_rest_answers_a_malformed_query_with_422(folder_qa: QA) -> None:
    client = TestClient(rest_app(folder_qa))
    refused = client.get("/api/search", params={"q": 'cranes "unclosed'})
    assert refused.status_code == 422
    assert "this quote is never closed" in refused.text
    answered = client.post("/api/search", json={"question": "cranes in:special/", "k": 2})
    assert answered.status_code == 200
    assert {hit["source"] for hit in answered.json()["hits"]} == {SPECIAL}


def test_qa_ask_says_what_is_malformed(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["ask", "PAROS workshop page:nine", "--docs", str(SEEDS),
                                       "--index", str(tmp_path / "index")])
    assert result.exit_code == 1
    assert "qa: error: query: page:nine: not a page or a range of pages" in result.stderr
    assert "Traceback" not in result.output


def test_fold_matches_the_evaluation() -> None:
    assert fold("  The\u00a0Secret\n LEDGER ") == "the secret ledger"


# ---- over the SQuAD articles (issue 36's bar) ---------------------------------------------------


def test_squad_questions_with_phrases_words_and_filters_give_only_and_enough_hits(
        tmp_path: Path) -> None:
    """50 SQuAD questions, each with a quoted phrase from its evidence, a -word from it and
    the filters of benchmarks/filters.py (one of them keeps one document of hundreds): every
    hit passes, and k come back whenever k passages pass (k distinct ones collapsed: the
    articles are there twice). The tiny encoder: what is checked is which passages may come
    back, not how well they rank."""
    from benchmarks.filters import SQUAD, filters, split_articles
    from benchmarks.filters import K as BENCH_K

    sources = split_articles(tmp_path / "docs", 2)
    assert len(sources) >= 300  # hundreds of documents
    qa = QA.open(Settings(docs_dir=tmp_path / "docs", index_dir=tmp_path / "index"),
                 embedder=HashingEncoder())
    passages = qa.searcher.passages
    folded = [fold(item.passage.text) for item in passages]
    lines = (SQUAD / "questions.jsonl").read_text(encoding="utf-8").splitlines()[:50]
    for question in map(json.loads, lines):
        for name, (suffix, passes) in filters(question, question["relevant"][0]["evidence"]
                                              ).items():
            asked = f"{question['question']} {suffix}"
            passing = [item.passage.text for item, text in zip(passages, folded, strict=True)
                       if passes(item.passage.source, text)]
            for hits, wanted in ((qa.search(asked, BENCH_K, collapse=False).hits, len(passing)),
                                 (qa.search(asked, BENCH_K).hits, len(set(passing)))):
                shown = [(h, *h.copies) for h in hits]
                assert all(passes(h.passage.source, fold(h.passage.text))
                           for places in shown for h in places), (name, asked, shown)
                assert len(hits) == min(BENCH_K, wanted), (name, asked, wanted)


def test_a_filter_keeping_few_passages_scores_them_as_the_unfiltered_search_does(
        tmp_path: Path) -> None:
    """Fused over the two passages a filter keeps, each signal's z-score is -1 or 1, and two
    signals that disagree tied them at 0: the order was arbitrary and the scores unlike the
    same question's unfiltered ones. Scored among the unfiltered candidates too, each kept
    passage keeps its unfiltered score and place."""
    docs = tmp_path / "docs"
    docs.mkdir()
    lines = {"a1.txt": "Moon craters were mapped by the first telescopes of the observatory.",
             "a2.txt": "Craters on the moon hold ice in their shadows, the probes found.",
             "b1.txt": "Tyre pressure matters for a bicycle chain and a smooth ride.",
             "b2.txt": "Rain rusts a chain left outside; oil it after every wet ride.",
             "b3.txt": "The observatory opens its telescopes to visitors on clear nights.",
             "b4.txt": "Ice skating on the frozen lake is allowed when the ice is thick."}
    for name, text in lines.items():
        (docs / name).write_text(text + "\n", encoding="utf-8")
    qa = QA.open(Settings(docs_dir=docs, index_dir=tmp_path / "index"), embedder=HashingEncoder())
    question = "moon craters ice"
    unfiltered = {hit.passage.source: hit.score for hit in qa.search(question, 6).hits}
    filtered = qa.search(f"{question} file:a*", 6).hits
    assert [hit.passage.source for hit in filtered] == \
        sorted(("a1.txt", "a2.txt"), key=lambda source: -unfiltered[source])
    assert [hit.score for hit in filtered] == [unfiltered[hit.passage.source] for hit in filtered]
