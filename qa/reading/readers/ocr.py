"""Optical character recognition: pages without a text layer and images of pages, read by
Tesseract (Apache-2.0) through its command-line program (Debian's tesseract-ocr), as lines of
words with their boxes and confidences (from its hOCR output, which also gives each line's
font size). A tilted page is turned upright before Tesseract reads it, and its words' boxes put
back where they stand on the page as it is (the viewer marks them there); `levelled` turns them
level again for the layout.

OCR takes seconds a page, so it is made cheap to live with: a file's pages go to several
Tesseract processes at once (one per usable core, each single-threaded), and each page's result
is kept by the hash of its pixels (QA_OCR_CACHE, by default ~/.cache/qa/ocr, up to
QA_OCR_CACHE_MB): a rebuild, a new model or a renamed file never recognises a page twice. An
entry is believed only when the cache vouches for it and it is a well-formed page
(qa.reading.readers.ocr_cache says how); anything else is recognised again. QA_OCR=off turns OCR off;
QA_OCR_LANGUAGES (default eng) takes Tesseract's eng+deu form.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import math
import os
import shutil
import statistics
import subprocess
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.reading.readers import UnreadableError, ocr_cache, report

if TYPE_CHECKING:
    from qa.core.settings import Settings

OCR_DPI = 300  # PDF pages are rendered at this resolution for recognition
# The most pixels a page may have, wherever one is decoded: an image's frame larger than this
# is refused (a decompression bomb?) by the reader and the viewer alike, and Pillow's own
# limit is set from it; a PDF page is rendered for OCR at a resolution that stays within it.
MAX_PIXELS = 120_000_000
LOW_CONFIDENCE = 50.0  # a page whose words average below this (0-100) is named in a notice
_PAGE_SECONDS = 300  # one page that takes Tesseract longer than this is given up
_PREPARATION = b"median3 upright"  # how a page is prepared for Tesseract: part of its cache key
_XHTML = "{http://www.w3.org/1999/xhtml}"
_LINE_CLASSES = {"ocr_line", "ocr_header", "ocr_caption", "ocr_textfloat"}
# A page whose lines slope by less than this is read as it lies: turning it would move a word
# by a pixel or two, while the slope measured on a page scanned straight is about a tenth of it.
_LEVEL_DEGREES = 0.1
_MOST_SKEW = 5.0  # degrees: a page is searched for a tilt up to this either way
# A page is turned upright for Tesseract only when tilted by this much: the estimate made
# without OCR is good to about a fifth of a degree, and Tesseract reads a smaller tilt as well.
_TURN_DEGREES = 0.25


@dataclass(frozen=True)
class OcrWord:
    """A recognised word: its box in the image's pixels and Tesseract's confidence (0-100)."""

    text: str
    left: int
    top: int
    right: int
    bottom: int
    confidence: float


@dataclass(frozen=True)
class OcrLine:
    """A line as Tesseract found it: its words, and its size in pixels (hOCR's x_size, the
    height of the line's letters from ascender to descender, whichever letters it holds)."""

    size: float
    words: tuple[OcrWord, ...]


@dataclass(frozen=True)
class OcrPage:
    """One image's lines, in Tesseract's reading order."""

    width: int
    height: int
    lines: tuple[OcrLine, ...]

    @property
    def confidence(self) -> float:
        """The words' mean confidence, weighted by their length; 100 for a page without words."""
        words = [word for line in self.lines for word in line.words]
        characters = sum(len(word.text) for word in words)
        return sum(w.confidence * len(w.text) for w in words) / characters if characters else 100.0

    def to_json(self) -> dict[str, Any]:
        return {"width": self.width, "height": self.height,
                "lines": [{"size": line.size,
                           "words": [[w.text, w.left, w.top, w.right, w.bottom, w.confidence]
                                     for w in line.words]} for line in self.lines]}

    @classmethod
    def from_json(cls, data: Any) -> OcrPage:
        """The page that `to_json` gave; ValueError for anything else: a missing field, a
        wrong type, a number that is not finite or lies outside the page, an empty line."""
        fields = _fields(data, {"width", "height", "lines"})
        width, height = _whole(fields["width"], 1, MAX_PIXELS), _whole(fields["height"], 1, MAX_PIXELS)
        if width * height > MAX_PIXELS:
            raise ValueError(f"a page of {width} × {height} pixels")
        lines = []
        for line in _listed(fields["lines"]):
            line_fields = _fields(line, {"size", "words"})
            words = tuple(_word_from_json(word, width, height)
                          for word in _listed(line_fields["words"]))
            if not words:
                raise ValueError("a line without words")
            lines.append(OcrLine(_number(line_fields["size"], 0.0, max(width, height)), words))
        return cls(width, height, tuple(lines))


def levelled(page: OcrPage) -> OcrPage:
    """The page with every word's box turned about the page's centre by its lines' own slope,
    so that a tilted scan's lines run level and its columns stand upright (the layout finds
    the gutters between them only then). The boxes are for reading order, not for the
    picture: the viewer marks the words where OCR found them."""
    slope = _slope(page)
    if slope is None or abs(math.degrees(math.atan(slope))) < _LEVEL_DEGREES:
        return page
    return _turned(page, math.atan(slope))


def _turned(page: OcrPage, angle: float) -> OcrPage:
    """The page with each word's box moved as its centre moves when the picture is turned
    about its centre by `angle` radians counter-clockwise (as PIL's Image.rotate turns it);
    a box keeps its size."""
    cosine, sine = math.cos(angle), math.sin(angle)
    centre_x, centre_y = page.width / 2, page.height / 2

    def turned(word: OcrWord) -> OcrWord:
        x, y = (word.left + word.right) / 2 - centre_x, (word.top + word.bottom) / 2 - centre_y
        half_width, half_height = (word.right - word.left) / 2, (word.bottom - word.top) / 2
        new_x = centre_x + x * cosine + y * sine
        new_y = centre_y - x * sine + y * cosine
        left, right = (min(max(round(value), 0), page.width)
                       for value in (new_x - half_width, new_x + half_width))
        top, bottom = (min(max(round(value), 0), page.height)
                       for value in (new_y - half_height, new_y + half_height))
        return dataclasses.replace(word, left=left, top=top, right=right, bottom=bottom)

    return dataclasses.replace(page, lines=tuple(
        OcrLine(line.size, tuple(turned(word) for word in line.words)) for line in page.lines))


def _slope(page: OcrPage) -> float | None:
    """The page's lines' slope (pixels down per pixel across): the median over its lines of
    three words or more of the straight line through their words' centres (a word's centre
    moves less with its ascenders and descenders than its top or bottom); None without three
    such lines."""
    slopes = []
    for line in page.lines:
        if len(line.words) < 3:
            continue
        xs = [(word.left + word.right) / 2 for word in line.words]
        ys = [(word.top + word.bottom) / 2 for word in line.words]
        mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
        spread = sum((x - mean_x) ** 2 for x in xs)
        if spread > 0:
            slopes.append(sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
                          / spread)
    return statistics.median(slopes) if len(slopes) >= 3 else None


def _word_from_json(data: Any, width: int, height: int) -> OcrWord:
    if not isinstance(data, list) or len(data) != 6:
        raise ValueError("a word is not [text, left, top, right, bottom, confidence]")
    text, left, top, right, bottom, confidence = data
    if not isinstance(text, str) or not text.strip() or len(text) > 1000:
        raise ValueError(f"a word's text is {text!r}")
    text.encode("utf-8")  # a lone surrogate would stop the catalogue's UTF-8 file
    left, right = _whole(left, 0, width), _whole(right, 0, width)
    top, bottom = _whole(top, 0, height), _whole(bottom, 0, height)
    if left > right or top > bottom:
        raise ValueError("a word's box is inside out")
    return OcrWord(text, left, top, right, bottom, _number(confidence, 0.0, 100.0))


def _fields(data: Any, names: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict) or set(data) != names:
        raise ValueError(f"not an object of {sorted(names)}")
    return data


def _listed(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise ValueError("not a list")
    return data


def _whole(value: Any, least: int, most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
        raise ValueError(f"{value!r} is not a whole number from {least} to {most}")
    return value


def _number(value: Any, least: float, most: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or not least <= value <= most:
        raise ValueError(f"{value!r} is not a number from {least} to {most}")
    return float(value)


@dataclass(frozen=True)
class OcrSettings:
    """What the settings ask of OCR (QA_OCR, QA_OCR_LANGUAGES, QA_OCR_CACHE, QA_OCR_CACHE_MB)."""

    enabled: bool
    languages: str
    cache_dir: Path
    workers: int
    cache_bytes: int  # QA_OCR_CACHE_MB in bytes; 0: nothing is kept

    @classmethod
    def of(cls, settings: Settings) -> OcrSettings:
        from qa.core.settings import usable_cores

        cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        return cls(settings.ocr, settings.ocr_languages,
                   Path(settings.ocr_cache) if settings.ocr_cache else cache_home / "qa" / "ocr",
                   usable_cores(), settings.ocr_cache_mb * 2**20)

    @classmethod
    def from_environment(cls) -> OcrSettings:
        """The settings of this process's environment: in a reader worker, those of the
        process that reads the folder (qa.reading.isolation passes them on). A value not
        allowed leaves the file unreadable, with the reason."""
        from qa.core.settings import settings_from_env

        try:
            return cls.of(settings_from_env())
        except ValueError as error:
            raise UnreadableError(str(error)) from None


def recognise(images: Iterable[Callable[[], Any]], settings: OcrSettings,
              names: list[str]) -> list[OcrPage]:
    """Each image (a function that makes a PIL image, so only a few are in memory at once)
    recognised, or taken from the cache; `names` says which page each is, for notices."""
    check_tesseract(settings.languages)
    version = tesseract_version()
    makers = list(images)
    pages: list[OcrPage | None] = [None] * len(makers)
    with ThreadPoolExecutor(max_workers=max(1, settings.workers)) as pool:
        for start in range(0, len(makers), max(1, settings.workers)):
            batch = range(start, min(start + settings.workers, len(makers)))
            images_of_batch = {index: makers[index]() for index in batch}
            work = {index: pool.submit(_page, image, settings, version)
                    for index, image in images_of_batch.items()}
            for index, future in work.items():
                pages[index] = future.result()
                report("progress", f"OCR: {index + 1} of {len(makers)} pages")
            images_of_batch.clear()
    result = [page for page in pages if page is not None]
    for name, page in zip(names, result, strict=True):
        if page.lines and page.confidence < LOW_CONFIDENCE:
            report("notice", f"{name} was read by OCR with low confidence "
                   f"({page.confidence:.0f} of 100): its text may hold errors")
    return result


def _page(image: Any, settings: OcrSettings, version: str) -> OcrPage:
    gray = image.convert("L")
    key = _cache_key(gray, settings, version)
    page = _cached(key, gray, settings)
    if page is None:
        page = _tesseract(gray, settings.languages)
        _store(key, page, settings)
    return page


def cached_page(image: Any, settings: OcrSettings) -> OcrPage | None:
    """What OCR found on this image when a reader read it, from the cache alone (the viewer
    marks a scanned page's words with it); None when it is not there or Tesseract is gone."""
    if shutil.which("tesseract") is None:
        return None
    gray = image.convert("L")
    return _cached(_cache_key(gray, settings, tesseract_version()), gray, settings)


def _cache_key(gray: Any, settings: OcrSettings, version: str) -> str:
    return hashlib.sha256(b"%d %d %s %s %s " % (
        gray.width, gray.height, settings.languages.encode(), version.encode(),
        _PREPARATION) + gray.tobytes()).hexdigest()


def _cached(key: str, gray: Any, settings: OcrSettings) -> OcrPage | None:
    """The cache's page for `key` if the cache vouches for it and it is a page of `gray`'s
    size; None (recognise it again) for anything else."""
    if settings.cache_bytes <= 0:
        return None
    value = ocr_cache.read(settings.cache_dir, key)
    try:
        page = OcrPage.from_json(value) if value is not None else None
    except ValueError:
        return None
    return page if page is not None and (page.width, page.height) == gray.size else None


def _store(key: str, page: OcrPage, settings: OcrSettings) -> None:
    if settings.cache_bytes <= 0:
        return
    with contextlib.suppress(OSError):  # a read-only cache costs time, not results
        ocr_cache.write(settings.cache_dir, key, page.to_json(), settings.cache_bytes)


def _tesseract(gray: Any, languages: str) -> OcrPage:
    """The page as Tesseract reads it, turned upright first when it is tilted (Tesseract
    finds the lines of a tilted page, but cuts a wide block such as an abstract over columns
    into pieces); the boxes are put back where the words stand on `gray`."""
    from PIL import Image

    prepared = _denoised(gray)
    angle = _skew(prepared)
    if angle:
        prepared = prepared.rotate(math.degrees(angle), resample=Image.Resampling.BILINEAR,
                                   fillcolor=255)
    buffer = io.BytesIO()
    prepared.save(buffer, format="PPM")  # uncompressed: nothing to encode or decode
    environment = {**os.environ, "OMP_THREAD_LIMIT": "1"}  # the processes are the parallelism
    try:
        done = subprocess.run(["tesseract", "stdin", "stdout", "-l", languages, "--psm", "3",
                               "hocr"], input=buffer.getvalue(), capture_output=True,
                              env=environment, timeout=_PAGE_SECONDS, check=False)
    except subprocess.TimeoutExpired as error:
        raise UnreadableError(f"OCR of a page took longer than {_PAGE_SECONDS} s") from error
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UnreadableError(f"OCR failed ({message[-1] if message else done.returncode})")
    page = OcrPage(gray.width, gray.height, _lines(done.stdout))
    return _turned(page, -angle) if angle else page


def _skew(gray: Any) -> float:
    """The angle (radians, as `_turned` takes it) that turns the page's lines level, found
    without OCR: the page shrunk fourfold, its dark pixels projected onto the page's height
    along each angle tried (to _MOST_SKEW degrees, coarse then fine), and the angle whose
    rows are most unequal kept, where the lines stand in rows and the gaps between them stay
    empty. 0 for a page that lies within _TURN_DEGREES of level, or has no ink."""
    import numpy as np

    small = gray.reduce(4) if min(gray.size) >= 400 else gray
    rows, columns = np.nonzero(np.asarray(small) < 160)
    if len(rows) < 100:
        return 0.0
    across = columns - small.width / 2

    def unevenness(angle: float) -> float:
        counts = np.bincount(np.round(rows - across * math.tan(angle)
                                      + small.width).astype(np.int64))
        return float(np.dot(counts, counts))

    best = 0.0
    for step in (0.2, 0.02):
        span = _MOST_SKEW if step == 0.2 else 0.2
        angles = [best + math.radians(step * n) for n in range(-round(span / step),
                                                                round(span / step) + 1)]
        best = max(angles, key=unevenness)
    return best if abs(math.degrees(best)) >= _TURN_DEGREES else 0.0


def _denoised(gray: Any) -> Any:
    """The page through a 3×3 median filter. Tesseract looks for pictures on the grey image
    first, and a scanner's or a camera's noise passes for a photograph's grain: a sparse page
    is then one picture and no text (measured here: a one-line page gave nothing in 15 s;
    filtered, its line in 0.6 s). The filter keeps strokes two pixels wide or more."""
    from PIL import ImageFilter

    return gray.filter(ImageFilter.MedianFilter(3))


def _lines(hocr: bytes) -> tuple[OcrLine, ...]:
    """The lines of Tesseract's hOCR (XHTML): spans of class ocr_line (or header, caption,
    floating text), each holding ocrx_word spans whose title gives "bbox l t r b; x_wconf c"."""
    import xml.etree.ElementTree as ElementTree

    try:
        root = ElementTree.fromstring(hocr)
    except ElementTree.ParseError as error:
        raise UnreadableError(f"OCR gave unreadable output ({error})") from error
    lines = []
    for span in root.iter(f"{_XHTML}span"):
        if span.get("class") not in _LINE_CLASSES:
            continue
        words = tuple(word for word in (_word(inner) for inner in span.iter(f"{_XHTML}span")
                                        if inner.get("class") == "ocrx_word") if word)
        if words:
            size = _property(span.get("title", ""), "x_size")
            lines.append(OcrLine(float(size[0]) if size else
                                 float(statistics.median(w.bottom - w.top for w in words)), words))
    return tuple(lines)


def _word(span: Any) -> OcrWord | None:
    text = "".join(span.itertext()).strip()
    title = span.get("title", "")
    box, confidence = _property(title, "bbox"), _property(title, "x_wconf")
    if not text or len(box) != 4:
        return None
    left, top, right, bottom = (int(float(value)) for value in box)
    return OcrWord(text, left, top, right, bottom, float(confidence[0]) if confidence else 0.0)


def _property(title: str, name: str) -> list[str]:
    for part in title.split(";"):
        fields = part.split()
        if fields and fields[0] == name:
            return fields[1:]
    return []


@cache
def tesseract_version() -> str:
    done = subprocess.run(["tesseract", "--version"], capture_output=True, check=False)
    output = (done.stdout or done.stderr).decode("utf-8", "replace").splitlines()
    return output[0].strip() if output else "tesseract"


@cache
def installed_languages() -> frozenset[str]:
    done = subprocess.run(["tesseract", "--list-langs"], capture_output=True, check=False)
    listed = done.stdout.decode("utf-8", "replace").splitlines()[1:]
    return frozenset(line.strip() for line in listed if line.strip())


def check_tesseract(languages: str) -> None:
    """UnreadableError, saying what to install, when Tesseract or a language pack is missing."""
    if shutil.which("tesseract") is None:
        raise UnreadableError("needs OCR, and Tesseract is not installed (Debian: apt-get install "
                              "tesseract-ocr tesseract-ocr-eng), or set QA_OCR=off")
    missing = [code for code in languages.split("+") if code not in installed_languages()]
    if missing:
        packs = " ".join(f"tesseract-ocr-{code.lower().replace('_', '-')}" for code in missing)
        raise UnreadableError(f"needs OCR in {'+'.join(missing)}, whose Tesseract language "
                              f"pack is not installed (Debian: apt-get install {packs}); "
                              f"QA_OCR_LANGUAGES={languages}")
