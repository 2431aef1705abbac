"""Adding a file from the page: a safe name inside the folder, never an overwrite."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.reading.uploads import UploadRefused, safe_name, store_upload


@pytest.mark.parametrize(("original", "stored"), [
    ("../../x.txt", "x.txt"), ("/etc/passwd.md", "passwd.md"), ("..\\..\\win.pdf", "win.pdf"),
    (".hidden.txt", "hidden.txt"), ("tab\there\n.txt", "tabhere.txt"), ("a<b>|c.docx", "a_b__c.docx"),
])
def test_names_stay_inside_the_folder(original: str, stored: str) -> None:
    assert safe_name(original) == stored


@pytest.mark.parametrize("original", ["run.exe", "no-suffix", "../../", ".pdf"])
def test_unknown_formats_are_refused(original: str) -> None:
    with pytest.raises(UploadRefused):
        safe_name(original)


def test_a_taken_name_is_never_overwritten(tmp_path: Path) -> None:
    docs, uploaded = tmp_path / "docs", tmp_path / "upload.txt"
    docs.mkdir()
    uploaded.write_text("first", encoding="utf-8")
    assert store_upload(docs, "../note.txt", uploaded, 100).name == "note.txt"
    assert store_upload(docs, "note.txt", uploaded, 100).new is False  # same content: kept once
    uploaded.write_text("second", encoding="utf-8")
    assert store_upload(docs, "note.txt", uploaded, 100).name == "note (2).txt"
    assert (docs / "note.txt").read_text(encoding="utf-8") == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs", "upload.txt"]
    with pytest.raises(UploadRefused, match="over the 3 limit"):
        store_upload(docs, "big.txt", uploaded, 3)
