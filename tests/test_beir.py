"""BEIR evaluation on a small slice of ../shared/beir/cranfield (the full run is a benchmark)."""

from __future__ import annotations

from pathlib import Path

from conftest import SHARED

from qa.core.settings import Settings
from qa.evaluating.runs import evaluate_beir

CRANFIELD = SHARED / "beir" / "cranfield"


def test_cranfield_slice_evaluates_and_caches(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(index_dir=tmp_path)
    report = evaluate_beir(CRANFIELD, settings, limit=10, embedder=embedder)
    figures = report.to_json()
    assert report.questions == 10
    # The slice holds the judged documents plus as many others; a working path ranks well above
    # chance there (measured about 0.5 nDCG@10).
    assert figures["ndcg@10"] > 0.3, figures
    cached = tmp_path / "beir" / "cranfield-first10" / "manifest.json"
    stamp = cached.stat().st_mtime_ns
    again = evaluate_beir(CRANFIELD, settings, limit=10, embedder=embedder)
    assert again.metrics == report.metrics  # the same rankings (timings aside)
    assert cached.stat().st_mtime_ns == stamp  # reused, not rebuilt
