"""The document view: pages pictured with the passage boxed, other documents whole."""

from __future__ import annotations

import html
import io
import re
import shutil
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from documents import A4, HISTORY, LAMP, report_pdf, write

from qa.core.access import Access
from qa.core.settings import Settings
from qa.library import QA
from qa.reading.load import read_file
from qa.serving.api import search_json
from qa.showing.view import PageImages, marked_pages, text_view
from qa.showing.view_html import RENDER_WIDTHS, DocumentViews, ViewRequest, zoomed

NOTE = ("Harbour works of 1890\n\nBy Ada Quill\n\nThe breakwater\n\n"
        "The breakwater was raised in 1890 by the harbour board. It is four hundred metres "
        "long and shelters the inner basin from the westerly gales.\n\nSee also: plates\n\n"
        "The lantern at its head was lit <b>each night</b> & its keeper lived in the tower "
        "on the quay. A storm in 1903 broke the lantern's glass, and it was rebuilt in stone.")


@pytest.fixture(scope="module")
def harbour(embedder: Any, tmp_path_factory: pytest.TempPathFactory) -> QA:
    docs = tmp_path_factory.mktemp("harbour")
    write(docs, "harbour.txt", NOTE)
    write(docs, "cordouan.pdf", report_pdf())
    write(docs, "private/salaries.pdf", report_pdf(lens="Secret"))
    qa = QA(Settings(docs_dir=docs, index_dir=tmp_path_factory.mktemp("harbour-index")),
            embedder=embedder)
    qa.index()
    return qa


def _text_content(markup: str) -> str:
    """What a browser's textContent of the whole-text element gives."""
    inner = markup.split('<div class="qa-text-whole"', 1)[1].split(">", 1)[1]
    return html.unescape(re.sub(r"<[^>]+>", "", inner.rsplit("</div></div>", 1)[0]))


def test_whole_text_has_its_pieces_and_exactly_the_documents_text(harbour: QA) -> None:
    document = harbour.document("harbour.txt")
    assert document is not None
    passages = harbour.passages("harbour.txt")
    view = text_view(document, passages)
    kinds = [(piece.kind, document.text[piece.start:piece.end]) for piece in view.pieces]
    assert kinds[0] == ("title", "Harbour works of 1890")
    assert ("aside", "By Ada Quill") in kinds and ("aside", "See also: plates") in kinds
    assert [k for k, _ in kinds].count("passage") == len(passages) == 2
    result = harbour.search("When was the lantern's glass broken by a storm?", k=1,
                            mode="lexical")
    hit = result.hits[0]
    wanted = ViewRequest("harbour.txt", hit.passage.paragraph, hit.answer_offsets)
    shown = DocumentViews(harbour, 1_000_000).html(wanted)
    assert _text_content(shown) == document.text  # offsets are into exactly this text
    target = re.search(r'id="qa-target"', shown)
    assert target and f'data-start="{hit.passage.start}"' in shown
    mark = re.search(r'<mark class="qa-answer">(.*?)</mark>', shown)
    assert mark and html.unescape(mark.group(1)) == document.text[slice(*hit.answer_offsets)]
    assert "A storm in 1903" in html.unescape(mark.group(1))
    assert "<b>each night</b>" not in shown and "&lt;b&gt;each night&lt;/b&gt;" in shown


def test_slides_are_marked_as_slides_in_the_whole_text(tiny_encoder: Any, tmp_path: Path) -> None:
    from formats import deck_pptx

    docs = tmp_path / "docs"
    write(docs, "talk.pptx", deck_pptx())
    qa = QA(Settings(docs_dir=docs, index_dir=tmp_path / "index"), embedder=tiny_encoder)
    qa.index()
    passage = qa.passages("talk.pptx")[-1]
    shown = DocumentViews(qa, 1_000_000).html(ViewRequest("talk.pptx", passage.paragraph))
    assert 'data-label="slide 2"' in shown and "qa-pictured" not in shown


def test_a_passage_across_a_page_break_is_boxed_on_both_pages(harbour: QA) -> None:
    passage = next(p for p in harbour.passages("cordouan.pdf") if p.page != p.page_end)
    assert (passage.page, passage.page_end) == (1, 2)
    answer = "The tower was finished in 1611 after twenty-seven years of building"
    path = harbour.document_path("cordouan.pdf")
    assert path is not None
    first, second = marked_pages(path, passage, answer)
    assert (first.number, second.number, first.found_by) == (1, 2, "text layer")
    # Page 1 holds the paragraph's five lines, drawn from 670 pt down by 14 pt a line.
    assert len(first.passage) == len(HISTORY)
    top = min(box[1] for box in first.passage) * A4[1]
    assert abs(top - (A4[1] - 670 - 11)) < 6, top
    assert len(second.passage) == 1 and second.answer and first.answer
    # The running header above and the footer below are not part of it.
    assert all(box[1] > (A4[1] - 790) / A4[1] for box in first.passage)
    assert all(0 <= b[0] < b[2] <= 1 and 0 <= b[1] < b[3] <= 1 for b in first.passage)


def test_the_answer_is_boxed_within_its_passage_only(harbour: QA) -> None:
    lamp = next(p for p in harbour.passages("cordouan.pdf") if "paraffin" in p.text)
    path = harbour.document_path("cordouan.pdf")
    assert path is not None
    (page,) = marked_pages(path, lamp, "its beam reaches about forty kilometres out to sea.")
    assert page.number == 2 and len(page.passage) == len(LAMP)
    assert len(page.answer) == 1 and page.answer[0][1] > page.passage[0][1]


@pytest.mark.slow  # takes long (OCR)
@pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs Tesseract")
def test_a_scanned_page_is_boxed_from_the_ocr_words(tiny_encoder: Any, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from scans import multipage, scanned

    monkeypatch.setenv("QA_OCR_CACHE", str(tmp_path / "ocr"))
    pdf = report_pdf()
    docs = tmp_path / "docs"
    write(docs, "scan.pdf", multipage([scanned(pdf, 0), scanned(pdf, 1)], "PDF"))
    qa = QA(Settings(docs_dir=docs, index_dir=tmp_path / "index"), embedder=tiny_encoder)
    qa.index()
    passage = next(p for p in qa.passages("scan.pdf") if "Cordouan stands" in p.text)
    path = qa.document_path("scan.pdf")
    assert path is not None
    first, second = marked_pages(path, passage, "The tower was finished in 1611")
    assert first.found_by == "OCR" and len(first.passage) >= 4 and first.answer
    assert second.passage  # its last line, on page 2
    shutil.rmtree(tmp_path / "ocr")  # without the cache's words: shown, unmarked, said so
    (bare,) = marked_pages(path, passage, None, shown=1)
    assert bare.passage == () and bare.found_by == ""


def test_pages_are_served_only_from_indexed_pictured_documents(harbour: QA) -> None:
    views = DocumentViews(harbour, 10_000_000)
    everyone = Access(None)
    image = views.png("cordouan.pdf", 1, 1400, everyone)
    assert image is not None and image.startswith(b"\x89PNG")
    import io

    from PIL import Image

    assert Image.open(io.BytesIO(image)).width == 1400
    for source, page, width in [("cordouan.pdf", 4, 1400), ("cordouan.pdf", 0, 1400),
                                ("cordouan.pdf", 1, 333), ("harbour.txt", 1, 1400),
                                ("../cordouan.pdf", 1, 1400), ("nope.pdf", 1, 1400)]:
        assert views.png(source, page, width, everyone) is None, (source, page, width)
    public = Access("alice", ("cordouan.pdf", "harbour.txt"), ())
    assert views.png("private/salaries.pdf", 1, 1400, public) is None
    assert views.png("private/salaries.pdf", 1, 1400, everyone) is not None
    refused = views.html(ViewRequest("private/salaries.pdf", 1), public)
    assert "Secret" not in refused and "no passage" in refused


def test_rendered_pages_are_kept_within_their_budget(harbour: QA) -> None:
    path = harbour.document_path("cordouan.pdf")
    assert path is not None
    one = PageImages(10_000_000).png(path, 1, 800)
    images = PageImages(int(2.5 * len(one)))
    for number in (1, 2, 3, 1, 2, 3):
        images.png(path, number, 800)
        assert images.size <= images.max_bytes
    assert images.png(path, 3, 800) is images.png(path, 3, 800)  # kept, not rendered again


def test_turning_pages_and_zooming_stay_within_the_document(harbour: QA) -> None:
    views = DocumentViews(harbour, 1_000_000)
    passage = next(p for p in harbour.passages("cordouan.pdf") if "paraffin" in p.text)
    wanted = ViewRequest("cordouan.pdf", passage.paragraph)
    assert views.turned(wanted, 1).page == 3
    assert views.turned(views.turned(wanted, 1), 1).page == 3  # the last page
    assert views.turned(wanted, -1).page == 1 and views.turned(wanted, 0).page is None
    assert zoomed(zoomed(zoomed(wanted, 1), 1), 1).zoom == 200
    assert zoomed(wanted, -5).zoom == 50
    shown = views.html(views.turned(wanted, 1))
    assert 'data-page="3"' in shown and "qa-box" not in shown
    assert 'data-page="2"' in views.html(wanted) and "qa-box-passage" in views.html(wanted)
    assert all(f"width={w}" in views.html(zoomed(wanted, z)) or z not in range(-2, 3)
               for z, w in zip(range(-2, 3), sorted(RENDER_WIDTHS), strict=True))


def test_a_hits_url_opens_its_view_again(harbour: QA) -> None:
    found = search_json(harbour, "Which lens does the electric bulb turn behind?", 1,
                        server="http://qa.example:7860/")
    hit = found["hits"][0]
    address = urlsplit(hit["url"])
    assert (address.scheme, address.netloc, address.path) == ("http", "qa.example:7860", "/")
    wanted = ViewRequest.from_query(dict(parse_qsl(address.query)))
    assert wanted is not None
    assert (wanted.source, wanted.paragraph, wanted.answer) == (
        hit["source"], hit["paragraph"], (hit["answer_start"], hit["answer_end"]))
    assert wanted.question == found["question"]
    assert "url" not in search_json(harbour, "Which lens?", 1)["hits"][0]
    assert ViewRequest.from_json(wanted.to_json()) == wanted


@pytest.mark.parametrize("query", [{"p": "1"}, {"open": "a.txt", "p": "x"},
                                   {"open": "a.txt", "a": "5"}, {"open": "a.txt", "zoom": "30"},
                                   {"open": "a.txt", "page": "one"}])
def test_malformed_view_addresses_open_nothing(query: dict[str, str]) -> None:
    assert ViewRequest.from_query(query) is None


@pytest.mark.parametrize("text", ["", "[]", '["a", true, [], null, 100, ""]',
                                  '["a", 1, [1], null, 100, ""]', '["a", 1, [], null, 7, ""]',
                                  "tab\there.txt\t1"])
def test_malformed_view_states_open_nothing(text: str) -> None:
    assert ViewRequest.from_json(text) is None


def test_a_passage_not_in_the_index_is_a_notice(harbour: QA) -> None:
    views = DocumentViews(harbour, 1_000_000)
    for wanted in [ViewRequest("harbour.txt", 99), ViewRequest("../../etc/passwd", 1)]:
        assert "qa-notice" in views.html(wanted) and "qa-view" not in views.html(wanted)


def test_a_document_without_its_catalogue_copy_is_read_again_unless_it_changed(
        tiny_encoder: Any, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write(docs, "harbour.txt", NOTE)
    qa = QA(Settings(docs_dir=docs, index_dir=tmp_path / "index"), embedder=tiny_encoder)
    qa.index()
    kept = qa.document("harbour.txt")
    assert kept is not None and kept == read_file("harbour.txt", docs / "harbour.txt")
    shutil.rmtree(tmp_path / "index" / "catalog")
    assert qa.document("harbour.txt") == kept  # read from the file, the same content
    write(docs, "harbour.txt", NOTE.replace("1890", "1891"))
    assert qa.document("harbour.txt") is None  # its offsets would point into other text
    shown = DocumentViews(qa, 1_000_000).html(ViewRequest("harbour.txt", 1))
    assert "changed since it was indexed" in shown


RENDER_IN_THREADS = """
import sys, threading
from pathlib import Path
from qa.showing.view import PageImages, page_count

path = Path(sys.argv[1])
failures = []

def render(offset):
    images = PageImages(0)  # nothing kept: every call renders
    try:
        for number in range(40):
            images.png(path, (number + offset) % 3 + 1, 800)
            page_count(path)
    except Exception as error:
        failures.append(repr(error))

threads = [threading.Thread(target=render, args=(offset,)) for offset in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(failures[:1])
sys.exit(1 if failures else 0)
"""


@pytest.mark.slow  # takes long (many renders at once)
def test_pages_rendered_in_many_threads_at_once_neither_fail_nor_crash(tmp_path: Path) -> None:
    """PDFium corrupts or kills a process that calls it from two threads at once (seen here
    as "Failed to load page" and a segmentation fault); a server renders in several."""
    import subprocess
    import sys

    pdf = write(tmp_path, "cordouan.pdf", report_pdf())
    for attempt in range(3):
        done = subprocess.run([sys.executable, "-c", RENDER_IN_THREADS, str(pdf)],
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, (attempt, done.returncode, done.stdout, done.stderr[-500:])


def test_a_page_asked_for_by_many_at_once_is_rendered_once(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Twelve requests for a 10,500-pixel PNG's page took a server to 6.65 GB: each decoded it
    for itself. They wait for the one render of that page."""
    import threading

    from PIL import Image

    from qa.showing import view

    path = tmp_path / "scan.png"
    Image.new("RGB", (3000, 2000), "white").save(path)
    renders: list[int] = []
    release = threading.Event()
    real_render = view._render

    def counted_render(*arguments: Any) -> bytes:
        renders.append(1)
        release.wait(timeout=30)  # until every request has asked
        return real_render(*arguments)  # type: ignore[no-any-return]

    monkeypatch.setattr(view, "_render", counted_render)
    images = PageImages(10_000_000)
    answers: list[bytes] = []
    asking = [threading.Thread(target=lambda: answers.append(images.png(path, 1, 1400)))
              for _ in range(12)]
    for thread in asking:
        thread.start()
    time.sleep(0.5)
    release.set()
    for thread in asking:
        thread.join(timeout=60)
    assert len(answers) == 12 and len(set(answers)) == 1
    assert len(renders) == 1, f"{len(renders)} renders for 12 requests of one page"


def test_renders_run_in_a_small_pool_within_their_memory_budget(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """However many pages are asked for at once, two renders run at a time, and fewer when
    their decoded pixels would together pass the budget."""
    import threading

    from PIL import Image

    from qa.showing import view

    paths = [tmp_path / f"scan-{number}.png" for number in range(4)]
    for path in paths:
        Image.new("RGB", (1000, 1000), "white").save(path)  # 4 MB decoded each
    running, most = [0], [0]
    lock = threading.Lock()
    real_picture = view._ImagePages.picture

    def tracked_picture(pages: Any, index: int, width: int) -> Any:
        needed, make = real_picture(pages, index, width)

        def tracked_make() -> Any:
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.3)
            try:
                return make()
            finally:
                with lock:
                    running[0] -= 1
        return needed, tracked_make

    monkeypatch.setattr(view._ImagePages, "picture", tracked_picture)
    for budget, allowed in ((100_000_000, 2), (6_000_000, 1)):
        images, most[0] = PageImages(0, render_bytes=budget), 0
        asking = [threading.Thread(target=images.png, args=(path, 1, 800)) for path in paths]
        for thread in asking:
            thread.start()
        for thread in asking:
            thread.join(timeout=60)
        assert 1 <= most[0] <= allowed, (budget, most[0])


def test_an_image_cut_short_is_no_picture_not_an_error(tmp_path: Path) -> None:
    """Its header is whole, its pixels are not: the page route answered 500 with a traceback."""
    from PIL import Image

    from qa.showing.view import ViewError

    path = tmp_path / "cut.png"
    buffer = io.BytesIO()
    Image.effect_noise((600, 600), 64).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue()[:20_000])
    with pytest.raises(ViewError, match=r"cut\.png cannot be shown: damaged image"):
        PageImages(0).png(path, 1, 800)


PEAK_OF_ONE_PICTURE = """
import sys
from pathlib import Path
from qa.showing.view import PageImages

def peak_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1])

before = peak_kb()
PageImages(0).png(Path(sys.argv[1]), 1, 1400)
print(peak_kb() - before)
"""


@pytest.mark.parametrize(("name", "most_mb"), [("scan.jpg", 100), ("scan.png", 300)])
def test_a_large_image_is_decoded_no_larger_than_its_picture_needs(
        tmp_path: Path, name: str, most_mb: int) -> None:
    """A 6,000-pixel-square scan decodes to 144 MB as RGB: a JPEG is decoded at the size the
    picture needs, a PNG whole once, then reduced (it was copied whole twice more: over 400 MB
    for either). Measured in a process of its own: its peak resident memory."""
    import subprocess
    import sys

    from PIL import Image

    path = tmp_path / name
    Image.new("RGB", (6000, 6000), "white").save(path)
    done = subprocess.run([sys.executable, "-c", PEAK_OF_ONE_PICTURE, str(path)],
                          capture_output=True, text=True, timeout=120, check=True)
    grown_mb = int(done.stdout) / 1024
    assert grown_mb < most_mb, f"{name}: {grown_mb:.0f} MB for one page picture"


def test_searches_are_answered_while_page_renders_are_queued(
        harbour: QA, monkeypatch: pytest.MonkeyPatch) -> None:
    """1,000 page requests once held every thread the server answers with, and a search sent
    meanwhile waited 47 s: requests for pictures wait on the event loop, not in those threads."""
    import asyncio
    import threading

    import httpx

    from qa.serving.guard import RouteGuard
    from qa.serving.rest import rest_app
    from qa.showing import view

    release = threading.Event()
    real_render = view._render

    def held_render(*arguments: Any) -> bytes:
        release.wait(timeout=60)
        return real_render(*arguments)  # type: ignore[no-any-return]

    monkeypatch.setattr(view, "_render", held_render)
    views = DocumentViews(harbour, 10_000_000)
    guard = RouteGuard(lambda *a: None, lambda: [], uploads_allowed=False,  # type: ignore[arg-type, return-value]
                       rest=rest_app(harbour), page_image=views.page_png)

    async def scenario() -> tuple[list[int], float]:
        transport = httpx.ASGITransport(app=guard)
        async with httpx.AsyncClient(transport=transport, base_url="http://qa") as client:
            pictures = [asyncio.create_task(client.get(
                "/qa/pages/cordouan.pdf", params={"page": 1 + n % 3, "width": 1400}))
                for n in range(100)]  # more than the 40 threads Starlette answers with
            await asyncio.sleep(1.0)
            started = time.monotonic()
            try:
                search = await asyncio.wait_for(client.get(
                    "/api/search", params={"q": "When was the breakwater raised?"}), 20)
            finally:
                release.set()
            waited = time.monotonic() - started
            assert search.status_code == 200, search.text
            return [answer.status_code for answer in await asyncio.gather(*pictures)], waited

    statuses, waited = asyncio.run(scenario())
    assert statuses == [200] * 100
    assert waited < 20, f"the search waited {waited:.1f} s behind page renders"
