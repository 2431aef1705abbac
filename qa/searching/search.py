"""Search stage: candidates from each retriever, scored by named signals, fused, optionally
reranked, each hit with its answer sentence."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import ThreadpoolController

from qa.chunking.chunk import Passage
from qa.core.settings import SearchMode, Settings
from qa.embedding.embed import Encoder
from qa.indexing import store
from qa.indexing.backends import IndexReader
from qa.indexing.dense import inner_products
from qa.indexing.lexical import analyse
from qa.searching.feedback import expanded_scores, relevance_model
from qa.searching.fusion import fuse, zscore
from qa.searching.rerank import Reranker


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
class SearchResult:
    question: str
    hits: list[Hit]
    notices: list[str] = field(default_factory=list)

    @property
    def no_good_match(self) -> bool:
        """True when there is no hit, or even the best one is below the similarity threshold."""
        return not self.hits or self.hits[0].below_threshold


@dataclass(frozen=True)
class _DenseScores:
    """Per candidate passage: window+sentence cosine sum and the best single cosine; and every
    row's cosine, with where each candidate's sentence rows begin and end in it."""

    combined: np.ndarray
    best: np.ndarray
    cosines: np.ndarray
    sentence_rows: np.ndarray  # (candidates, 2): first and past-the-last sentence row

    def best_sentence(self, slot: int) -> int:
        first, last = self.sentence_rows[slot]
        return int(self.cosines[first:last].argmax()) if last > first else 0


@dataclass(frozen=True)
class Candidates:
    """The passages a question's retrievers proposed, and what signals are computed from."""

    numbers: np.ndarray
    query: np.ndarray  # the question's unit vector
    words: list[str]  # the question's analysed words
    dense: _DenseScores


# A retrieval signal: a score for each candidate, from the opened index. Fusion weighs each by
# Settings.signal_weights()[name]; a new signal is one function here and one weight there.
Signal = Callable[[IndexReader, Candidates], np.ndarray]
SIGNALS: dict[str, Signal] = {
    "dense": lambda index, found: found.dense.combined,  # best window + best sentence cosine
    "lexical": lambda index, found: index.lexical_scores(Counter(found.words), found.numbers),
}
MODE_SIGNALS: dict[SearchMode, tuple[str, ...]] = {
    "dense": ("dense",), "lexical": ("lexical",), "hybrid": tuple(SIGNALS)}


class Searcher:
    """An opened index (any backend); answers questions without reloading anything per query."""

    def __init__(self, index: IndexReader, settings: Settings, embedder: Encoder,
                 reranker: Reranker | None = None) -> None:
        self.index = index
        self.manifest = index.manifest
        self._settings = settings
        self._embedder = embedder
        self._reranker = reranker
        self._threadpools = ThreadpoolController()

    @property
    def sources(self) -> list[str]:
        return self.index.sources

    @property
    def passages(self) -> list[store.IndexedPassage]:
        return self.index.all_passages()

    def search(self, question: str, k: int, mode: SearchMode,
               sources: Collection[str] | None = None) -> list[Hit]:
        """The k best passages for a question, best first."""
        # A query's products are matrix-vector: a multithreaded BLAS gains nothing there, and its
        # threads spin on afterwards, slowing the next question's encoding; FAISS's OpenMP
        # threads likewise slow a small scan (figures in docs/benchmarks.md, "Figures behind
        # the settings' defaults").
        with self._threadpools.limit(limits=1, user_api="blas"), \
                self._threadpools.limit(limits=1, user_api="openmp"):
            return self._search(question, k, mode, sources)

    def _search(self, question: str, k: int, mode: SearchMode,
                sources: Collection[str] | None) -> list[Hit]:
        query = self._embedder.encode_query(question)[0]
        words = analyse([question])[0]
        numbers = self._candidates(query, words, sources, mode)
        if numbers.size == 0:
            return []
        items = self.index.passages(numbers.tolist())
        found = Candidates(numbers, query, words, self._dense_scores(query, numbers))
        # Every signal is computed (hits report the question's BM25 in every mode); the mode
        # chooses which of them rank.
        scores = {name: signal(self.index, found) for name, signal in SIGNALS.items()}
        ranked = {name: scores[name] for name in MODE_SIGNALS[mode]}
        ranking = self._ranking(ranked)
        if "lexical" in ranked and self._settings.feedback_passages > 0:
            ranked["lexical"] = self._feedback_lexical(words, items, numbers, ranking,
                                                       scores["lexical"])
            ranking = self._ranking(ranked)
        order = np.argsort(-ranking, kind="stable")
        order, ordered_scores = self._rerank(question, items, order, ranking[order])
        return [self._hit(rank, items[i], float(score), found.dense, i, float(scores["lexical"][i]))
                for rank, (i, score) in enumerate(zip(order[:k], ordered_scores[:k], strict=True),
                                                  1)]

    def _ranking(self, signals: dict[str, np.ndarray]) -> np.ndarray:
        settings = self._settings
        return fuse(signals, settings.signal_weights(), settings.fusion, settings.rrf_k)

    def _feedback_lexical(self, words: list[str], items: list[store.IndexedPassage],
                          candidates: np.ndarray, ranking: np.ndarray,
                          lexical: np.ndarray) -> np.ndarray:
        """BM25 of the question expanded with the words of the best-ranked candidates (RM3),
        for each candidate; `lexical` is the question's own BM25 of the candidates."""
        settings = self._settings
        best = np.argsort(-ranking, kind="stable")[: settings.feedback_passages]
        texts = [items[int(i)].passage.text for i in best]
        scores = zscore(ranking)[best]
        relevance = relevance_model(analyse(texts), scores, settings.feedback_terms)
        return expanded_scores(lexical, len(words),
                               self.index.lexical_scores(relevance, candidates),
                               settings.feedback_weight)

    def _candidates(self, query: np.ndarray, words: list[str],
                    sources: Collection[str] | None, mode: SearchMode) -> np.ndarray:
        depth = self._settings.candidates
        picked: set[int] = set()
        if mode != "lexical":
            picked |= set(self.index.dense_candidates(query, depth, sources or None).tolist())
        if mode != "dense":
            picked |= set(self.index.lexical_top(words, depth, sources or None).tolist())
        return np.array(sorted(picked), dtype=np.int64)

    def _dense_scores(self, query: np.ndarray, candidates: np.ndarray) -> _DenseScores:
        """Best window and best sentence cosine per candidate, in one gather and one product."""
        vectors, counts, windows = self.index.candidate_vectors(candidates)
        cosines = inner_products(vectors, query)
        # Each candidate's rows are its windows then its sentences: two segments to reduce.
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        bounds = np.stack([offsets, offsets + windows], axis=1).ravel()
        maxima = np.maximum.reduceat(cosines, bounds).reshape(-1, 2)
        window_best = maxima[:, 0]
        sentence_best = np.where(counts > windows, maxima[:, 1], window_best)
        return _DenseScores(window_best + sentence_best, np.maximum(window_best, sentence_best),
                            cosines, np.stack([offsets + windows, offsets + counts], axis=1))

    def _rerank(self, question: str, items: list[store.IndexedPassage], order: np.ndarray,
                scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._reranker is None:
            return order, scores
        depth = self._settings.rerank_depth
        head = order[:depth]
        texts = [items[int(i)].passage.text for i in head]
        new_scores = np.asarray(self._reranker.score(question, texts), dtype=np.float32)
        resorted = np.argsort(-new_scores, kind="stable")
        # Passages past the reranking depth keep their order, below every reranked one.
        tail_scores = np.full(len(order) - len(head), float(new_scores.min()) - 1.0)
        return (np.concatenate([head[resorted], order[depth:]]),
                np.concatenate([new_scores[resorted], tail_scores]))

    def _hit(self, rank: int, item: store.IndexedPassage, score: float, dense: _DenseScores,
             slot: int, lexical_score: float) -> Hit:
        sentence = dense.best_sentence(slot)
        if item.sentences:
            answer, offsets = item.sentences[sentence], item.sentence_offsets[sentence]
        else:
            answer, offsets = (0, len(item.passage.text)), (item.passage.start, item.passage.end)
        similarity = float(dense.best[slot])
        return Hit(rank, score, similarity, lexical_score, item.passage, answer, offsets,
                   similarity < self._settings.min_score)
