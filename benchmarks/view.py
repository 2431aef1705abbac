"""Document view benchmark: how long a warm server takes to open a result's view of a PDF page.

    .venv/bin/python -m benchmarks.view [--pdf ../shared/documents/pdf-samples/GeoTopo-komprimiert.pdf]
                                        [--views 40]

Starts `app.py` on 127.0.0.1 over a folder holding only the PDF (117 pages for GeoTopo), asks a
few questions to warm it, and picks hits on different pages. Opening a view is what the browser
does when a result is chosen: the page's `view` event (the view's HTML, with the passage's boxes
worked out from PDFium's character boxes) and then a GET of every page picture in it. Each view
is opened twice: first when its page was never rendered (the figure the issue bounds: at most
1 s), then again from the server's cache of rendered pages. The baseline, measured in the same
run against the same server, is one search through the page's JSON call API.
Prints p50, p95 and the slowest of each, and their ratios to the search, as text and JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import httpx

from benchmarks.load import call

GEOTOPO = (Path(__file__).resolve().parents[2] / "shared" / "documents" / "pdf-samples"
           / "GeoTopo-komprimiert.pdf")
QUESTIONS = ["Was ist eine Homotopie?", "Wann ist ein topologischer Raum zusammenhängend?",
             "Was ist eine Mannigfaltigkeit?", "Definition der Fundamentalgruppe",
             "Was ist eine Überlagerung?", "Wie ist die Krümmung einer Kurve definiert?",
             "Was besagt der Satz von Gauß-Bonnet?", "Was ist ein simplizialer Komplex?",
             "Was ist die Euler-Charakteristik?", "Was ist eine Geodäte?"]
IMAGES = re.compile(r'<img src="([^"]+)"')


def _serve(docs: Path, index: Path, port: int) -> subprocess.Popen[bytes]:
    repo = Path(__file__).resolve().parents[1]
    server = subprocess.Popen(
        ["timeout", "1800", sys.executable, "app.py", "--docs", str(docs), "--index", str(index),
         "--port", str(port), "--no-watch"], cwd=repo, env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"the app exited with status {server.returncode}") from None
            time.sleep(1)
    server.kill()
    raise SystemExit("the app did not start within 600 s")


def _hits_on_distinct_pages(http: httpx.Client, wanted: int) -> list[dict[str, Any]]:
    seen: dict[int, dict[str, Any]] = {}
    for question in QUESTIONS:
        for hit in http.get("/api/search", params={"q": question, "k": 20}).json()["hits"]:
            if hit["page"] not in seen:
                seen[hit["page"]] = {**hit, "question": question}
    return list(seen.values())[:wanted]


def _open(http: httpx.Client, hit: dict[str, Any]) -> tuple[float, int]:
    """Seconds to open the hit's view (its HTML, then its pictures) and the pictures' count."""
    request = json.dumps([hit["source"], hit["paragraph"], [hit["answer_start"],
                          hit["answer_end"]], None, 100, hit["question"]])
    started = time.perf_counter()
    shown = call(http, "view", [request])[0]
    pictures = IMAGES.findall(shown)
    for src in pictures:
        got = http.get("/" + src.replace("&amp;", "&"))
        got.raise_for_status()
    return time.perf_counter() - started, len(pictures)


def _figures(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {"p50_ms": 1000 * statistics.median(ordered),
            "p95_ms": 1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
            "max_ms": 1000 * ordered[-1]}


def run(pdf: Path, views: int, port: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="qa-view-bench-"))
    try:
        docs = work / "docs"
        docs.mkdir()
        shutil.copy(pdf, docs / pdf.name)
        server = _serve(docs, work / "index", port)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}/", timeout=120) as http:
                hits = _hits_on_distinct_pages(http, views + 1)
                _open(http, hits.pop())  # warm: the first view opens the PDF's code paths
                searches = []
                for question in QUESTIONS:
                    started = time.perf_counter()
                    call(http, "search", [question, 5, "hybrid", None])
                    searches.append(time.perf_counter() - started)
                first, again, pictures = [], [], 0
                for hit in hits:
                    seconds, count = _open(http, hit)
                    first.append(seconds)
                    pictures += count
                for hit in hits:
                    again.append(_open(http, hit)[0])
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    search = _figures(searches)
    opened = {"first_open": _figures(first), "cached_open": _figures(again)}
    for figures in opened.values():
        figures["p50_to_search_p50"] = figures["p50_ms"] / search["p50_ms"]
    return {"pdf": pdf.name, "views": len(hits), "pictures": pictures, "search": search,
            **opened}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pdf", type=Path, default=GEOTOPO)
    parser.add_argument("--views", type=int, default=40)
    parser.add_argument("--port", type=int, default=7899)
    arguments = parser.parse_args()
    report = run(arguments.pdf, arguments.views, arguments.port)
    print(f"{report['pdf']}: {report['views']} views of distinct pages "
          f"({report['pictures']} page pictures)")
    for name in ("search", "first_open", "cached_open"):
        figures = report[name]
        ratio = figures.get("p50_to_search_p50")
        print(f"  {name:12} p50 {figures['p50_ms']:7.1f} ms  p95 {figures['p95_ms']:7.1f} ms  "
              f"max {figures['max_ms']:7.1f} ms" + (f"  ({ratio:.1f}x search)" if ratio else ""))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
