"""Where an index lives: one `Backend` protocol, one registry of backends by name.

A backend publishes the local build (store.py's layout in settings.index_dir) where searches
read it, and opens it for searching as an `IndexReader`: which passages a query vector or a
question's words propose, the window and sentence vectors of a few candidates (for exact
rescoring), BM25 scores of candidates (always by qa.indexing.lexical's formula), and the candidates'
passage records. The Searcher never touches files or servers itself, so the CLI, the page and
the evaluations work the same over any backend. Registered here: `local`, the index folder
itself (qa/indexing/backends/local.py), and `milvus`, a Milvus server, cluster or Milvus Lite
(qa/indexing/backends/milvus/). A new backend is one module and one `register` call; a backend
with options of its own declares them in a module that stays cheap to import (as
qa/indexing/backends/milvus/__init__.py does), and registering it declares them to the settings.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from qa.core.options import Option
from qa.core.settings import Settings, declare
from qa.indexing.backends import milvus

if TYPE_CHECKING:  # the registry stays cheap to import: the CLI reads it for its flags
    import numpy as np

    from qa.indexing import store
    from qa.indexing.build import BuildIdentity, BuildOptions, KnownVectors


class BackendUnavailableError(Exception):
    """A backend's server cannot be reached, refuses us, or holds no index under that name."""


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

    def numbers_in(self, source: str) -> np.ndarray:
        """The numbers of one document's passages, in document order (none for an unknown
        source)."""
        ...

    def all_passages(self) -> list[store.IndexedPassage]: ...

    def dense_candidates(self, query: np.ndarray, depth: int, sources: Collection[str] | None,
                         numbers: np.ndarray | None = None) -> np.ndarray:
        """Up to `depth` passage numbers whose rows lie nearest the query, nearest first. With
        `sources`, only passages of those documents; with `numbers` (sorted passage numbers, a
        query's constraints), only those: the filter applies before the search, never after it.
        A backend may instead return every allowed passage (the caller scores them exactly)."""
        ...

    def candidate_vectors(self, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each passage: its rows (windows, then sentences) stacked, float32 or float16 as
        stored; how many rows each has; how many of those are windows."""
        ...

    def lexical_top(self, words: Sequence[str], depth: int, sources: Collection[str] | None,
                    numbers: np.ndarray | None = None) -> np.ndarray:
        """Up to `depth` passage numbers with a BM25 score above zero, best first, among
        `sources` and `numbers` as for dense_candidates."""
        ...

    def lexical_scores(self, weights: Mapping[str, float], numbers: np.ndarray) -> np.ndarray:
        """Sum over words of weight × that word's BM25, for each of the given passages (a
        question's words weigh how often they occur in it)."""
        ...


class Backend(Protocol):
    """Where builds are published and read, for one settings' index."""

    # True: every process that opens the index first brings it up to date and serves its own
    # build (one machine). False: readers answer from what `qa index` published last, and never
    # build (many processes and machines share one index).
    readers_build: bool
    # True: `qa index --shard I/N` can stage shares here for `qa index --publish` to gather.
    stages_shards: bool

    def open_reader(self) -> IndexReader:
        """The published index, opened for searching; store.IndexUnusableError if none."""
        ...

    def serves_already(self, identity: BuildIdentity, files: Mapping[str, str]) -> bool:
        """True when the published index is this content already (same model, chunking and
        files), so nothing needs building, even on a machine without the local build."""
        ...

    def known_vectors(self, gather_shards: bool) -> KnownVectors | None:
        """Where a build finds vectors the local build lacks (the published build; with
        `gather_shards`, every staged share), or None."""
        ...

    def publish(self, index_dir: Path, options: BuildOptions) -> bool:
        """Make the finished local build in `index_dir` what searches read (or stage it, for a
        shard). True when something was published."""
        ...


def _moved(settings: Settings, index_dir: Path, folder: Path, suffix: str) -> Settings:
    return settings.with_overrides(index_dir=index_dir)


# Settings for another collection's index (an evaluation's), kept apart from the documents
# folder's: its local build in `index_dir`, and wherever the backend keeps it, a place of its
# own for the collection in `folder` (`suffix` tells a slice of it apart).
Separate = Callable[[Settings, Path, Path, str], Settings]


@dataclass(frozen=True)
class BackendKind:
    """A registered backend: how to make one for some settings, the settings it reads, and
    how it keeps another collection's index apart."""

    name: str
    make: Callable[[Settings], Backend]
    options: tuple[Option, ...] = ()
    separate: Separate = _moved


_REGISTRY: dict[str, BackendKind] = {}


def register(kind: BackendKind) -> None:
    """Make a backend choosable by name; its options become settings (QA_ variables, flags)."""
    declare(kind.options)
    _REGISTRY[kind.name] = kind


def names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def options() -> list[Option]:
    """Every registered backend's options, each once."""
    return list({option.name: option for kind in _REGISTRY.values()
                 for option in kind.options}.values())


def backend_for(settings: Settings) -> Backend:
    """The backend settings.backend names, for these settings (ValueError when unknown, or
    when its settings are incomplete)."""
    kind = _REGISTRY.get(settings.backend)
    if kind is None:
        raise ValueError(f"QA_BACKEND must be one of {', '.join(_REGISTRY)}, not "
                         f"{settings.backend!r}")
    return kind.make(settings)


def separate_index(settings: Settings, index_dir: Path, folder: Path, suffix: str = ""
                   ) -> Settings:
    """Settings for the index of the collection in `folder` (see Separate)."""
    kind = _REGISTRY.get(settings.backend)
    return (kind.separate if kind else _moved)(settings, index_dir, folder, suffix)


def _lazy(module: str, attribute: str) -> Callable[..., Any]:
    """A backend module's function or class, imported only when that backend is used."""

    def call(*args: Any) -> Any:
        return getattr(importlib.import_module(module), attribute)(*args)

    return call


register(BackendKind("local", _lazy("qa.indexing.backends.local", "LocalBackend")))
register(BackendKind("milvus", _lazy("qa.indexing.backends.milvus.backend", "MilvusBackend"),
                     milvus.OPTIONS, _lazy("qa.indexing.backends.milvus.backend", "separate_index")))
