"""ONNX Runtime encoder: the configured sentence-transformers model exported once to ONNX from its
local weights (cached under the model's fingerprint), tokenised with `tokenizers`, then pooled and
normalised as the model's own configuration says. Once the export is cached, encoding imports
neither torch nor transformers: a terminal question no longer pays for loading them.

Models this cannot reproduce exactly (layers other than Transformer, Pooling and Normalize, a
pooling mode other than mean, CLS or max, no tokenizer.json, or an export whose vectors disagree
with sentence-transformers') raise OnnxUnsupported; the caller falls back to sentence-transformers.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

_TRANSFORMER = "sentence_transformers.models.Transformer"
_SUPPORTED = {_TRANSFORMER, "sentence_transformers.models.Pooling",
              "sentence_transformers.models.Normalize"}
_POOLING_MODES = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls",
                  "pooling_mode_max_tokens": "max"}
_COUNT_SLICE = 4096  # texts tokenised at once when only their lengths are wanted
MIN_AGREEMENT = 0.9999  # the least cosine between an export's vectors and the original's
# Part of the cached file's name, so a new way of exporting replaces old exports. 2: traced with
# eager attention and fused by ONNX Runtime's transformer optimizer (1 was the plain trace).
EXPORT_FORMAT = 2
_PROBES = ["When did the third ARF workshop on space security open?",
           "Ice sheets, tides and the slow drift of continents shape every coastline.",
           "Der Satz von Pythagoras gilt in jedem rechtwinkligen Dreieck.", "a", "1066"]


class OnnxUnsupported(Exception):
    """This model cannot be run through ONNX here; the message says why."""


@dataclass(frozen=True)
class ModelLayout:
    """What the model folder says about its input length, output size and pooling."""

    max_seq_length: int
    dimension: int
    pooling: str  # "mean", "cls" or "max"


def read_layout(model_path: Path) -> ModelLayout:
    try:
        modules = json.loads((model_path / "modules.json").read_text(encoding="utf-8"))
        kinds = {module["type"] for module in modules}
        pooling_folder = next(m["path"] for m in modules if m["type"].endswith(".Pooling"))
        pooling = json.loads((model_path / pooling_folder / "config.json").read_text("utf-8"))
        bert = json.loads((model_path / "sentence_bert_config.json").read_text("utf-8"))
    except (OSError, ValueError, KeyError, StopIteration) as error:
        raise OnnxUnsupported(f"no sentence-transformers layout in {model_path} ({error})") from error
    if not kinds <= _SUPPORTED or not (model_path / "tokenizer.json").is_file():
        raise OnnxUnsupported(f"layers {sorted(kinds - _SUPPORTED)} or no tokenizer.json")
    modes = [mode for key, mode in _POOLING_MODES.items() if pooling.get(key)]
    if len(modes) != 1 or any(pooling.get(k) for k in pooling if k.startswith("pooling_mode")
                              and k not in _POOLING_MODES):
        raise OnnxUnsupported(f"pooling {pooling} is not one of mean, CLS or max")
    return ModelLayout(int(bert.get("max_seq_length") or 256),
                       int(pooling["word_embedding_dimension"]), modes[0])


def cached_export(model_path: Path, fingerprint: str, cache_dir: Path) -> Path:
    """The model's ONNX file, exported (and checked against sentence-transformers) if missing."""
    target = cache_dir / fingerprint / f"model-{EXPORT_FORMAT}.onnx"
    if not target.is_file():
        _export(model_path, target)
        for stale in target.parent.glob("model*.onnx"):  # an earlier format's export
            if not stale.name.startswith(f"model-{EXPORT_FORMAT}"):
                stale.unlink(missing_ok=True)
    return target


def cached_int8(exported: Path) -> Path:
    """The export quantised to int8 for builds (QA_BUILD_PRECISION=int8), made once beside it:
    weights int8 per channel, activations quantised per batch as it runs ("dynamic"). Measured
    (docs/benchmarks.md): builds encode 1.5x as fast; static int8 with calibration ran slower
    here, and per-tensor weights lost 0.013 of Cranfield's nDCG@10."""
    target = exported.with_name(exported.stem + "-int8.onnx")
    if target.is_file():
        return target
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    partial = target.with_name(f".{target.name}.{os.getpid()}")
    try:
        # ONNX's type inference does not know the fused operators (Attention, SkipLayerNorm),
        # whose outputs are float.
        quantize_dynamic(str(exported), str(partial), weight_type=QuantType.QInt8,
                         per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _export(model_path: Path, target: Path) -> None:
    """Export with torch (the only step that needs it), fuse, then check the vectors agree."""
    import torch
    from sentence_transformers import SentenceTransformer

    # Eager attention traces to the matmul-softmax pattern ONNX Runtime knows how to fuse into
    # one Attention operator; the default (SDPA) traces to a graph it leaves unfused.
    model = SentenceTransformer(str(model_path), device="cpu",
                                model_kwargs={"attn_implementation": "eager"})
    transformer: Any = model[0].auto_model
    transformer.eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                    token_type_ids=token_type_ids).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = model.tokenizer(_PROBES[:2], padding=True, return_tensors="pt")
    target.parent.mkdir(parents=True, exist_ok=True)
    traced = target.with_name(f".{target.name}.{os.getpid()}")
    fused = traced.with_suffix(".fused")
    try:
        # The tracer warns about shapes it treats as constants; the agreement check below is
        # what decides whether the export holds for every input length.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(LastHiddenState(), tuple(sample[n] for n in names), str(traced),
                              input_names=names, output_names=["last_hidden_state"],
                              dynamic_axes={n: {0: "batch", 1: "tokens"}
                                            for n in [*names, "last_hidden_state"]},
                              opset_version=17, dynamo=False)
        expected = model.encode(_PROBES, normalize_embeddings=True, convert_to_numpy=True)
        _fuse(traced, fused, model_path)
        agreement = 0.0
        for candidate in (fused, traced):  # fused first: it ran long texts 1.4 times as fast
            if candidate.is_file():
                agreement = _agreement(candidate, model_path, expected)
                if agreement >= MIN_AGREEMENT:
                    os.replace(candidate, target)
                    return
        raise OnnxUnsupported(f"the export's vectors differ (cosine {agreement:.6f})")
    except OnnxUnsupported:
        raise
    except Exception as error:  # torch.onnx raises many kinds; the caller needs one
        raise OnnxUnsupported(f"export failed: {error}") from error
    finally:
        traced.unlink(missing_ok=True)
        fused.unlink(missing_ok=True)


def _fuse(traced: Path, fused: Path, model_path: Path) -> None:
    """Write `traced` with attention, GELU and layer norms fused into ONNX Runtime's own
    operators. A model the optimizer does not understand is left unfused (no file written)."""
    from onnxruntime.transformers.optimizer import optimize_model

    try:
        config = json.loads((model_path / "config.json").read_text(encoding="utf-8"))
        optimized = optimize_model(str(traced), model_type="bert",
                                   num_heads=int(config.get("num_attention_heads", 0)),
                                   hidden_size=int(config.get("hidden_size", 0)))
        optimized.save_model_to_file(str(fused))
    except Exception as error:  # the optimizer's failures are many kinds; the plain trace remains
        log.info("ONNX Runtime's optimizer left %s unfused: %s", model_path, error)


def _agreement(onnx_path: Path, model_path: Path, expected: np.ndarray) -> float:
    """The least cosine between this export's vectors for the probes and the original's."""
    exported = OnnxEncoder(model_path, onnx_path, read_layout(model_path), threads=1)
    return float((exported.encode(_PROBES) * expected).sum(axis=1).min())


class OnnxEncoder:
    """Unit vectors for texts, from an exported model and its own tokenizer."""

    def __init__(self, model_path: Path, onnx_path: Path, layout: ModelLayout,
                 threads: int = 0) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(str(onnx_path), options,
                                                    providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.layout = layout
        self.counter = Tokenizer.from_file(str(model_path / "tokenizer.json"))
        self.counter.no_truncation()
        self.counter.no_padding()
        self.tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=layout.max_seq_length)
        self.tokenizer.enable_padding(pad_id=self.tokenizer.token_to_id("[PAD]") or 0)

    def token_counts(self, texts: list[str]) -> list[int]:
        """Word pieces per text, without the special tokens and without truncation. In slices:
        an encoding holds ids, offsets and strings, and a million of them at once took 11 GB."""
        return [len(e.ids) for begin in range(0, len(texts), _COUNT_SLICE)
                for e in self.counter.encode_batch(texts[begin : begin + _COUNT_SLICE],
                                                   add_special_tokens=False)]

    def encode(self, texts: list[str]) -> np.ndarray:
        """One unit vector per text (one batch: the caller chooses its size)."""
        return self.encode_with_tokens(texts)[0]

    def encode_with_tokens(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        """Unit vectors, the last hidden state (texts, tokens, dimension) and the encodings
        (ids, offsets, masks) of one batch."""
        encodings = self.tokenizer.encode_batch(texts)
        feed = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}
        hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0]
        pooled = _pool(hidden, feed["attention_mask"], self.layout.pooling)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32), hidden, encodings


def _pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    if mode == "cls":
        return hidden[:, 0]
    weights = mask[..., None].astype(np.float32)
    if mode == "max":
        return np.where(weights > 0, hidden, -1e9).max(axis=1)
    return (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
