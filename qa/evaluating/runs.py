"""Evaluation runs as the CLI and the benchmarks start them: open the index, search, report."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from qa.chunking.chunk import ChunkedCorpus
from qa.core.settings import Settings
from qa.embedding.embed import Encoder, Progress
from qa.evaluating.beir import load_collection
from qa.evaluating.evaluate import (
    METRIC_KEYS,
    EvalReport,
    JudgedQuestion,
    evaluate,
    judge_question_set,
    read_question_set,
)
from qa.indexing.backends import separate_index
from qa.library import QA


def evaluate_question_files(paths: list[Path], settings: Settings, top_k: int = 100,
                            progress: Progress | None = None,
                            embedder: Encoder | None = None,
                            evidence_tolerance: float = 0.0) -> EvalReport:
    """Evaluate one or more question-set files together over the documents folder in settings;
    `evidence_tolerance` > 0 judges evidence as OCR text needs (qa.evaluating.evaluate.contains_evidence)."""
    questions = [question for path in paths for question in read_question_set(path)]
    qa = QA.open(settings, progress, embedder, refresh=True)
    indexed = qa.searcher.passages
    # The sentences the index stored, the ones its hits' answer sentences are chosen from.
    stored = {id(item.passage): item.sentences for item in indexed}
    judged, notes = judge_question_set(questions, [item.passage for item in indexed],
                                       evidence_tolerance,
                                       lambda passage: stored[id(passage)])
    return evaluate(judged, partial(qa.search, k=top_k, literal=True), notes=notes)


def evaluate_beir(folder: Path, settings: Settings, top_k: int = 100, limit: int | None = None,
                  progress: Progress | None = None, embedder: Encoder | None = None
                  ) -> EvalReport:
    """Evaluate a BEIR collection; its index is cached under the index folder and reused."""
    collection = load_collection(folder, limit)
    suffix = f"-first{limit}" if limit else ""
    index_dir = settings.index_dir / "beir" / f"{collection.name}{suffix}"
    qa = QA.open(separate_index(settings, index_dir, folder, suffix), progress, embedder,
                 corpus=lambda: ChunkedCorpus.of(collection.sources, collection.skipped),
                 refresh=True)
    judged = [JudgedQuestion(qid, text, collection.qrels[qid])
              for qid, text in collection.queries.items()]
    return evaluate(judged, partial(qa.search, k=top_k, literal=True), key=lambda passage: passage.source,
                    any_relevant=False)


def format_report(report: EvalReport, verbose: bool = False) -> str:
    lines = [f"questions: {report.questions}"]
    lines += [f"{name:>11}: {report.metrics[name]:.3f}" for name in METRIC_KEYS]
    answers = report.answer_figures
    if answers:
        lines += [f"answer sentence accuracy: {answers['answer_sentence_accuracy']:.3f} (the "
                  "first relevant hit in the top 10 highlights the evidence sentence)",
                  f"   answer@1: {answers['answer@1']:.3f} (the first hit is relevant and "
                  "highlights it), over the "
                  f"{answers['answer_questions']} questions whose evidence is a sentence"]
    if report.page_accuracy is not None:
        lines.append(f"page accuracy: {report.page_accuracy:.3f} (the first relevant hit cites "
                     "the evidence's page)")
    if report.unanswerable:
        lines += [f"unanswerable: {report.unanswerable}",
                  f"AUROC (top similarity, answerable vs not): {report.auroc:.3f}",
                  f"flagged 'no good match': {report.flagged_answerable:.1%} of answerable, "
                  f"{report.flagged_unanswerable:.1%} of unanswerable"]
    lines += [f"note: {note}" for note in report.notes]
    if verbose:
        lines.append("")
        lines += rank_lines(report)
    return "\n".join(lines)


def rank_lines(report: EvalReport) -> list[str]:
    """Each question's id, first relevant rank ('-': none in the ranking) and text, tab-separated."""
    return [f"{o.id}\t{o.first_relevant_rank or '-'}\t{o.question}" for o in report.outcomes]
