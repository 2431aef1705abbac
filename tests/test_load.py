import os
from pathlib import Path

import pytest

from qa.reading.isolation import load_folder
from qa.reading.load import DocumentFolderError


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentFolderError, match="does not exist"):
        load_folder(tmp_path / "nope")


def test_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentFolderError, match="no usable"):
        load_folder(tmp_path)


def test_bad_files_are_skipped_with_their_names(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text("Title\n\nA fine paragraph of text.", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("   \n", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (tmp_path / "nul.txt").write_bytes(b"abc\x00def")
    (tmp_path / "ignored.xyz").write_bytes(b"not a document format qa reads")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "bom.txt").write_bytes("\ufeffTitle\r\n\r\nWith a byte order mark.".encode())
    loaded = load_folder(tmp_path)
    assert sorted(d.source for d in loaded.documents) == ["good.md", "sub/bom.txt"]
    assert not loaded.documents[1].text.startswith("\ufeff")
    reasons = {s.source: s.reason for s in loaded.skipped}
    assert set(reasons) == {"empty.txt", "latin1.txt", "nul.txt", "broken.pdf"}
    assert "not a readable PDF" in reasons["broken.pdf"]
    assert "UTF-8" in reasons["latin1.txt"]


def test_symlink_outside_the_folder_is_skipped(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("Secret\n\nNot part of the documents folder.", encoding="utf-8")
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "ok.txt").write_text("Title\n\nInside the folder, fine.", encoding="utf-8")
    os.symlink(outside, folder / "link.txt")
    loaded = load_folder(folder)
    assert [d.source for d in loaded.documents] == ["ok.txt"]
    assert loaded.skipped[0].source == "link.txt"
    assert "outside" in loaded.skipped[0].reason


def test_too_large_file_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("Title\n\nSmall file here.", encoding="utf-8")
    (tmp_path / "big.txt").write_text("word " * 1000, encoding="utf-8")
    loaded = load_folder(tmp_path, max_file_bytes=1000)
    assert [s.source for s in loaded.skipped] == ["big.txt"]
