"""Search time with a filter or constraint of the query syntax against the same search without.

    .venv/bin/python -m benchmarks.filters [--copies 4] [--questions 50] [--rounds 3]

The SQuAD articles (../shared/squad/docs) are split into one file per paragraph, in a folder
per article, every other file a .md, their modification days spread over 2019-2024, and the
whole repeated in `--copies` folders (the copies share their vectors, so the build stays
short): hundreds of documents. Each of `--questions` SQuAD questions is asked plain and with
each filter, interleaved, `--rounds` times; the median time of each is reported with its ratio
to the plain median (issue 36's bar: at most 1.2x), and the searches are checked: every hit
passes the filter, and k hits come back whenever k passages pass it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.report import print_sections, save

REPO = Path(__file__).resolve().parents[1]
SQUAD = REPO.parent / "shared" / "squad"
K = 5


def split_articles(docs: Path, copies: int) -> list[str]:
    """The articles as one file per paragraph under docs/copyN/<article>/; their sources."""
    sources = []
    for article in sorted((SQUAD / "docs").glob("*.txt")):
        title, *paragraphs = article.read_text(encoding="utf-8").split("\n\n")
        for copy in range(copies):
            for number, paragraph in enumerate(paragraphs):
                suffix = ".md" if number % 2 else ".txt"
                source = f"copy{copy}/{article.stem}/p{number:03d}{suffix}"
                path = docs / source
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(f"{title}\n\n{paragraph}\n", encoding="utf-8")
                stamp = time.mktime((2019 + number % 6, 6, 15, 12, 0, 0, 0, 0, -1))
                os.utime(path, (stamp, stamp))
                sources.append(source)
    return sources


def filters(question: dict[str, Any], evidence: str) -> dict[str, tuple[str, Callable]]:
    """Each filter's query suffix, and what every hit must satisfy: (source, folded text)."""
    article = Path(str(question["relevant"][0]["source"])).stem
    phrase = " ".join(evidence.replace('"', " ").split()[:3])
    word = next((w for w in evidence.split() if w.isalpha() and len(w) > 5), "the")
    return {
        "type:md (half)": ("type:md", lambda source, text: source.endswith(".md")),
        "in:copy0/ (1 of copies)": ("in:copy0/", lambda source, text: source.startswith("copy0/")),
        "in:copy0/<article>/ (one article)": (
            f"in:copy0/{article}/", lambda source, text: source.startswith(f"copy0/{article}/")),
        "after:2023 (a third)": ("after:2023", lambda source, text: True),
        "file:p007.md (one per copy)": ("file:p007.md", lambda source, text:
                                        source.endswith("/p007.md")),
        "in: + file: (one document)": (f"in:copy0/{article}/ file:p001.md", lambda source, text:
                                       source == f"copy0/{article}/p001.md"),
        "quoted phrase from the evidence": (f'"{phrase}"', lambda source, text:
                                            " ".join(phrase.split()).casefold() in text),
        "-word from the evidence": (f"-{word}", lambda source, text: re.search(
            rf"(?<!\w){re.escape(word.casefold())}(?!\w)", text) is None),
    }


def run(copies: int, question_count: int, rounds: int) -> dict[str, dict[str, object]]:
    os.environ["HF_HUB_OFFLINE"] = "1"
    from qa.core.settings import settings_from_env
    from qa.library import QA
    from qa.searching.query import fold

    folder = Path(tempfile.mkdtemp(prefix="qa-filters-"))
    sources = split_articles(folder / "docs", copies)
    settings = settings_from_env().with_overrides(docs_dir=folder / "docs",
                                                  index_dir=folder / "index")
    qa = QA.open(settings)
    questions = [json.loads(line) for line in
                 (SQUAD / "questions.jsonl").read_text(encoding="utf-8").splitlines()
                 ][:question_count]
    qa.search("warm up \"the\"")  # the passage texts constraints read are made once
    passages = qa.searcher.passages
    texts = [fold(item.passage.text) for item in passages]
    times: dict[str, list[float]] = {"plain": []}
    failures: dict[str, int] = {}
    for _ in range(rounds):
        for question in questions:
            evidence = str(question["relevant"][0]["evidence"])
            cases = {"plain": ("", lambda source, text: True), **filters(question, evidence)}
            for name, (suffix, passes) in cases.items():
                started = time.perf_counter()
                result = qa.search(f"{question['question']} {suffix}", K)
                times.setdefault(name, []).append(time.perf_counter() - started)
                bad = [h for h in result.hits if not passes(h.passage.source, fold(h.passage.text))]
                # Copies of a passage come back as one hit (collapsed): count distinct texts.
                passing = len({folded for item, folded in zip(passages, texts, strict=True)
                               if passes(item.passage.source, folded)})
                short = len(result.hits) < min(K, passing)
                failures[name] = failures.get(name, 0) + bool(bad or short)
    plain = statistics.median(times["plain"])
    results: dict[str, dict[str, object]] = {
        "folder": {"documents": len(sources), "passages": qa.searcher.index.passage_count,
                   "questions": len(questions), "rounds": rounds, "k": K}}
    for name, values in times.items():
        median = statistics.median(values)
        results[name] = {"median_ms": round(median * 1000, 2),
                         "ratio_to_plain": round(median / plain, 3),
                         "searches_failing_it_or_short_of_k": failures[name]}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    results = run(arguments.copies, arguments.questions, arguments.rounds)
    print_sections(results)
    save(results, "filters")


if __name__ == "__main__":
    main()
