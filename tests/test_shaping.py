"""Result lists shaped for reading (qa.searching.shaping): near-duplicates shown once with the
places of their copies, hits grouped by document; and "more like this" (QA.similar). The pure
functions on hits made here; the library over three copies of one real PDF beside the seeds,
with the tiny hashing encoder."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import SEEDS
from documents import report_pdf
from encoders import HashingEncoder

from qa.chunking.chunk import Passage
from qa.core.access import Access
from qa.core.settings import Settings
from qa.library import QA
from qa.searching.search import Hit, SearchResult
from qa.searching.shaping import collapse, group_by_document, shape, text_key, within_edits

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
