"""The conformance suite every backend must pass, shipped with the seam (as Haystack ships
`haystack/testing/document_store.py`), so a backend written outside qa is proven by the same
tests as qa's own.

Subclass `BackendConformance` in a test module (its name starting with `Test`), say in
`configure` how settings reach your backend, and give the `encoder` fixture any `Encoder` (a
tiny one will do); pytest then runs every test below against it. The suite builds a few small
documents of its own locally, publishes them to the backend, and checks that what the backend
serves is the local build, to the bit. This module imports pytest: import it from tests only.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from qa.chunking.chunk import ChunkedCorpus, chunk_documents
from qa.core.settings import Settings
from qa.embedding.embed import Encoder
from qa.indexing import backends, store
from qa.indexing.backends import Backend, IndexReader
from qa.indexing.backends.local import LocalIndex
from qa.indexing.build import BuildOptions
from qa.indexing.indexer import build_index, identity
from qa.indexing.lexical import analyse
from qa.reading.load import Document

DOCUMENTS = {
    "lighthouse.txt": (
        "The lighthouse log\n\nThe keeper climbed the tower at dusk and lit the lamp. A green "
        "comet crossed the bay at midnight.\n\nStorms in November broke two panes of the lantern "
        "room. The glazier from the harbour town replaced them in spring, and the keeper wrote "
        "that the new glass was clearer than the old, that the beam now reached the far reef, and "
        "that the fishing boats came home by it even in the thickest fog of the year."),
    "harbour.md": (
        "Harbour notes\n\nThe harbour master counts the ships that berth each week. Berth four "
        "was painted blue.\n\nDredging deepened the channel so that larger freighters could "
        "enter at low tide."),
    "garden/tomatoes.txt": (
        "Tomatoes in gardens\n\nTomatoes ripen faster against a south-facing wall. Water them "
        "at the roots, never on the leaves.\n\nBlight spreads in damp summers; remove the lower "
        "leaves early."),
    "orbit.txt": (
        "Space debris\n\nDebris mitigation guidelines ask operators to move satellites out of "
        "crowded orbits at the end of their missions.\n\nA treaty on outer space forbids "
        "weapons of mass destruction in orbit."),
}
QUESTIONS = ["Who replaced the broken panes of the lantern room?",
             "debris mitigation guidelines", "tomatoes ripen wall"]


def corpus(documents: Mapping[str, str]) -> ChunkedCorpus:
    """Documents given as texts by source name, chunked as the read stage would."""
    return ChunkedCorpus.of(chunk_documents([
        Document(source, text, hashlib.sha256(text.encode("utf-8")).hexdigest())
        for source, text in documents.items()]), [])


def build_and_publish(settings: Settings, encoder: Encoder, documents: Mapping[str, str]
                      ) -> Backend:
    """Build the documents in settings.index_dir as `qa index` does, publish the build to the
    settings' backend, and hand back that backend."""
    backend = backends.backend_for(settings)
    build_index(corpus(documents), settings, encoder, BuildOptions(),
                known=backend.known_vectors(False))
    backend.publish(settings.index_dir, BuildOptions())
    return backend


def nearest_cosines(index: IndexReader, numbers: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Each passage's best cosine with the query over its rows."""
    rows, counts, _ = index.candidate_vectors(numbers)
    if not len(numbers):
        return np.zeros(0, dtype=np.float32)
    cosines = rows.astype(np.float32) @ query
    return np.maximum.reduceat(cosines, np.concatenate([[0], np.cumsum(counts)[:-1]]))


@dataclass(frozen=True)
class Published:
    """The suite's documents built locally (`local`) and published to the backend (`reader`)."""

    settings: Settings
    encoder: Encoder
    backend: Backend
    reader: IndexReader
    local: LocalIndex


class BackendConformance:
    """The tests; a subclass names the backend (`configure`) and gives the `encoder` fixture."""

    @classmethod
    def configure(cls, settings: Settings, where: Path) -> Settings:
        """`settings` pointed at the backend under test; `where` is a fresh folder it may use."""
        raise NotImplementedError("override configure() to choose the backend under test")

    @pytest.fixture(scope="class")
    @classmethod
    def encoder(cls) -> Encoder:
        raise NotImplementedError("override the `encoder` fixture with any Encoder")

    @classmethod
    def settings_in(cls, folder: Path) -> Settings:
        return cls.configure(Settings(docs_dir=folder / "docs", index_dir=folder / "index"),
                             folder)

    @pytest.fixture(scope="class")
    @classmethod
    def published(cls, encoder: Encoder, tmp_path_factory: pytest.TempPathFactory
                  ) -> Published:
        settings = cls.settings_in(tmp_path_factory.mktemp("conformance"))
        backend = build_and_publish(settings, encoder, DOCUMENTS)
        return Published(settings, encoder, backend, backend.open_reader(),
                         LocalIndex(settings.index_dir, settings))

    def test_the_reader_holds_the_published_build(self, published: Published) -> None:
        reader, local = published.reader, published.local
        assert reader.passage_count == local.passage_count > len(DOCUMENTS)
        assert reader.sources == local.sources == sorted(DOCUMENTS)
        assert reader.manifest.files == local.manifest.files
        assert reader.all_passages() == local.all_passages()
        assert reader.passages([5, 0, 3]) == local.passages([5, 0, 3])
        for source in local.sources:
            assert reader.passages_in(source) == local.passages_in(source)
            assert [item.passage.source for item in reader.passages_in(source)] == \
                [source] * len(local.passages_in(source))
            assert reader.numbers_in(source).tolist() == local.numbers_in(source).tolist()
            assert reader.passages(reader.numbers_in(source).tolist()) == \
                reader.passages_in(source)
        assert reader.numbers_in("not indexed.txt").tolist() == []

    def test_dense_candidates_are_the_nearest_passages(self, published: Published) -> None:
        """The nearest passages, nearest first (passages at the same distance in any order)."""
        reader, local = published.reader, published.local
        for question in QUESTIONS:
            query = published.encoder.encode_query(question)[0]
            found = reader.dense_candidates(query, 4, None)
            expected = local.dense_candidates(query, 4, None)
            assert len(set(found.tolist())) == len(found) == len(expected)
            assert np.allclose(nearest_cosines(local, found, query),
                               nearest_cosines(local, expected, query), atol=1e-6)
            chosen = [local.sources[1]]
            found = reader.dense_candidates(query, 4, chosen)
            assert sorted(found.tolist()) == sorted(local.dense_candidates(query, 4, chosen).tolist())
            assert {item.passage.source for item in reader.passages(found.tolist())} == set(chosen)

    def test_candidates_come_only_from_the_permitted_passages(self, published: Published
                                                              ) -> None:
        """A query's constraints (passage numbers) apply before retrieval: every candidate is
        permitted, and the best permitted ones come back, within the documents chosen too."""
        reader, local = published.reader, published.local
        permitted = np.arange(1, local.passage_count, 2, dtype=np.int64)
        for question in QUESTIONS:
            query = published.encoder.encode_query(question)[0]
            words = analyse([question])[0]
            for sources in (None, [local.sources[0]]):
                allowed = {n for n in permitted.tolist() if sources is None or
                           local.passages([n])[0].passage.source in sources}
                dense = reader.dense_candidates(query, 2, sources, permitted)
                lexical = reader.lexical_top(words, 2, sources, permitted)
                assert dense.size and set(dense.tolist()) <= allowed
                assert set(lexical.tolist()) <= allowed
                best = max(nearest_cosines(local, np.array(sorted(allowed)), query))
                assert max(nearest_cosines(local, dense, query)) == pytest.approx(best, abs=1e-6)
                assert lexical.tolist() == local.lexical_top(words, 2, sources, permitted).tolist()

    def test_candidate_vectors_are_the_stored_rows(self, published: Published) -> None:
        numbers = np.array([4, 1, 6], dtype=np.int64)
        rows, counts, windows = published.reader.candidate_vectors(numbers)
        expected_rows, expected_counts, expected_windows = published.local.candidate_vectors(numbers)
        assert np.array_equal(rows.astype(np.float32), expected_rows.astype(np.float32))
        assert counts.tolist() == expected_counts.tolist()
        assert windows.tolist() == expected_windows.tolist()
        assert (counts > windows).any() and (windows >= 1).all()  # windows, then sentences

    def test_bm25_is_the_local_figures_to_the_bit(self, published: Published) -> None:
        reader, local = published.reader, published.local
        for question in QUESTIONS:
            words = analyse([question])[0]
            top = local.lexical_top(words, 5, None)
            assert top.size and reader.lexical_top(words, 5, None).tolist() == top.tolist()
            chosen = [local.sources[0]]
            assert reader.lexical_top(words, 5, chosen).tolist() == \
                local.lexical_top(words, 5, chosen).tolist()
            candidates = np.arange(local.passage_count, dtype=np.int64)[::-1].copy()
            for weights in (Counter(words), {"tomato": 0.4, "debri": 0.2, "notaword": 1.0}):
                assert np.array_equal(reader.lexical_scores(weights, candidates),
                                      local.lexical_scores(weights, candidates))

    def test_what_a_backend_already_serves(self, published: Published) -> None:
        """A backend that readers do not build from knows what it serves, and hands out the
        vectors it holds; a backend readers build from leaves both to the build beside it."""
        backend, local = published.backend, published.local
        files = corpus(DOCUMENTS).files
        wanted = identity(published.settings, published.encoder)
        known = backend.known_vectors(False)
        if backend.readers_build:
            assert not backend.serves_already(wanted, files) and known is None
            return
        assert backend.serves_already(wanted, files)
        assert not backend.serves_already(wanted, {**files, "new.txt": "0"})
        assert known is not None
        item = local.all_passages()[4]
        key = store.text_key(item.passage.text)
        found = known(wanted, [key, "no-such-key"])
        assert list(found) == [key]
        rows = local.candidate_vectors(np.array([4]))[0]
        assert np.array_equal(found[key][1].astype(np.float32), rows.astype(np.float32))
        assert not backend.publish(published.settings.index_dir, BuildOptions())  # no change

    def test_a_new_build_reaches_readers(self, encoder: Encoder, tmp_path: Path) -> None:
        """A reader opened before a new build was published learns it is no longer current;
        reopened, it holds the new build."""
        settings = self.settings_in(tmp_path)
        backend = build_and_publish(settings, encoder, DOCUMENTS)
        opened = backend.open_reader()
        assert opened.is_current()
        note = "Comet note\n\nThe astronomer logged a violet comet over the observatory dome."
        build_and_publish(settings, encoder, {**DOCUMENTS, "note.txt": note})
        assert not opened.is_current()
        reopened = backend.open_reader()
        assert reopened.passage_count == opened.passage_count + 1
        [best] = reopened.lexical_top(analyse(["violet comet observatory"])[0], 1, None).tolist()
        assert reopened.passages([best])[0].passage.source == "note.txt"

    def test_an_emptied_corpus_publishes_an_empty_index(self, encoder: Encoder,
                                                        tmp_path: Path) -> None:
        """Every document gone: the backend serves an index with nothing in it, so no reader
        cites a deleted file."""
        settings = self.settings_in(tmp_path)
        build_and_publish(settings, encoder, DOCUMENTS)
        backend = build_and_publish(settings, encoder, {})
        emptied = backend.open_reader()
        assert emptied.passage_count == 0 and emptied.sources == [] and emptied.all_passages() == []
        query = encoder.encode_query("green comet")[0]
        assert emptied.dense_candidates(query, 4, None).size == 0
        assert emptied.lexical_top(["comet"], 4, None).size == 0
