"""Bad files and names are skipped or shown safely, never fatal; builds take turns and clean up;
`qa verify` trusts no stamp."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO

from qa.cli import main
from qa.core.settings import Settings
from qa.indexing import store
from qa.library import QA
from qa.reading.isolation import load_folder
from qa.serving.handlers import citation_choices
from qa.serving.webapp import build_page
from qa.showing.exports import ExportFolder
from qa.showing.hits_html import render_results
from qa.showing.view_html import DocumentViews, ViewRequest

GOOD = "Good note\n\nThe lighthouse keeper logs every passing ship in a leather book."


def folder_with(tmp_path: Path, **files: str) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "good.txt").write_text(GOOD, encoding="utf-8")
    for name, text in files.items():
        (docs / name).write_text(text, encoding="utf-8")
    return docs


def test_symlink_loop_is_skipped(tmp_path: Path) -> None:
    docs = folder_with(tmp_path)
    os.symlink(docs / "loop-b.txt", docs / "loop-a.txt")
    os.symlink(docs / "loop-a.txt", docs / "loop-b.txt")
    os.symlink(docs, docs / "self")  # a folder linking to itself is not followed
    loaded = load_folder(docs)
    assert [d.source for d in loaded.documents] == ["good.txt"]
    assert {s.source: s.reason for s in loaded.skipped} == {
        "loop-a.txt": "symlink loop", "loop-b.txt": "symlink loop"}


def test_file_name_that_is_not_utf8_is_skipped_by_name(tmp_path: Path, tiny_encoder) -> None:  # type: ignore[no-untyped-def]
    docs = folder_with(tmp_path)
    (docs / os.fsdecode(b"caf\xe9.txt")).write_text("Cafe\n\nA note about the cafe menu.",
                                                    encoding="utf-8")
    qa = QA(Settings(docs_dir=docs, index_dir=tmp_path / "index"), embedder=tiny_encoder)
    report = qa.index()
    assert report.files == 1
    assert [(s.source, s.reason) for s in report.skipped] == [
        ("caf\\xe9.txt", "file name is not valid UTF-8; rename the file")]
    assert [p.name for p in (tmp_path / "index").glob("build-*")] == [
        store.read_manifest(tmp_path / "index").build]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_unreadable_folder_is_skipped(tmp_path: Path) -> None:
    docs = folder_with(tmp_path)
    (docs / "locked").mkdir()
    (docs / "locked" / "inside.txt").write_text(GOOD, encoding="utf-8")
    (docs / "locked").chmod(0)
    try:
        loaded = load_folder(docs)
    finally:
        (docs / "locked").chmod(0o755)
    assert [s.source for s in loaded.skipped] == ["locked"]


def test_unreadable_entry_is_skipped(tmp_path: Path) -> None:
    docs = folder_with(tmp_path)
    os.mkfifo(docs / "pipe.txt")  # reading it would block for ever
    os.symlink(docs / "missing.txt", docs / "dangling.txt")
    loaded = load_folder(docs)
    assert [d.source for d in loaded.documents] == ["good.txt"]
    assert {s.source for s in loaded.skipped} == {"pipe.txt", "dangling.txt"}


def test_file_with_no_passage_is_named(tmp_path: Path, tiny_encoder) -> None:  # type: ignore[no-untyped-def]
    docs = folder_with(tmp_path)
    (docs / "one-line.txt").write_text("x" * 5_000_000, encoding="utf-8")
    qa = QA(Settings(docs_dir=docs, index_dir=tmp_path / "index"), embedder=tiny_encoder)
    report = qa.index()
    assert [(s.source, s.reason.split(":")[0]) for s in report.skipped] == [
        ("one-line.txt", "no passage")]
    assert report.passages == 1


def test_odd_names_work_in_page_citations_and_document_view(tmp_path: Path, tiny_encoder) -> None:  # type: ignore[no-untyped-def]
    names = ["tab\there.txt", "new\nline.txt", "<b onmouseover=alert(1)>x.txt"]
    docs = folder_with(tmp_path)
    for number, name in enumerate(names):
        (docs / name).write_text(f"Odd {number}\n\nThe zeppelin number {number} carries "
                                 "mail across the northern sea.", encoding="utf-8")
    qa = QA(Settings(docs_dir=docs, index_dir=tmp_path / "index"), embedder=tiny_encoder)
    assert qa.index().files == 4
    result = qa.search("zeppelin carries mail", k=4, mode="lexical")
    assert {hit.passage.source for hit in result.hits} >= set(names)
    page = render_results(result)
    assert "<b onmouseover" not in page and "tab\\there.txt" in page
    for label, value in citation_choices(result):
        assert "\t" not in label and "\n" not in label
        named = ViewRequest.from_json(value)
        assert named is not None
        document = DocumentViews(qa, 1_000_000).html(named)
        assert 'id="qa-target"' in document and "<b onmouseover" not in document
    assert ViewRequest.from_json("tab\there.txt\t1") is None  # refused, not crashed
    assert "\n" not in citations_of(result)
    build_page(qa, ExportFolder(tmp_path / "exports"))


def citations_of(result) -> str:  # type: ignore[no-untyped-def]
    from qa.showing.cite import citation_text

    return " | ".join(citation_text(hit) for hit in result.hits)


def test_failed_build_leaves_no_folder(tmp_path: Path, tiny_encoder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    docs = folder_with(tmp_path)
    index = tmp_path / "index"
    qa = QA(Settings(docs_dir=docs, index_dir=index), embedder=tiny_encoder)

    def broken(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store, "write_vectors", broken)
    with pytest.raises(OSError, match="disk full"):
        qa.index()
    assert list(index.glob("build-*")) == []


def test_next_build_removes_leftovers_of_killed_builds(tmp_path: Path, tiny_encoder) -> None:  # type: ignore[no-untyped-def]
    docs = folder_with(tmp_path)
    index = tmp_path / "index"
    qa = QA(Settings(docs_dir=docs, index_dir=index), embedder=tiny_encoder)
    qa.index()
    live = store.read_manifest(index).build
    (index / "build-20260101-000000-dead").mkdir()
    (index / "build-20260101-000000-dead" / "vectors.npy").write_bytes(b"\0" * 1000)
    stale = index / ".manifest.json.abc123"
    stale.write_text("{}", encoding="utf-8")
    os.utime(stale, (time.time() - 60, time.time() - 60))
    report = qa.index()
    assert not report.rebuilt_because
    assert [p.name for p in index.glob("build-*")] == [live]
    assert not stale.exists()


def test_second_build_waits_for_the_first_then_reports(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    docs = folder_with(tmp_path)
    index = tmp_path / "index"
    settings = Settings(docs_dir=docs, index_dir=index)
    held = threading.Event()
    release = threading.Event()

    def hold_the_lock() -> None:
        with store.writer_lock(index):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    held.wait(10)
    build = subprocess.Popen(
        ["timeout", "300", sys.executable, "-m", "qa.cli", "index", "--docs", str(docs),
         "--index", str(index)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    time.sleep(20)  # long enough for the model to load and the build to reach the lock
    assert build.poll() is None, build.communicate()
    assert not (index / store.MANIFEST_NAME).exists()
    release.set()
    holder.join()
    out, err = build.communicate(timeout=240)
    assert build.returncode == 0, err
    assert "another build of" in err and "waiting" in err
    assert "1 files, 1 passages (1 embedded" in out
    assert QA(settings, embedder=embedder).index().rebuilt_because == ""


def test_verify_rehashes_everything_and_names_damage(tmp_path: Path, tiny_encoder) -> None:  # type: ignore[no-untyped-def]
    docs = folder_with(tmp_path)
    index = tmp_path / "index"
    QA.open(Settings(docs_dir=docs, index_dir=index), embedder=tiny_encoder)
    arguments = ["verify", "--docs", str(docs), "--index", str(index)]
    clean = CliRunner().invoke(main, arguments)
    assert clean.exit_code == 0 and "files match their checksums" in clean.stdout, clean.output
    # Damage that keeps size and modification time: the stamp shortcut cannot see it.
    table = index / store.read_manifest(index).build / store.PASSAGES_NAME
    status = table.stat()
    damaged = table.read_text(encoding="utf-8").replace("lighthouse", "lightHouse")
    table.write_text(damaged, encoding="utf-8")
    os.utime(table, ns=(status.st_atime_ns, status.st_mtime_ns))
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 1
    assert "damaged: index file" in result.stderr and "passages.jsonl" in result.stderr
    assert not (index / store.VERIFIED_NAME).exists()
    assert json.loads((index / store.MANIFEST_NAME).read_text())["build"]


def test_an_index_nobody_may_write_to_still_answers(tmp_path: Path, tiny_encoder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    docs = folder_with(tmp_path)
    index = tmp_path / "index"
    settings = Settings(docs_dir=docs, index_dir=index)
    QA.open(settings, embedder=tiny_encoder)
    (index / store.LOCK_NAME).unlink()
    # Root may write anywhere, so the test says what a read-only folder would answer.
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if Path(path) == index
                        else real_access(path, mode))
    reader = QA.open(settings, embedder=tiny_encoder)
    assert reader.search("lighthouse keeper log", k=1).hits[0].passage.source == "good.txt"
    assert not (index / store.LOCK_NAME).exists()
