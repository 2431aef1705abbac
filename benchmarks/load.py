"""Load benchmark: N concurrent clients against a running app's API on 127.0.0.1.

    .venv/bin/python app.py &            # or qa serve --port 7860
    .venv/bin/python -m benchmarks.load --url http://127.0.0.1:7860/ --clients 20 --seconds 30

Prints requests, failures, throughput and p50/p95 latency, as text and JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from gradio_client import Client

QUESTIONS = ["When did the third ARF workshop on space security open?",
             "Why is amending the Outer Space Treaty not a workable solution?",
             "Which countries joined China in submitting working paper CD/1679?"]


def client_loop(url: str, seconds: float, number: int) -> tuple[list[float], int]:
    client = Client(url, verbose=False)
    latencies, failures = [], 0
    stop = time.time() + seconds
    while time.time() < stop:
        started = time.perf_counter()
        try:
            result = client.predict(QUESTIONS[number % len(QUESTIONS)], 5, "hybrid", [],
                                    api_name="/ask")
            if 'class="qa-hit"' not in result[0]:
                failures += 1
                continue
            latencies.append(time.perf_counter() - started)
        except Exception:
            failures += 1
    return latencies, failures


def run_load(url: str, clients: int, seconds: float) -> dict[str, float | int | None]:
    """Answered requests, failures, throughput and latency of `clients` concurrent clients."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        outcomes = list(pool.map(lambda n: client_loop(url, seconds, n), range(clients)))
    elapsed = time.perf_counter() - started
    latencies = [value for values, _ in outcomes for value in values]
    return {"clients": clients, "seconds": elapsed, "requests": len(latencies),
            "failures": sum(f for _, f in outcomes),
            "requests_per_s": len(latencies) / elapsed,
            "p50_ms": 1000 * statistics.median(latencies) if latencies else None,
            "p95_ms": 1000 * float(np.percentile(latencies, 95)) if latencies else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:7860/")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    figures = run_load(args.url, args.clients, args.seconds)
    print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                   for k, v in figures.items()))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
