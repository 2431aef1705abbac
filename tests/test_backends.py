"""Every backend — the local index folder, Milvus Lite (embedded, file mode) and an in-memory
backend written in the tests (tests/memory_backend.py) — passes the conformance suite shipped in
the package (qa.indexing.backends.testing) with the tiny test encoder; and over the seeds, with
the real model, answers every question exactly as the local build does."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, SEEDS
from encoders import HashingEncoder
from memory_backend import register as register_memory_backend

from qa.core.access import Access
from qa.core.settings import Settings
from qa.embedding.embed import Encoder
from qa.indexing import backends
from qa.indexing.backends import IndexReader
from qa.indexing.backends.testing import BackendConformance
from qa.library import QA

register_memory_backend()

QUESTIONS = ["Who co-organised the 2018 PAROS workshop?",
             "Why is amending the Outer Space Treaty not a workable solution?",
             "debris mitigation guidelines"]
BACKENDS = ["local", "memory", "milvus"]


def backend_settings(base: Settings, name: str, where: Path) -> Settings:
    if name == "milvus":
        pytest.importorskip("pymilvus")
        return base.with_overrides(backend="milvus", milvus_uri=str(where / "lite.db"),
                                   milvus_collection="conformance")
    return base.with_overrides(backend=name)


class WithTheTinyEncoder(BackendConformance):
    backend = ""

    @classmethod
    def configure(cls, settings: Settings, where: Path) -> Settings:
        return backend_settings(settings, cls.backend, where)

    @pytest.fixture(scope="class")
    @classmethod
    def encoder(cls) -> Encoder:
        return HashingEncoder()


class TestLocalConformance(WithTheTinyEncoder):
    backend = "local"


class TestMemoryConformance(WithTheTinyEncoder):
    backend = "memory"


class TestMilvusConformance(WithTheTinyEncoder):
    backend = "milvus"


@pytest.fixture(scope="module", params=BACKENDS)
def published(request: pytest.FixtureRequest, seeds_qa: QA,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[QA, IndexReader]]:
    """The seeds' local build published to the backend, and a reader of it."""
    settings = backend_settings(seeds_qa.settings, request.param,
                                tmp_path_factory.mktemp(request.param))
    QA(settings, embedder=seeds_qa.embedder).index()
    qa = QA.open(settings, embedder=seeds_qa.embedder)
    yield qa, qa.backend.open_reader()


def test_answers_are_the_local_answers(published: tuple[QA, IndexReader], seeds_qa: QA) -> None:
    qa, _ = published

    def answers(of: QA, **options: object) -> list[list[tuple[str, int, float, tuple[int, int]]]]:
        return [[(h.passage.source, h.passage.paragraph, round(h.score, 4), h.answer)
                 for h in of.search(question, k=5, **options).hits]  # type: ignore[arg-type]
                for question in QUESTIONS]

    for mode in ("hybrid", "dense", "lexical"):
        assert answers(qa, mode=mode) == answers(seeds_qa, mode=mode)
    source = seeds_qa.searcher.sources[2]
    assert answers(qa, sources=[source]) == answers(seeds_qa, sources=[source])


def test_a_readers_folders_are_enforced_before_ranking(published: tuple[QA, IndexReader],
                                                      seeds_qa: QA) -> None:
    """What `qa serve --users` relies on, on every backend: a user who may read some files gets
    k hits, all from those files, exactly as the local index ranks them."""
    qa, _ = published
    readable = seeds_qa.searcher.sources[1:]
    reader = Access("reader", tuple(readable), ())
    for question in QUESTIONS:
        hits = qa.search(question, k=5, access=reader).hits
        assert len(hits) == 5 and {h.passage.source for h in hits} <= set(readable)
        local_hits = seeds_qa.search(question, k=5, access=reader).hits
        assert [(h.passage.source, h.passage.paragraph) for h in hits] == \
            [(h.passage.source, h.passage.paragraph) for h in local_hits]


@pytest.mark.parametrize("name", BACKENDS)
def test_a_new_build_reaches_readers(name: str, seeds_qa: QA, tmp_path: Path) -> None:
    """A changed folder is built and published; a reader that opened the build before sees it
    is no longer current and reopens to the new build (on the local backend too: `qa index`
    beside a running page)."""
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    settings = backend_settings(Settings(docs_dir=docs, index_dir=tmp_path / "index"), name,
                                tmp_path)
    writer = QA(settings, embedder=seeds_qa.embedder)
    writer.index()
    reader = QA.open(settings, embedder=seeds_qa.embedder)
    opened = reader.searcher.index
    before = opened.passage_count
    (docs / "note.txt").write_text("Harbour note\n\nThe lighthouse keeper logged a green comet "
                                   "over the bay at midnight.\n", encoding="utf-8")
    report = writer.index()
    assert report.embedded_passages == 1
    assert not opened.is_current()
    hits = reader.search("Who logged a green comet over the bay?").hits
    assert hits[0].passage.source == "note.txt"
    assert reader.searcher.index.passage_count == before + 1


@pytest.mark.parametrize("name", BACKENDS)
def test_an_emptied_folder_publishes_an_empty_index(name: str, seeds_qa: QA,
                                                    tmp_path: Path) -> None:
    """Every document deleted: the next build publishes an index with nothing in it, so no
    reader cites a deleted file; a document added again is answered again."""
    docs = tmp_path / "docs"
    docs.mkdir()
    note = docs / "note.txt"
    note.write_text("Harbour note\n\nThe lighthouse keeper logged a green comet over the bay "
                    "at midnight.\n", encoding="utf-8")
    settings = backend_settings(Settings(docs_dir=docs, index_dir=tmp_path / "index"), name,
                                tmp_path)
    writer = QA(settings, embedder=seeds_qa.embedder)
    writer.index()
    reader = QA.open(settings, embedder=seeds_qa.embedder)
    assert reader.search("green comet").hits
    note.unlink()
    assert writer.index().passages == 0
    emptied = reader.search("green comet")
    assert emptied.hits == [] and "holds no usable document" in emptied.notices[0]
    assert reader.searcher.sources == [] and reader.document_path("note.txt") is None
    note.write_text("Harbour note\n\nThe keeper logged a violet comet.\n", encoding="utf-8")
    writer.index()
    assert reader.search("violet comet").hits[0].passage.source == "note.txt"


def test_the_registry_names_every_backend_and_refuses_others() -> None:
    assert {"local", "milvus", "memory"} <= set(backends.names())
    with pytest.raises(ValueError, match="QA_BACKEND must be one of local, milvus"):
        backends.backend_for(Settings(backend="nosuch"))
    with pytest.raises(ValueError, match="QA_MILVUS_URI"):
        backends.backend_for(Settings(backend="milvus"))
    assert "--milvus-uri" in [option.flag for option in backends.options()]


def test_no_backend_is_named_outside_the_backends() -> None:
    """Only qa/indexing/backends/ and the settings' one list know which backends exist."""
    names = "|".join(re.escape(name) for name in ("milvus", "is_shared"))
    pattern = re.compile(rf"{names}|backend\s*==|\"local\"", re.IGNORECASE)
    found = [f"{path.relative_to(REPO)}:{number}"
             for path in sorted((REPO / "qa").rglob("*.py"))
             if "backends" not in path.parts and path.name != "settings.py"
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             # The user of a server without sign-in is also called "local": a name, no backend.
             if pattern.search(line) and not line.startswith("LOCAL_USER = ")]
    assert found == []


def test_only_the_shipped_suites_import_pytest() -> None:
    """The conformance suites live in the package, but a program that uses qa never loads
    pytest: every other module of qa imports without it."""
    script = ("import importlib, pkgutil, sys, qa\n"
              "for module in pkgutil.walk_packages(qa.__path__, 'qa.'):\n"
              "    if not module.name.endswith('.testing'):\n"
              "        importlib.import_module(module.name)\n"
              "print('pytest' in sys.modules)")
    imported = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                              text=True, timeout=300)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "False"
