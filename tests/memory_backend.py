"""A third backend, written only for the tests: builds published into this process's memory.

It is the proof that a backend is one module and one `register` call: it shares an index
between every QA of the process under a name (as a server would between machines), readers never
build, and it scores BM25 with qa.indexing.lexical's formula from the words it keeps.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.core.settings import Settings
from qa.indexing import backends, store
from qa.indexing.backends import BackendKind, IndexReader
from qa.indexing.build import BuildIdentity, BuildOptions, KnownVectors, same_content
from qa.indexing.lexical import CollectionStatistics, analyse, candidate_scores


@dataclass(frozen=True)
class _Published:
    manifest: store.Manifest
    passages: list[store.IndexedPassage]
    vectors: np.ndarray  # float32, every row
    words: list[list[str]]
    frequencies: Counter[str]


PUBLISHED: dict[str, _Published] = {}  # the "server": builds by name


class MemoryBackend:
    readers_build = False
    stages_shards = False

    def __init__(self, settings: Settings) -> None:
        self.name = str(settings.docs_dir.resolve())

    def open_reader(self) -> IndexReader:
        build = PUBLISHED.get(self.name)
        if build is None:
            raise store.IndexUnusableError(f"nothing published as {self.name!r}")
        return MemoryIndex(self.name, build)

    def serves_already(self, identity: BuildIdentity, files: Mapping[str, str]) -> bool:
        build = PUBLISHED.get(self.name)
        return build is not None and build.manifest.files == dict(files) \
            and identity.shares_vectors_with(BuildIdentity.of(build.manifest))

    def known_vectors(self, gather_shards: bool) -> KnownVectors | None:
        def fetch(identity: BuildIdentity, keys: list[str]
                  ) -> dict[str, tuple[store.IndexedPassage, np.ndarray]]:
            build = PUBLISHED.get(self.name)
            if build is None or not identity.shares_vectors_with(BuildIdentity.of(build.manifest)):
                return {}
            wanted = set(keys)
            return {key: (item, build.vectors[item.first_row:item.first_row + item.row_count])
                    for item in build.passages
                    if (key := store.text_key(item.passage.text)) in wanted}

        return fetch

    def publish(self, index_dir: Path, options: BuildOptions) -> bool:
        manifest = store.read_manifest(index_dir)
        served = PUBLISHED.get(self.name)
        if served is not None and not options.force and same_content(served.manifest, manifest):
            return False
        folder = store.build_folder(index_dir, manifest)
        passages = store.read_passages(folder)
        words = analyse([item.passage.text for item in passages])
        PUBLISHED[self.name] = _Published(
            manifest, passages, np.asarray(store.read_vectors(folder), dtype=np.float32), words,
            Counter(word for passage_words in words for word in set(passage_words)))
        return True


class MemoryIndex:
    """Exact search over every row and every passage: no index structure at all."""

    def __init__(self, name: str, build: _Published) -> None:
        self._name, self._build = name, build
        self.manifest = build.manifest
        self._sources = [item.passage.source for item in build.passages]
        self._owners = np.repeat(np.arange(len(build.passages)),
                                 [item.row_count for item in build.passages])
        self._statistics = CollectionStatistics.of(build.words)

    @property
    def passage_count(self) -> int:
        return len(self._build.passages)

    @property
    def sources(self) -> list[str]:
        return sorted(set(self._sources))

    def is_current(self) -> bool:
        return PUBLISHED.get(self._name) is self._build

    def passages(self, numbers: Sequence[int]) -> list[store.IndexedPassage]:
        return [self._build.passages[int(n)] for n in numbers]

    def passages_in(self, source: str) -> list[store.IndexedPassage]:
        return [item for item in self._build.passages if item.passage.source == source]

    def numbers_in(self, source: str) -> np.ndarray:
        return np.array([n for n, item in enumerate(self._build.passages)
                         if item.passage.source == source], dtype=np.int64)

    def all_passages(self) -> list[store.IndexedPassage]:
        return list(self._build.passages)

    def _chosen(self, sources: Collection[str] | None, numbers: np.ndarray | None = None
                ) -> np.ndarray:
        allowed = None if numbers is None else set(numbers.tolist())
        return np.array([n for n, source in enumerate(self._sources)
                         if (not sources or source in sources)
                         and (allowed is None or n in allowed)], dtype=np.int64)

    def dense_candidates(self, query: np.ndarray, depth: int, sources: Collection[str] | None,
                         numbers: np.ndarray | None = None) -> np.ndarray:
        if sources or numbers is not None:
            return self._chosen(sources, numbers)
        order = np.argsort(-(self._build.vectors @ query), kind="stable")
        return np.array(list(dict.fromkeys(self._owners[order].tolist()))[:depth], dtype=np.int64)

    def candidate_vectors(self, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        items = self.passages(numbers.tolist())
        counts = np.array([item.row_count for item in items], dtype=np.int64)
        rows = store.row_ranges(np.array([item.first_row for item in items], dtype=np.int64),
                                counts)
        return (self._build.vectors[rows], counts,
                np.array([item.window_count for item in items], dtype=np.int64))

    def lexical_top(self, words: Sequence[str], depth: int, sources: Collection[str] | None,
                    numbers: np.ndarray | None = None) -> np.ndarray:
        chosen = self._chosen(sources, numbers)
        scores = self.lexical_scores(Counter(words), chosen)
        order = np.argsort(-scores, kind="stable")[:depth]
        return chosen[order[scores[order] > 0]]

    def lexical_scores(self, weights: Mapping[str, float], numbers: np.ndarray) -> np.ndarray:
        return candidate_scores(weights, [self._build.words[int(n)] for n in numbers],
                                self._build.frequencies, self._statistics)


def register() -> None:
    backends.register(BackendKind("memory", MemoryBackend))
