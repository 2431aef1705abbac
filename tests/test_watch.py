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


# A long read (OCR of a scan of thousands of pages) is a file whose reader waits while a hidden
# .<name>.hold lies beside it, saying it is alive meanwhile (tests/faulty_readers): the test says
# when it ends, and .<name>.reads holds one worker pid a read.
def held(docs: Path, name: str, text: str) -> tuple[Path, Path]:
    """`name` written with `text`, its reads held until the returned hold file is removed."""
    hold = docs / f".{name}.hold"
    hold.touch()
    (docs / name).write_text(text, encoding="utf-8")
    return hold, docs / f".{name}.reads"


def reads_of(log: Path) -> list[int]:
    return [int(pid) for pid in log.read_text(encoding="utf-8").split()] if log.exists() else []


@pytest.fixture()
def quick_grace(tmp_path: Path, faulty_readers: None) -> Iterator[tuple[QA, FolderWatcher]]:
    """A watched folder whose batches leave reads running after 1 s."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "harbour.txt").write_text("Harbour\n\nThe harbour master logs every ship that "
                                      "enters the bay before dawn.\n", encoding="utf-8")
    settings = Settings(docs_dir=docs, index_dir=tmp_path / "index", watch_read_grace_seconds=1,
                        read_total_seconds=60)
    qa = QA.open(settings, embedder=HashingEncoder())
    watcher = FolderWatcher(qa, debounce_ms=400).start()
    yield qa, watcher
    watcher.stop()


def test_small_files_are_published_while_a_long_read_goes_on(
        quick_grace: tuple[QA, FolderWatcher]) -> None:
    """A 2,000-frame TIFF kept a text file added after it from the index for 167 s: its batch
    waited for the OCR. Now the batch publishes without it, the text file is searchable while
    it is read, and the scan is indexed when its read ends, read once."""
    qa, watcher = quick_grace
    docs = qa.settings.docs_dir
    hold, log = held(docs, "scan-held-reader.txt", "Scan\n\nThe scanned ledger lists forty "
                     "crates of saffron from the spice quay.\n")
    wait_for(lambda: len(reads_of(log)) == 1, 10)
    (docs / "note.txt").write_text("Note\n\nThe ferry to the island leaves at nine.\n",
                                   encoding="utf-8")
    wait_for(lambda: first_source(qa, "ferry to the island") == "note.txt", 10)
    assert "scan-held-reader.txt" not in qa.searcher.sources
    wait_for(lambda: "still reading 1 file(s): scan-held-reader.txt" in watcher.status.line(), 5)
    assert "scan-held-reader" not in watcher.status.line(detail=False)  # names only for all-readers
    hold.unlink()
    wait_for(lambda: first_source(qa, "crates of saffron") == "scan-held-reader.txt", 10)
    assert sorted(qa.searcher.sources) == ["harbour.txt", "note.txt", "scan-held-reader.txt"]
    assert len(reads_of(log)) == 1  # taken from the read under way, never read again
    wait_for(lambda: "still reading" not in watcher.status.line(), 5)
    assert not watcher.status.errors


def test_an_edited_file_keeps_its_indexed_content_while_it_is_read_again(
        quick_grace: tuple[QA, FolderWatcher]) -> None:
    qa, watcher = quick_grace
    docs = qa.settings.docs_dir
    hold, log = held(docs, "ledger-held-reader.txt", "Ledger\n\nThe ledger lists forty crates "
                     "of saffron from the spice quay.\n")
    hold.unlink()
    wait_for(lambda: first_source(qa, "crates of saffron") == "ledger-held-reader.txt", 10)
    hold.touch()
    (docs / "ledger-held-reader.txt").write_text("Ledger\n\nThe ledger lists forty crates of "
                                                 "cinnamon from the spice quay.\n", encoding="utf-8")
    wait_for(lambda: len(reads_of(log)) == 2, 10)
    (docs / "note.txt").write_text("Note\n\nThe ferry to the island leaves at nine.\n",
                                   encoding="utf-8")
    wait_for(lambda: first_source(qa, "ferry to the island") == "note.txt", 10)
    # What it was indexed with stays searchable until the new content is read.
    assert first_source(qa, "crates of saffron") == "ledger-held-reader.txt"
    hold.unlink()
    wait_for(lambda: "cinnamon" in qa.search("crates of cinnamon", mode="lexical")
             .hits[0].passage.text, 10)
    assert len(reads_of(log)) == 2 and not watcher.status.errors


def test_a_file_deleted_while_it_is_read_is_read_no_further(
        quick_grace: tuple[QA, FolderWatcher]) -> None:
    qa, watcher = quick_grace
    docs = qa.settings.docs_dir
    _, log = held(docs, "gone-held-reader.txt", "Gone\n\nThis scan is deleted unread.\n")
    wait_for(lambda: len(reads_of(log)) == 1, 10)
    wait_for(lambda: qa.reads.still_reading() == ["gone-held-reader.txt"], 5)
    (docs / "gone-held-reader.txt").unlink()
    wait_for(lambda: qa.reads.still_reading() == [], 10)
    [worker] = reads_of(log)
    wait_for(lambda: not Path(f"/proc/{worker}").exists(), 5)  # its worker stopped
    assert qa.searcher.sources == ["harbour.txt"] and not watcher.status.errors


def test_a_long_read_past_its_total_budget_is_skipped_with_the_reason(tmp_path: Path,
                                                                      faulty_readers: None
                                                                      ) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "harbour.txt").write_text("Harbour\n\nThe harbour master logs every ship.\n",
                                      encoding="utf-8")
    settings = Settings(docs_dir=docs, index_dir=tmp_path / "index", watch_read_grace_seconds=1,
                        read_total_seconds=4)
    qa = QA.open(settings, embedder=HashingEncoder())
    watcher = FolderWatcher(qa, debounce_ms=400).start()
    try:
        (docs / "endless-reader.txt").write_text("Endless\n\nNever read.\n", encoding="utf-8")
        (docs / "note.txt").write_text("Note\n\nThe ferry to the island leaves at nine.\n",
                                       encoding="utf-8")
        wait_for(lambda: first_source(qa, "ferry to the island") == "note.txt", 10)
        wait_for(lambda: any(skip.source == "endless-reader.txt" for skip in
                             (qa.last_report.skipped if qa.last_report else [])), 15)
    finally:
        watcher.stop()
    assert qa.last_report is not None
    [skip] = qa.last_report.skipped
    assert skip.reason == ("took longer than 4 s in all to read (QA_READ_TOTAL_SECONDS), so it "
                           "was stopped")
