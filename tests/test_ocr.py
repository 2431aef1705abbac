"""OCR by Tesseract on scans made here (rendered, tilted, noisy, JPEG-compressed): an image-only
PDF reads as its text-layer twin does, a mixed PDF recognises only its pages without text,
images and multi-page TIFFs give pages, each page is recognised once, and OCR that is off or
lacks a language pack says so."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from documents import LAMP, report_pdf, two_column_pdf, write
from scans import encoded, multipage, scanned

from qa.chunking.chunk import chunk_document
from qa.reading.isolation import load_folder
from qa.reading.load import Document
from qa.reading.readers import UnreadableError, set_reporter
from qa.reading.readers.image import read_image
from qa.reading.readers.pdf import read_pdf

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None,
                                reason="Tesseract is not installed (scripts/test installs it)")


@pytest.fixture(autouse=True)
def ocr_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "ocr-cache"
    monkeypatch.setenv("QA_OCR_CACHE", str(cache))
    monkeypatch.delenv("QA_OCR", raising=False)
    monkeypatch.delenv("QA_OCR_LANGUAGES", raising=False)
    return cache


def folded(text: str) -> str:
    return " ".join(text.split())


def report_scan() -> bytes:
    report = report_pdf()
    return multipage([scanned(report, page, seed=page) for page in range(3)], "PDF")


@pytest.mark.slow  # takes long (OCR)
def test_an_image_only_pdf_reads_as_its_text_layer_twin() -> None:
    """Running header and footer dropped, the heading found, the paragraph that crosses the page
    break one passage cited to both pages, the word hyphenated at a line end rejoined."""
    scan = read_pdf(report_scan())
    document = Document("scan.pdf", scan.text, "hash", scan.page_starts, scan.headings)
    passages = chunk_document(document)
    assert len(scan.page_starts) == 3
    assert "Annual Report" not in scan.text and "Page 1 of 3" not in scan.text
    assert passages[0].title == "The Cordouan Lighthouse"
    crossing = next(p for p in passages if "Cordouan stands on a rock" in p.text)
    assert (crossing.page, crossing.page_end, crossing.section) == (1, 2, "History")
    assert "the information that sailors needed" in crossing.text
    lamp = next(p for p in passages if "paraffin" in p.text)
    assert (lamp.page, lamp.section) == (2, "The lamp")
    assert "electric bulb of 1,000 watts" in lamp.text


def test_a_two_column_scan_reads_column_by_column() -> None:
    text = read_pdf(multipage([scanned(two_column_pdf(), dpi=250)], "PDF")).text
    left_end = text.index("Left column line 8")
    # Line 1 is left out: Tesseract often reads a lone "1" as "|" or "l".
    assert all(text.index(f"Left column line {n}") < left_end for n in range(2, 8))
    assert left_end < text.index("Right column line 2")


def test_a_mixed_pdf_recognises_only_its_pages_without_text(ocr_cache: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.append(PdfReader(_bytes_io(report_pdf())), pages=[0, 1])  # pages 1-2 keep their text
    writer.append(PdfReader(_bytes_io(multipage([scanned(report_pdf(), 2)], "PDF"))))
    mixed = _bytes_io()
    writer.write(mixed)
    extracted = read_pdf(mixed.getvalue())
    assert len(extracted.page_starts) == 3
    assert "list of keepers from 1611 to 2012" in folded(extracted.text[extracted.page_starts[2]:])
    assert len(list(ocr_cache.rglob("*.json"))) == 1  # one page recognised


@pytest.mark.slow  # takes long (OCR)
def test_images_and_multipage_tiffs_are_pages(tmp_path: Path) -> None:
    report = report_pdf()
    pages = [scanned(report, page, seed=page) for page in range(3)]
    jpeg = read_image(encoded(pages[1], "JPEG"))
    assert "electric bulb of 1,000 watts" in folded(jpeg.text) and len(jpeg.page_starts) == 1
    png = read_image(encoded(pages[2], "PNG"))
    assert "list of keepers from 1611 to 2012" in folded(png.text)
    tiff = read_image(multipage(pages, "TIFF"))
    assert len(tiff.page_starts) == 3
    assert "list of keepers" in tiff.text[tiff.page_starts[2]:]
    assert "paraffin" in tiff.text[tiff.page_starts[1]:tiff.page_starts[2]]


def test_each_page_is_recognised_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A second read of the same pixels, under another name, runs no Tesseract."""
    import qa.reading.readers.ocr

    image = encoded(scanned(report_pdf(), 1), "JPEG")
    first = read_image(image)

    def no_tesseract(*arguments: object) -> None:
        raise AssertionError("Tesseract ran again")

    monkeypatch.setattr(qa.reading.readers.ocr, "_tesseract", no_tesseract)
    write(tmp_path / "docs", "renamed-scan.jpg", image)
    loaded = load_folder(tmp_path / "docs")
    assert loaded.skipped == [] and loaded.documents[0].text == first.text


def test_ocr_off_or_a_missing_language_pack_is_said(monkeypatch: pytest.MonkeyPatch) -> None:
    image = encoded(scanned(report_pdf(), 2), "PNG")
    monkeypatch.setenv("QA_OCR", "off")
    with pytest.raises(UnreadableError, match=r"OCR, which is off \(QA_OCR=off\)"):
        read_image(image)
    with pytest.raises(UnreadableError, match="OCR is off"):
        read_pdf(multipage([scanned(report_pdf(), 2)], "PDF"))
    monkeypatch.setenv("QA_OCR", "on")
    monkeypatch.setenv("QA_OCR_LANGUAGES", "eng+zzz")
    with pytest.raises(UnreadableError, match="apt-get install tesseract-ocr-zzz"):
        read_image(image)
    monkeypatch.setenv("QA_OCR_LANGUAGES", "eng; rm -rf /")
    with pytest.raises(UnreadableError, match="must be Tesseract's form"):
        read_image(image)


def test_a_page_read_with_low_confidence_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import qa.reading.readers.ocr
    from qa.reading.readers.ocr import OcrLine, OcrPage, OcrWord

    def unsure(gray: object, languages: str) -> OcrPage:
        said = ["smudged", "words", "that", "were", "hard", "to", "read"]
        words = tuple(OcrWord(word, 100 + 60 * n, 100, 150 + 60 * n, 130, 21.0)
                      for n, word in enumerate(said))
        return OcrPage(1700, 2200, (OcrLine(30.0, words),))

    heard: list[tuple[str, str]] = []
    monkeypatch.setattr(qa.reading.readers.ocr, "_tesseract", unsure)
    set_reporter(lambda kind, message: heard.append((kind, message)))
    try:
        read_image(encoded(scanned(two_column_pdf()), "PNG"))
    finally:
        from qa.reading.readers import _log_report

        set_reporter(_log_report)
    notices = [message for kind, message in heard if kind == "notice"]
    assert notices == ["the image was read by OCR with low confidence (21 of 100): its text may "
                       "hold errors"]


@pytest.mark.slow  # takes long (OCR)
def test_a_folder_of_scans_answers_from_them(tiny_encoder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from qa.core.settings import Settings
    from qa.library import QA

    report = report_pdf()
    docs = tmp_path / "docs"
    write(docs, "scan.pdf", report_scan())
    write(docs, "photo.jpg", encoded(scanned(report, 1, tilt=-2.0, noise=30), "JPEG", quality=30))
    qa = QA(Settings(docs_dir=docs, index_dir=tmp_path / "index"), embedder=tiny_encoder)
    report_of_build = qa.index()
    assert report_of_build.skipped == []
    question = "How far out to sea does the lighthouse beam reach?"
    hits = qa.search(question, k=5, collapse=False).hits
    assert {hit.passage.source for hit in hits[:2]} == {"scan.pdf", "photo.jpg"}
    assert all(hit.passage.page == (2 if hit.passage.source == "scan.pdf" else 1)
               for hit in hits[:2])
    assert LAMP[1].split(",")[0].split()[-1] in hits[0].passage.text  # "beam"
    # The scan and the photo read the same paragraph: collapsed (the default), one hit names
    # the other as its copy, at its own page.
    (first, *_) = qa.search(question, k=5).hits
    places = {(hit.passage.source, hit.passage.page) for hit in (first, *first.copies)}
    assert places == {("scan.pdf", 2), ("photo.jpg", 1)}, places


def test_a_tilted_page_read_upright_keeps_its_words_where_they_stand(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """OCR reads a tilted page turned upright, and the viewer marks its words on the picture as
    it is: each word's box lands where Tesseract finds it on the tilted picture itself."""
    import statistics

    from qa.reading.readers import ocr

    picture = scanned(report_pdf(), 0, tilt=1.4, noise=8.0).convert("L")
    assert abs(math.degrees(ocr._skew(ocr._denoised(picture))) + 1.4) < 0.25
    settings = ocr.OcrSettings.from_environment()  # the test's own cache
    (upright,) = ocr.recognise([lambda: picture], settings, ["the page"])
    assert ocr.cached_page(picture, settings) == upright  # the viewer's words
    monkeypatch.setattr(ocr, "_skew", lambda gray: 0.0)
    as_tilted = ocr._tesseract(picture, "eng")

    def once(page: ocr.OcrPage) -> dict[str, ocr.OcrWord]:
        words = [word for line in page.lines for word in line.words]
        texts = [word.text for word in words]
        return {word.text: word for word in words if texts.count(word.text) == 1}

    found, expected = once(upright), once(as_tilted)
    shared = found.keys() & expected.keys()
    height = statistics.median(word.bottom - word.top for word in expected.values())
    assert len(shared) >= 20
    # Turned about the page's centre and not back, words a thousand pixels from it would
    # stand some twenty pixels off; read twice, a word's box may differ by a letter's edge.
    off = sorted(abs(found[t].left + found[t].right - expected[t].left - expected[t].right) / 2
                 + abs(found[t].top + found[t].bottom - expected[t].top - expected[t].bottom) / 2
                 for t in shared)
    assert off[len(off) // 2] < height / 5 and off[9 * len(off) // 10] < height / 3, (off, height)


def _bytes_io(data: bytes = b""):  # type: ignore[no-untyped-def]
    import io

    return io.BytesIO(data)
