"""The local backend: the index folder on this machine (store.py's layout), memory-mapped.

The local build is what it serves: publishing is a no-op, and every process that opens it
first brings it up to date.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import numpy as np

from qa.core.settings import Settings
from qa.indexing import store
from qa.indexing.backends import IndexReader
from qa.indexing.build import BuildIdentity, BuildOptions, KnownVectors
from qa.indexing.dense import load_dense_index
from qa.indexing.lexical import LexicalIndex

# BM25 head candidates scored exactly for each one kept (see lexical_top).
_HEAD_CANDIDATES_PER_KEPT = 3
# A filtered search scores every allowed passage exactly while they are at most this many times
# the candidate depth (as cheap as a search of the whole folder; docs/benchmarks.md, "Filters");
# beyond, FAISS searches among the allowed rows.
_WHOLE_SUBSET_PER_DEPTH = 1


class LocalBackend:
    """The index folder in settings.index_dir, built and read by the same machine."""

    readers_build = True
    stages_shards = False

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def open_reader(self) -> IndexReader:
        return LocalIndex(self._settings.index_dir, self._settings)

    def serves_already(self, identity: BuildIdentity, files: Mapping[str, str]) -> bool:
        return False  # the build itself decides, from the manifest beside it

    def known_vectors(self, gather_shards: bool) -> KnownVectors | None:
        return None  # no vectors but the local build's

    def publish(self, index_dir: Path, options: BuildOptions) -> bool:
        return False  # the local build is what it serves


class LocalIndex:
    """An index folder opened for searching: checksums verified, files memory-mapped."""

    def __init__(self, index_dir: Path, settings: Settings) -> None:
        # Taken before the manifest is read: a build committed in between reads as newer.
        self._manifest_path = index_dir / store.MANIFEST_NAME
        self._manifest_stamp = store.Stamp.of_or_none(self._manifest_path)
        manifest = store.read_manifest(index_dir)
        store.verify_checksums(index_dir, manifest)
        folder = store.build_folder(index_dir, manifest)
        self.manifest = manifest
        self._passages = store.read_passage_table(folder)
        self._vectors = store.read_vectors(folder)
        self._first_rows = self._passages.first_rows
        self._window_counts = self._passages.window_counts
        self._row_counts = self._passages.row_counts
        # Rows are laid out passage after passage, so each row's owner follows from the counts.
        self._owners = np.repeat(np.arange(len(self._passages)), self._row_counts)
        # An approximate index holds only the window vectors (see DenseIndexSpec.vectors).
        dense_rows = store.dense_rows(self._passages, manifest.dense_index.get("vectors", "all"))
        self._dense = load_dense_index(folder / store.DENSE_NAME, self._vectors, settings,
                                       dense_rows, manifest.dense_index.get("kind", ""))
        self._lexical = LexicalIndex.load(folder / store.LEXICAL_FOLDER)
        self._sources = np.array(self._passages.source_names, dtype=object
                                 )[self._passages.source_numbers]
        self._source_numbers = {name: number
                                for number, name in enumerate(self._passages.source_names)}
        # Past the threshold, BM25 candidates come from each word's best postings (impact
        # heads), and candidates are scored exactly from the postings.
        self._lexical_head = settings.lexical_head_size(len(self._passages))
        self._check_agreement()

    def _check_agreement(self) -> None:
        rows = int(self._row_counts.sum())
        indexed = rows if self._dense.rows is None else len(self._dense.rows)
        if len(self._passages) != self.manifest.passage_count or rows != self._vectors.shape[0] \
                or self._dense.ntotal != indexed:
            raise store.IndexUnusableError(
                f"passage table ({len(self._passages)} passages, {rows} rows) does not match the "
                f"vectors ({self._vectors.shape[0]}) and dense index ({self._dense.ntotal} of "
                f"{indexed} expected)")

    @property
    def passage_count(self) -> int:
        return len(self._passages)

    @property
    def sources(self) -> list[str]:
        return sorted(set(self._sources))

    def is_current(self) -> bool:
        """False once another build has been committed to the folder (by `qa index`, or another
        process serving it). One stat a search; the manifest is read only when it changed."""
        stamp = store.Stamp.of_or_none(self._manifest_path)
        if stamp == self._manifest_stamp:
            return True
        try:
            same = store.read_manifest(self._manifest_path.parent).build == self.manifest.build
        except store.IndexUnusableError:
            return False
        if same:
            self._manifest_stamp = stamp  # rewritten, same build: no need to read it again
        return same

    def passages(self, numbers: Sequence[int]) -> list[store.IndexedPassage]:
        return [self._passages[int(n)] for n in numbers]

    def passages_in(self, source: str) -> list[store.IndexedPassage]:
        return [self._passages[int(n)] for n in self._passages.numbers_in(source)]

    def numbers_in(self, source: str) -> np.ndarray:
        return self._passages.numbers_in(source)

    def all_passages(self) -> list[store.IndexedPassage]:
        return list(self._passages)

    def _allowed(self, sources: Collection[str] | None, numbers: np.ndarray | None = None
                 ) -> np.ndarray | None:
        """One flag per passage: may it be proposed (None: every passage may)."""
        allowed = None
        if sources:
            # Compared as source numbers: an isin over the names (objects) costs milliseconds.
            numbered = self._source_numbers
            allowed = np.isin(self._passages.source_numbers,
                              [numbered[name] for name in sources if name in numbered])
        if numbers is not None:
            chosen = np.zeros(len(self._passages), dtype=bool)
            chosen[numbers] = True
            allowed = chosen if allowed is None else allowed & chosen
        return allowed

    def dense_candidates(self, query: np.ndarray, depth: int, sources: Collection[str] | None,
                         numbers: np.ndarray | None = None) -> np.ndarray:
        allowed = self._allowed(sources, numbers)
        if allowed is not None:
            chosen = np.flatnonzero(allowed)
            if len(chosen) <= depth * _WHOLE_SUBSET_PER_DEPTH:
                return chosen  # the caller scores so few passages exactly, and all of them
        # A passage owns several rows (windows, sentences): over-fetch so `depth` passages come back.
        _, rows = self._dense.search(query, depth * 4,
                                     None if allowed is None else allowed[self._owners])
        owners = self._owners[rows]
        _, first_seen = np.unique(owners, return_index=True)
        return owners[np.sort(first_seen)][:depth]

    def candidate_vectors(self, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        counts = self._row_counts[numbers]
        rows = store.row_ranges(self._first_rows[numbers], counts)
        return self._vectors[rows], counts, self._window_counts[numbers]

    def lexical_top(self, words: Sequence[str], depth: int, sources: Collection[str] | None,
                    numbers: np.ndarray | None = None) -> np.ndarray:
        allowed = self._allowed(sources, numbers)
        if self._lexical_head and allowed is None:
            # The heads' partial sums rank loosely: the best few times `depth` of them are scored
            # exactly, then cut to `depth` (closer to the exact top for a little more time;
            # docs/benchmarks.md).
            found = self._lexical.head_top(words, depth * _HEAD_CANDIDATES_PER_KEPT,
                                           self._lexical_head)
            exact = self._lexical.weighted_scores(Counter(words), found)
            return found[np.argsort(-exact, kind="stable")[:depth]]
        scores = self._lexical.scores(words)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        top = _top_indices(scores, depth)
        return top[scores[top] > 0]

    def lexical_scores(self, weights: Mapping[str, float], numbers: np.ndarray) -> np.ndarray:
        return self._lexical.weighted_scores(weights, numbers)


def _top_indices(scores: np.ndarray, count: int) -> np.ndarray:
    """Indices of the `count` highest scores, best first, without sorting everything."""
    if len(scores) > count:
        head = np.argpartition(-scores, count)[:count]
        return head[np.argsort(-scores[head], kind="stable")]
    return np.argsort(-scores, kind="stable")
