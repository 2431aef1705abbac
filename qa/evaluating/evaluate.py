"""Evaluation: run questions through a search function and score the rankings."""

from __future__ import annotations

import difflib
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qa.chunking.chunk import Passage, normalise_whitespace, sentence_spans
from qa.evaluating import metrics
from qa.searching.search import Hit, SearchResult

RECALL_CUTOFFS = (1, 3, 5, 10, 100)
METRIC_KEYS = ("recall@1", "recall@3", "recall@5", "recall@10", "recall@100", "mrr@10",
               "ndcg@10")


class QuestionSetError(Exception):
    """The questions file cannot be read in the expected format."""


@dataclass(frozen=True)
class Evidence:
    source: str
    quote: str
    page: int | None = None  # the physical page (from 1) the quote starts on, when given


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    evidence: tuple[Evidence, ...]  # empty: the folder holds no answer


@dataclass(frozen=True)
class QuestionOutcome:
    id: str
    question: str
    first_relevant_rank: int | None
    top_similarity: float
    flagged: bool  # the best hit was below the "no good match" threshold
    page_right: bool | None = None  # the first relevant hit cites the evidence's page (if given)
    search_ms: float = 0.0  # encoding the question to ranked hits, the index already loaded
    # Whether the first relevant hit's answer sentence holds the evidence; None when the
    # question's evidence is not a sentence (JudgedQuestion.answers) or no hit is relevant.
    answer_right: bool | None = None
    sentence_judged: bool = False  # the question's evidence is a sentence


@dataclass(frozen=True)
class EvalReport:
    metrics: dict[str, float]
    questions: int
    outcomes: list[QuestionOutcome]
    unanswerable: int = 0
    auroc: float | None = None
    flagged_answerable: float | None = None
    flagged_unanswerable: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def answer_figures(self) -> dict[str, float | int]:
        """Answer-sentence accuracy (of the questions whose first relevant hit is in the top
        10, the share whose highlighted sentence holds the evidence) and answer@1 (of all, the
        share whose first hit is relevant with the right sentence), over the questions whose
        evidence is a sentence; empty when none is."""
        judged = [o for o in self.outcomes if o.sentence_judged]
        ranks = [o.first_relevant_rank for o in judged]
        right = [bool(o.answer_right) for o in judged]
        accuracy = metrics.answer_sentence_accuracy(ranks, right)
        at_1 = metrics.answer_at_1(ranks, right)
        if accuracy is None or at_1 is None:
            return {}
        return {"answer_sentence_accuracy": accuracy, "answer@1": at_1,
                "answer_questions": len(judged)}

    @property
    def page_accuracy(self) -> float | None:
        """Share of questions with a page whose first relevant hit cites a range holding it."""
        judged = [o.page_right for o in self.outcomes if o.page_right is not None]
        return metrics.mean([float(right) for right in judged]) if judged else None

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {**self.metrics, "questions": self.questions,
                                   **self.answer_figures}
        if self.page_accuracy is not None:
            data["page_accuracy"] = self.page_accuracy
        if self.outcomes:
            times = sorted(o.search_ms for o in self.outcomes)
            data["search_ms_p50"] = round(metrics.percentile(times, 50), 3)
            data["search_ms_p95"] = round(metrics.percentile(times, 95), 3)
        if self.unanswerable:
            data.update({"unanswerable": self.unanswerable, "auroc": self.auroc,
                         "flagged_answerable": self.flagged_answerable,
                         "flagged_unanswerable": self.flagged_unanswerable})
        return data


def read_question_set(path: Path) -> list[Question]:
    """Read {"id", "question", "relevant": [{"source", "evidence"}]} lines."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise QuestionSetError(f"cannot read {path}: {error}") from error
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            evidence = tuple(Evidence(r["source"], r["evidence"], _page(r.get("page")))
                             for r in record["relevant"])
            questions.append(Question(str(record["id"]), str(record["question"]), evidence))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            # A KeyError's text is the bare field name ('relevant'): say that it is missing.
            reason = f"no {error} field" if isinstance(error, KeyError) else str(error)
            raise QuestionSetError(
                f"{path}:{number}: not a question record ({reason}); each line is "
                '{"id": ..., "question": ..., "relevant": [{"source": ..., "evidence": ...}]} '
                "(docs/terminal.md)") from error
    if not questions:
        raise QuestionSetError(f"{path} holds no questions")
    return questions


def _page(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'"page" must be a page number from 1, not {value!r}')
    return value


def _fold(text: str) -> str:
    return normalise_whitespace(text).casefold()


def passage_key(passage: Passage) -> str:
    return f"{passage.source}#{passage.paragraph}"


def relevant_passages(question: Question, passages: Sequence[Passage], tolerance: float = 0.0
                      ) -> dict[str, int]:
    """Passages from the named source that contain the evidence, whitespace and case folded;
    with a `tolerance` (OCR text), see contains_evidence."""
    found: dict[str, int] = {}
    for evidence in question.evidence:
        quote = _fold(evidence.quote)
        for passage in passages:
            if passage.source == evidence.source and contains_evidence(
                    _fold(passage.text), quote, tolerance):
                found[passage_key(passage)] = 1
    return found


_WORDS = re.compile(r"\w+")


def contains_evidence(text: str, quote: str, tolerance: float = 0.0) -> bool:
    """Whether folded `text` holds folded `quote`. With a tolerance t > 0 (for OCR, where a
    quote rarely survives letter for letter), also when the quote's words, punctuation aside,
    appear in order in one stretch of the text no longer than the quote, with at most t of
    them missing or misread."""
    if quote in text:
        return True
    if tolerance <= 0:
        return False
    wanted, words = _WORDS.findall(quote), _WORDS.findall(text)
    if not wanted:
        return False
    needed = len(wanted) - int(tolerance * len(wanted))
    matcher = difflib.SequenceMatcher(None, wanted, words, autojunk=False)
    blocks = [block for block in matcher.get_matching_blocks() if block.size]
    # The best stretch: consecutive matching blocks whose span in the text stays short.
    for first in range(len(blocks)):
        matched = 0
        for block in blocks[first:]:
            if block.b + block.size - blocks[first].b > len(wanted) * (1 + tolerance):
                break
            matched += block.size
            if matched >= needed:
                return True
    return False


def score_rankings(rankings: Mapping[str, Sequence[str]],
                   judgements: Mapping[str, Mapping[str, int]], any_relevant: bool
                   ) -> dict[str, float]:
    """Mean recall@k, MRR@10 and nDCG@10 over the queries that have judgements.

    With `any_relevant`, recall@k is 1 when any relevant passage is in the first k (the
    question-set convention: one passage answers the question); otherwise it is the share of
    relevant items found (the BEIR convention)."""
    ids = [qid for qid in rankings if judgements.get(qid)]

    def recall(qid: str, k: int) -> float:
        if any_relevant:
            return metrics.hit_at(metrics.first_relevant_rank(rankings[qid], judgements[qid]), k)
        return metrics.recall_at(rankings[qid], judgements[qid], k)

    result = {f"recall@{k}": metrics.mean([recall(q, k) for q in ids]) for k in RECALL_CUTOFFS}
    result["mrr@10"] = metrics.mean([metrics.reciprocal_rank_at(rankings[q], judgements[q], 10)
                                     for q in ids])
    result["ndcg@10"] = metrics.mean([metrics.ndcg_at(rankings[q], judgements[q], 10)
                                      for q in ids])
    return result


Search = Callable[[str], SearchResult]


@dataclass(frozen=True)
class JudgedQuestion:
    """A question with the passage keys that answer it (empty: nothing in the corpus does)."""

    id: str
    text: str
    relevant: dict[str, int]
    pages: tuple[int, ...] = ()  # the pages its evidence starts on, where the set gives them
    # The evidence quotes (folded) when the evidence is a sentence (sentence_evidence): a
    # relevant hit's answer sentence is right when it holds one of them.
    answers: tuple[str, ...] = ()
    tolerance: float = 0.0  # how the quotes are matched (contains_evidence)


Spans = Sequence[tuple[int, int]]


def _sources_missing(question: Question, passages: Sequence[Passage]) -> str:
    """Why evidence may be found nowhere: the files it names that hold no indexed passage
    (not in the folder, skipped, or named otherwise), as a clause; "" when all are there."""
    indexed = {passage.source for passage in passages}
    missing = sorted({e.source for e in question.evidence} - indexed)
    return f" ({', '.join(missing)}: no such file is indexed)" if missing else ""


def judge_question_set(questions: Sequence[Question], passages: Sequence[Passage],
                       tolerance: float = 0.0, sentences: Callable[[Passage], Spans] | None = None
                       ) -> tuple[list[JudgedQuestion], list[str]]:
    """Find the passages holding each question's evidence; note evidence found nowhere.
    `sentences` gives a passage's sentence spans (default: qa's splitter run on its text; an
    index has them stored), to tell whether the evidence is a sentence."""
    judged, notes = [], []
    for question in questions:
        relevant = relevant_passages(question, passages, tolerance)
        answers: tuple[str, ...] = ()
        if question.evidence and not relevant:
            notes.append(f"{question.id}: no passage contains its evidence"
                         + _sources_missing(question, passages))
            relevant = {"(evidence not found)": 1}  # stays answerable, and scores zero
        else:
            holders = [p for p in passages if passage_key(p) in relevant]
            answers = sentence_evidence(question, holders, sentences or _split, tolerance)
        pages = tuple(e.page for e in question.evidence if e.page is not None)
        judged.append(JudgedQuestion(question.id, question.question, relevant, pages, answers,
                                     tolerance))
    return judged, notes


def _split(passage: Passage) -> Spans:
    return sentence_spans(passage.text)


def sentence_evidence(question: Question, holders: Sequence[Passage],
                      sentences: Callable[[Passage], Spans], tolerance: float = 0.0
                      ) -> tuple[str, ...]:
    """The question's evidence quotes, folded, when its evidence is a sentence: every passage
    holding it holds a quote within one of its sentences (qa's own sentence splitter), so
    some highlighted sentence can hold it. Else (); also for no holder."""
    quotes = tuple(_fold(evidence.quote) for evidence in question.evidence)
    for passage in holders:
        parts = [_fold(passage.text[start:end]) for start, end in sentences(passage)]
        if not any(contains_evidence(part, quote, tolerance)
                   for part in parts for quote in quotes):
            return ()
    return quotes if holders else ()


def answer_right(hit: Hit, question: JudgedQuestion,
                 key: Callable[[Passage], str] = passage_key) -> bool:
    """Whether a relevant hit's answer sentence holds the evidence (of the hit, or of its
    relevant collapsed copy: the place it is judged by, judged_key)."""
    place = next((h for h in (hit, *hit.copies) if question.relevant.get(key(h.passage), 0) > 0),
                 hit)
    start, end = place.answer
    sentence = _fold(place.passage.text[start:end])
    return any(contains_evidence(sentence, quote, question.tolerance)
               for quote in question.answers)


def _cites_page(passage: Passage | None, pages: tuple[int, ...]) -> bool | None:
    """None when the question names no page; else whether the passage's pages include one."""
    if not pages:
        return None
    if passage is None or passage.page is None:
        return False
    last = passage.page_end or passage.page
    return any(passage.page <= page <= last for page in pages)


def judged_key(hit: Hit, key: Callable[[Passage], str], relevant: Mapping[str, int]) -> str:
    """The key a hit is judged by: its own passage's, or the most relevant of its collapsed
    copies' (qa.searching.shaping). A hit shown once for several places counts once, as
    relevant as its best place: a relevant copy is neither lost behind another nor counted
    twice."""
    keys = [key(hit.passage), *(key(copy.passage) for copy in hit.copies)]
    return max(keys, key=lambda candidate: relevant.get(candidate, 0))


def evaluate(questions: Sequence[JudgedQuestion], search: Search,
             key: Callable[[Passage], str] = passage_key, notes: Sequence[str] = (),
             any_relevant: bool = True) -> EvalReport:
    """Search every question; score the answerable ones, and for the rest how well the top
    similarity tells them apart."""
    rankings: dict[str, list[str]] = {}
    outcomes: list[QuestionOutcome] = []
    for question in questions:
        started = time.perf_counter()
        result = search(question.text)
        search_ms = 1000 * (time.perf_counter() - started)
        rankings[question.id] = [judged_key(hit, key, question.relevant) for hit in result.hits]
        top = result.hits[0].similarity if result.hits else -1.0
        rank = metrics.first_relevant_rank(rankings[question.id], question.relevant)
        first = result.hits[rank - 1] if rank else None
        right = (answer_right(first, question, key)
                 if first is not None and question.answers else None)
        outcomes.append(QuestionOutcome(
            question.id, question.text, rank, top, result.no_good_match,
            _cites_page(first.passage if first else None, question.pages), search_ms,
            right, bool(question.answers)))
    judgements = {q.id: q.relevant for q in questions}
    answerable = [o for o in outcomes if judgements[o.id]]
    unanswerable = [o for o in outcomes if not judgements[o.id]]
    report = EvalReport(score_rankings(rankings, judgements, any_relevant), len(answerable), outcomes,
                        len(unanswerable), notes=list(notes))
    if not unanswerable:
        return report
    return EvalReport(
        report.metrics, report.questions, outcomes, len(unanswerable),
        auroc=metrics.auroc([o.top_similarity for o in answerable],
                            [o.top_similarity for o in unanswerable]),
        flagged_answerable=metrics.mean([float(o.flagged) for o in answerable]),
        flagged_unanswerable=metrics.mean([float(o.flagged) for o in unanswerable]),
        notes=list(notes))
