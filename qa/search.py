"""Search stage: dense and lexical candidates, fused, optionally reranked, with answer sentences."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import ThreadpoolController

from qa import store
from qa.chunk import Passage
from qa.dense import load_dense_index
from qa.embed import Embedder
from qa.feedback import expanded_scores, relevance_model
from qa.fusion import fuse, zscore
from qa.lexical import LexicalIndex, analyse
from qa.rerank import Reranker
from qa.settings import SearchMode, Settings


@dataclass(frozen=True)
class Hit:
    """One ranked passage.

    `score` is what the ranking used (fused, dense or BM25, or the reranker's); `similarity`
    is the best cosine of the question with any window or sentence of the passage, the figure
    the "no good match" threshold reads. `answer` is the best sentence's span in the passage
    text, `answer_offsets` the same sentence in the file.
    """

    rank: int
    score: float
    similarity: float
    lexical_score: float
    passage: Passage
    answer: tuple[int, int]
    answer_offsets: tuple[int, int]
    below_threshold: bool


@dataclass(frozen=True)
class _DenseScores:
    """Per candidate passage: window+sentence cosine sum, and the best single cosine."""

    combined: np.ndarray
    best: np.ndarray


class Searcher:
    """A loaded index; answers questions without reloading anything per query."""

    def __init__(self, index_dir: Path, settings: Settings, embedder: Embedder,
                 reranker: Reranker | None = None) -> None:
        manifest = store.read_manifest(index_dir)
        store.verify_checksums(index_dir, manifest)
        folder = store.build_folder(index_dir, manifest)
        self.manifest = manifest
        self.passages = store.read_passages(folder)
        self._vectors = store.read_vectors(folder)
        self._first_rows = np.array([i.first_row for i in self.passages], dtype=np.int64)
        self._window_counts = np.array([i.window_count for i in self.passages], dtype=np.int64)
        self._row_counts = np.array([i.row_count for i in self.passages], dtype=np.int64)
        # Rows are laid out passage after passage, so each row's owner follows from the counts.
        self._owners = np.repeat(np.arange(len(self.passages)), self._row_counts)
        # An approximate index holds only the window vectors (see DenseIndexSpec.vectors).
        dense_rows = store.dense_rows(self.passages, manifest.dense_index.get("vectors", "all"))
        self._dense = load_dense_index(folder / store.DENSE_NAME, self._vectors, settings,
                                       dense_rows, manifest.dense_index.get("kind", ""))
        self._lexical = LexicalIndex.load(folder / store.LEXICAL_FOLDER)
        self._check_agreement(manifest)
        self._settings = settings
        self._embedder = embedder
        self._reranker = reranker
        self._sources = np.array([item.passage.source for item in self.passages], dtype=object)
        self._threadpools = ThreadpoolController()

    def _check_agreement(self, manifest: store.Manifest) -> None:
        rows = sum(item.row_count for item in self.passages)
        indexed = rows if self._dense.rows is None else len(self._dense.rows)
        if len(self.passages) != manifest.passage_count or rows != self._vectors.shape[0] \
                or self._dense.ntotal != indexed:
            raise store.IndexUnusableError(
                f"passage table ({len(self.passages)} passages, {rows} rows) does not match the "
                f"vectors ({self._vectors.shape[0]}) and dense index ({self._dense.ntotal} of "
                f"{indexed} expected)")

    @property
    def sources(self) -> list[str]:
        return sorted(set(self._sources))

    def search(self, question: str, k: int, mode: SearchMode,
               sources: Collection[str] | None = None) -> list[Hit]:
        """The k best passages for a question, best first."""
        # A query's products are matrix-vector: a multithreaded BLAS gains nothing there, and its
        # threads spin on afterwards, slowing the next question's encoding (+8 ms per query
        # at 100,000 passages, benchmarks/run.py). FAISS's OpenMP threads likewise: an exact
        # scan of 10,000 rows took 0.6 ms on one thread and 1.7 ms on two.
        with self._threadpools.limit(limits=1, user_api="blas"), \
                self._threadpools.limit(limits=1, user_api="openmp"):
            return self._search(question, k, mode, sources)

    def _search(self, question: str, k: int, mode: SearchMode,
                sources: Collection[str] | None) -> list[Hit]:
        query = self._embedder.encode_query(question)[0]
        allowed = self._allowed_mask(sources)
        words = analyse([question])[0]
        lexical = self._lexical.scores(words)
        candidates = self._candidates(query, lexical, allowed, mode)
        if candidates.size == 0:
            return []
        dense = self._dense_scores(query, candidates)
        ranking = self._ranking(mode, dense, lexical[candidates])
        if mode != "dense" and self._settings.feedback_passages > 0:
            expanded = self._feedback_lexical(words, candidates, ranking, lexical)
            ranking = self._ranking(mode, dense, expanded)
        order = np.argsort(-ranking, kind="stable")
        scores = ranking[order]
        order, scores = self._rerank(question, candidates, order, scores)
        return [self._hit(rank, int(candidates[i]), float(score), dense, i, lexical, query)
                for rank, (i, score) in enumerate(zip(order[:k], scores[:k], strict=True), 1)]

    def _ranking(self, mode: SearchMode, dense: _DenseScores, lexical: np.ndarray) -> np.ndarray:
        if mode == "dense":
            return dense.combined
        if mode == "lexical":
            return lexical
        return fuse(dense.combined, lexical, self._settings)

    def _feedback_lexical(self, words: list[str], candidates: np.ndarray, ranking: np.ndarray,
                          lexical: np.ndarray) -> np.ndarray:
        """BM25 of the question expanded with the words of the best-ranked candidates (RM3),
        for each candidate; `lexical` is the question's own BM25 of every passage."""
        settings = self._settings
        best = np.argsort(-ranking, kind="stable")[: settings.feedback_passages]
        texts = [self.passages[int(candidates[i])].passage.text for i in best]
        scores = zscore(ranking)[best]
        relevance = relevance_model(analyse(texts), scores, settings.feedback_terms)
        return expanded_scores(lexical[candidates], len(words),
                               self._lexical.weighted_scores(relevance, candidates),
                               settings.feedback_weight)

    def _allowed_mask(self, sources: Collection[str] | None) -> np.ndarray | None:
        if not sources:
            return None
        return np.isin(self._sources, list(sources))

    def _candidates(self, query: np.ndarray, lexical: np.ndarray, allowed: np.ndarray | None,
                    mode: SearchMode) -> np.ndarray:
        depth = self._settings.candidates
        picked: set[int] = set()
        if mode != "lexical":
            picked |= self._dense_candidates(query, allowed, depth)
        if mode != "dense":
            masked = lexical if allowed is None else np.where(allowed, lexical, 0.0)
            top = _top_indices(masked, depth)
            picked |= {int(i) for i in top if masked[i] > 0}
        if allowed is not None:
            picked = {i for i in picked if allowed[i]}
        return np.array(sorted(picked), dtype=np.int64)

    def _dense_candidates(self, query: np.ndarray, allowed: np.ndarray | None,
                          depth: int) -> set[int]:
        if allowed is not None:
            # A filtered search scores the chosen documents exactly: FAISS cannot filter cheaply.
            return {int(i) for i in np.flatnonzero(allowed)}
        # A passage owns several rows (windows, sentences): over-fetch so `depth` passages come back.
        _, rows = self._dense.search(query, depth * 4)
        owners = self._owners[rows]
        _, first_seen = np.unique(owners, return_index=True)
        return set(owners[np.sort(first_seen)][:depth].tolist())

    def _dense_scores(self, query: np.ndarray, candidates: np.ndarray) -> _DenseScores:
        """Best window and best sentence cosine per candidate, in one gather and one product."""
        starts = self._first_rows[candidates]
        windows = self._window_counts[candidates]
        counts = self._row_counts[candidates]
        cosines = np.asarray(self._vectors[store.row_ranges(starts, counts)]) @ query
        # Each candidate's rows are its windows then its sentences: two segments to reduce.
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        bounds = np.stack([offsets, offsets + windows], axis=1).ravel()
        maxima = np.maximum.reduceat(cosines, bounds).reshape(-1, 2)
        window_best = maxima[:, 0]
        sentence_best = np.where(counts > windows, maxima[:, 1], window_best)
        return _DenseScores(window_best + sentence_best, np.maximum(window_best, sentence_best))

    def _answer_sentence(self, item: store.IndexedPassage, query: np.ndarray) -> int:
        rows = self._vectors[item.first_row + item.window_count : item.first_row + item.row_count]
        return int((np.asarray(rows) @ query).argmax()) if len(rows) else 0

    def _rerank(self, question: str, candidates: np.ndarray, order: np.ndarray,
                scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._reranker is None:
            return order, scores
        depth = self._settings.rerank_depth
        head = order[:depth]
        texts = [self.passages[int(candidates[i])].passage.text for i in head]
        new_scores = np.asarray(self._reranker.score(question, texts), dtype=np.float32)
        resorted = np.argsort(-new_scores, kind="stable")
        # Passages past the reranking depth keep their order, below every reranked one.
        tail_scores = np.full(len(order) - len(head), float(new_scores.min()) - 1.0)
        return (np.concatenate([head[resorted], order[depth:]]),
                np.concatenate([new_scores[resorted], tail_scores]))

    def _hit(self, rank: int, index: int, score: float, dense: _DenseScores, slot: int,
             lexical: np.ndarray, query: np.ndarray) -> Hit:
        item = self.passages[index]
        sentence = self._answer_sentence(item, query)
        if item.sentences:
            answer, offsets = item.sentences[sentence], item.sentence_offsets[sentence]
        else:
            answer, offsets = (0, len(item.passage.text)), (item.passage.start, item.passage.end)
        similarity = float(dense.best[slot])
        return Hit(rank, score, similarity, float(lexical[index]), item.passage, answer, offsets,
                   similarity < self._settings.min_score)


def _top_indices(scores: np.ndarray, count: int) -> np.ndarray:
    """Indices of the `count` highest scores, best first, without sorting everything."""
    if len(scores) > count:
        head = np.argpartition(-scores, count)[:count]
        return head[np.argsort(-scores[head], kind="stable")]
    return np.argsort(-scores, kind="stable")
