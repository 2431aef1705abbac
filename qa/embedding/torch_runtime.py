"""The sentence-transformers runtime (torch): runs every model sentence-transformers loads."""

from __future__ import annotations

from typing import Any

import numpy as np

from qa.embedding.model import (
    ModelFiles,
    ModelUnavailableError,
    load_sentence_transformer,
    pools_by_mean,
    resolve_model_path,
)
from qa.embedding.runtime import Runtime, TokenVectors


class TorchRuntime(Runtime):
    def __init__(self, model: str, threads: int) -> None:
        self.model = load_sentence_transformer(model, threads)
        dimension = self.model.get_embedding_dimension()
        if dimension is None:
            raise ModelUnavailableError(f"model {model!r} does not report its dimension")
        self.dimension = int(dimension)
        self.max_seq_length = int(self.model.max_seq_length or 256)
        self.pools_by_mean = pools_by_mean(resolve_model_path(model))

    def token_counts(self, texts: list[str]) -> list[int]:
        encoded = self.model.tokenizer(texts, add_special_tokens=False, verbose=False)
        return [len(ids) for ids in encoded["input_ids"]]

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        return np.asarray(self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                            convert_to_numpy=True, show_progress_bar=False),
                          dtype=np.float32)

    def encode_tokens(self, texts: list[str], batch_size: int) -> list[TokenVectors]:
        # sentence-transformers tokenises the same way (truncated to max_seq_length), and
        # returns each text's token vectors without padding, so rows match these offsets.
        pieces = self.model.tokenizer(texts, truncation=True, max_length=self.max_seq_length,
                                      return_offsets_mapping=True, return_special_tokens_mask=True)
        outputs: list[Any] = self.model.encode(  # type: ignore[assignment]
            texts, batch_size=batch_size, output_value=None, normalize_embeddings=True,
            show_progress_bar=False)
        result = []
        for output, offsets, special in zip(outputs, pieces["offset_mapping"],
                                            pieces["special_tokens_mask"], strict=True):
            keep = np.asarray(special) == 0
            # Rows past the text's own word pieces are padding of its batch.
            tokens = output["token_embeddings"].float().numpy()[: len(keep)]
            result.append(TokenVectors(output["sentence_embedding"].float().numpy(),
                                       tokens[keep], np.asarray(offsets, dtype=np.int64)[keep]))
        return result


def start_torch(model: ModelFiles, threads: int, build_precision: str) -> Runtime:
    return TorchRuntime(model.setting, threads)
