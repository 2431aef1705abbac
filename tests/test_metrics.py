import math
from pathlib import Path

import pytest

from qa.evaluating import metrics
from qa.evaluating.evaluate import QuestionSetError, read_question_set, score_rankings


def test_recall_mrr_by_hand() -> None:
    ranking = ["a", "b", "c", "d"]
    relevant = {"b": 1, "d": 1, "z": 1}
    assert metrics.recall_at(ranking, relevant, 1) == 0
    assert metrics.recall_at(ranking, relevant, 2) == pytest.approx(1 / 3)
    assert metrics.recall_at(ranking, relevant, 4) == pytest.approx(2 / 3)
    assert metrics.reciprocal_rank_at(ranking, relevant, 10) == 0.5
    assert metrics.reciprocal_rank_at(ranking, relevant, 1) == 0


def test_ndcg_with_graded_gains_by_hand() -> None:
    # gains 0, 3, 1 at ranks 1..3; ideal 3, 2, 1
    ranking = ["x", "a", "c"]
    relevant = {"a": 3, "b": 2, "c": 1}
    dcg = 3 / math.log2(3) + 1 / math.log2(4)
    ideal = 3 / math.log2(2) + 2 / math.log2(3) + 1 / math.log2(4)
    assert metrics.ndcg_at(ranking, relevant, 10) == pytest.approx(dcg / ideal)


def test_auroc_by_hand() -> None:
    assert metrics.auroc([0.9, 0.8], [0.1, 0.85]) == pytest.approx(0.75)
    assert metrics.auroc([0.5], [0.5]) == 0.5


def test_question_set_recall_counts_any_relevant_passage() -> None:
    rankings = {"q1": ["a", "b", "c", "d"], "q2": ["x", "y"]}
    judgements = {"q1": {"a": 1, "d": 1}, "q2": {"y": 1}}
    any_hit = score_rankings(rankings, judgements, any_relevant=True)
    share = score_rankings(rankings, judgements, any_relevant=False)
    assert any_hit["recall@1"] == 0.5 and any_hit["recall@3"] == 1.0
    assert share["recall@3"] == pytest.approx((0.5 + 1.0) / 2)
    assert any_hit["mrr@10"] == pytest.approx((1 + 0.5) / 2)


def test_percentile_matches_numpy() -> None:
    import numpy as np

    from qa.evaluating.metrics import percentile

    values = sorted([3.0, 1.0, 4.0, 1.5, 9.0, 2.6, 5.3])
    for share in (0, 50, 95, 100):
        assert percentile(values, share) == pytest.approx(float(np.percentile(values, share)))
    assert percentile([], 50) == 0.0


def test_evidence_in_ocr_text_may_miss_a_tenth_of_its_words_in_one_stretch() -> None:
    from qa.evaluating.evaluate import contains_evidence

    quote = "the normans gave their name to normandy, a region in france, in the 10th century"
    misread = "in 911 the normans gave their narne to normandy, a region in france, in the loth century."
    assert not contains_evidence(misread, quote)  # exact, as for every text with a text layer
    assert contains_evidence(misread, quote, 0.15)
    assert not contains_evidence(misread, quote, 0.05)  # two of fourteen words misread
    scattered = " filler ".join(quote.split())  # every word there, but spread over twice the room
    assert not contains_evidence(scattered, quote, 0.15)
    cut = "the normans gave their name to normandy"  # half the quote
    assert not contains_evidence(cut, quote, 0.15)


@pytest.mark.parametrize(("line", "reason"), [
    ('{"id": "q1", "question": "When?"}', "(no 'relevant' field)"),
    ('{"id": "q1", "relevant": []}', "(no 'question' field)"),
])
def test_a_question_record_without_a_field_names_the_field_missing(
        tmp_path: Path, line: str, reason: str) -> None:
    questions = tmp_path / "questions.jsonl"
    questions.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(QuestionSetError) as refused:
        read_question_set(questions)
    assert f"{questions}:1: not a question record {reason}; each line is" in str(refused.value)
