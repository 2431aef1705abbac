"""Search stage: candidates from each retriever, scored by named signals, fused, optionally
reranked, each hit with its answer sentence."""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import ThreadpoolController

from qa.chunking.chunk import Passage
from qa.core.settings import SearchMode, Settings
from qa.embedding.embed import Encoder
from qa.indexing import store
from qa.indexing.backends import IndexReader
from qa.indexing.lexical import analyse
from qa.searching import answer, signals
from qa.searching.feedback import expanded_scores, relevance_model
from qa.searching.fusion import fuse, zscore
from qa.searching.query import Query
from qa.searching.rerank import Reranker
from qa.searching.scope import PassageTexts


@dataclass(frozen=True)
class Hit:
    """One ranked passage.

    `score` is what the ranking used (fused, dense or BM25, or the reranker's); `scores` holds
    every retrieval signal's score of the passage by the signal's name (qa.searching.signals),
    in every mode; `similarity` is the best cosine of the question with any window or sentence
    of the passage, the figure the "no good match" threshold reads. `answer` is the best
    sentence's span in the passage text, `answer_offsets` the same sentence in the file.
    """

    rank: int
    score: float
    similarity: float
    scores: Mapping[str, float] = field(hash=False)
    passage: Passage
    answer: tuple[int, int]
    answer_offsets: tuple[int, int]
    below_threshold: bool
    number: int = field(default=-1, compare=False)
    copies: tuple[Hit, ...] = field(default=(), hash=False)


@dataclass(frozen=True)
class DocumentGroup:
    """One document's hits in a result grouped by document, best first."""

    hits: tuple[Hit, ...]

    @property
    def best(self) -> Hit:
        return self.hits[0]

    @property
    def source(self) -> str:
        return self.best.passage.source


@dataclass(frozen=True)
class SearchResult:
    """A result list. `groups`, when the result is grouped by document, holds each document's
    hits (`hits` then holds each group's best)."""

    question: str
    hits: list[Hit]
    notices: list[str] = field(default_factory=list)
    groups: list[DocumentGroup] | None = None
    model: str = ""  # the model that ranked by meaning (the index's); "" when nothing was searched

    @property
    def no_good_match(self) -> bool:
        """True when there is no hit, or even the best one is below the similarity threshold."""
        return not self.hits or self.hits[0].below_threshold


def ranking_signals(mode: SearchMode) -> tuple[str, ...]:
    """The signals that rank in a mode: hybrid, every registered one; else the one it names."""
    return tuple(signals.SIGNALS) if mode == "hybrid" else (mode,)


class _AsSources(enum.Enum):
    """Searcher.search's `readable` when the caller names no other documents than `sources`."""

    SOURCES = "sources"


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
        self._passage_texts: PassageTexts | None = None

    @property
    def sources(self) -> list[str]:
        return self.index.sources

    @property
    def passages(self) -> list[store.IndexedPassage]:
        return self.index.all_passages()

    def search(self, question: str, k: int, mode: SearchMode,
               sources: Collection[str] | None = None, query: Query | None = None,
               pool: int | None = None,
               readable: Collection[str] | _AsSources | None = _AsSources.SOURCES) -> list[Hit]:
        """The k best passages for a question, best first, among the documents `sources` names
        (all: None) and the passages `query`'s constraints keep (its phrases, words and pages;
        its filters on documents are the caller's, in `sources`; `readable` names the
        documents the reader may read before those filters (all: None), by default `sources`). Each
        retriever proposes `pool` passages (default: the candidates setting), so at most that
        many per retriever come back."""
        with self.one_thread():
            return self._search(question, k, mode, sources, query,
                                pool or self._settings.candidates,
                                sources if readable is _AsSources.SOURCES else readable)

    @contextmanager
    def one_thread(self) -> Iterator[None]:
        """BLAS and OpenMP held to one thread, for a query's small products (and the shaping
        of its results, qa.searching.shaping)."""
        # A query's products are matrix-vector: a multithreaded BLAS gains nothing there, and its
        # threads spin on afterwards, slowing the next question's encoding; FAISS's OpenMP
        # threads likewise slow a small scan (figures in docs/benchmarks.md, "Figures behind
        # the settings' defaults").
        with self._threadpools.limit(limits=1, user_api="blas"), \
                self._threadpools.limit(limits=1, user_api="openmp"):
            yield

    def passage_vectors(self, numbers: Sequence[int]) -> np.ndarray:
        """Each passage's stored vector (signals.passage_vectors), by passage number."""
        return signals.passage_vectors(self.index, np.asarray(numbers, dtype=np.int64))

    def similar(self, number: int, k: int, sources: Collection[str] | None = None,
                excluded: str | None = None) -> list[Hit]:
        """The k passages nearest passage `number` by its stored vector, scored as a question's
        dense signal scores them, best first: never the passage itself, nor any passage of the
        document `excluded` names; among `sources` when given."""
        vector = self.passage_vectors([number])[0]
        # The passage's own document is usually nearest: fetched past it, then left out.
        depth = max(k, self._settings.candidates) + 1 + (
            len(self.index.numbers_in(excluded)) if excluded else 0)
        with self.one_thread():
            found = self.index.dense_candidates(vector, depth, sources)
            items = self.index.passages(found.tolist())
            chosen = [at for at, item in enumerate(items)
                      if int(found[at]) != number and item.passage.source != excluded]
            numbers = found[chosen]
            if numbers.size == 0:
                return []
            dense = signals.dense_scores(self.index, vector, numbers)
        order = np.argsort(-dense.combined, kind="stable")[:k]
        return [self._hit(rank, items[chosen[i]], float(dense.combined[i]), dense, int(i),
                          {"dense": float(dense.combined[i])}, int(numbers[i]),
                          dense.best_sentence(int(i)))
                for rank, i in enumerate(order, 1)]

    def _search(self, question: str, k: int, mode: SearchMode,
                sources: Collection[str] | None, query: Query | None, pool: int,
                readable: Collection[str] | None) -> list[Hit]:
        permitted = None
        if query is not None and query.filters_passages:
            permitted = self.passage_texts().permitted(query, sources)
            if permitted.size == 0:
                return []
        asked = signals.Question(self._embedder.encode_query(question)[0], analyse([question])[0])
        ranking_names = ranking_signals(mode)
        numbers = self._candidates(asked, ranking_names, sources, permitted, pool)
        if numbers.size == 0:
            return []
        kept = None
        if query is not None and (query.filters_passages or query.filters_documents) \
                and numbers.size < pool:
            # A filter left fewer passages than a signal proposes: fused over those few, two
            # signals' z-scores say little (over two passages, each is -1 or 1) and scores would
            # not compare with the same question's unfiltered ones. Scored among the unfiltered
            # candidates too (of the documents the reader may read), each kept passage scores
            # as it would there.
            kept = numbers
            numbers = np.union1d(numbers, self._candidates(asked, ranking_names, readable, None,
                                                           pool))
        items = self.index.passages(numbers.tolist())
        found = signals.Candidates(asked, numbers,
                                   signals.dense_scores(self.index, asked.vector, numbers))
        # Every signal is computed (hits report each signal's score in every mode); the mode
        # chooses which of them rank.
        scores = {signal.name: signal.scores(self.index, found) for signal in signals.registered()}
        ranked = {name: scores[name] for name in ranking_names}
        ranking = self._ranking(ranked)
        if "lexical" in ranked and self._settings.feedback_passages > 0:
            ranked["lexical"] = self._feedback_lexical(asked.words, items, numbers, ranking,
                                                       scores["lexical"])
            # Reported beside the question's own BM25: it is the lexical score that ranked.
            scores["lexical_feedback"] = ranked["lexical"]
            ranking = self._ranking(ranked)
        order = np.argsort(-ranking, kind="stable")
        if kept is not None:
            order = order[np.isin(numbers[order], kept)]
        order, ordered_scores = self._rerank(question, items, order, ranking[order])
        sentences = self._answer_sentences(asked, items, found.dense, scores["lexical"],
                                           order[:k].tolist())
        return [self._hit(rank, items[i], float(score), found.dense, i,
                          {name: float(values[i]) for name, values in scores.items()},
                          int(numbers[i]), sentence)
                for rank, (i, score, sentence) in enumerate(
                    zip(order[:k], ordered_scores[:k], sentences, strict=True), 1)]

    def _answer_sentences(self, asked: signals.Question, items: list[store.IndexedPassage],
                          dense: signals.DenseScores, lexical: np.ndarray, slots: list[int]
                          ) -> list[int]:
        """Each hit's answer sentence (qa.searching.answer), by candidate slot. The sentences
        of a passage holding some question word are analysed; for the rest, and for a
        passage of one sentence, the cosine alone decides (no word could change it)."""
        weight = self._settings.answer_words_weight
        worded = [slot for slot in slots if weight > 0 and lexical[slot] > 0
                  and len(items[slot].sentences) > 1]
        chosen = {slot: dense.best_sentence(slot) for slot in slots}
        if not worded:
            return [chosen[slot] for slot in slots]
        idf = self.index.word_idf(asked.words)
        texts = [items[slot].passage.text[start:end]
                 for slot in worded for start, end in items[slot].sentences]
        words, at = analyse(texts), 0
        for slot in worded:
            count = len(items[slot].sentences)
            chosen[slot] = answer.best_sentence(dense.sentence_cosines(slot), asked.words,
                                                words[at:at + count], idf, weight)
            at += count
        return [chosen[slot] for slot in slots]

    def _ranking(self, ranked: dict[str, np.ndarray]) -> np.ndarray:
        settings = self._settings
        return fuse(ranked, signals.weights(settings.signal_weights()), settings.fusion,
                    settings.rrf_k)

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

    def passage_texts(self) -> PassageTexts:
        """Every passage's folded text and pages, read once per opened index (a first query
        with phrases, words or pages pays for it)."""
        if self._passage_texts is None:
            self._passage_texts = PassageTexts(self.index.all_passages())
        return self._passage_texts

    def _candidates(self, asked: signals.Question, ranking_names: tuple[str, ...],
                    sources: Collection[str] | None, permitted: np.ndarray | None, depth: int
                    ) -> np.ndarray:
        """The passages every ranking signal that proposes any proposes (`depth` each), in
        number order."""
        picked: set[int] = set()
        for name in ranking_names:
            propose = signals.SIGNALS[name].candidates
            if propose is not None:
                picked |= set(propose(self.index, asked, depth, sources or None,
                                      permitted).tolist())
        return np.array(sorted(picked), dtype=np.int64)

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

    def _hit(self, rank: int, item: store.IndexedPassage, score: float,
             dense: signals.DenseScores, slot: int, scores: dict[str, float], number: int,
             sentence: int) -> Hit:
        if item.sentences:
            answer, offsets = item.sentences[sentence], item.sentence_offsets[sentence]
        else:
            answer, offsets = (0, len(item.passage.text)), (item.passage.start, item.passage.end)
        similarity = float(dense.best[slot])
        return Hit(rank, score, similarity, scores, item.passage, answer, offsets,
                   similarity < self._settings.no_good_match_below(), number)
