"""Scan-like images made here: a page rendered to pixels, tilted, speckled with noise and
compressed, as a scanner or a phone camera would leave it; and image-only PDFs and multi-page
TIFFs of them."""

from __future__ import annotations

import io
from typing import Any

import numpy as np


def scanned(pdf: bytes, page: int = 0, dpi: int = 200, tilt: float = 1.2, noise: float = 20.0,
            seed: int = 7) -> Any:
    """A PDF page as a grey scan: rendered at `dpi`, turned by `tilt` degrees, with noise."""
    import pypdfium2 as pdfium
    from PIL import Image

    document = pdfium.PdfDocument(pdf)
    try:
        image = document[page].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
    finally:
        document.close()
    image = image.rotate(tilt, expand=True, fillcolor=255, resample=Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.int16)
    pixels = pixels + np.random.default_rng(seed).normal(0, noise, pixels.shape).astype(np.int16)
    scan = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
    scan.info["dpi"] = (dpi, dpi)
    return scan


def encoded(image: Any, form: str, quality: int = 45) -> bytes:
    out = io.BytesIO()
    dpi = image.info.get("dpi", (200, 200))
    if form == "JPEG":
        image.save(out, "JPEG", quality=quality, dpi=dpi)
    else:
        image.save(out, form, dpi=dpi)
    return out.getvalue()


def multipage(images: list[Any], form: str) -> bytes:
    """A multi-page TIFF, or an image-only PDF (each page one JPEG image, no text layer)."""
    out = io.BytesIO()
    # Copies: an image saved before keeps its encoder options (a JPEG quality), which PIL would
    # apply to the TIFF's frames.
    copies = [image.copy() for image in images]
    for copy, image in zip(copies, images, strict=True):
        copy.info["dpi"] = image.info.get("dpi", (200, 200))
    first, rest = copies[0], copies[1:]
    if form == "PDF":
        first.save(out, "PDF", save_all=True, append_images=rest,
                   resolution=float(first.info.get("dpi", (200, 200))[0]))
    else:
        first.save(out, "TIFF", save_all=True, append_images=rest,
                   dpi=first.info.get("dpi", (200, 200)))
    return out.getvalue()
