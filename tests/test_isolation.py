"""Every file is read in a worker process: one that hangs, exhausts memory or crashes its reader
is skipped with the reason, and the files around it are read as usual."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from documents import many_lines_pdf, write

from qa.core.settings import settings_from_env
from qa.reading import isolation
from qa.reading.isolation import ReadLimits, load_folder, read_files
from qa.reading.load import Document, SkippedFile

GOOD = "Harbour notes\n\nThe east pontoon has fresh water and power for visiting boats.\n"


def _outcomes(files: list[tuple[str, Path]], limits: ReadLimits) -> dict[str, Document | SkippedFile]:
    return {outcome.source: outcome for outcome in read_files(files, limits)}


# A file that is slow to read is one whose reader never answers (tests/faulty_readers), not a
# real file that is slow: a real one is also large in memory, and which limit it meets first
# would depend on the machine.
@pytest.mark.usefixtures("faulty_readers")
def test_a_file_that_reads_too_long_is_stopped_and_named(tmp_path: Path) -> None:
    slow = write(tmp_path, "hang-reader.txt", GOOD)
    good = write(tmp_path, "good.txt", GOOD)
    started = time.monotonic()
    outcomes = _outcomes([("hang-reader.txt", slow), ("good.txt", good)],
                         ReadLimits(seconds=3, workers=1))
    assert time.monotonic() - started < 30
    assert isinstance(outcomes["good.txt"], Document)
    skipped = outcomes["hang-reader.txt"]
    assert isinstance(skipped, SkippedFile) and "took longer than 3 s" in skipped.reason


def test_a_file_that_needs_too_much_memory_is_named(tmp_path: Path) -> None:
    # 90,000 lines: under the PDF reader's own bounds on a page, over 400 MB in a second or two.
    heavy = write(tmp_path, "heavy.pdf", many_lines_pdf(90_000))
    good = write(tmp_path, "good.txt", GOOD)
    outcomes = _outcomes([("heavy.pdf", heavy), ("good.txt", good)],
                         ReadLimits(seconds=120, memory_mb=400, workers=1))
    assert isinstance(outcomes["good.txt"], Document)
    skipped = outcomes["heavy.pdf"]
    assert isinstance(skipped, SkippedFile)
    assert "ran out of memory" in skipped.reason or "crashed" in skipped.reason, skipped.reason


@pytest.mark.usefixtures("faulty_readers")
def test_a_crashed_reader_takes_only_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    started: list[isolation._Worker] = []
    real_init = isolation._Worker.__init__

    def recording_init(self: isolation._Worker, limits: ReadLimits) -> None:
        real_init(self, limits)
        started.append(self)

    monkeypatch.setattr(isolation._Worker, "__init__", recording_init)
    slow = write(tmp_path, "hang-reader.txt", GOOD)
    good = write(tmp_path, "good.txt", GOOD)

    def crash_first_worker() -> None:
        time.sleep(1.5)
        os.kill(started[0].process.pid, signal.SIGSEGV)

    threading.Thread(target=crash_first_worker).start()
    outcomes = _outcomes([("hang-reader.txt", slow), ("good.txt", good)], ReadLimits(workers=1))
    assert isinstance(outcomes["good.txt"], Document)
    skipped = outcomes["hang-reader.txt"]
    assert isinstance(skipped, SkippedFile) and "crashed (SIGSEGV)" in skipped.reason
    assert len(started) == 2  # a fresh worker read the next file


def test_workers_return_what_reading_in_process_returns(tmp_path: Path) -> None:
    from documents import report_docx, report_pdf

    from qa.reading.load import read_file

    files = [("a.txt", write(tmp_path, "a.txt", GOOD)),
             ("b.pdf", write(tmp_path, "b.pdf", report_pdf())),
             ("c.docx", write(tmp_path, "c.docx", report_docx())),
             ("d.md", write(tmp_path, "d.md", "# Title\n\nSome words in a paragraph here.\n"))]
    assert _outcomes(files, ReadLimits(workers=2)) == {
        source: read_file(source, path) for source, path in files}


def test_load_folder_keeps_its_order_with_parallel_workers(tmp_path: Path) -> None:
    for number in range(12):
        write(tmp_path, f"n{number:02}.txt", GOOD.replace("east", f"east {number}"))
    loaded = load_folder(tmp_path, limits=ReadLimits(workers=3))
    assert [d.source for d in loaded.documents] == [f"n{number:02}.txt" for number in range(12)]


def test_read_limits_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_READ_SECONDS", "2.5")
    monkeypatch.setenv("QA_READ_MEMORY_MB", "700")
    monkeypatch.setenv("QA_MAX_TEXT_MB", "0.5")
    monkeypatch.setenv("QA_READ_TOTAL_SECONDS", "90")
    settings = settings_from_env()
    assert (settings.read_seconds, settings.read_memory_mb) == (2.5, 700)
    assert (ReadLimits.of(settings).text_mb, ReadLimits.of(settings).total_seconds) == (0.5, 90)
    monkeypatch.setenv("QA_READ_TOTAL_SECONDS", "0")
    with pytest.raises(ValueError, match="QA_READ_TOTAL_SECONDS"):
        settings_from_env()
    monkeypatch.setenv("QA_READ_TOTAL_SECONDS", "90")
    monkeypatch.setenv("QA_READ_SECONDS", "0")
    with pytest.raises(ValueError, match="QA_READ_SECONDS"):
        settings_from_env()
    monkeypatch.setenv("QA_READ_SECONDS", "1")
    monkeypatch.setenv("QA_MAX_TEXT_MB", "0")
    with pytest.raises(ValueError, match="QA_MAX_TEXT_MB"):
        settings_from_env()


def test_a_file_that_yields_too_much_text_is_skipped_with_the_reason(tmp_path: Path, tiny_encoder
                                                                     ) -> None:  # type: ignore[no-untyped-def]
    """An ODT of 190 MB of text once held `qa index` at 1.8 GB for minutes after it was read:
    text over QA_MAX_TEXT_MB never leaves the worker; a raised limit reads the file again."""
    from qa.core.settings import Settings
    from qa.library import QA

    docs = tmp_path / "docs"
    write(docs, "good.txt", GOOD)
    write(docs, "long.txt", "Ledger\n\n" + "The tide tables were copied again. " * 9_000)
    settings = Settings(docs_dir=docs, index_dir=tmp_path / "index", max_text_mb=0.2)
    report = QA(settings, embedder=tiny_encoder).index()
    assert [(s.source, s.reason) for s in report.skipped] == [
        ("long.txt", "yields 0.3 MB of text, over the limit of 0.2 MB (QA_MAX_TEXT_MB)")]
    assert report.files == 1
    raised = QA(settings.with_overrides(max_text_mb=1.0), embedder=tiny_encoder).index()
    assert raised.skipped == [] and raised.files == 2


@pytest.mark.usefixtures("faulty_readers")
def test_a_reader_out_of_memory_is_named_so(tmp_path: Path) -> None:
    exhausted = write(tmp_path, "memory-reader.txt", GOOD)
    good = write(tmp_path, "good.txt", GOOD)
    outcomes = _outcomes([("memory-reader.txt", exhausted), ("good.txt", good)],
                         ReadLimits(workers=1))
    assert isinstance(outcomes["good.txt"], Document)
    assert outcomes["memory-reader.txt"] == SkippedFile(
        "memory-reader.txt", "ran out of memory while being read (over the 2,048 MB limit, "
        "QA_READ_MEMORY_MB)")


def test_a_folder_of_hostile_files_is_indexed_and_the_good_file_answers(tmp_path: Path, tiny_encoder
                                                                         ) -> None:  # type: ignore[no-untyped-def]
    from documents import lying_zip_docx, many_styles_docx, transcript_without_blank_lines

    from qa.core.settings import Settings
    from qa.library import QA

    docs = tmp_path / "docs"
    write(docs, "lines.pdf", many_lines_pdf(5_000))
    write(docs, "styles.docx", many_styles_docx(500))
    write(docs, "lying.docx", lying_zip_docx(50_000_000))
    write(docs, "transcript.txt", transcript_without_blank_lines(30))
    write(docs, "good.txt", GOOD)
    qa = QA(Settings(docs_dir=docs, index_dir=tmp_path / "index"), embedder=tiny_encoder)
    report = qa.index()
    assert [(s.source, s.reason.split(":")[0]) for s in report.skipped] == [
        ("lying.docx", "damaged archive")]
    assert report.files == 4
    assert qa.search("Where do visiting boats find fresh water?", 1).hits[0].passage.source \
        == "good.txt"


@pytest.mark.usefixtures("faulty_readers")
def test_an_upload_that_hangs_its_reader_is_refused_and_never_stored(tmp_path: Path, tiny_encoder
                                                                      ) -> None:  # type: ignore[no-untyped-def]
    from qa.core.settings import Settings
    from qa.library import QA
    from qa.serving.handlers import add_files

    docs = tmp_path / "docs"
    write(docs, "good.txt", GOOD)
    qa = QA(Settings(docs_dir=docs, index_dir=tmp_path / "index", read_seconds=2),
            embedder=tiny_encoder)
    qa.index()
    upload = write(tmp_path / "gradio", "hang-reader.txt", GOOD)
    started = time.monotonic()
    lines = add_files(qa, [upload])
    assert time.monotonic() - started < 20
    assert len(lines) == 1 and "took longer than 2 s" in lines[0], lines
    assert sorted(path.name for path in docs.iterdir()) == ["good.txt"]


@pytest.mark.slow  # takes long (waits out time limits)
@pytest.mark.usefixtures("faulty_readers")
def test_a_long_read_that_says_it_is_alive_is_given_its_time(tmp_path: Path) -> None:
    """OCR reports each page done: the time limit runs from the last report, so a long scan is
    read while a reader that goes silent is still stopped."""
    slow = write(tmp_path, "slow-reader.txt", GOOD)
    hung = write(tmp_path, "hang-reader.txt", GOOD)
    outcomes = _outcomes([("slow-reader.txt", slow), ("hang-reader.txt", hung)],
                         ReadLimits(seconds=2.5, workers=2))
    assert isinstance(outcomes["slow-reader.txt"], Document)
    assert "took longer than 2.5 s" in outcomes["hang-reader.txt"].reason  # type: ignore[union-attr]


@pytest.mark.usefixtures("faulty_readers")
def test_a_read_that_says_it_is_alive_forever_is_stopped_at_its_total_budget(tmp_path: Path
                                                                              ) -> None:
    """A 2,000-frame TIFF kept renewing its time limit page after page for minutes: however
    often a reader reports, the file's total budget ends it, with that reason."""
    endless = write(tmp_path, "endless-reader.txt", GOOD)
    good = write(tmp_path, "good.txt", GOOD)
    started = time.monotonic()
    outcomes = _outcomes([("endless-reader.txt", endless), ("good.txt", good)],
                         ReadLimits(seconds=1, total_seconds=2.5, workers=1))
    assert time.monotonic() - started < 30
    assert isinstance(outcomes["good.txt"], Document)
    assert outcomes["endless-reader.txt"] == SkippedFile(
        "endless-reader.txt", "took longer than 2.5 s in all to read (QA_READ_TOTAL_SECONDS), "
        "so it was stopped")


@pytest.mark.usefixtures("faulty_readers")
def test_a_stopped_reader_takes_the_processes_it_started_with_it(tmp_path: Path) -> None:
    """A reader stopped at its time limit while Tesseract runs leaves no Tesseract behind."""
    stuck = write(tmp_path, "child-reader.txt", GOOD)
    outcomes = _outcomes([("child-reader.txt", stuck)], ReadLimits(seconds=2, workers=1))
    assert isinstance(outcomes["child-reader.txt"], SkippedFile)
    child = int((tmp_path / "child-reader.txt.pid").read_text())
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(child, signal.SIGKILL)
    pytest.fail("the reader's child process outlived it")
