"""Show stage: the cited place, as a reader checks it.

A PDF's or a scanned image's page is shown as a picture, with the passage's words and the
answer sentence boxed on it. The page's words are the reader's: its lines from PDFium's glyphs,
or on a page read by OCR from the word boxes the reader left in the OCR cache, put in reading
order by the same layout (qa.reading.readers.layout), so a passage that runs from one column to
the next is found in both. The passage's words are matched to them (the extracted text is
rebuilt from lines, so its offsets are not the page's).
Any other document is shown whole, as its extracted text cut into the pieces the chunker saw:
title, headings, passages and the lines that are not passages, with offsets into that text.
"""

from __future__ import annotations

import bisect
import difflib
import io
import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from qa.chunking.chunk import Passage, block_spans
from qa.core.languages import matching_units
from qa.reading.load import Document

if TYPE_CHECKING:
    from qa.reading.readers.layout import Line

Box = tuple[float, float, float, float]  # left, top, right, bottom, as fractions of the page
PICTURED = (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff")  # shown as pages, not as text
_IMAGES = PICTURED[1:]
# Matched runs of words further apart than this on a page are not the same passage (a few
# words may differ: a hyphen at a line end, a figure's label in the middle of a paragraph).
_MAX_GAP_WORDS = 12
_MAX_PAGES_SHOWN = 4  # a passage over more pages shows its first ones
_MAX_TALL = 4  # a page's picture is at most this many of its widths tall
# Pages are rendered by this many threads of their own, whatever the number of requests: a
# thousand asking at once queue there, not in the threads the server answers searches with.
_RENDER_WORKERS = 2
_PILLOW_BLOCK_BYTES = 64 * 1024 * 1024


class ViewError(ValueError):
    """The page asked for cannot be shown; the message says why."""


@dataclass(frozen=True)
class MarkedPage:
    """One page to show: its number (from 1) of `pages`, its aspect (width/height in any unit),
    the boxes of the passage's words and of the answer sentence's, and how they were found
    ("text layer", "OCR" or "" when the words were not found on the page)."""

    number: int
    pages: int
    width: float
    height: float
    passage: tuple[Box, ...]
    answer: tuple[Box, ...]
    found_by: str


@dataclass(frozen=True)
class _Word:
    text: str
    box: Box


def marked_pages(path: Path, passage: Passage, answer: str | None,
                 shown: int | None = None) -> list[MarkedPage]:
    """The pages of the passage (or page `shown` alone), each with the passage's words boxed,
    and the words of `answer` (its answer sentence) boxed again within them."""
    first = passage.page or 1
    last = passage.page_end or first
    numbers = [shown] if shown is not None else list(range(first, min(
        last, first + _MAX_PAGES_SHOWN - 1) + 1))
    wanted, wanted_answer = _units(passage.text), _units(answer or "")
    with _pages_of(path) as pages:
        for number in numbers:
            pages.check(number, path)
        count = pages.count
        contents = [pages.contents(number - 1, cited=first <= number <= last)
                    for number in numbers]
    marked = []
    for number, content in zip(numbers, contents, strict=True):
        # The OCR cache is read only here, with the document (and PDFium's lock) let go: a
        # slow or stuck cache file must not hold up every other view.
        words, found_by = _page_words(content)
        span = _matched(words, wanted)
        boxes: tuple[Box, ...] = ()
        answer_boxes: tuple[Box, ...] = ()
        if span is not None:
            cited = words[span[0]:span[1]]
            boxes = _line_boxes(cited)
            # Within the passage two words will do: an answer's tail on the next page.
            within = _matched(cited, wanted_answer, least=2)
            if within is not None:
                answer_boxes = _line_boxes(cited[within[0]:within[1]])
        marked.append(MarkedPage(number, count, *content.size, boxes, answer_boxes,
                                 found_by if boxes else ""))
    return marked


def _units(text: str) -> list[str]:
    return [unit for unit, _, _ in matching_units(text)]


def _matched(words: list[_Word], wanted: list[str], least: int = 3) -> tuple[int, int] | None:
    """The stretch of `words` that is the `wanted` text: the longest run of words both share,
    widened by the runs near it (in order, at most _MAX_GAP_WORDS words apart); None when
    fewer than `least` words match (a stray "of the" is not the passage)."""
    if not wanted:
        return None
    matcher = difflib.SequenceMatcher(None, [w.text for w in words], wanted, autojunk=False)
    shortest = min(2, len(wanted))
    runs = [run for run in matcher.get_matching_blocks() if run.size >= shortest]
    if not runs:
        return None
    core = max(range(len(runs)), key=lambda i: runs[i].size)
    first = last = core
    while first > 0 and runs[first].a - (runs[first - 1].a + runs[first - 1].size) \
            <= _MAX_GAP_WORDS:
        first -= 1
    while last + 1 < len(runs) and runs[last + 1].a - (runs[last].a + runs[last].size) \
            <= _MAX_GAP_WORDS:
        last += 1
    matched = sum(run.size for run in runs[first:last + 1])
    if matched < min(least, len(wanted)):
        return None
    return runs[first].a, runs[last].a + runs[last].size


def _line_boxes(words: list[_Word]) -> tuple[Box, ...]:
    """One box per stretch of words on a line: a word joins the box before it when it sits
    on the same line (overlapping it by half its height) to its right."""
    boxes: list[list[float]] = []
    for word in words:
        left, top, right, bottom = word.box
        if boxes:
            box = boxes[-1]
            overlap = min(box[3], bottom) - max(box[1], top)
            if overlap > 0.5 * min(box[3] - box[1], bottom - top) and left >= box[0]:
                box[1], box[2], box[3] = min(box[1], top), max(box[2], right), max(box[3], bottom)
                continue
        boxes.append([left, top, right, bottom])
    return tuple((a, b, c, d) for a, b, c, d in boxes)


def _page_words(content: _PageContent) -> tuple[list[_Word], str]:
    """The page's words in the order the reader read them, each with its box, and how they
    were found: from the OCR cache where the reader recognised the page, else from its text
    layer."""
    from qa.reading.readers.layout import lines_of_ocr, page_in_reading_order
    from qa.reading.readers.ocr import OcrSettings, cached_page

    lines, found_by = content.lines, "text layer"
    width, height = content.size
    if content.ocr_image is not None:
        page = cached_page(content.ocr_image, OcrSettings.from_environment())
        if page is not None:
            scale = content.pixels_per_point
            lines, found_by = lines_of_ocr(page, 0, scale, words=True), "OCR"
            width, height = page.width / scale, page.height / scale
    units: list[_Word] = []
    for line in page_in_reading_order(lines, width) if lines else []:
        # The line's units at once (none spans a space), each boxed as the word it is in.
        text = " ".join(word.text for word in line.words)
        ends = list(itertools.accumulate(len(word.text) + 1 for word in line.words))
        boxes = [(word.left / width, 1 - word.top / height, word.right / width,
                  1 - word.bottom / height) for word in line.words]
        units.extend(_Word(unit, boxes[bisect.bisect(ends, start)])
                     for unit, start, _ in matching_units(text))
    return units, found_by


@dataclass(frozen=True)
class _PageContent:
    """What a view needs of a page while its document is open: its size (any unit); its text
    layer's lines, with their words boxed in points; and on a page the reader recognised, the
    grey picture OCR read, whose words are in the OCR cache, at `pixels_per_point`."""

    size: tuple[float, float]
    lines: list[Line]
    ocr_image: Any = None
    pixels_per_point: float = 1.0


class _Pages:
    """A PDF's or an image's pages, opened once for a view."""

    count: int
    path: Path

    def check(self, number: int, path: Path) -> None:
        if not 1 <= number <= self.count:
            raise ViewError(f"{path.name} has pages 1 to {self.count}, not {number}")

    def contents(self, index: int, cited: bool) -> _PageContent:
        """The page's size, and its words where `cited` (the passage is on it)."""
        raise NotImplementedError

    def picture(self, index: int, width: int) -> tuple[int, Callable[[], Any]]:
        """How many bytes making the page's picture may hold at most, and how to make it: the
        page as a PIL image `width` pixels wide (at most _MAX_TALL widths tall)."""
        raise NotImplementedError

    @contextmanager
    def _refused(self) -> Iterator[None]:
        from qa.reading.readers import UnreadableError

        try:
            yield
        except UnreadableError as error:
            raise ViewError(f"{self.path.name} cannot be shown: {error}") from error


class _PdfPages(_Pages):
    def __init__(self, document: Any, path: Path) -> None:
        self.document = document
        self.path = path
        self.count = len(document)

    def contents(self, index: int, cited: bool) -> _PageContent:
        """The page's lines as the PDF reader finds them (qa.reading.readers.pdfium), and its
        picture for OCR where the reader recognised it instead."""
        from qa.reading.readers.pdfium import needs_ocr, ocr_image, ocr_scale, page_lines

        page = self.document[index]
        width, height = (float(size) for size in page.get_size())
        if not cited:
            return _PageContent((width, height), [])
        with self._refused():
            lines = page_lines(page, index, words=True)
        if not needs_ocr(lines, page):
            return _PageContent((width, height), lines)
        scale = ocr_scale(page)
        return _PageContent((width, height), lines, ocr_image(page, scale), scale)

    def picture(self, index: int, width: int) -> tuple[int, Callable[[], Any]]:
        from qa.reading.readers.pdfium import render

        page = self.document[index]
        page_width, page_height = (float(size) for size in page.get_size())
        scale = min(width / page_width, _MAX_TALL * width / page_height)
        pixels = page_width * scale * page_height * scale
        return int(pixels) * 4, lambda: render(page, scale)


class _ImagePages(_Pages):
    def __init__(self, image: Any, path: Path) -> None:
        self.image = image
        self.path = path
        self.count = getattr(image, "n_frames", 1)

    def contents(self, index: int, cited: bool) -> _PageContent:
        from qa.reading.readers.image import frame_image

        with self._refused():
            gray, dpi = frame_image(self.image, index)
        return _PageContent((float(gray.width), float(gray.height)), [],
                            gray if cited else None, dpi / 72)

    def picture(self, index: int, width: int) -> tuple[int, Callable[[], Any]]:
        """Decoded no larger than the picture needs where the format allows (a JPEG at 1/2,
        1/4 or 1/8 of its size), else whole in its own mode; reduced before anything else is
        done to it (turned upright, made RGB), so no copy of the full frame is ever made."""
        from PIL import ImageOps

        from qa.reading.readers.image import seek_frame

        image = self.image
        with self._refused():
            seek_frame(image, index)
        if image.format == "JPEG":  # its EXIF comes with its header: no pixel is decoded yet
            image.draft(None, _fitted(image, width))  # the decoder's size: at least that
        # Decoded as stored (Pillow holds 4 bytes a pixel, 1 for grey); any other mode (a
        # palette, alpha, 1 bit) is made RGB whole before it is reduced: up to twice that.
        bytes_per_pixel = {"L": 1, "RGB": 4}.get(image.mode, 8)

        def make() -> Any:
            try:
                frame = image if image.mode in ("L", "RGB") else image.convert("RGB")
                # After decoding: a PNG's EXIF may follow its pixels (getexif would decode them).
                frame.thumbnail(_fitted(frame, width))  # in place: the full-size pixels go
                return ImageOps.exif_transpose(frame).convert("RGB")
            except (OSError, ValueError) as error:  # its pixels are damaged (cut short)
                raise ViewError(f"{self.path.name} cannot be shown: damaged image "
                                f"({error})") from error

        return image.width * image.height * bytes_per_pixel, make


def _fitted(image: Any, width: int) -> tuple[int, int]:
    """The size, as stored, that shows `image` upright `width` pixels wide (never enlarged,
    at most _MAX_TALL widths tall): a frame its EXIF turns a quarter has its height across."""
    turned = image.getexif().get(0x0112) in (5, 6, 7, 8)
    box = (_MAX_TALL * width, width) if turned else (width, _MAX_TALL * width)
    scale = min(1.0, box[0] / image.width, box[1] / image.height)
    return max(1, round(image.width * scale)), max(1, round(image.height * scale))


@contextmanager
def _pages_of(path: Path) -> Iterator[_Pages]:
    if path.suffix.lower() in _IMAGES:
        from qa.reading.readers import UnreadableError
        from qa.reading.readers.image import open_image

        try:
            image = open_image(path)
        except UnreadableError as error:
            raise ViewError(f"{path.name} cannot be shown: {error}") from error
        with image:
            yield _ImagePages(image, path)
        return
    from qa.reading.readers import UnreadableError
    from qa.reading.readers.pdfium import LOCK, opened

    # PDFium's lock is held while the document is open: every page's words and pictures.
    with LOCK, ExitStack() as stack:
        try:
            document = stack.enter_context(opened(path))
        except UnreadableError as error:
            raise ViewError(f"{path.name} cannot be shown: {error}") from error
        yield _PdfPages(document, path)


def page_count(path: Path) -> int:
    """How many pages a PDF or an image (its frames) has."""
    with _pages_of(path) as pages:
        return pages.count


_PageKey = tuple[str, int, int, int, int]  # path, its mtime and size; page number, width


class PageImages:
    """Rendered pages as PNG, the most recent kept up to `max_bytes` in all: a reader paging
    back and forth is not rendered again, and a server's memory stays bounded.

    Renders run in a pool of their own (_RENDER_WORKERS threads), holding at most
    `render_bytes` of decoded pixels between them; a page asked for again while it is being
    rendered waits for that render, however many ask."""

    def __init__(self, max_bytes: int, render_bytes: int = 512_000_000) -> None:
        self.max_bytes = max_bytes
        self._kept: OrderedDict[_PageKey, bytes] = OrderedDict()
        self._rendering: dict[_PageKey, Future[bytes]] = {}
        self._size = 0
        self._lock = threading.Lock()
        self._budget = _Budget(render_bytes)
        self._pool = ThreadPoolExecutor(_RENDER_WORKERS, thread_name_prefix="qa-page-render")
        from PIL import Image

        # Pillow holds a large image in blocks, 16 MB by default: below glibc's largest mmap
        # threshold (32 MB), so a decoded page's blocks stayed in the heap of the thread that
        # rendered it once freed, and a server kept gigabytes. Larger blocks are mmapped, and
        # given back to the system as soon as the picture is made.
        Image.core.set_block_size(_PILLOW_BLOCK_BYTES)

    def png(self, path: Path, number: int, width: int) -> bytes:
        """Page `number` (from 1) of a PDF or an image, `width` pixels wide."""
        return self.rendering(path, number, width).result()

    def rendering(self, path: Path, number: int, width: int) -> Future[bytes]:
        """The PNG of `png`, to come: at once when kept, else from the pool (ViewError should
        the page not be shown). Never cancel it: others may be waiting for the same render."""
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size, number, width)
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                kept: Future[bytes] = Future()
                kept.set_result(self._kept[key])
                return kept
            if key not in self._rendering:
                self._rendering[key] = self._pool.submit(self._render, key, path, number, width)
            return self._rendering[key]

    def _render(self, key: _PageKey, path: Path, number: int, width: int) -> bytes:
        image = b""
        try:
            image = _render(path, number, width, self._budget)
        finally:
            with self._lock:  # kept before it is let go: no second render slips in between
                del self._rendering[key]
                if image and len(image) <= self.max_bytes:
                    self._kept[key] = image
                    self._size += len(image)
                while self._size > self.max_bytes:
                    _, dropped = self._kept.popitem(last=False)
                    self._size -= len(dropped)
        return image

    @property
    def size(self) -> int:
        return self._size


class _Budget:
    """Bytes that renders may hold at once: a render waits until its share is free; one that
    needs more than the whole waits to run alone (the pixel limit bounds what that can be)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.held = 0
        self._changed = threading.Condition()

    @contextmanager
    def holding(self, wanted: int) -> Iterator[None]:
        share = min(wanted, self.total)
        with self._changed:
            self._changed.wait_for(lambda: self.held + share <= self.total)
            self.held += share
        try:
            yield
        finally:
            with self._changed:
                self.held -= share
                self._changed.notify_all()


def _render(path: Path, number: int, width: int, budget: _Budget) -> bytes:
    with _pages_of(path) as pages:
        pages.check(number, path)
        needed, make = pages.picture(number - 1, width)
        with budget.holding(needed):
            picture = make()
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=1)  # a third the time of level 6, same size
    return buffer.getvalue()


PieceKind = Literal["title", "heading", "passage", "aside"]


@dataclass(frozen=True)
class Piece:
    """A stretch of a document's text as the chunker saw it: its title line, a heading (with
    its level), a passage (with its number) or a line that is not a passage."""

    kind: PieceKind
    start: int
    end: int
    level: int = 0
    paragraph: int = 0


@dataclass(frozen=True)
class TextView:
    """A whole document's extracted text and its pieces, in order; the text between pieces
    is whitespace. `page_starts` are where its pages (slides, sheets) begin."""

    source: str
    title: str
    text: str
    pieces: tuple[Piece, ...]
    page_starts: tuple[int, ...]


def text_view(document: Document, passages: list[Passage]) -> TextView:
    """The document cut into its title, headings, passages and other lines."""
    text = document.text
    headings = {heading.start: heading for heading in document.headings}
    by_start = sorted(passages, key=lambda p: p.start)
    starts = [p.start for p in by_start]
    pieces: list[Piece] = []
    position = 0
    for block_start, block_end in block_spans(text):
        start = _skip_space(text, max(block_start, position), block_end)
        if start >= block_end:
            continue  # inside a passage that runs over blocks
        at = bisect.bisect_left(starts, start)
        passage = by_start[at] if at < len(by_start) and by_start[at].start < block_end else None
        end = passage.start if passage is not None else block_end
        if start < end:
            line_end = text.find("\n", start, end)
            if not pieces and start not in headings and line_end != -1:
                # The chunker's title: the first line, alone (qa.chunking.chunk takes it off the block).
                pieces.append(Piece("title", start, line_end))
                start = _skip_space(text, line_end, end)
            if start < end:
                pieces.append(_other(text, start, end, headings, first=not pieces))
        if passage is not None:
            pieces.append(Piece("passage", passage.start, passage.end,
                                paragraph=passage.paragraph))
            position = passage.end
        else:
            position = block_end
    title = passages[0].title if passages else document.source
    return TextView(document.source, title, text, tuple(pieces), document.page_starts)


def _skip_space(text: str, start: int, end: int) -> int:
    while start < end and text[start].isspace():
        start += 1
    return start


def _other(text: str, start: int, end: int, headings: dict[int, Any], first: bool) -> Piece:
    end = start + len(text[start:end].rstrip())
    heading = headings.get(start)
    if heading is not None:
        return Piece("heading", start, end, level=heading.level)
    return Piece("title" if first else "aside", start, end)
