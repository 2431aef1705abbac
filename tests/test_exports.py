"""Downloads under concurrency: every file a request is handed exists until Gradio has copied it,
and the folder stays bounded."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from qa.chunking.chunk import Passage
from qa.library import SearchResult
from qa.searching.search import Hit
from qa.showing.exports import ExportFolder


def result(number: int) -> SearchResult:
    passage = Passage("a.txt", "A", 1, 0, 20, f"Passage number {number}.")
    hit = Hit(rank=1, score=1.0, similarity=0.9, scores={"dense": 1.8, "lexical": 0.0},
              passage=passage, answer=(0, 10), answer_offsets=(0, 10), below_threshold=False)
    return SearchResult(f"question {number}", [hit])


def test_concurrent_exports_never_lose_a_file_being_handed_out(tmp_path: Path) -> None:
    exports = ExportFolder(tmp_path, kept_files=4, min_age_seconds=1.0)
    missing: list[str] = []
    errors: list[BaseException] = []

    def ask_many(client: int) -> None:
        for number in range(60):
            try:
                paths = exports.export(result(client * 1000 + number))
            except BaseException as error:  # collected: asserted below
                errors.append(error)
                continue
            # What Gradio does right after the handler returns: copy the file.
            missing.extend(path.name for path in paths if not path.exists())

    threads = [threading.Thread(target=ask_many, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and missing == []
    time.sleep(1.1)
    exports.export(result(-1))
    assert len(list(tmp_path.glob("qa-results-*"))) == 4  # trimmed once they are old enough


def test_identical_answers_share_one_file(tmp_path: Path) -> None:
    exports = ExportFolder(tmp_path)
    assert exports.export(result(1)) == exports.export(result(1))
    assert len(list(tmp_path.iterdir())) == 2


def test_pruning_served_copies_survives_handlers_adding_at_the_same_time(tmp_path: Path) -> None:
    from qa.showing.exports import prune_served_copies

    served: set[str] = set()
    stop = threading.Event()

    def handler() -> None:  # what Gradio does for every answer: copy a file, remember its path
        number = 0
        # Bounded: on a busy machine an unbounded producer outran the pruner by a million files.
        while not stop.is_set() and number < 5000:
            copy = tmp_path / f"copy-{number}" / "qa-results.md"
            copy.parent.mkdir()
            copy.write_text("answer", encoding="utf-8")
            served.add(str(copy))
            number += 1

    adding = threading.Thread(target=handler)
    adding.start()
    removed = 0
    try:
        for _ in range(200):
            removed += prune_served_copies(served, max_age_seconds=0)
    finally:
        stop.set()
        adding.join()
    # The last copy may share the clock tick of the cutoff (file times are coarse): let it age.
    time.sleep(0.05)
    removed += prune_served_copies(served, max_age_seconds=0)
    assert removed > 0 and served == set()
    assert list(tmp_path.iterdir()) == []  # files and their folders are gone


def test_young_copies_are_kept(tmp_path: Path) -> None:
    from qa.showing.exports import prune_served_copies

    copy = tmp_path / "young.md"
    copy.write_text("answer", encoding="utf-8")
    served = {str(copy)}
    assert prune_served_copies(served, max_age_seconds=60) == 0 and copy.exists()


def test_exports_are_bounded_by_bytes_as_well_as_by_count(tmp_path: Path) -> None:
    exports = ExportFolder(tmp_path, kept_files=1000, kept_bytes=5_000, min_age_seconds=0.0)
    for number in range(40):
        exports.export(result(number))
    sizes = [path.stat().st_size for path in tmp_path.glob("qa-results-*")]
    assert sum(sizes) <= 5_000 + max(sizes) * 2, sum(sizes)  # the newest pair is always kept
    assert len(sizes) < 80


def test_abandoned_uploads_go_and_served_copies_stay(tmp_path: Path) -> None:
    import os

    from qa.showing.exports import prune_abandoned_uploads

    old, served, fresh = (tmp_path / "a" / "old.txt", tmp_path / "b" / "served.md",
                          tmp_path / "c" / "fresh.txt")
    for path in (old, served, fresh):
        path.parent.mkdir()
        path.write_text("x")
    os.utime(old, (time.time() - 500, time.time() - 500))
    os.utime(served, (time.time() - 500, time.time() - 500))
    assert prune_abandoned_uploads(tmp_path, [{str(served)}], max_age_seconds=100) == 1
    assert not old.exists() and not old.parent.exists()
    assert served.exists() and fresh.exists()
