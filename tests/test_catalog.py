"""The catalogue: an unchanged file is never read again, a renamed or touched one never
extracted again, an edited one read once; documents are chunked only when a build needs them."""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from documents import image_only_pdf, report_pdf, write

from qa.core.settings import Settings
from qa.indexing import catalog
from qa.library import QA
from qa.reading.load import DocumentFolderError


@pytest.fixture()
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every file handed to a reader worker, and every document chunked, by source."""
    seen: list[str] = []
    real_read, real_chunk = catalog.read_files, catalog.chunk_document

    def read_files(files, limits) -> Iterator:  # type: ignore[no-untyped-def]
        seen.extend(f"read {source}" for source, _ in files)
        return real_read(files, limits)

    def chunk_document(document):  # type: ignore[no-untyped-def]
        seen.append(f"chunk {document.source}")
        return real_chunk(document)

    monkeypatch.setattr(catalog, "read_files", read_files)
    monkeypatch.setattr(catalog, "chunk_document", chunk_document)
    return seen


def folder_qa(tmp_path: Path, embedder) -> QA:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    docs.mkdir()
    write(docs, "harbour.txt", "Harbour\n\nThe harbour master logs every ship that enters the "
          "bay before dawn.\n\nThe pier was rebuilt in 1921 after a storm.")
    write(docs, "garden.md", "# Garden\n\nThe garden grows tomatoes and basil along the wall.")
    write(docs, "report.pdf", report_pdf())
    write(docs, "scan.pdf", image_only_pdf())
    return QA(Settings(docs_dir=docs, index_dir=tmp_path / "index"), embedder=embedder)


def test_an_unchanged_folder_reads_and_chunks_nothing(tmp_path: Path, tiny_encoder,  # type: ignore[no-untyped-def]
                                                      reads: list[str]) -> None:
    qa = folder_qa(tmp_path, tiny_encoder)
    first = qa.index()
    assert sorted(r for r in reads if r.startswith("read")) == [
        "read garden.md", "read harbour.txt", "read report.pdf", "read scan.pdf"]
    assert [s.source for s in first.skipped] == ["scan.pdf"]
    reads.clear()
    again = QA(qa.settings, embedder=tiny_encoder).index()  # a new process: `qa ask`, `qa serve`
    assert reads == []
    assert (again.rebuilt_because, again.files, again.passages) == ("", 3, first.passages)
    assert again.skipped == first.skipped  # the scan's reason, remembered, not read again


def test_a_skipped_file_is_warned_of_once_not_on_every_question(
        tmp_path: Path, tiny_encoder, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    # Every `qa ask` checks the folder: the new-user trial saw "skipping empty.txt: empty"
    # before each answer.
    qa = folder_qa(tmp_path, tiny_encoder)
    write(qa.settings.docs_dir, "empty.txt", "")

    def warned() -> list[str]:
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="qa.indexing.catalog"):
            QA(qa.settings, embedder=tiny_encoder).index()  # a new process each time
        return sorted(r.getMessage().split(":")[0] for r in caplog.records
                      if r.levelno == logging.WARNING and r.getMessage().startswith("skipping"))

    assert warned() == ["skipping empty.txt", "skipping scan.pdf"]
    assert warned() == []
    assert "skipping empty.txt: empty" in caplog.text  # still said, as information (-v)
    # A file newly skipped, or skipped for another reason, is warned of again.
    write(qa.settings.docs_dir, "blank.txt", "")
    write(qa.settings.docs_dir, "empty.txt", "— — —\n")  # now: no prose
    assert warned() == ["skipping blank.txt", "skipping empty.txt"]


def test_touched_and_renamed_files_are_hashed_not_extracted(tmp_path: Path, tiny_encoder,  # type: ignore[no-untyped-def]
                                                            reads: list[str]) -> None:
    qa = folder_qa(tmp_path, tiny_encoder)
    qa.index()
    docs = qa.settings.docs_dir
    os.utime(docs / "garden.md", ns=(1, 1))
    (docs / "report.pdf").rename(docs / "annual-report.pdf")
    reads.clear()
    report = qa.index()
    # The contents are known: no reader runs; the build chunks the cached documents.
    assert sorted(reads) == ["chunk annual-report.pdf", "chunk garden.md", "chunk harbour.txt"]
    assert report.embedded_passages == 0 and report.rebuilt_because
    hit = qa.search("What lamp does the Cordouan lighthouse burn?").hits[0]
    assert hit.passage.source == "annual-report.pdf"
    assert "report.pdf" not in qa.searcher.sources


def test_an_edited_file_is_read_once_and_a_deleted_one_leaves(tmp_path: Path, tiny_encoder,  # type: ignore[no-untyped-def]
                                                              reads: list[str]) -> None:
    qa = folder_qa(tmp_path, tiny_encoder)
    qa.index()
    docs = qa.settings.docs_dir
    write(docs, "harbour.txt", "Harbour\n\nThe harbour master logs every ship that enters the "
          "bay before dawn.\n\nThe lighthouse keeper saw a green comet over the bay.")
    (docs / "garden.md").unlink()
    reads.clear()
    report = qa.index()
    assert reads == ["read harbour.txt", "chunk harbour.txt", "chunk report.pdf"]
    assert report.embedded_passages == 1
    assert qa.searcher.sources == ["harbour.txt", "report.pdf"]
    assert qa.search("Who saw a green comet?").hits[0].passage.source == "harbour.txt"
    reads.clear()
    assert qa.index().rebuilt_because == "" and reads == []


def test_an_empty_folder_is_an_error_until_it_held_documents(tmp_path: Path, tiny_encoder  # type: ignore[no-untyped-def]
                                                              ) -> None:
    """A folder that never held a document is a mistake worth saying (a wrong path); one whose
    documents were all deleted is an index of nothing, never one of the deleted files."""
    docs = tmp_path / "docs"
    docs.mkdir()
    write(docs, "scan.pdf", image_only_pdf())
    qa = QA(Settings(docs_dir=docs, index_dir=tmp_path / "index"), embedder=tiny_encoder)
    with pytest.raises(DocumentFolderError, match=r"no usable documents .*\(1 skipped\)"):
        qa.index()
    write(docs, "garden.md", "# Garden\n\nThe garden grows tomatoes and basil along the wall.")
    assert qa.index().passages == 1
    (docs / "garden.md").unlink()
    report = qa.index()
    assert (report.files, report.passages, qa.searcher.sources) == (0, 0, [])
    assert [skip.source for skip in report.skipped] == ["scan.pdf"]


def test_a_damaged_catalogue_is_read_again_from_the_files(tmp_path: Path, tiny_encoder,  # type: ignore[no-untyped-def]
                                                          reads: list[str]) -> None:
    qa = folder_qa(tmp_path, tiny_encoder)
    first = qa.index()
    entries = qa.settings.index_dir / "catalog" / "entries.json"
    entries.write_text("{not json", encoding="utf-8")
    shutil.rmtree(qa.settings.index_dir / "catalog" / "documents")
    reads.clear()
    report = QA(qa.settings, embedder=tiny_encoder).index()
    assert sorted(r for r in reads if r.startswith("read")) == [
        "read garden.md", "read harbour.txt", "read report.pdf", "read scan.pdf"]
    assert report.rebuilt_because == "" and report.passages == first.passages
    assert json.loads(entries.read_text(encoding="utf-8"))["files"].keys() == {
        "garden.md", "harbour.txt", "report.pdf", "scan.pdf"}


def test_a_new_chunking_version_chunks_again_without_reading(tmp_path: Path, tiny_encoder,  # type: ignore[no-untyped-def]
                                                              reads: list[str]) -> None:
    qa = folder_qa(tmp_path, tiny_encoder)
    qa.index()
    kept = catalog.Catalog(qa.settings.index_dir / "catalog", chunking_version=-1)
    limits = catalog.ReadLimits()
    assert all(kept.summary(h, limits) is None or kept.summary(h, limits).reason  # type: ignore[union-attr]
               or kept.summary(h, limits).passages is None  # type: ignore[union-attr]
               for _, h in kept.files.values())
    reads.clear()
    corpus = catalog.read_folder(qa.settings.docs_dir, 1_000_000, catalog.ReadLimits(), kept)
    assert sorted(reads) == ["chunk garden.md", "chunk harbour.txt", "chunk report.pdf"]
    assert set(corpus.files) == {"garden.md", "harbour.txt", "report.pdf"}


def test_verify_finds_an_edit_that_kept_size_time_and_inode(tmp_path: Path, tiny_encoder) -> None:  # type: ignore[no-untyped-def]
    qa = folder_qa(tmp_path, tiny_encoder)
    qa.index()
    path = qa.settings.docs_dir / "garden.md"
    status = path.stat()
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("tomatoes", "potatoes"), encoding="utf-8")
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert qa.index().rebuilt_because == ""  # unseen: the stamp is the same
    kept = catalog.Catalog(qa.settings.index_dir / "catalog", 0)
    assert catalog.changed_behind_stamps(qa.settings.docs_dir, kept) == (4, ["garden.md"])
    assert qa.index().embedded_passages == 1
    assert "potatoes" in qa.search("What does the garden grow?").hits[0].passage.text


@pytest.mark.slow  # takes long (waits out time limits)
@pytest.mark.usefixtures("faulty_readers")
def test_a_file_that_ran_out_of_time_is_tried_again_only_under_other_limits(  # type: ignore[no-untyped-def]
        tmp_path: Path, tiny_encoder, reads: list[str]) -> None:
    """A watched folder applies many batches: a file that hangs its reader must not cost its
    time-out in every one of them. Raised limits try it again."""
    qa = folder_qa(tmp_path, tiny_encoder)
    write(qa.settings.docs_dir, "hang-reader.txt", "Never read\n\nIts reader never answers.")
    settings = qa.settings.with_overrides(read_seconds=2.0)
    first = QA(settings, embedder=tiny_encoder).index()
    assert "read hang-reader.txt" in reads
    [slow] = [s for s in first.skipped if s.source == "hang-reader.txt"]
    assert "took longer than 2 s" in slow.reason
    reads.clear()
    again = QA(settings, embedder=tiny_encoder).index()
    assert reads == [] and slow in again.skipped
    reads.clear()
    QA(settings.with_overrides(read_seconds=2.5), embedder=tiny_encoder).index()
    assert "read hang-reader.txt" in reads


def test_a_lost_extraction_is_read_again_when_a_build_needs_it(tmp_path: Path, tiny_encoder,  # type: ignore[no-untyped-def]
                                                                reads: list[str]) -> None:
    """Opening an index does not check that each cached document is still there; a build that
    needs one that is gone reads its file again."""
    qa = folder_qa(tmp_path, tiny_encoder)
    qa.index()
    shutil.rmtree(qa.settings.index_dir / "catalog" / "documents")
    reads.clear()
    assert QA(qa.settings, embedder=tiny_encoder).index().rebuilt_because == ""
    assert reads == []  # nothing changed: nothing needed
    write(qa.settings.docs_dir, "new.txt", "New\n\nThe ferry to the island leaves at nine.")
    report = QA(qa.settings, embedder=tiny_encoder).index()
    assert report.embedded_passages == 1
    assert sorted(r for r in reads if r.startswith("read")) == [
        "read garden.md", "read harbour.txt", "read new.txt", "read report.pdf"]
