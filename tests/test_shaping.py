"""Result lists shaped for reading (qa.searching.shaping): near-duplicates shown once with the
places of their copies, hits grouped by document; and "more like this" (QA.similar). The pure
functions on hits made here; the library over three copies of one real PDF beside the seeds,
with the tiny hashing encoder."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SEEDS
from documents import report_pdf
from encoders import HashingEncoder
from fastapi.testclient import TestClient

from qa.chunking.chunk import Passage
from qa.cli import main
from qa.core.access import EVERYONE, Access
from qa.core.settings import Settings
from qa.library import QA
from qa.searching.search import Hit, SearchResult
from qa.searching.shaping import collapse, group_by_document, shape, text_key, within_edits
from qa.serving.handlers import Handlers
from qa.serving.rest import rest_app
from qa.showing.cite import also_in_text, hit_to_json
from qa.showing.exports import ExportFolder
from qa.showing.hits_html import render_hit
from qa.showing.view_html import DocumentViews

COPIES = ("report.pdf", "copies/report (1).pdf", "Report-final.pdf")
QUESTION = "Which lens does the electric bulb of the lamp turn behind?"


def hit(rank: int, text: str, source: str = "a.txt", paragraph: int = 1) -> Hit:
    passage = Passage(source, "A", paragraph, 0, len(text), text)
    return Hit(rank, 1.0 / rank, 0.9, {}, passage, (0, len(text)), (0, len(text)), False)


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


LONG = " ".join(f"word{n}" for n in range(40))


def test_text_key_folds_case_punctuation_and_spacing() -> None:
    assert text_key("The  Lamp, lit—at DUSK.") == text_key("the lamp lit at dusk")
    assert text_key("ﬁre") == text_key("fire")  # compatibility forms (a PDF's ligature)
    assert text_key("the lamp") != text_key("the lamps")


def test_within_edits_counts_word_edits() -> None:
    words = LONG.split()
    assert within_edits(words, words, 0)
    assert within_edits(words, [*words[:5], "other", *words[6:]], 1)  # one substitution
    assert within_edits(words, words[1:], 1) and not within_edits(words, words[2:], 1)
    assert not within_edits(words, [*words[:5], "x", "y", *words[7:]], 1)


def test_equal_texts_collapse_into_the_better_hit() -> None:
    hits = [hit(1, "The lamp is lit.", "a.txt", 2), hit(2, "Ferries leave at nine."),
            hit(3, "the LAMP is lit", "b.pdf", 7), hit(4, "The lamp is lit!", "c.txt", 3)]
    shown = collapse(hits)
    assert [h.passage.text for h in shown] == ["The lamp is lit.", "Ferries leave at nine."]
    assert [h.rank for h in shown] == [1, 2]
    assert [(c.passage.source, c.passage.paragraph) for c in shown[0].copies] == \
        [("b.pdf", 7), ("c.txt", 3)]
    assert sum(1 + len(h.copies) for h in shown) == len(hits)  # counted, none dropped


def test_near_texts_collapse_only_when_close_in_vectors_and_words() -> None:
    one_word = LONG.replace("word7", "wordseven")
    rewritten = " ".join(f"other{n}" for n in range(40))
    hits = [hit(1, LONG), hit(2, one_word, "b.txt"), hit(3, one_word, "c.txt"),
            hit(4, rewritten, "d.txt")]
    close = unit(1, 0.01)
    vectors = np.stack([unit(1, 0), close, unit(1, 0.5), unit(1, 0)])
    shown = collapse(hits, vectors)
    # b: one word of forty and cosine 0.9999; c: its words are b's (equal texts fold into the
    # first of them), d: cosine 1 but other words.
    assert [h.passage.source for h in shown] == ["a.txt", "d.txt"]
    assert [c.passage.source for c in shown[0].copies] == ["b.txt", "c.txt"]
    far = np.stack([unit(1, 0), unit(1, 0.5), unit(1, 0.5), unit(1, 0)])
    assert [h.passage.source for h in collapse(hits, far)] == ["a.txt", "b.txt", "d.txt"]
    assert [h.passage.source for h in collapse(hits)] == ["a.txt", "b.txt", "d.txt"]
    # The same words in another case and punctuation: a little further apart, still one text.
    shouted = [hit(1, LONG), hit(2, LONG.upper().replace(" ", ", "), "b.txt")]
    assert len(collapse(shouted, np.stack([unit(1, 0), unit(1, 0.4)]))) == 1  # cosine 0.93


def test_groups_follow_their_best_hits() -> None:
    hits = [hit(1, "one", "b.txt"), hit(2, "two", "a.txt"), hit(3, "three", "b.txt"),
            hit(4, "four", "c.txt")]
    groups = group_by_document(hits)
    assert [(g.source, [h.rank for h in g.hits]) for g in groups] == \
        [("b.txt", [1, 3]), ("a.txt", [2]), ("c.txt", [4])]
    shaped = shape(SearchResult("q", hits), 2, None, collapsed=False, grouped=True)
    assert [h.rank for h in shaped.hits] == [1, 2] and shaped.groups == groups[:2]
    assert len(shape(SearchResult("q", hits), 3, None, False, False).hits) == 3


@pytest.fixture(scope="module")
def copies_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds, and one real PDF three times under different names."""
    docs = tmp_path_factory.mktemp("copies")
    shutil.copytree(SEEDS, docs, dirs_exist_ok=True)
    data = report_pdf()
    for name in COPIES:
        (docs / name).parent.mkdir(parents=True, exist_ok=True)
        (docs / name).write_bytes(data)
    return docs


@pytest.fixture(scope="module")
def copies_qa(copies_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> QA:
    return QA.open(Settings(docs_dir=copies_folder, index_dir=tmp_path_factory.mktemp("index")),
                   embedder=HashingEncoder())


def places(found: Hit) -> set[str]:
    return {found.passage.source, *(copy.passage.source for copy in found.copies)}


def test_each_passage_of_the_copied_pdf_is_shown_once(copies_qa: QA) -> None:
    result = copies_qa.search(QUESTION, k=8)
    texts = [h.passage.text for h in result.hits]
    assert len(texts) == len(set(texts)) == 8, texts  # k distinct passages still come back
    pdf_hits = [h for h in result.hits if h.passage.source in COPIES]
    assert pdf_hits, [h.passage.source for h in result.hits]
    for found in pdf_hits:
        assert places(found) == set(COPIES)
        assert all(c.passage.paragraph == found.passage.paragraph for c in found.copies)
    assert [h.rank for h in result.hits] == list(range(1, 9))


def test_no_collapse_returns_every_copy(copies_qa: QA) -> None:
    result = copies_qa.search(QUESTION, k=3, collapse=False)
    assert {h.passage.source for h in result.hits} == set(COPIES)
    assert len({h.passage.text for h in result.hits}) == 1
    assert all(not h.copies for h in result.hits)
    off = QA(copies_qa.settings.with_overrides(collapse=False), copies_qa.embedder)
    assert [h.passage.source for h in off.search(QUESTION, k=3).hits] == \
        [h.passage.source for h in result.hits]


def test_grouped_by_document_one_group_per_document(copies_qa: QA) -> None:
    result = copies_qa.search(QUESTION, k=3, collapse=False, group=True)
    assert result.groups is not None and len(result.groups) == 3
    assert len({g.source for g in result.groups}) == 3
    for group in result.groups:
        assert {h.passage.source for h in group.hits} == {group.source}
        assert [h.score for h in group.hits] == sorted((h.score for h in group.hits),
                                                       reverse=True)
    assert result.hits == [g.best for g in result.groups]
    assert any(len(g.hits) > 1 for g in result.groups)  # "N more passages in this document"


def test_more_like_this_leaves_out_its_own_document(copies_qa: QA) -> None:
    source = "Report-final.pdf"
    paragraph = copies_qa.search(QUESTION, k=1, collapse=False).hits[0].passage.paragraph
    result = copies_qa.similar(source, paragraph, k=4, collapse=False)
    assert result is not None and len(result.hits) == 4
    assert source not in {h.passage.source for h in result.hits}
    # The nearest are the two copies of the same paragraph.
    assert {(h.passage.source, h.passage.paragraph) for h in result.hits[:2]} == \
        {(name, paragraph) for name in COPIES if name != source}
    same = copies_qa.similar(source, paragraph, k=20, same_document=True, collapse=False)
    assert same is not None and (source, paragraph) not in \
        {(h.passage.source, h.passage.paragraph) for h in same.hits}
    assert source in {h.passage.source for h in same.hits}
    collapsed = copies_qa.similar(source, paragraph, k=4)
    assert collapsed is not None and places(collapsed.hits[0]) == set(COPIES) - {source}


def test_more_like_this_refuses_what_it_may_not_confirm(copies_qa: QA) -> None:
    seeds_only = Access("bob", ("0*",), ())
    assert copies_qa.similar("report.pdf", 1, access=seeds_only) is None
    assert copies_qa.similar("no such.pdf", 1) is None
    assert copies_qa.similar("report.pdf", 999) is None
    seed = sorted(p.name for p in SEEDS.iterdir())[0]
    result = copies_qa.similar(seed, 1, k=5, access=seeds_only)
    assert result is not None and result.hits
    assert all(h.passage.source.startswith("0") and h.passage.source != seed
               for h in result.hits)


@pytest.fixture(scope="module")
def client(copies_qa: QA) -> TestClient:
    return TestClient(rest_app(copies_qa))


def test_rest_collapses_and_names_the_copies(client: TestClient) -> None:
    answer = client.get("/api/search", params={"q": QUESTION, "k": 4}).json()
    pdf_hits = [h for h in answer["hits"] if h["source"] in COPIES]
    assert pdf_hits and answer["collapsed"] == 2 * len(pdf_hits)
    for found in pdf_hits:
        assert {found["source"], *(c["source"] for c in found["also_in"])} == set(COPIES)
        for copy in found["also_in"]:
            assert set(copy) == {"source", "paragraph", "page", "citation", "url"}
            assert copy["paragraph"] == found["paragraph"] and copy["page"] == found["page"]
            assert copy["url"].startswith("http://testserver/?q=") and "open=" in copy["url"]
    every = client.get("/api/search", params={"q": QUESTION, "k": 3, "collapse": "false"}).json()
    assert {h["source"] for h in every["hits"]} == set(COPIES) and every["collapsed"] == 0
    posted = client.post("/api/search", json={"question": QUESTION, "k": 3, "collapse": False})
    assert posted.json() == every


def test_rest_groups_by_document(client: TestClient) -> None:
    answer = client.get("/api/search", params={"q": QUESTION, "k": 3, "group": "document",
                                               "collapse": "false"}).json()
    groups = answer["groups"]
    assert len(groups) == 3 and len({g["source"] for g in groups}) == 3
    assert [g["hits"][0] for g in groups] == answer["hits"]
    assert all(g["more"] == len(g["hits"]) - 1 and g["score"] == g["hits"][0]["score"]
               for g in groups)
    assert all(h["source"] == g["source"] and h["citation"] for g in groups for h in g["hits"])
    assert "groups" not in client.get("/api/search", params={"q": QUESTION}).json()


@pytest.mark.parametrize(("params", "message"), [
    ({"group": "folder"}, "group: Input should be 'none' or 'document'"),
    ({"collapse": "maybe"}, "collapse: Input should be a valid boolean"),
])
def test_rest_refuses_bad_shaping_arguments(client: TestClient, params: dict[str, str],
                                            message: str) -> None:
    answer = client.get("/api/search", params={"q": QUESTION, **params})
    assert answer.status_code == 422 and message in answer.json()["error"], answer.json()


def test_rest_more_like_this(client: TestClient, copies_qa: QA) -> None:
    answer = client.get("/api/similar", params={"source": "report.pdf", "paragraph": 2, "k": 3})
    assert answer.status_code == 200, answer.json()
    found = answer.json()
    assert found["like"] == {"source": "report.pdf", "paragraph": 2}
    assert len(found["hits"]) == 3 and "report.pdf" not in {h["source"] for h in found["hits"]}
    assert found["hits"][0]["paragraph"] == 2  # its copies come first, collapsed into one
    assert {c["source"] for c in found["hits"][0]["also_in"]} | {found["hits"][0]["source"]} \
        == set(COPIES) - {"report.pdf"}
    missing = client.get("/api/similar", params={"source": "report.pdf", "paragraph": 999})
    unknown = client.get("/api/similar", params={"source": "nothing.pdf", "paragraph": 1})
    assert missing.status_code == unknown.status_code == 404
    bad = client.get("/api/similar", params={"source": "report.pdf", "paragraph": "two"})
    assert bad.status_code == 422 and "paragraph" in bad.json()["error"]
    extra = client.get("/api/similar", params={"source": "report.pdf", "paragraph": 2, "q": "x"})
    assert extra.status_code == 422 and "not an argument of /api/similar" in extra.json()["error"]


def test_rest_more_like_this_never_confirms_an_unreadable_passage(copies_qa: QA) -> None:
    seeds_reader = TestClient(rest_app(copies_qa, access_of=lambda headers: Access(
        "bob", ("0*",), ())))
    hidden = seeds_reader.get("/api/similar", params={"source": "report.pdf", "paragraph": 2})
    absent = seeds_reader.get("/api/similar", params={"source": "absent.pdf", "paragraph": 2})
    assert hidden.status_code == absent.status_code == 404
    assert hidden.json()["error"].replace("report.pdf", "X") == \
        absent.json()["error"].replace("absent.pdf", "X")


def test_copies_in_one_file_on_one_page_are_told_apart_by_paragraph() -> None:
    def on_page_1(paragraph: int) -> Hit:
        copy = hit(1, "The river floods.", "river.pdf", paragraph)
        return replace(copy, passage=replace(copy.passage, page=1))

    found = replace(on_page_1(2), copies=(on_page_1(5), on_page_1(9)))
    assert also_in_text(found) == "also in: river.pdf p. 1 ¶ 5, river.pdf p. 1 ¶ 9"
    links = render_hit(found, 1.0, "floods")
    assert ">river.pdf p. 1 ¶ 5</a>" in links and ">river.pdf p. 1 ¶ 9</a>" in links
    assert [copy["paragraph"] for copy in hit_to_json(found)["also_in"]] == [5, 9]


def test_a_reported_cosine_stays_within_one() -> None:
    overshot = replace(hit(1, "The river floods."), similarity=1.000027)
    assert hit_to_json(overshot)["similarity"] == 1.0
    assert hit_to_json(replace(overshot, similarity=-1.00001))["similarity"] == -1.0
    assert hit_to_json(replace(overshot, similarity=0.4242424))["similarity"] == 0.424242


def test_the_page_shows_copies_cards_and_more_like_this(copies_qa: QA, tmp_path: Path) -> None:
    page = Handlers(copies_qa, ExportFolder(tmp_path), DocumentViews(copies_qa, 1_000_000))
    collapsed = page.ask(QUESTION, 3, "hybrid", None, EVERYONE).results
    assert collapsed.count('class="qa-also"') >= 1 and 'class="qa-copy" href="?q=' in collapsed
    assert collapsed.count('class="qa-like" href="?like=') == 3
    grouped = page.ask(QUESTION, 3, "hybrid", None, EVERYONE, group=True).results
    assert grouped.count('class="qa-group"') == 3 and "more passage" in grouped
    like = page.similar("report.pdf", 2, EVERYONE)
    assert "More like report.pdf ¶ 2." in like.results and like.choices
    hidden = page.similar("report.pdf", 2, Access("bob", ("0*",), ()))
    assert "that you may read" in hidden.results and not hidden.choices


def test_ask_no_collapse_and_group_with_the_real_model(copies_folder: Path, tmp_path: Path
                                                       ) -> None:
    where = ["--docs", str(copies_folder), "--index", str(tmp_path / "index")]

    def ask(*flags: str) -> str:
        printed = CliRunner().invoke(main, ["ask", QUESTION, *where, *flags])
        assert printed.exit_code == 0, printed.output
        return printed.stdout

    collapsed = json.loads(ask("--json", "-k", "3"))
    assert collapsed["hits"][0]["source"] in COPIES
    assert {c["source"] for c in collapsed["hits"][0]["also_in"]} | \
        {collapsed["hits"][0]["source"]} == set(COPIES)
    every = json.loads(ask("--json", "-k", "3", "--no-collapse"))
    assert {h["source"] for h in every["hits"]} == set(COPIES)
    assert "also in: " in ask("-k", "2")
    grouped = ask("-k", "2", "--group")
    assert grouped.count("more passages in this document") >= 1 and "[2] " in grouped


def test_collapsing_shapes_what_the_query_filters_keep(copies_qa: QA) -> None:
    pdfs = copies_qa.search(f"type:pdf {QUESTION}", k=3)
    assert len(pdfs.hits) == 3 and len({h.passage.text for h in pdfs.hits}) == 3
    assert all(places(h) == set(COPIES) for h in pdfs.hits)
    # A filter goes before ranking: copies it leaves out are not named either.
    one = copies_qa.search(f"in:copies/ {QUESTION}", k=3)
    assert {h.passage.source for h in one.hits} == {"copies/report (1).pdf"}
    assert all(not h.copies for h in one.hits)


def test_evaluation_judges_a_collapsed_hit_by_its_most_relevant_place() -> None:
    from qa.evaluating.evaluate import judged_key, passage_key

    [shown] = collapse([hit(1, "The lamp is lit.", "a.txt", 2), hit(2, "The lamp is lit.", "b.txt", 5)])
    assert judged_key(shown, passage_key, {"b.txt#5": 1}) == "b.txt#5"
    assert judged_key(shown, passage_key, {"a.txt#2": 1, "b.txt#5": 1}) == "a.txt#2"  # once
    assert judged_key(shown, passage_key, {}) == "a.txt#2"


def test_k_distinct_passages_come_back_when_copies_fill_the_candidates(tmp_path: Path) -> None:
    # 200 copies of a two-paragraph note: its 400 passages fill each retriever's 100
    # candidates, which collapse into one; the pool widens until five distinct passages show.
    docs = tmp_path / "docs"
    (docs / "copies").mkdir(parents=True)
    note = ("Lighthouse keeper\n\nThe lighthouse keeper trims the lamp wick at dusk.\n\n"
            "The lighthouse keeper logs the passing ships at dawn.")
    for number in range(200):
        (docs / "copies" / f"note {number}.txt").write_text(note, encoding="utf-8")
    for number, text in enumerate(["The lighthouse stands on a rock in the estuary.",
                                   "Keepers lived in the lighthouse tower for months.",
                                   "A lamp of the lighthouse turns behind a lens.",
                                   "Ships pass the lighthouse at dusk and at dawn."]):
        (docs / f"other {number}.txt").write_text(f"Other {number}\n\n{text}", encoding="utf-8")
    qa = QA.open(Settings(docs_dir=docs, index_dir=tmp_path / "index", candidates=100),
                 embedder=HashingEncoder())
    question = "the lighthouse keeper trims the lamp wick at dusk"
    result = qa.search(question, k=5)
    texts = [h.passage.text for h in result.hits]
    assert len(texts) == len(set(texts)) == 5, texts
    assert sum(1 + len(h.copies) for h in result.hits if "keeper" in h.passage.text) == 400
    grouped = qa.search(question, k=5, group=True, collapse=False)
    assert grouped.groups is not None and len(grouped.groups) == 5, \
        [g.source for g in grouped.groups or []]
    # The widening is bounded (16 times the candidates setting): a pool of 5 widens to 80 per
    # retriever, all copies, so no fifth passage is found.
    narrow = QA(qa.settings.with_overrides(candidates=5), qa.embedder)
    assert len(narrow.search(question, k=5).hits) < 5
