"""The real model over the bundled seeds: right citations and the evaluation targets."""

from __future__ import annotations

from conftest import SEEDS, SHARED

from qa.evaluating.runs import evaluate_question_files

DEV_SET = SHARED / "eval" / "seeds-dev.jsonl"


def test_answers_with_the_right_citation(seeds_qa) -> None:  # type: ignore[no-untyped-def]
    result = seeds_qa.search("When did the third ARF workshop on space security open?")
    top = result.hits[0]
    assert top.passage.source == "000_6ca77c0da08b2a40.txt"
    assert top.passage.paragraph == 1
    assert top.passage.title.startswith("Inauguration of the third workshop")
    assert "On November 30, 2015" in top.passage.text[top.answer[0] : top.answer[1]]
    file_text = (SEEDS / top.passage.source).read_text(encoding="utf-8")
    assert file_text[top.answer_offsets[0] : top.answer_offsets[1]].startswith("On November 30")
    assert not top.below_threshold and not result.no_good_match


def test_off_topic_questions_say_no_good_match(seeds_qa) -> None:  # type: ignore[no-untyped-def]
    for question in ["How long should I bake sourdough bread?",
                     "Who won the football world cup final?",
                     "What is a good recipe for tomato soup?"]:
        assert seeds_qa.search(question).no_good_match, question


def test_blank_question_gets_a_notice(seeds_qa) -> None:  # type: ignore[no-untyped-def]
    result = seeds_qa.search("   \n\t ")
    assert result.hits == [] and result.notices == ["Please type a question."]


def test_dev_set_quality(seeds_qa) -> None:  # type: ignore[no-untyped-def]
    report = evaluate_question_files([DEV_SET], seeds_qa.settings, embedder=seeds_qa.embedder)
    figures = report.to_json()
    assert report.questions == 24
    assert figures["recall@5"] >= 0.95, figures
    assert figures["recall@3"] == 1.0, figures
    assert figures["mrr@10"] >= 0.90, figures
    flagged = [o.id for o in report.outcomes if o.flagged]
    assert len(flagged) <= 1, flagged


def test_unanswerable_rows_are_left_out_and_separated(seeds_qa, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    mixed = tmp_path / "mixed.jsonl"
    off_topic = ["How long should I bake sourdough bread?", "Who won the football world cup?",
                 "What temperature should a roast chicken reach?"]
    mixed.write_text(DEV_SET.read_text(encoding="utf-8") + "".join(
        json.dumps({"id": f"off-{i}", "question": q, "relevant": []}) + "\n"
        for i, q in enumerate(off_topic)), encoding="utf-8")
    report = evaluate_question_files([mixed], seeds_qa.settings, embedder=seeds_qa.embedder)
    assert report.questions == 24 and report.unanswerable == 3
    assert report.auroc is not None and report.auroc > 0.95, report.to_json()
    assert report.flagged_unanswerable == 1.0, report.to_json()
