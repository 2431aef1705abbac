"""Images of pages (.png, .jpg/.jpeg, .tif/.tiff, multi-page TIFF included): each frame a page,
turned upright by its EXIF orientation, read by OCR (qa.reading.readers.ocr), then laid out as a PDF's
lines are (qa.reading.readers.layout: columns, paragraphs, line-end hyphens, running headers)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from qa.reading.readers import Extracted, UnreadableError
from qa.reading.readers.layout import Line, lines_of_ocr, text_of_lines
from qa.reading.readers.ocr import MAX_PIXELS, OcrSettings, recognise

_DEFAULT_DPI = 300.0  # an image that does not say its resolution is taken as a 300 dpi scan
_MAX_FRAMES = 2_000


def read_image(data: bytes) -> Extracted:
    settings = OcrSettings.from_environment()
    if not settings.enabled:
        raise UnreadableError("an image of text needs OCR, which is off (QA_OCR=off)")
    image = open_image(io.BytesIO(data))
    try:
        frames = getattr(image, "n_frames", 1)
    except OSError as error:
        raise UnreadableError(f"not a readable image ({error})") from error
    if frames > _MAX_FRAMES:
        raise UnreadableError(f"{frames:,} frames, over the {_MAX_FRAMES:,} a file may have")
    for number in range(frames):  # a frame over the limit refuses the file before any OCR
        seek_frame(image, number)
    dpis: list[float] = []

    def frame(number: int) -> Callable[[], Any]:
        def make() -> Any:
            gray, dpi = frame_image(image, number)
            dpis.append(dpi)
            return gray
        return make

    try:
        pages = recognise([frame(n) for n in range(frames)], settings,
                          [f"page {n + 1}" for n in range(frames)] if frames > 1 else ["the image"])
    except UnreadableError:
        raise
    except (OSError, ValueError) as error:  # a damaged frame
        raise UnreadableError(f"damaged image ({error})") from error
    lines: list[list[Line]] = []
    widths: list[float] = []
    for number, (page, dpi) in enumerate(zip(pages, dpis, strict=True)):
        lines.append(lines_of_ocr(page, number, pixels_per_point=dpi / 72))
        widths.append(page.width / (dpi / 72))
    return text_of_lines(lines, widths, "no text found in the image by OCR")


def open_image(source: Path | IO[bytes]) -> Any:
    """The image (a PIL image, not yet decoded), its first frame within MAX_PIXELS;
    UnreadableError, saying why, for anything else. The reader and the viewer open images
    only here, so an image one of them takes the other takes too."""
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow refuses at twice this; seek_frame at this
    try:
        image = Image.open(source)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise UnreadableError(f"not a readable image ({error})") from error
    try:
        seek_frame(image, 0)
    except UnreadableError:
        image.close()
        raise
    return image


def seek_frame(image: Any, number: int) -> None:
    """Moves to frame `number`; UnreadableError when it is damaged or over MAX_PIXELS (its size
    is known before its pixels are decoded)."""
    try:
        image.seek(number)
    except (OSError, EOFError, ValueError) as error:
        raise UnreadableError(f"damaged image ({error})") from error
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise UnreadableError(f"a page of {width:,} × {height:,} pixels ({width * height:,}), "
                              f"over the {MAX_PIXELS:,} a page may have")


def frame_image(image: Any, number: int) -> tuple[Any, float]:
    """A frame as OCR reads it, upright and grey, and its resolution in dots per inch."""
    from PIL import ImageOps

    seek_frame(image, number)
    return ImageOps.exif_transpose(image).convert("L"), _dpi(image.info.get("dpi"))


def _dpi(value: object) -> float:
    try:
        dpi = float(value[0])  # type: ignore[index]
    except (TypeError, ValueError, IndexError):
        return _DEFAULT_DPI
    return dpi if 50 <= dpi <= 2400 else _DEFAULT_DPI
