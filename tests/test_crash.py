"""A `qa index` killed with SIGKILL in the middle of a build leaves the previous index working."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import REPO, SEEDS

from qa.library import QA
from qa.settings import Settings


def test_sigkill_during_build_keeps_previous_index(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    docs, index = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    for seed in SEEDS.iterdir():
        (docs / seed.name).write_bytes(seed.read_bytes())
    settings = Settings(docs_dir=docs, index_dir=index)
    QA(settings, embedder=embedder).index()
    manifest_before = (index / "manifest.json").read_text()
    # Enough new text that the next build runs for several seconds.
    text = (SEEDS / "004_0a75116a2b3c4ab4.txt").read_text(encoding="utf-8")
    for number in range(15):
        (docs / f"copy{number}.txt").write_text(f"Copy {number}\n\n" + text.replace(
            "outer space", f"outer space ({number})"), encoding="utf-8")
    build = subprocess.Popen(
        ["timeout", "300", sys.executable, "-m", "qa.cli", "index", str(docs), "--index", str(index)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    old_build = json.loads(manifest_before)["build"]
    deadline = time.time() + 120
    while time.time() < deadline:
        if any(p.name != old_build for p in index.glob("build-*")):
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the build never started writing")
    os.killpg(build.pid, signal.SIGKILL)
    build.wait()
    assert (index / "manifest.json").read_text() == manifest_before
    survivor = QA(settings, embedder=embedder)
    hit = survivor.searcher.search("Which countries joined China in submitting CD/1679?", 1,
                                   "hybrid")[0]
    assert hit.passage.source == "004_0a75116a2b3c4ab4.txt"
    report = survivor.index()
    assert report.files == 18 and report.rebuilt_because
    assert [p.name for p in index.glob("build-*")] == [json.loads(
        (index / "manifest.json").read_text())["build"]]
