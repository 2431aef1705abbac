"""The OCR cache believes nothing for being in its folder: an edited or damaged entry is
recognised again (never a skip), a FIFO in an entry's place blocks no one, a planted link is
never written through, the folder is private and bounded; and one pixel limit holds for
reading and showing an image."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import qa.reading.readers.ocr
from qa.reading.readers import UnreadableError, ocr_cache
from qa.reading.readers.image import read_image
from qa.reading.readers.ocr import MAX_PIXELS, OcrLine, OcrPage, OcrWord

needs_tesseract = pytest.mark.skipif(shutil.which("tesseract") is None,
                                     reason="Tesseract is not installed")


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "ocr-cache"
    monkeypatch.setenv("QA_OCR_CACHE", str(folder))
    monkeypatch.delenv("QA_OCR", raising=False)
    monkeypatch.delenv("QA_OCR_LANGUAGES", raising=False)
    monkeypatch.delenv("QA_OCR_CACHE_MB", raising=False)
    return folder


def line_image(text: str, shade: int = 255) -> bytes:
    """A small PNG of lines of text (`shade`, the paper's grey, makes its pixels differ)."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1000, 30 + 60 * (text.count("\n") + 1)), shade)
    ImageDraw.Draw(image).text((20, 20), text, fill=0, font=ImageFont.load_default(size=40))
    out = io.BytesIO()
    image.save(out, "PNG", dpi=(300, 300))
    return out.getvalue()


class FakeTesseract:
    """Stands in for Tesseract (fast, and counts its runs): finds `words` on any image."""

    def __init__(self, words: list[str]) -> None:
        self.words = words
        self.runs = 0

    def __call__(self, gray: Any, languages: str) -> OcrPage:
        self.runs += 1
        found = tuple(OcrWord(word, 20 + 30 * n, 20, 45 + 30 * n, 60, 95.0)
                      for n, word in enumerate(self.words))
        return OcrPage(gray.width, gray.height, (OcrLine(40.0, found),))


@pytest.fixture
def tesseract(monkeypatch: pytest.MonkeyPatch) -> FakeTesseract:
    fake = FakeTesseract(["The", "lamp", "burns", "paraffin"])
    monkeypatch.setattr(qa.reading.readers.ocr, "_tesseract", fake)
    return fake


def entries(cache: Path) -> list[Path]:
    return sorted(cache.rglob("*.json"))


def test_an_edited_entry_is_recognised_again(cache: Path, tesseract: FakeTesseract) -> None:
    image = line_image("The lamp burns paraffin")
    assert "paraffin" in read_image(image).text
    (entry,) = entries(cache)
    entry.write_text(entry.read_text().replace('"paraffin"', '"Evil Bank"'))
    again = read_image(image)
    assert "Evil Bank" not in again.text and "paraffin" in again.text
    assert tesseract.runs == 2
    assert "Evil Bank" not in entry.read_text()  # replaced by the page recognised again
    read_image(image)
    assert tesseract.runs == 2  # and believed from then on


def test_an_entry_moved_under_another_pages_key_is_not_believed(
        cache: Path, tesseract: FakeTesseract) -> None:
    first, second = line_image("one", shade=250), line_image("two", shade=240)
    read_image(first)
    tesseract.words = ["Evil", "Bank"]
    read_image(second)
    evil, plain = sorted(entries(cache), key=lambda path: "Evil" in path.read_text())[::-1]
    shutil.copyfile(evil, plain)
    tesseract.words = ["The", "lamp"]
    assert "Evil" not in read_image(first).text


@pytest.mark.parametrize("damage", [
    lambda text: re.sub(r'"width": \d+', '"width": 1e999', text),
    lambda text: re.sub(r'"width": \d+', '"width": -3', text),
    lambda text: re.sub(r'"width": \d+', '"width": "wide"', text),
    lambda text: re.sub(r'"size": [\d.]+', '"size": NaN', text),
    lambda text: text.replace('"paraffin"', '7'),
    lambda text: text.replace('95.0', '1e999'),
    lambda text: text[:len(text) // 2],
    lambda text: "[" * 100_000 + "]" * 100_000,
])
def test_a_damaged_entry_is_recognised_again(cache: Path, tesseract: FakeTesseract,
                                             damage: Any) -> None:
    image = line_image("The lamp burns paraffin")
    read_image(image)
    (entry,) = entries(cache)
    entry.write_text(damage(entry.read_text()))
    assert "paraffin" in read_image(image).text
    assert tesseract.runs == 2


@pytest.mark.parametrize("planted", ["link to a good entry", "oversized", "link as the key"])
def test_an_entry_or_key_that_is_not_a_plain_private_file_is_not_believed(
        cache: Path, tmp_path: Path, tesseract: FakeTesseract, planted: str) -> None:
    image = line_image("The lamp burns paraffin")
    read_image(image)
    (entry,) = entries(cache)
    if planted == "link as the key":  # a key the planter knows: entries they forged would pass
        known = tmp_path / "known-key"
        known.write_bytes((cache / "key").read_bytes())
        os.chmod(known, 0o600)
        (cache / "key").unlink()
        (cache / "key").symlink_to(known)
    else:
        elsewhere = tmp_path / "elsewhere.json"
        shutil.move(entry, elsewhere)
        if planted == "oversized":
            entry.write_text(elsewhere.read_text() + " " * ocr_cache.MAX_ENTRY_BYTES)
            os.chmod(entry, 0o600)
        else:
            entry.symlink_to(elsewhere)
    assert "paraffin" in read_image(image).text
    assert tesseract.runs == 2
    assert not entry.is_symlink() and not (cache / "key").is_symlink()


def test_a_page_from_json_checks_every_field() -> None:
    page = OcrPage(100, 50, (OcrLine(12.0, (OcrWord("word", 1, 2, 30, 20, 91.5),)),))
    assert OcrPage.from_json(page.to_json()) == page
    for bad in [{"width": 100, "height": 50}, {"width": 10**12, "height": 1, "lines": []},
                {"width": True, "height": 50, "lines": []},
                {"width": 100, "height": 50, "lines": [{"size": 12.0, "words": []}]},
                {"width": 100, "height": 50, "lines": [
                    {"size": 12.0, "words": [["word", 1, 2, 300, 20, 91.5]]}]},  # off the page
                {"width": 100, "height": 50, "lines": [
                    {"size": 12.0, "words": [["\ud835", 1, 2, 30, 20, 91.5]]}]},
                {"width": 100, "height": 50, "lines": [
                    {"size": float("inf"), "words": [["word", 1, 2, 30, 20, 91.5]]}]}]:
        with pytest.raises(ValueError):
            OcrPage.from_json(bad)


@needs_tesseract
def test_a_damaged_entry_never_skips_its_file(cache: Path, tmp_path: Path,
                                              tiny_encoder: Any) -> None:
    """With real Tesseract, in the reader workers of a build: damaged, then mended."""
    from documents import write

    from qa.core.settings import Settings
    from qa.library import QA

    docs = tmp_path / "docs"
    write(docs, "notice.png", line_image("Lamp notes\nThe lamp burns paraffin oil every night,\n"
                                         "and the keepers trim its wick at dawn."))
    write(docs, "other.txt", b"The keepers lived in the tower for three centuries.\n")

    def build(name: str) -> QA:  # a new index each time: its catalogue has not read the scan
        library = QA(Settings(docs_dir=docs, index_dir=tmp_path / name), embedder=tiny_encoder)
        assert library.index(force=True).skipped == []
        return library

    build("first")
    (entry,) = entries(cache)
    good = entry.read_text()
    entry.write_text(re.sub(r'"width": \d+', '"width": 1e999', good))
    library = build("damaged")
    assert "paraffin" in " ".join(p.text for p in library.passages("notice.png"))
    assert "1e999" not in entry.read_text()  # replaced by the page recognised again
    entry.write_text(good)  # mended by hand: as it was
    build("mended")


def test_a_fifo_in_place_of_an_entry_blocks_no_one(cache: Path,
                                                   tesseract: FakeTesseract) -> None:
    image = line_image("The lamp burns paraffin")
    read_image(image)
    (entry,) = entries(cache)
    entry.unlink()
    os.mkfifo(entry, 0o600)
    found: list[str] = []
    reading = threading.Thread(target=lambda: found.append(read_image(image).text), daemon=True)
    reading.start()
    reading.join(timeout=30)
    if reading.is_alive():  # let the stuck reader go before failing
        os.close(os.open(entry, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("reading an image waited on a FIFO in the OCR cache")
    assert "paraffin" in found[0] and stat.S_ISREG(entry.lstat().st_mode)


def test_the_viewer_reads_the_cache_without_pdfiums_lock(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    """PDFium's lock is process-wide: a cache read that waits must not hold every PDF view."""
    from PIL import Image
    from scans import multipage

    from qa.chunking.chunk import Passage
    from qa.reading.readers.pdfium import LOCK
    from qa.showing.view import marked_pages

    others_could_open_pdfs: list[bool] = []

    def cached_page(image: Any, settings: Any) -> None:
        def other_view() -> None:
            if LOCK.acquire(timeout=5):
                others_could_open_pdfs.append(True)
                LOCK.release()
            else:
                others_could_open_pdfs.append(False)
        other = threading.Thread(target=other_view)
        other.start()
        other.join()

    monkeypatch.setattr(qa.reading.readers.ocr, "cached_page", cached_page)
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(multipage([Image.open(io.BytesIO(line_image("The lamp")))], "PDF"))
    passage = Passage("scan.pdf", "scan", 1, 0, 8, "The lamp", page=1)
    (page,) = marked_pages(scan, passage, None)
    assert others_could_open_pdfs == [True] and page.passage == ()


def test_a_planted_part_link_is_not_written_through(cache: Path, tmp_path: Path,
                                                    tesseract: FakeTesseract) -> None:
    image = line_image("The lamp burns paraffin")
    read_image(image)
    (entry,) = entries(cache)
    entry.unlink()
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    for name in (f"{entry.stem}.{os.getpid()}.part", f"{entry.stem}.part"):
        (entry.parent / name).symlink_to(target)
    assert "paraffin" in read_image(image).text
    assert target.read_text() == "keep me"
    assert entry.is_file() and not entry.is_symlink()


def test_the_cache_is_private(cache: Path, tesseract: FakeTesseract) -> None:
    cache.mkdir(mode=0o755)
    os.chmod(cache, 0o755)  # a cache made by an older qa: tightened on use
    read_image(line_image("The lamp burns paraffin"))
    (entry,) = entries(cache)
    modes = {path.name: stat.S_IMODE(path.stat().st_mode)
             for path in (cache, entry.parent, entry, *cache.glob("key"))}
    assert modes == {cache.name: 0o700, entry.parent.name: 0o700, entry.name: 0o600,
                     "key": 0o600}


def test_a_cache_open_to_others_is_tightened_before_it_is_believed(
        cache: Path, tesseract: FakeTesseract) -> None:
    image = line_image("The lamp burns paraffin")
    read_image(image)
    (entry,) = entries(cache)
    os.chmod(entry, 0o666)  # writable by anyone: not an entry this cache vouches for
    read_image(image)
    assert tesseract.runs == 2 and stat.S_IMODE(entry.stat().st_mode) == 0o600


def test_the_cache_is_kept_under_its_bound(cache: Path, monkeypatch: pytest.MonkeyPatch,
                                           tesseract: FakeTesseract) -> None:
    monkeypatch.setenv("QA_OCR_CACHE_MB", "1")
    tesseract.words = [f"word{n:05d}" for n in range(4000)]  # about 200 kB an entry
    for shade in range(255, 235, -1):
        read_image(line_image("The lamp", shade=shade))
        stored = sum(path.stat().st_size for path in entries(cache))
        assert stored <= 2**20, f"{stored:,} bytes kept, over the 1 MB bound"
    assert len(entries(cache)) >= 3  # evicted down to the bound, not emptied


def test_eviction_takes_the_least_recently_used(tmp_path: Path) -> None:
    folder = tmp_path / "entries"
    value = {"words": "x" * 1000}
    keys = [f"{n:02x}" * 32 for n in range(4)]
    for key in keys[:3]:
        ocr_cache.write(folder, key, value, max_bytes=4000)
        time.sleep(0.02)
    assert ocr_cache.read(folder, keys[0]) == value  # used again: now the most recent
    time.sleep(0.02)
    ocr_cache.write(folder, keys[3], value, max_bytes=4000)
    kept = [key for key in keys if ocr_cache.read(folder, key) is not None]
    assert kept == [keys[0], keys[2], keys[3]]


def test_the_cache_bound_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from qa.core.settings import settings_from_env

    monkeypatch.setenv("QA_OCR_CACHE_MB", "5")
    assert settings_from_env().ocr_cache_mb == 5
    assert qa.reading.readers.ocr.OcrSettings.from_environment().cache_bytes == 5 * 2**20
    monkeypatch.setenv("QA_OCR_CACHE_MB", "-1")
    with pytest.raises(ValueError, match="QA_OCR_CACHE_MB"):
        settings_from_env()


def huge_png(tmp_path: Path, pixels: int) -> Path:
    """A blank one-bit PNG of about `pixels` pixels (small on disk)."""
    from PIL import Image

    side = int(pixels ** 0.5) + 1
    path = tmp_path / "huge.png"
    Image.new("1", (side, side), 1).save(path, "PNG")
    return path


def test_one_pixel_limit_for_reading_and_showing(tmp_path: Path) -> None:
    """225 M pixels: between the old limits (reading refused at 240 M, the viewer's Pillow at
    179 M), so it was indexed and its view answered 500. Now both refuse it, saying why."""
    from qa.chunking.chunk import Passage
    from qa.showing.view import PageImages, ViewError, marked_pages

    path = huge_png(tmp_path, 225_000_000)
    passage = Passage("huge.png", "huge", 1, 0, 8, "The lamp", page=1)
    with pytest.raises(ViewError, match=f"over the {MAX_PIXELS:,} a page may have"):
        PageImages(10_000_000).png(path, 1, 700)
    with pytest.raises(ViewError, match=f"over the {MAX_PIXELS:,} a page may have"):
        marked_pages(path, passage, None)
    with pytest.raises(UnreadableError, match=f"over the {MAX_PIXELS:,} a page may have"):
        read_image(path.read_bytes())


def test_a_frame_over_the_limit_refuses_the_file_before_any_ocr(
        tmp_path: Path, tesseract: FakeTesseract) -> None:
    from PIL import Image

    small = Image.open(io.BytesIO(line_image("The lamp")))
    side = int(MAX_PIXELS ** 0.5) + 1
    out = io.BytesIO()
    small.save(out, "TIFF", save_all=True, append_images=[Image.new("1", (side, side), 1)])
    with pytest.raises(UnreadableError, match="a page may have"):
        read_image(out.getvalue())
    assert tesseract.runs == 0


def test_an_entry_is_json_a_user_can_read(cache: Path, tesseract: FakeTesseract) -> None:
    read_image(line_image("The lamp burns paraffin"))
    (entry,) = entries(cache)
    data = json.loads(entry.read_text())
    assert set(data) == {"mac", "value"} and data["value"]["lines"][0]["words"][3][0] == "paraffin"


def test_a_huge_pdf_page_is_recognised_within_the_pixel_limit() -> None:
    import math

    import pypdfium2 as pdfium

    from qa.reading.readers.pdfium import ocr_scale

    document = pdfium.PdfDocument.new()
    try:
        letter, poster = document.new_page(612, 792), document.new_page(14_400, 14_400)
        assert ocr_scale(letter) == 300 / 72  # an ordinary page at the usual resolution
        scale = ocr_scale(poster)
        assert math.ceil(14_400 * scale) ** 2 <= MAX_PIXELS < (14_400 * 300 / 72) ** 2
    finally:
        document.close()
