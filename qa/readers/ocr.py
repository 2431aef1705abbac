"""Optical character recognition: pages without a text layer and images of pages, read by
Tesseract (Apache-2.0) through its command-line program (Debian's tesseract-ocr), as lines of
words with their boxes and confidences (from its hOCR output, which also gives each line's
font size).

OCR takes seconds a page, so it is made cheap to live with: a file's pages go to several
Tesseract processes at once (one per usable core, each single-threaded), and each page's result
is kept by the hash of its pixels (QA_OCR_CACHE, by default ~/.cache/qa/ocr): a rebuild, a new
model or a renamed file never recognises a page twice. QA_OCR=off turns it off;
QA_OCR_LANGUAGES (default eng) takes Tesseract's eng+deu form.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import statistics
import subprocess
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from qa.readers import UnreadableError, report

OCR_DPI = 300  # PDF pages are rendered at this resolution for recognition
LOW_CONFIDENCE = 50.0  # a page whose words average below this (0-100) is named in a notice
_PAGE_SECONDS = 300  # one page that takes Tesseract longer than this is given up
_LANGUAGES = re.compile(r"^[A-Za-z_]+(\+[A-Za-z_]+)*$")
_PREPARATION = b"median3"  # how a page is prepared for Tesseract: part of its cache key
_XHTML = "{http://www.w3.org/1999/xhtml}"
_LINE_CLASSES = {"ocr_line", "ocr_header", "ocr_caption", "ocr_textfloat"}


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
    def from_json(cls, data: dict[str, Any]) -> OcrPage:
        return cls(int(data["width"]), int(data["height"]), tuple(
            OcrLine(float(line["size"]),
                    tuple(OcrWord(str(t), int(a), int(b), int(c), int(d), float(e))
                          for t, a, b, c, d, e in line["words"]))
            for line in data["lines"]))


@dataclass(frozen=True)
class OcrSettings:
    """What the environment asks of OCR (read in the reader worker, which inherits it)."""

    enabled: bool
    languages: str
    cache_dir: Path
    workers: int

    @classmethod
    def from_environment(cls) -> OcrSettings:
        from qa.settings import usable_cores

        languages = os.environ.get("QA_OCR_LANGUAGES", "eng").strip() or "eng"
        if not _LANGUAGES.match(languages):
            raise UnreadableError(f"QA_OCR_LANGUAGES={languages!r} is not Tesseract's form "
                                  "(language codes joined by +, e.g. eng+deu)")
        cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        return cls(os.environ.get("QA_OCR", "on").strip().lower() not in ("off", "0", "no", "false"),
                   languages, Path(os.environ.get("QA_OCR_CACHE") or cache_home / "qa" / "ocr"),
                   usable_cores())


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
    path = _cache_path(gray, settings, version)
    page = _cached(path)
    if page is None:
        page = _tesseract(gray, settings.languages)
        _store(path, page)
    return page


def cached_page(image: Any, settings: OcrSettings) -> OcrPage | None:
    """What OCR found on this image when a reader read it, from the cache alone (the viewer
    marks a scanned page's words with it); None when it is not there or Tesseract is gone."""
    if shutil.which("tesseract") is None:
        return None
    return _cached(_cache_path(image.convert("L"), settings, tesseract_version()))


def _cache_path(gray: Any, settings: OcrSettings, version: str) -> Path:
    key = hashlib.sha256(b"%d %d %s %s %s " % (
        gray.width, gray.height, settings.languages.encode(), version.encode(),
        _PREPARATION) + gray.tobytes()).hexdigest()
    return settings.cache_dir / key[:2] / f"{key}.json"


def _cached(path: Path) -> OcrPage | None:
    try:
        return OcrPage.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store(path: Path, page: OcrPage) -> None:
    """Written whole or not at all (a reader killed mid-write leaves no half page)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.part")
        partial.write_text(json.dumps(page.to_json()), encoding="utf-8")
        os.replace(partial, path)
    except OSError:
        pass  # a read-only cache costs time, not results


def _tesseract(gray: Any, languages: str) -> OcrPage:
    buffer = io.BytesIO()
    _denoised(gray).save(buffer, format="PPM")  # uncompressed: nothing to encode or decode
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
    return OcrPage(gray.width, gray.height, _lines(done.stdout))


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
