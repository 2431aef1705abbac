"""Where an index lives, behind one small interface the Searcher reads through.

A backend answers the questions search asks of an index: which passages a query vector or a
question's words propose, the window and sentence vectors of a few candidates (for exact
rescoring), BM25 scores of candidates, and the candidates' passage records. The Searcher never
touches files or servers itself, so the CLI, the page and the evaluations work the same over any
backend: `local`, the index folder (manifest, vectors.npy, FAISS, BM25, qa/backends/local.py),
or `milvus`, a Milvus server, cluster or Milvus Lite (qa/backends/milvus.py), for which the index
folder is only the local build it publishes from.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from qa import store
from qa.indexer import KnownVectors, Shard
from qa.settings import Settings

BACKENDS = ("local", "milvus")


class IndexReader(Protocol):
    """A published index, opened for searching. Passages are numbered 0..passage_count-1."""

    manifest: store.Manifest

    @property
    def passage_count(self) -> int: ...

    @property
    def sources(self) -> list[str]:
        """Every indexed document's source name, sorted."""
        ...

    def is_current(self) -> bool:
        """False once another build has been published where this one was (the caller reopens)."""
        ...

    def passages(self, numbers: Sequence[int]) -> list[store.IndexedPassage]: ...

    def passages_in(self, source: str) -> list[store.IndexedPassage]:
        """One document's passages in document order."""
        ...

    def all_passages(self) -> list[store.IndexedPassage]: ...

    def dense_candidates(self, query: np.ndarray, depth: int,
                         sources: Collection[str] | None) -> np.ndarray:
        """Up to `depth` passage numbers whose windows lie nearest the query, nearest first;
        with `sources`, only passages of those documents (all of them, scored exactly)."""
        ...

    def candidate_vectors(self, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each passage: its rows (windows, then sentences) stacked, float32 or float16 as
        stored; how many rows each has; how many of those are windows."""
        ...

    def lexical_top(self, words: Sequence[str], depth: int,
                    sources: Collection[str] | None) -> np.ndarray:
        """Up to `depth` passage numbers with a BM25 score above zero, best first."""
        ...

    def lexical_scores(self, words: Sequence[str], numbers: np.ndarray) -> np.ndarray:
        """BM25 of the analysed question for each of the given passages."""
        ...

    def weighted_lexical_scores(self, weights: Mapping[str, float],
                                numbers: np.ndarray) -> np.ndarray:
        """Sum over words of weight × that word's BM25, for each of the given passages."""
        ...


def milvus_alias(settings: Settings) -> str:
    from qa.backends.milvus import default_collection

    return settings.milvus_collection or default_collection(settings.docs_dir)


def open_index(settings: Settings) -> IndexReader:
    """The published index the settings name, opened for searching."""
    if settings.backend == "milvus":
        from qa.backends.milvus import MilvusIndex, connect

        return MilvusIndex(connect(settings.milvus_uri, settings.milvus_token),
                           milvus_alias(settings))
    from qa.backends.local import LocalIndex

    return LocalIndex(settings.index_dir, settings)


def is_shared(settings: Settings) -> bool:
    """A backend that many processes and machines serve from: only `qa index` publishes to it,
    and a reader never builds (it answers from whatever was published last)."""
    return settings.backend == "milvus"


def serves_already(settings: Settings, identity: Mapping[str, Any],
                   files: Mapping[str, str]) -> bool:
    """True when a shared backend already serves this content: same model, chunking and files
    (then nothing needs building, even on a machine without the local build)."""
    if not is_shared(settings):
        return False
    from qa.backends import milvus

    client = milvus.connect(settings.milvus_uri, settings.milvus_token)
    served = milvus.published_manifest(client, milvus_alias(settings))
    return served is not None and (served.model, served.chunking, served.files) == \
        (identity["model"], identity["chunking"], dict(files))


def known_vectors(settings: Settings, gather_shards: bool = False) -> KnownVectors | None:
    """Where a build finds vectors the local build lacks: the published build of a shared
    backend, and with `gather_shards` the parts every shard staged (all must have finished)."""
    if not is_shared(settings):
        return None
    from qa.backends import milvus

    client = milvus.connect(settings.milvus_uri, settings.milvus_token)
    alias = milvus_alias(settings)
    builds = milvus.finished_parts(client, alias) if gather_shards else []
    published = milvus.alias_target(client, alias)
    builds += [published] if published else []

    def fetch(identity: dict[str, Any], keys: list[str]
              ) -> dict[str, tuple[store.IndexedPassage, np.ndarray]]:
        alike = [name for name in builds if _same_identity(milvus.build_manifest(client, name),
                                                          identity)]
        return milvus.known_vectors(client, alike, keys)

    return fetch


def _same_identity(manifest: store.Manifest | None, identity: Mapping[str, Any]) -> bool:
    return manifest is not None and manifest.model == identity["model"] \
        and manifest.chunking == identity["chunking"]


def publish(settings: Settings, force: bool = False, shard: Shard | None = None,
            gather_shards: bool = False) -> bool:
    """Make the local build in settings.index_dir the one the backend serves. The local
    backend serves it already; Milvus gets a copy unless it holds the same content. A shard's
    build is staged, not served; gathering shards drops their parts once published. True when
    something was published."""
    if not is_shared(settings):
        return False
    from qa.backends import milvus

    manifest = store.read_manifest(settings.index_dir)
    folder = store.build_folder(settings.index_dir, manifest)
    client = milvus.connect(settings.milvus_uri, settings.milvus_token)
    alias = milvus_alias(settings)
    if shard is not None:
        milvus.stage_part(client, alias, shard.number, shard.count, folder, manifest)
        return False
    served = milvus.published_manifest(client, alias)
    changed = force or served is None or not _same_content(served, manifest)
    if changed:
        milvus.publish(client, alias, folder, manifest)
    if gather_shards:
        milvus.drop_parts(client, alias)
    return changed


def _same_content(one: store.Manifest, other: store.Manifest) -> bool:
    return (one.files, one.model, one.chunking, one.passage_count, one.vector_count) == \
        (other.files, other.model, other.chunking, other.passage_count, other.vector_count)
