"""What a build is and what it is asked to do, shared by the indexer, the backends and the library.

A build is identified by what its vectors and files depend on besides the documents
(`BuildIdentity`); it is asked for with `BuildOptions`; vectors another place holds for the same
identity come through `KnownVectors`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qa.indexing import store


@dataclass(frozen=True)
class BuildIdentity:
    """What a build depends on besides the documents' text: the model (name, dimension,
    fingerprint), the chunking settings, the dense index chosen for its size, and the format
    its files are written in. Every "is this the same build?" question is asked here."""

    model: Mapping[str, Any]
    chunking: Mapping[str, Any]
    dense_index: Mapping[str, Any] = field(default_factory=dict)
    format_version: int = store.FORMAT_VERSION

    @classmethod
    def of(cls, manifest: store.Manifest) -> BuildIdentity:
        return cls(manifest.model, manifest.chunking, manifest.dense_index,
                   manifest.format_version)

    def shares_vectors_with(self, other: BuildIdentity) -> bool:
        """Vectors of one are the other's: the same model, text for text, chunked the same way."""
        return self.model == other.model and self.chunking == other.chunking

    def why_not_served_by(self, built: BuildIdentity) -> str:
        """Empty when an index built as `built` is this build; otherwise the reason."""
        if self.model != built.model:
            return (f"index was built with model {built.model.get('name')} "
                    f"({built.model.get('fingerprint')}), not {self.model.get('name')} "
                    f"({self.model.get('fingerprint')})")
        if self.chunking != built.chunking:
            return "chunking settings changed"
        if self.format_version != built.format_version:
            return f"index format version {built.format_version} is not {self.format_version}"
        if self.dense_index != built.dense_index:
            return "dense index settings changed"
        return ""


def same_content(one: store.Manifest, other: store.Manifest) -> bool:
    """Two builds of the same files with the same vectors (a shared backend's copy and the
    local build it came from), whatever their dense index or when they were made."""
    return BuildIdentity.of(one).shares_vectors_with(BuildIdentity.of(other)) \
        and (one.files, one.passage_count, one.vector_count) == \
        (other.files, other.passage_count, other.vector_count)


# Vectors kept somewhere other than the local build (a server's published build, shards'
# parts): given the build's identity and the text keys still missing, the (passage, rows) it
# holds for any of them.
KnownVectors = Callable[[BuildIdentity, list[str]],
                        dict[str, tuple[store.IndexedPassage, np.ndarray]]]


@dataclass(frozen=True)
class Shard:
    """Share `number` of `count` (1-based) of a folder's files, by a hash of each file's name,
    so every process that reads the same folder agrees on who embeds what."""

    number: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """"I/N", 1 <= I <= N."""
        try:
            number, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise ValueError(f"a shard is I/N, such as 1/2, not {text!r}") from None
        if not 1 <= number <= count:
            raise ValueError(f"shard {text}: I must be from 1 to N")
        return cls(number, count)

    def holds(self, source: str) -> bool:
        digest = hashlib.sha256(source.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.number - 1

    def __str__(self) -> str:
        return f"{self.number}/{self.count}"


@dataclass(frozen=True)
class BuildOptions:
    """How a build was asked for: `force` re-embeds everything; a `shard` embeds its share and
    stages it on a backend that gathers shards; `gather_shards` builds the whole folder from
    every staged share and publishes it."""

    force: bool = False
    shard: Shard | None = None
    gather_shards: bool = False

    @property
    def may_skip(self) -> bool:
        """Nothing asked for beyond "bring it up to date": a backend serving this content
        already may be left as it is."""
        return not (self.force or self.shard or self.gather_shards)
