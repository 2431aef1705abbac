"""Load benchmark: concurrent clients asking through the page's own HTTP API on 127.0.0.1.

    .venv/bin/python app.py &            # or qa serve --port 7860
    .venv/bin/python -m benchmarks.load --url http://127.0.0.1:7860/ --clients 20 --seconds 30
    .venv/bin/python -m benchmarks.load --rebuild-at 10     # press "Rebuild index" after 10 s
    .venv/bin/python -m benchmarks.load --clients 10 --seconds 600 --unique --sample-every 60
    .venv/bin/python -m benchmarks.load --routes search rest    # REST against the call API
    .venv/bin/python -m benchmarks.load --token qa_...         # a signed-in server (qa serve --users)

Each request is what the browser sends: `POST /gradio_api/call/ask`, then the event stream of `GET
/gradio_api/call/ask/<event_id>`; with `--routes search rest`, the JSON call API and then the REST
API's one `GET /api/search`, each for the whole time, with the ratio of their rates. An answer
counts as failed when the stream ends in `event: error`, the request fails, or no passage comes
back; it counts as wrong when its first hit is not the one the same question got when asked alone
before the load started. With `--unique` every question carries a request number, so no answer is
ever byte-identical to another (what a real crowd of users does to caches); first hits are then
not compared.
Prints requests, failures, wrong answers, p50/p95 latency and the server's memory, as text and JSON.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

QUESTIONS = ["When did the third ARF workshop on space security open?",
             "Why is amending the Outer Space Treaty not a workable solution?",
             "Which countries joined China in submitting working paper CD/1679?",
             "Who co-organised the 2018 PAROS workshop?",
             "Which expert body was the 2018 workshop preparing the ground for?"]
# "ask": the page's own event (results as HTML, downloads written); "search": the page's JSON
# call API (the same two-step protocol); "rest": one GET of /api/search.
ROUTES = ("ask", "search", "rest")
FIRST_SOURCE = re.compile(r'class="qa-hit" data-source="([^"]*)"')


class AnswerFailed(Exception):
    """The API answered with an error event, or with no passage."""


def call(http: httpx.Client, endpoint: str, data: list[Any]) -> Any:
    """One call through Gradio's HTTP API: the posted event, then its stream's final data."""
    posted = http.post(f"/gradio_api/call/{endpoint}", json={"data": data})
    posted.raise_for_status()
    event_id = posted.json()["event_id"]
    event = ""
    with http.stream("GET", f"/gradio_api/call/{endpoint}/{event_id}") as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.partition(":")[2].strip()
            elif line.startswith("data:") and event in {"complete", "error"}:
                payload = json.loads(line.partition(":")[2])
                if event == "error":
                    raise AnswerFailed(f"error event: {payload}")
                return payload
    raise AnswerFailed(f"stream ended without a result (last event {event!r})")


def first_source(http: httpx.Client, question: str, route: str = "ask") -> str:
    """The first hit's file for a question, asked through one of the server's routes."""
    if route == "ask":
        results_html = call(http, "ask", [question, 5, "hybrid", [], False])[0]
        found = FIRST_SOURCE.search(results_html)
        source = found.group(1) if found else ""
    else:
        if route == "search":
            answer = call(http, "search", [question, 5, "hybrid", None])[0]
        else:
            got = http.get("/api/search", params={"q": question, "k": 5})
            got.raise_for_status()
            answer = got.json()
        source = answer["hits"][0]["source"] if answer["hits"] else ""
    if not source:
        raise AnswerFailed(f"no passage for {question!r}")
    return source


@dataclass
class Tally:
    """What every client saw; shared between threads under one lock."""

    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def signed_client(url: str, token: str | None, timeout: float = 120) -> httpx.Client:
    """A client of the server; with `token`, every request carries it (qa serve --users)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url, timeout=timeout, headers=headers)


def client_loop(url: str, stop_at: float, expected: dict[str, str], unique: bool,
                counter: itertools.count[int], tally: Tally, route: str,
                token: str | None = None) -> None:
    with signed_client(url, token) as http:
        while time.time() < stop_at:
            number = next(counter)
            question = QUESTIONS[number % len(QUESTIONS)]
            asked = f"{question} (request {number})" if unique else question
            started = time.perf_counter()
            try:
                source = first_source(http, asked, route)
            except (AnswerFailed, httpx.HTTPError, KeyError, ValueError) as error:
                with tally.lock:
                    tally.failures.append(f"{type(error).__name__}: {error}"[:300])
                continue
            elapsed = time.perf_counter() - started
            with tally.lock:
                tally.latencies.append(elapsed)
                if not unique and source != expected[question]:
                    tally.wrong.append(f"{question!r}: {source} instead of {expected[question]}")


def server_rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    import psutil

    process = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 1e6


def files_under(folder: Path | None) -> int | None:
    return None if folder is None else sum(len(files) for _, _, files in os.walk(folder))


def run_load(url: str, clients: int, seconds: float, rebuild_at: float | None = None,
             unique: bool = False, server_pid: int | None = None, sample_every: float = 0.0,
             gradio_temp: Path | None = None,
             report: Callable[[str], None] = lambda line: None, route: str = "ask",
             token: str | None = None) -> dict[str, Any]:
    """Answered requests, failures, wrong first hits, latency and the server's memory."""
    with signed_client(url, token) as http:
        expected = {question: first_source(http, question, route) for question in QUESTIONS}
    tally, counter = Tally(), itertools.count()
    rss_start = server_rss_mb(server_pid)
    samples: list[tuple[float, float | None, int | None]] = []
    started = time.perf_counter()
    stop_at = time.time() + seconds
    with ThreadPoolExecutor(max_workers=clients + 1) as pool:
        jobs = [pool.submit(client_loop, url, stop_at, expected, unique, counter, tally, route,
                            token) for _ in range(clients)]
        if rebuild_at is not None:
            jobs.append(pool.submit(_rebuild_after, url, rebuild_at, token))
        while not all(job.done() for job in jobs):
            time.sleep(1)
            if sample_every and time.perf_counter() - started >= sample_every * (len(samples) + 1):
                samples.append((time.perf_counter() - started, server_rss_mb(server_pid),
                                files_under(gradio_temp)))
                report(f"{samples[-1][0]:.0f} s: {len(tally.latencies)} answers, "
                       f"{len(tally.failures)} failed, server RSS {samples[-1][1]} MB, "
                       f"{samples[-1][2]} files in Gradio's temporary folder")
        for job in jobs:
            job.result()
    elapsed = time.perf_counter() - started
    latencies = tally.latencies
    return {"route": route, "clients": clients, "seconds": round(elapsed, 1), "requests": len(latencies),
            "failures": len(tally.failures), "wrong": len(tally.wrong),
            "rebuild_at": rebuild_at, "requests_per_s": len(latencies) / elapsed,
            "p50_ms": 1000 * statistics.median(latencies) if latencies else None,
            "p95_ms": 1000 * float(np.percentile(latencies, 95)) if latencies else None,
            "server_rss_mb_start": rss_start, "server_rss_mb_end": server_rss_mb(server_pid),
            "gradio_temp_files_end": files_under(gradio_temp), "samples": samples,
            "first_failures": tally.failures[:5], "first_wrong": tally.wrong[:5]}


def _rebuild_after(url: str, delay: float, token: str | None) -> None:
    time.sleep(delay)
    with signed_client(url, token, timeout=600) as http:
        call(http, "rebuild", [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:7860/")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rebuild-at", type=float, help="press Rebuild after this many seconds")
    parser.add_argument("--unique", action="store_true", help="no two questions alike")
    parser.add_argument("--server-pid", type=int, help="measure this process's memory")
    parser.add_argument("--sample-every", type=float, default=0.0,
                        help="print the server's memory every this many seconds")
    parser.add_argument("--gradio-temp", type=Path, help="the server's GRADIO_TEMP_DIR, to count")
    parser.add_argument("--routes", nargs="+", choices=ROUTES, default=["ask"],
                        help="run the load through each in turn (ratios against the first)")
    parser.add_argument("--token", help="an API token (qa users token) for a signed-in server")
    args = parser.parse_args()
    runs = []
    for route in args.routes:
        figures = run_load(args.url, args.clients, args.seconds, args.rebuild_at, args.unique,
                           args.server_pid, args.sample_every, args.gradio_temp, report=print,
                           route=route, token=args.token)
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in figures.items() if k != "samples"))
        runs.append(figures)
    for figures in runs[1:]:
        print(f"{figures['route']}: {figures['requests_per_s'] / runs[0]['requests_per_s']:.2f}×"
              f" the answers per second of {runs[0]['route']}")
    print(json.dumps(runs[0] if len(runs) == 1 else runs))


if __name__ == "__main__":
    main()
