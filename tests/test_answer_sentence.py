"""The answer sentence: how `qa eval` scores it, and how a hit's sentence is chosen."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa.chunking.chunk import Passage
from qa.core.settings import Settings
from qa.evaluating import metrics
from qa.evaluating.evaluate import Evidence, Question, evaluate, judge_question_set
from qa.library import QA
from qa.searching import answer
from qa.searching.search import Hit, SearchResult

FIRST = Passage("a.txt", "A", 1, 0, 43, "Alpha comes first. The answer is here. Gamma.")
OTHER = Passage("a.txt", "A", 2, 45, 70, "Other text. More of it.")


def hit(rank: int, passage: Passage, sentence: str) -> Hit:
    start = passage.text.index(sentence)
    span = (start, start + len(sentence))
    return Hit(rank, 1.0 / rank, 0.5, {}, passage, span, span, False)


def test_the_figures_by_hand() -> None:
    # Ranks of the first relevant hit and whether its sentence is right; rank 11 is past the
    # top 10 and None found nothing: both count for answer@1 only.
    ranks, right = [1, 2, 11, None], [True, False, True, False]
    assert metrics.answer_sentence_accuracy(ranks, right) == pytest.approx(1 / 2)
    assert metrics.answer_at_1(ranks, right) == pytest.approx(1 / 4)
    assert metrics.answer_at_1([1, 1, 2], [True, False, True]) == pytest.approx(1 / 3)
    assert metrics.answer_sentence_accuracy([None, 12], [False, True]) is None
    assert metrics.answer_at_1([], []) is None


def test_qa_eval_scores_the_first_relevant_hits_sentence() -> None:
    sentence = "The answer is here."
    questions = [Question(qid, f"question {qid}", (Evidence("a.txt", quote),))
                 for qid, quote in [("right-first", sentence), ("wrong-second", sentence),
                                    ("right-second", sentence), ("not-found", sentence),
                                    ("two-sentences", "comes first. The answer")]]
    rankings = {
        "question right-first": [hit(1, FIRST, sentence)],
        "question wrong-second": [hit(1, OTHER, "Other text."), hit(2, FIRST, "Gamma.")],
        "question right-second": [hit(1, OTHER, "More of it."), hit(2, FIRST, sentence)],
        "question not-found": [hit(1, OTHER, "Other text.")],
        "question two-sentences": [hit(1, FIRST, sentence)],
    }
    judged, notes = judge_question_set(questions, [FIRST, OTHER])
    assert not notes
    # Evidence across two of the passage's sentences is not a sentence: no figure counts it.
    assert [bool(q.answers) for q in judged] == [True, True, True, True, False]
    report = evaluate(judged, lambda text: SearchResult(text, rankings[text]))
    figures = report.to_json()
    assert figures["answer_questions"] == 4
    assert figures["answer_sentence_accuracy"] == pytest.approx(2 / 3)
    assert figures["answer@1"] == pytest.approx(1 / 4)
    assert figures["recall@1"] == pytest.approx(2 / 5)  # the ranking counts every question


def test_a_collapsed_hit_is_judged_by_its_relevant_copys_sentence() -> None:
    sentence = "The answer is here."
    copy = Passage("b.txt", "B", 1, 0, 43, FIRST.text)
    shown = hit(1, OTHER, "Other text.")
    shown = Hit(1, 1.0, 0.5, {}, OTHER, shown.answer, shown.answer, False,
                copies=(hit(1, copy, sentence),))
    question = Question("q", "question", (Evidence("b.txt", sentence),))
    judged, _ = judge_question_set([question], [FIRST, OTHER, copy])
    report = evaluate(judged, lambda text: SearchResult(text, [shown]))
    assert report.to_json()["answer@1"] == 1.0


def test_a_question_set_without_sentence_evidence_reports_no_answer_figures() -> None:
    judged, _ = judge_question_set([Question("q", "question", (Evidence("a.txt", "Gamma."),))],
                                   [FIRST], sentences=lambda passage: [(0, len(passage.text))])
    # One sentence of the whole passage holds the quote: judged, and right.
    report = evaluate(judged, lambda text: SearchResult(text, [hit(1, FIRST, FIRST.text)]))
    assert report.to_json()["answer@1"] == 1.0
    unjudged = evaluate([], lambda text: SearchResult(text, []))
    assert "answer@1" not in unjudged.to_json()


def test_rare_question_words_outweigh_common_ones_and_the_cosine() -> None:
    # Sentence 0 shares two common words with the question and is nearest by its cosine;
    # sentence 1 holds the one rare word: a count of shared words and the cosine both pick 0.
    question = ["norman", "itali", "sicili"]
    sentences = [["norman", "itali", "kept", "tie"], ["sicili", "fell", "1091"], ["castl"]]
    cosines = np.array([0.62, 0.48, 0.30])
    idf = {"norman": 0.2, "itali": 0.5, "sicili": 3.1}
    counted = answer.word_overlap(question, sentences, dict.fromkeys(idf, 1.0))
    assert int(counted.argmax()) == 0 and int(cosines.argmax()) == 0
    assert answer.best_sentence(cosines, question, sentences, idf, 0.3) == 1
    assert answer.best_sentence(cosines, question, sentences, idf, 0.0) == 0  # cosine alone
    assert answer.best_sentence(cosines, [], sentences, idf, 0.3) == 0
    assert answer.best_sentence(np.array([]), question, [], idf, 0.3) == 0


NORMANS = {
    "italy.txt": "Normans in the South\n\nThe Normans of Italy and the Normans of England kept "
                 "close ties with Normandy and with each other. Sicily fell to Roger in 1091 "
                 "after thirty years of war. Their castles still stand across the south.",
    "england.txt": "Normans in England\n\nThe Normans of England built castles, and the "
                   "Normans of Italy sent them masons. Normans ruled England after 1066.",
    "normandy.txt": "Normandy\n\nNormandy gave the Normans their name. Normans from Normandy "
                    "settled in Italy and in England.",
    "music.txt": "Norman music\n\nNorman abbeys in Italy and England taught chant. The Normans "
                 "of Italy sang it too.",
}


def test_the_hit_highlights_the_sentence_holding_the_rare_word(tmp_path: Path,
                                                                embedder) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in NORMANS.items():
        (docs / name).write_text(text, encoding="utf-8")
    asked = "In what year did the Normans of Italy take Sicily?"
    chosen = {}
    for weight in (0.0, Settings().answer_words_weight):
        settings = Settings(docs_dir=docs, index_dir=tmp_path / "index",
                            answer_words_weight=weight)
        first = QA.open(settings, embedder=embedder).search(asked, k=1).hits[0]
        assert first.passage.source == "italy.txt"
        chosen[weight] = first.passage.text[first.answer[0]:first.answer[1]]
    assert chosen[Settings().answer_words_weight] == "Sicily fell to Roger in 1091 after thirty years of war."
    assert chosen[0.0] != chosen[Settings().answer_words_weight]  # the cosine alone picked another


def test_evidence_found_nowhere_names_the_files_that_are_not_indexed() -> None:
    # The new-user trial's question named a file left out of the index: the note said only
    # that no passage held its evidence.
    questions = [Question("elsewhere", "q", (Evidence("notes/b.txt", "Alpha comes first."),)),
                 Question("reworded", "q", (Evidence("a.txt", "Alpha came first."),))]
    _, notes = judge_question_set(questions, [FIRST, OTHER])
    assert notes == ["elsewhere: no passage contains its evidence (notes/b.txt: no such file is "
                     "indexed)", "reworded: no passage contains its evidence"]
