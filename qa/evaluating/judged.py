"""A user's own folder measured: their judgements (qa.indexing.judgements) as a question set,
every judged question searched again against the index of now in each mode, and scored as `qa
eval` scores a question-set file. The judgements export as that file (so `qa eval` of it gives
the same figures) and as TREC qrels with a run file per mode, for any IR tool."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from qa.core.access import EVERYONE, Access
from qa.core.settings import SearchMode
from qa.evaluating.evaluate import (
    EvalReport,
    Evidence,
    JudgedQuestion,
    Question,
    evaluate,
    judge_question_set,
    judged_key,
    passage_key,
)
from qa.evaluating.runs import rank_lines
from qa.indexing.judgements import LOCAL_USER, JudgementStore, Placed, question_key
from qa.library import QA
from qa.searching.search import SearchResult

FIGURES = ("recall@1", "recall@5", "mrr@10", "ndcg@10")
MODES: tuple[SearchMode, ...] = ("hybrid", "dense", "lexical")


@dataclass(frozen=True)
class JudgedSet:
    """The judgements as questions: each judged question with its evidence (the quotes of the
    passages judged relevant; none: "answered by none of these"), and what was left out."""

    questions: list[Question]
    judgements: int  # the judgements the questions rest on (relevant, not relevant, none)
    stale: int  # judgements whose passage changed, left out
    unjudged: int  # questions judged only "not relevant": nothing to score them by
    not_relevant: dict[str, list[tuple[str, int]]]  # question id -> passages judged not relevant


def question_id(question: str) -> str:
    """A judged question's id, the same for the same question however it was spaced or cased."""
    return "j-" + hashlib.sha256(question_key(question).encode("utf-8")).hexdigest()[:12]


def judged_set(placed: Sequence[Placed]) -> JudgedSet:
    """The judged questions, oldest first; stale judgements are left out."""
    by_question: dict[str, list[Placed]] = {}
    stale = 0
    for item in placed:
        if item.standing == "stale":
            stale += 1
            continue
        by_question.setdefault(question_key(item.judgement.question), []).append(item)
    questions, counted, unjudged = [], 0, 0
    not_relevant: dict[str, list[tuple[str, int]]] = {}
    for items in by_question.values():
        text = items[-1].judgement.question
        relevant = [i for i in items if i.judgement.verdict == "relevant"]
        said_none = any(i.judgement.verdict == "none" for i in items)
        if not relevant and not said_none:
            unjudged += 1
            continue
        evidence = tuple(Evidence(i.judgement.source, i.judgement.quote) for i in relevant)
        questions.append(Question(question_id(text), text, evidence))
        not_relevant[question_id(text)] = [(i.judgement.source, i.paragraph or 0) for i in items
                                           if i.judgement.verdict == "not relevant"]
        counted += len(items)
    return JudgedSet(questions, counted, stale, unjudged, not_relevant)


@dataclass(frozen=True)
class ModeReport:
    mode: SearchMode
    report: EvalReport
    rankings: dict[str, list[tuple[str, float]]]  # question id -> (passage key, score), best first


@dataclass(frozen=True)
class JudgedReport:
    """The figures of each mode over one user's judgements."""

    user: str
    judged: JudgedSet
    relevant: dict[str, dict[str, int]]  # question id -> the passage keys holding its evidence
    modes: list[ModeReport]

    def to_json(self) -> dict[str, object]:
        """The figures by mode; null where no judged question has a relevant passage to
        average over (0.000 would read as a measured failure)."""
        return {"user": self.user, "judgements": self.judged.judgements,
                "judged_questions": len(self.judged.questions),
                "stale": self.judged.stale, "unjudged": self.judged.unjudged,
                "modes": {m.mode: {**{name: m.report.metrics[name] if m.report.questions
                                      else None for name in FIGURES},
                                   "questions": m.report.questions,
                                   "unanswerable": m.report.unanswerable}
                          for m in self.modes}}


def evaluate_judgements(qa: QA, user: str | None = None, access: Access = EVERYONE,
                        modes: Sequence[SearchMode] = MODES, top_k: int = 100
                        ) -> JudgedReport:
    """Search every question `user` judged (default: `access`'s user) in each of `modes`,
    within what `access` may read, and score the rankings against the judgements."""
    placed = qa.judgements(user, access)
    judged = judged_set(placed)
    passages = [item.passage for item in qa.searcher.passages if access.may_read(item.passage.source)]
    questions, _ = judge_question_set(judged.questions, passages)
    reports = [_run_mode(qa, questions, mode, access, top_k) for mode in modes]
    owner = user or access.user or LOCAL_USER
    return JudgedReport(owner, judged, {q.id: q.relevant for q in questions}, reports)


def _run_mode(qa: QA, questions: list[JudgedQuestion], mode: SearchMode, access: Access,
              top_k: int) -> ModeReport:
    """One mode's report, and its rankings (for the run file) as the report judged them."""
    results: dict[str, SearchResult] = {}

    def search(text: str) -> SearchResult:
        results[text] = qa.search(text, top_k, mode, access=access)
        return results[text]

    report = evaluate(questions, search)
    rankings = {q.id: [(judged_key(hit, passage_key, q.relevant), hit.score)
                       for hit in results[q.text].hits] for q in questions}
    return ModeReport(mode, report, rankings)


def format_judged(report: JudgedReport, verbose: bool = False) -> str:
    """The figures as a table, one row per mode, and what they rest on (with `verbose`, each
    question's first relevant rank in each mode); when no judged question has a relevant
    passage, a line saying so instead of a table."""
    first = report.modes[0].report if report.modes else None
    if not report.judged.questions and not report.judged.stale and not report.judged.unjudged:
        return (f"nothing judged by {report.user} yet: no figures (judge hits on the page, or "
                "with POST /api/judgements; --user names whose judgements to score)")
    lines = [f"judgements of {report.user}: {first.questions if first else 0} questions with a "
             f"relevant passage, {first.unanswerable if first else 0} answered by none, "
             f"{report.judged.judgements} judgements"
             + (f" ({report.judged.stale} stale, left out)" if report.judged.stale else "")
             + (f"; {report.judged.unjudged} questions judged only 'not relevant', left out"
                if report.judged.unjudged else "")]
    if not first or not first.questions:
        lines.append("no judged question has a passage judged relevant: no figures to show")
        return "\n".join(lines)
    lines.append(f"{'mode':>8} " + " ".join(f"{name:>9}" for name in FIGURES))
    for mode in report.modes:
        lines.append(f"{mode.mode:>8} " + " ".join(f"{mode.report.metrics[name]:>9.3f}"
                                                   for name in FIGURES))
    lines += [f"note: {note}" for note in first.notes]
    if verbose:
        for mode in report.modes:
            lines += ["", f"{mode.mode}:", *rank_lines(mode.report)]
    return "\n".join(lines)


def export_judgements(report: JudgedReport, folder: Path) -> list[Path]:
    """Write questions.jsonl (the question-set format `qa eval` reads), qrels.txt (TREC:
    judged-relevant passages 1, judged not relevant 0) and run-MODE.txt per mode (TREC run
    files). A passage's TREC id is its source, URL-quoted, then "#" and its paragraph."""
    folder.mkdir(parents=True, exist_ok=True)
    questions = folder / "questions.jsonl"
    questions.write_text("".join(
        json.dumps({"id": q.id, "question": q.question,
                    "relevant": [{"source": e.source, "evidence": e.quote} for e in q.evidence]},
                   ensure_ascii=False) + "\n" for q in report.judged.questions), encoding="utf-8")
    qrels = folder / "qrels.txt"
    qrels.write_text("".join(_qrels_lines(report)), encoding="utf-8")
    runs = []
    for mode in report.modes:
        run = folder / f"run-{mode.mode}.txt"
        run.write_text("".join(
            f"{qid} Q0 {_trec_id(key)} {rank} {score:.6f} qa-{mode.mode}\n"
            for qid, ranking in mode.rankings.items()
            for rank, (key, score) in enumerate(ranking, start=1)), encoding="utf-8")
        runs.append(run)
    return [questions, qrels, *runs]


def _qrels_lines(report: JudgedReport) -> list[str]:
    lines = []
    for qid, relevant in report.relevant.items():
        grades = {key: 0 for key in (f"{source}#{paragraph}" for source, paragraph
                                     in report.judged.not_relevant.get(qid, []))}
        grades.update(relevant)
        lines += [f"{qid} 0 {_trec_id(key)} {grade}\n" for key, grade in grades.items()
                  if key != "(evidence not found)"]
    return lines


def _trec_id(key: str) -> str:
    """A passage key without whitespace (TREC files split on it): the source URL-quoted, `#`,
    the paragraph. A `#` in a file's name is quoted too, so the last `#` always parts them."""
    source, _, paragraph = key.rpartition("#")
    return f"{quote(source, safe='/@:+,;=-_.~')}#{paragraph}"



# ---- before a build is published ---------------------------------------------------------------

@dataclass(frozen=True)
class BuildComparison:
    """One user's figures on their judged questions, in the served mode: of the build a new
    one would replace (None when there is none to search) and of the new build."""

    user: str
    mode: SearchMode
    replaced: dict[str, float] | None
    new: dict[str, float]
    questions: int  # judged questions with a relevant passage, in the new build
    judgements: int

    def drops(self, threshold: float) -> dict[str, float]:
        """The figures that fall by more than `threshold` from the replaced build to the new
        one, by how much."""
        if self.replaced is None or not self.questions:
            return {}
        fallen = {name: self.replaced[name] - self.new[name] for name in FIGURES}
        # Rounded: a figure is a mean of a few questions' scores, never finer than this.
        return {name: drop for name, drop in fallen.items() if round(drop - threshold, 9) > 0}


def figures_of(report: JudgedReport) -> dict[str, float]:
    """The first mode's figures of a report, by name."""
    return {name: report.modes[0].report.metrics[name] for name in FIGURES}


class JudgedGate:
    """QA.index's check before publishing (qa.library.BuildCheck): each user's judged
    questions searched in the build being replaced and in the new one, in the served mode. A
    figure falling by more than settings.judged_drop makes the new build worse; with
    settings.keep_if_worse off, a worse build is declined. `comparisons` says what it found."""

    def __init__(self, users: Sequence[str], access: Access = EVERYONE) -> None:
        self.users = list(users)
        self.access = access
        self.comparisons: list[BuildComparison] = []

    def __call__(self, replaced: QA | None, new: QA) -> str:
        mode = new.settings.mode
        self.comparisons = [self._compare(user, replaced, new, mode) for user in self.users]
        worse = self.worse(new.settings.judged_drop)
        if not worse or new.settings.keep_if_worse:
            return ""
        return "it scores worse on the judged questions (" + "; ".join(
            f"{c.user}: {_fallen(c, new.settings.judged_drop)}" for c in worse) + ")"

    def worse(self, threshold: float) -> list[BuildComparison]:
        return [c for c in self.comparisons if c.drops(threshold)]

    def _compare(self, user: str, replaced: QA | None, new: QA, mode: SearchMode
                 ) -> BuildComparison:
        after = evaluate_judgements(new, user, self.access, [mode])
        before = (figures_of(evaluate_judgements(replaced, user, self.access, [mode]))
                  if replaced is not None else None)
        return BuildComparison(user, mode, before, figures_of(after),
                               after.modes[0].report.questions, after.judged.judgements)


def judged_gate(qa: QA, users: Sequence[str] | None = None, access: Access = EVERYONE
                ) -> JudgedGate | None:
    """The check before publishing over `users`' judgements (default: every user's); None when
    none of them has judged anything, so that nothing is computed."""
    store = JudgementStore(qa.settings.index_dir)
    judging = [user for user in (store.users() if users is None else users) if store.read(user)]
    return JudgedGate(judging, access) if judging else None


def _fallen(comparison: BuildComparison, threshold: float) -> str:
    return ", ".join(f"{name} -{drop:.3f}" for name, drop in comparison.drops(threshold).items())


def format_comparison(gate: JudgedGate, threshold: float) -> list[str]:
    """Old against new for each user, and a warning line for each user whose figures fall by
    more than `threshold`."""
    lines = []
    for c in gate.comparisons:
        lines.append(f"judged questions of {c.user} ({c.mode}; {c.questions} questions, "
                     f"{c.judgements} judgements):")
        lines.append(f"{'':>9} " + " ".join(f"{name:>9}" for name in FIGURES))
        if c.replaced is not None:
            lines.append(f"{'replaced':>9} " + " ".join(f"{c.replaced[n]:>9.3f}" for n in FIGURES))
        else:
            lines.append("  (no build to compare with)")
        lines.append(f"{'new':>9} " + " ".join(f"{c.new[n]:>9.3f}" for n in FIGURES))
    for c in gate.worse(threshold):
        lines.append(f"warning: the new build scores worse on {c.user}'s judged questions: "
                     f"{_fallen(c, threshold)} (more than judged_drop {threshold:g})")
    return lines
