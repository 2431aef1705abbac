"""Following the folder live: adds, edits, renames, deletes and bursts reach the answers while
searches go on; junk names never trigger a build; a network filesystem is polled."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from documents import numbered_notes
from encoders import HashingEncoder

from qa.core.settings import Settings
from qa.library import QA
from qa.reading.load import is_transient
from qa.serving.watch import FolderWatcher, filesystem_type, watcher_for


def wait_for(condition: Callable[[], bool], seconds: float) -> float:
    """Seconds until `condition` holds; fails after `seconds`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > seconds:
            raise AssertionError(f"not within {seconds} s")
        time.sleep(0.1)
    return time.monotonic() - started


@pytest.fixture()
def watched(tmp_path: Path) -> Iterator[tuple[QA, FolderWatcher]]:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "harbour.txt").write_text("Harbour\n\nThe harbour master logs every ship that "
                                      "enters the bay before dawn.\n", encoding="utf-8")
    qa = QA.open(Settings(docs_dir=docs, index_dir=tmp_path / "index"), embedder=HashingEncoder())
    watcher = FolderWatcher(qa, debounce_ms=400).start()
    yield qa, watcher
    watcher.stop()


def first_source(qa: QA, question: str) -> str | None:
    hits = qa.search(question, mode="lexical").hits
    return hits[0].passage.source if hits else None


@pytest.mark.slow  # takes long (waits for the watcher, change by change)
def test_adds_edits_renames_and_deletes_are_followed(watched: tuple[QA, FolderWatcher]) -> None:
    qa, watcher = watched
    docs = qa.settings.docs_dir
    (docs / "comet.md").write_text("# Comet\n\nThe keeper saw a green comet over the bay.\n",
                                   encoding="utf-8")
    wait_for(lambda: first_source(qa, "green comet") == "comet.md", 5)
    (docs / "comet.md").write_text("# Comet\n\nThe keeper saw a violet comet over the bay.\n",
                                   encoding="utf-8")
    wait_for(lambda: "violet" in qa.search("violet comet", mode="lexical").hits[0].passage.text, 5)
    (docs / "comet.md").rename(docs / "sky.md")
    wait_for(lambda: first_source(qa, "violet comet") == "sky.md", 5)
    assert "comet.md" not in qa.searcher.sources
    (docs / "sky.md").unlink()
    wait_for(lambda: "sky.md" not in qa.searcher.sources, 5)
    assert all(h.passage.source == "harbour.txt" for h in qa.search("comet", k=10).hits)
    # The index answers from a batch as soon as it is published, a moment before the watcher
    # counts the batch as applied: wait for the count rather than race it.
    wait_for(lambda: watcher.status.applied >= 4, 5)
    assert "watching the folder" in watcher.status.line()


def test_deleting_every_document_empties_the_index(watched: tuple[QA, FolderWatcher]) -> None:
    qa, watcher = watched
    (qa.settings.docs_dir / "harbour.txt").unlink()
    wait_for(lambda: qa.searcher.sources == [], 5)
    result = qa.search("harbour master")
    assert result.hits == [] and "holds no usable document" in result.notices[0]
    assert not watcher.status.errors


def test_a_burst_of_files_is_applied_in_batches(watched: tuple[QA, FolderWatcher]) -> None:
    qa, watcher = watched
    staging = qa.settings.docs_dir.parent / "staging"
    numbered_notes(staging, 300, "note", "The tide table for pier number {n} was posted at noon "
                   "beside the ferry office.")
    shutil.copytree(staging, qa.settings.docs_dir / "notes")
    wait_for(lambda: len(qa.searcher.sources) == 301, 15)
    assert first_source(qa, "tide table pier number 217") == "notes/note-217.txt"
    assert watcher.status.applied < 300  # debounced: far fewer builds than files


def test_junk_names_are_not_documents_and_trigger_nothing(watched: tuple[QA, FolderWatcher]
                                                          ) -> None:
    qa, watcher = watched
    docs = qa.settings.docs_dir
    for name in ("~$report.docx", ".#harbour.txt", "harbour.txt.swp", "film.mp4.part",
                 "paper.pdf.crdownload", ".hidden.txt", "notes.txt~"):
        (docs / name).write_bytes(b"not a document yet")
        assert is_transient(name)
    (docs / ".git" / "objects").mkdir(parents=True)
    (docs / ".git" / "objects" / "a1b2c3").write_bytes(b"a git object")

    time.sleep(2.5)
    assert watcher.status.applied == 0 and qa.searcher.sources == ["harbour.txt"]
    assert not is_transient("report.docx") and not is_transient("notes.txt")


def test_a_file_still_being_written_is_taken_when_it_settles(watched: tuple[QA, FolderWatcher]
                                                              ) -> None:
    """A copy that keeps growing for two seconds (longer than the batching) is indexed once,
    whole, when it stops: never as the half written so far."""
    qa, watcher = watched
    path = qa.settings.docs_dir / "slow.txt"
    with path.open("w", encoding="utf-8") as stream:
        stream.write("Slow\n\nThe log mentions")
        for number in range(20):
            stream.write(f" the lighthouse {number} and")
            stream.flush()
            time.sleep(0.1)
            # Never indexed while it grows (the watcher waits for its size to hold).
            assert "slow.txt" not in qa.searcher.sources, f"indexed half written ({number})"
        stream.write(" a silver dolphin.\n")
    wait_for(lambda: first_source(qa, "silver dolphin") == "slow.txt", 8)
    [passage] = qa.searcher.index.passages_in("slow.txt")
    assert passage.passage.text.endswith("a silver dolphin.")
    wait_for(lambda: watcher.status.applied >= 1, 5)  # counted a moment after it answers


def test_network_filesystems_are_polled_and_watching_can_be_off(tmp_path: Path) -> None:
    assert filesystem_type(Path("/proc")) == "proc"
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("A\n\nThe alpha file talks about rockets.\n", encoding="utf-8")
    settings = Settings(docs_dir=docs, index_dir=tmp_path / "index", watch_polling="always",
                        watch_poll_seconds=0.5)
    qa = QA.open(settings, embedder=HashingEncoder())
    watcher = watcher_for(qa)
    assert watcher is not None and watcher.polling and "polling every 0.5 s" in watcher.how
    watcher.start()
    try:
        (docs / "b.txt").write_text("B\n\nThe beta file talks about gardens.\n", encoding="utf-8")
        wait_for(lambda: "b.txt" in qa.searcher.sources, 8)
    finally:
        watcher.stop()
    assert watcher_for(QA(settings.with_overrides(watch=False), embedder=HashingEncoder())) is None


def test_a_server_answers_from_the_last_index_at_once_and_refreshes_behind(tmp_path: Path
                                                                           ) -> None:
    """Files added while nothing ran: the index as it was answers at once; the watcher's first
    batch brings it up to date in the background, and the status says so meanwhile."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "harbour.txt").write_text("Harbour\n\nThe harbour master logs every ship.\n",
                                      encoding="utf-8")
    settings = Settings(docs_dir=docs, index_dir=tmp_path / "index")
    QA.open(settings, embedder=HashingEncoder())
    numbered_notes(docs, 200, "added", "The buoy number {n} marks the channel of the river.")
    qa = QA(settings, embedder=HashingEncoder())
    assert qa.open_published()
    watcher = watcher_for(qa)
    assert watcher is not None
    watcher.start(wait=False)
    try:
        assert qa.searcher.sources == ["harbour.txt"]  # the last index, answering at once
        assert "bringing the index up to date" in watcher.status.line()
        wait_for(lambda: len(qa.searcher.sources) == 201, 30)
        wait_for(lambda: not watcher.status.refreshing, 5)
    finally:
        watcher.stop()
    assert "bringing" not in watcher.status.line()
    other_model = QA(settings, embedder=HashingEncoder(dimension=32))
    assert not other_model.open_published()  # built for another model: not served as it is


@pytest.mark.slow  # takes long (waits for the watcher to stay quiet)
def test_an_index_kept_inside_the_folder_does_not_start_builds(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("A\n\nThe alpha file talks about rockets.\n", encoding="utf-8")
    qa = QA.open(Settings(docs_dir=docs, index_dir=docs / "index"), embedder=HashingEncoder())
    watcher = FolderWatcher(qa, debounce_ms=400).start()
    try:
        (docs / "b.txt").write_text("B\n\nThe beta file talks about gardens.\n", encoding="utf-8")
        wait_for(lambda: "b.txt" in qa.searcher.sources, 5)
        time.sleep(2.5)  # the build wrote into docs/index: no batch may follow from that
        assert watcher.status.applied == 1
    finally:
        watcher.stop()
