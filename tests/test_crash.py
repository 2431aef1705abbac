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

from qa.core.settings import Settings
from qa.library import QA


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


def test_a_build_killed_past_half_resumes_from_what_it_had_embedded(tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                     embedder) -> None:
    """Vectors are saved as they are computed: `qa index` SIGKILLed once its progress bar shows
    half of the embedding done leaves that half for the next build, which embeds little more
    than the rest, serves nothing partial in between, and answers exactly as a build that
    never stopped."""
    import re
    import shutil

    from qa.indexing.indexer import PARTIAL_FOLDER

    abstracts = [json.loads(line)["text"] for line in
                 (REPO.parent / "shared" / "beir" / "cranfield" / "corpus.jsonl").open()]
    count = 668
    docs, index = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    for number, text in enumerate(abstracts[:count]):
        (docs / f"abstract-{number:04d}.txt").write_text(f"Abstract {number}\n\n{text}\n",
                                                         encoding="utf-8")
    build = subprocess.Popen(
        ["timeout", "600", sys.executable, "-m", "qa.cli", "index", str(docs), "--index", str(index)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    assert build.stderr is not None
    shown = b""
    while not (done := re.findall(rb"(\d+)/(\d+) \[", shown)) \
            or int(done[-1][0]) * 2 < int(done[-1][1]):  # the progress bar: texts done/all
        chunk = os.read(build.stderr.fileno(), 4096)
        assert chunk, f"the build ended before it was half done: {shown[-2000:]!r}"
        shown = (shown + chunk)[-4096:]
    os.killpg(build.pid, signal.SIGKILL)
    build.wait()
    assert list((index / PARTIAL_FOLDER).glob("*/run-*.jsonl"))
    assert not (index / "manifest.json").exists()  # nothing partial is ever served
    settings = Settings(docs_dir=docs, index_dir=index)
    resumed = QA(settings, embedder=embedder).index()
    assert not (index / PARTIAL_FOLDER).exists()  # dropped once the build is committed
    clean_docs = tmp_path / "clean"
    shutil.copytree(docs, clean_docs)
    clean = QA(Settings(docs_dir=clean_docs, index_dir=tmp_path / "clean-index"),
               embedder=embedder)
    clean_report = clean.index()
    # One passage per abstract, and two for abstract 328, which runs past a passage's length
    # (abstract 470 is empty: its title line is its passage).
    assert clean_report.passages == count + 1
    assert resumed.passages == clean_report.passages == clean_report.embedded_passages
    assert resumed.embedded_passages <= 0.55 * resumed.passages, resumed
    survivor = QA(settings, embedder=embedder)
    for question in ("heat transfer in laminar boundary layers", "buckling of thin cylinders",
                     "supersonic flow over a wedge"):
        assert [(h.passage.source, round(h.score, 4)) for h in survivor.search(question, k=10).hits] \
            == [(h.passage.source, round(h.score, 4)) for h in clean.search(question, k=10).hits]
