"""PDFium (pypdfium2), for the PDF reader and the viewer alike: a document opened, a page's glyphs
decoded into lines with their boxes and sizes (qa.reading.readers.layout's Lines, the same for
indexing and for display), and a page rendered, for OCR or to be shown.

PDFium must never be called from two threads at once, not even on two documents (pypdfium2's
documentation: it corrupts or crashes the process), and a server renders pictures, works out
marks and may read files in several threads: every call into it holds LOCK. Pages of absurdly
much text are refused before PDFium builds them.
"""

from __future__ import annotations

import functools
import math
import re
import statistics
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from qa.reading.readers import UnreadableError, well_formed_text
from qa.reading.readers.layout import Line, Word
from qa.reading.readers.ocr import MAX_PIXELS

LOCK = threading.RLock()

MIN_TEXT_CHARACTERS = 20  # fewer letters than this in the whole file: no text layer
_MIN_OCR_DPI = 150  # a coarser scan is recognised at this resolution, enlarged
_GUTTER = 2.0  # a horizontal gap this many font sizes wide separates two columns
_CELL_GAP = 0.8  # font sizes: a space this wide inside a line may part two cells of a table
_RAISED = frozenset("“”‘’'\"`′″°*")  # marks set above the letters' baseline
_TURNED = math.radians(20)  # a glyph turned further than this from the horizontal is no body text
_UNIT_SIZE = 2.0  # points: a smaller font size is a unit font scaled by its text matrix
_RAISED_DEPTH = 0.75  # font sizes: how far below a raised mark its line's letters may reach
_SOFT_HYPHENS = {"\u00ad"}  # a hyphenation point: always joined
_LINE_END_HYPHEN = "\x02"  # PDFium's mark for a hyphen that ends a line: decided by the layout
_UTF16_CHARACTER = re.compile("[\ud800-\udbff][\udc00-\udfff]|.", re.DOTALL)  # a pair, or one unit
# Bounds on one page, far above real pages (docs/benchmarks.md: at most 3,299 text objects and
# 7,116 characters on a page of ../shared/documents) and far below what exhausts a reader:
# PDFium's text page costs about 130 bytes a character, so a 30 KB file of 400,000 short lines
# needs 1.7 GB and a minute. A page over them is refused at once with the reason.
_MAX_PAGE_TEXT_OBJECTS = 100_000
_MAX_PAGE_CHARACTERS = 1_000_000

_Glyph = tuple[str, tuple[float, float, float, float], float, int]  # character, box, size, index
_NO_BOX = (0.0, 0.0, 0.0, 0.0)  # a space's: nothing inked


@contextmanager
def opened(source: bytes | Path) -> Iterator[Any]:
    """The PDF (its bytes or its path) open, closed afterwards; UnreadableError, saying why, when
    PDFium cannot open it. Opening and closing hold LOCK; every call between must hold it too
    (the viewer holds it throughout, the reader lets it go while Tesseract reads its scans)."""
    import pypdfium2 as pdfium

    with LOCK:
        try:
            document = pdfium.PdfDocument(source)
        except pdfium.PdfiumError as error:
            if "password" in str(error).lower():
                raise UnreadableError("encrypted (password-protected); qa cannot read it") from error
            # PDFium reports some parse failures with its "success" code: say what happened.
            reason = str(error).replace("(PDFium: Success)", "(no valid PDF structure found)")
            raise UnreadableError(f"not a readable PDF ({reason})") from error
    try:
        yield document
    finally:
        with LOCK:
            document.close()


def render(page: Any, scale: float, grayscale: bool = False) -> Any:
    """The page as a PIL image, `scale` pixels a point."""
    with LOCK:
        return page.render(scale=scale, grayscale=grayscale).to_pil()


def page_lines(page: Any, number: int, words: bool = False) -> list[Line]:
    """The page's lines, in PDFium's order (with `words`, each line's words boxed as drawn, for
    the viewer); a line ends at PDFium's line breaks or where the next glyph sits wholly below
    the line. Turned text (an archive's stamp up a margin) comes last as one aside, unless most
    of the page is turned (a table set sideways). UnreadableError for a page of absurdly much
    text."""
    with LOCK:
        _check_text_objects(page, number)
        textpage = page.get_textpage()
        try:
            if textpage.count_chars() > _MAX_PAGE_CHARACTERS:  # before a Python object a character
                raise UnreadableError(_page_too_large(number, "characters", _MAX_PAGE_CHARACTERS))
            lines, turned = _lines(textpage, number, words, _TurnedText(True))
            if len(turned.boxes) > sum(len(line.text) for line in lines):
                lines, turned = _lines(textpage, number, words, _TurnedText(False))
            return lines + turned.lines(number)
        finally:
            textpage.close()


def _lines(textpage: Any, number: int, words: bool, turned: _TurnedText
           ) -> tuple[list[Line], _TurnedText]:
    import ctypes

    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    boxed = textpage if words else None  # where each line's words are boxed, or None
    # pypdfium2's get_charbox without four new C numbers a character: boxes are most of the cost.
    char_box, font_size, raw = pdfium_c.FPDFText_GetCharBox, pdfium_c.FPDFText_GetFontSize, textpage.raw
    left, right, bottom, top = ctypes.c_double(), ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
    lines: list[Line] = []
    glyphs: list[_Glyph] = []
    # Constants as local names: this loop runs for every character of every page.
    inf, raised_marks, soft_hyphens = math.inf, _RAISED, _SOFT_HYPHENS
    # The line's lowest and highest inked glyph so far, and its last one's right edge.
    line_bottom, line_top, line_right = inf, -inf, -inf
    # Whether the line so far is only marks set above the letters (an opening quote): the
    # letters after it lie wholly below it, not on the next line. And whether the last glyph
    raised, turning = True, False  # was turned: a space after it is the turned text's.
    for index, character in text_characters(textpage):
        if character == _LINE_END_HYPHEN:
            character = "-"
        if character in "\r\n":
            _flush(glyphs, lines, number, boxed)
            line_bottom, line_top, line_right, raised = inf, -inf, -inf, True
        elif character.isspace() or character in soft_hyphens:  # not inked
            if turning:
                turned.space()
            else:
                glyphs.append((character, _NO_BOX, 0.0, index))
        else:
            if not char_box(raw, index, left, right, bottom, top):
                raise pdfium.PdfiumError("Failed to get charbox.")
            box = (left.value, bottom.value, right.value, top.value)
            size = font_size(raw, index)  # a float: its C type is a double
            if size < _UNIT_SIZE:
                size = _scaled_size(textpage, index, size)
            # Below the line, wholly above it (the top of the next column, where PDFium ran
            # one column's last line into the next one's first), or past a gap wider than any
            # word space (a column gutter).
            lowest = line_bottom - _RAISED_DEPTH * size if raised else line_bottom
            breaks = box[3] < lowest != inf or box[1] > line_top != -inf \
                or box[0] - line_right > _GUTTER * size
            # Turned glyphs each break the line they would join: PDFium's angle is asked a line.
            if turning := (breaks or line_top == -inf) and turned.takes(
                    textpage, index, character, box, size):
                continue
            if breaks:
                _flush(glyphs, lines, number, boxed)
                line_bottom, line_top, raised = inf, -inf, True
            raised = raised and character in raised_marks
            if box[1] < line_bottom:
                line_bottom = box[1]
            if box[3] > line_top:
                line_top = box[3]
            line_right = box[2]
            glyphs.append((character, box, size, index))
    _flush(glyphs, lines, number, boxed)
    return lines, turned


def _scaled_size(textpage: Any, index: int, size: float) -> float:
    """The type size of a glyph whose font was set at one point or less (`1 Tf`, as Word and
    many report writers set every font), scaled to its size by the text matrix: the
    matrix's height scale times the size PDFium gives. Asked only for such glyphs: it is one
    more call a glyph."""
    import pypdfium2.raw as pdfium_c

    matrix = pdfium_c.FS_MATRIX()
    if not pdfium_c.FPDFText_GetMatrix(textpage.raw, index, matrix):
        return size
    return size * math.hypot(matrix.c, matrix.d)


class _TurnedText:
    """The glyphs of a page set at an angle to the horizontal, in PDFium's order. Read into
    the lines around them, each would be a line of one letter, and a stamp up the margin
    would be a column the gutters are measured against."""

    def __init__(self, wanted: bool) -> None:
        self.wanted = wanted
        self.characters: list[str] = []
        self.boxes: list[tuple[tuple[float, float, float, float], float]] = []

    def takes(self, textpage: Any, index: int, character: str,
              box: tuple[float, float, float, float], size: float) -> bool:
        if not self.wanted:
            return False
        import pypdfium2.raw as pdfium_c

        angle = float(pdfium_c.FPDFText_GetCharAngle(textpage.raw, index)) % math.tau
        if min(angle, math.tau - angle) < _TURNED:
            return False
        self.characters.append(character)
        self.boxes.append((box, size))
        return True

    def space(self) -> None:
        self.characters.append(" ")

    def lines(self, page: int) -> list[Line]:
        text = " ".join("".join(self.characters).split())
        if not text:
            return []
        boxes = [box for box, _ in self.boxes]
        return [Line(text, min(b[0] for b in boxes), max(b[2] for b in boxes),
                     max(b[3] for b in boxes), min(b[1] for b in boxes),
                     statistics.median(size for _, size in self.boxes), page, aside=True)]


def _check_text_objects(page: Any, number: int) -> None:
    """UnreadableError for a page with more than _MAX_PAGE_TEXT_OBJECTS text objects (those in
    forms counted too), found before PDFium builds its text page, the costly part."""
    import pypdfium2.raw as pdfium_c

    raw = page.raw
    count = 0
    containers: list[tuple[int, Callable[[int], Any]]] = [
        (pdfium_c.FPDFPage_CountObjects(raw), lambda index: pdfium_c.FPDFPage_GetObject(raw, index))]
    while containers:
        size, member = containers.pop()
        for index in range(size):
            item = member(index)
            kind = pdfium_c.FPDFPageObj_GetType(item)
            if kind == pdfium_c.FPDF_PAGEOBJ_TEXT:
                count += 1
                if count > _MAX_PAGE_TEXT_OBJECTS:  # stop counting: the page is refused anyway
                    raise UnreadableError(_page_too_large(number, "pieces of text",
                                                          _MAX_PAGE_TEXT_OBJECTS))
            elif kind == pdfium_c.FPDF_PAGEOBJ_FORM:
                containers.append((pdfium_c.FPDFFormObj_CountObjects(item),
                                   functools.partial(pdfium_c.FPDFFormObj_GetObject, item)))


def _page_too_large(number: int, what: str, limit: int) -> str:
    return (f"page {number + 1} holds over {limit:,} {what}, far more than any real page (a "
            "generated or hostile file?), so it is not read: it would cost gigabytes of memory")


def needs_ocr(lines: list[Line], page: Any) -> bool:
    """A page with (almost) no text layer that shows something: a scan, a photo of a page, or
    text drawn as outlines (some printers' PDFs). A blank page is left alone."""
    import pypdfium2.raw as pdfium_c

    if sum(c.isalnum() for line in lines for c in line.text) >= MIN_TEXT_CHARACTERS:
        return False
    drawn = [pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_PATH]
    with LOCK:
        return any(True for _ in page.get_objects(filter=drawn, max_depth=3))


def ocr_scale(page: Any) -> float:
    """Pixels per point at which a page is rendered for OCR: its resolution, lowered for a
    page so large that it would be over MAX_PIXELS (by a hundredth more: the rendered size is
    rounded up)."""
    with LOCK:
        width, height = (float(size) for size in page.get_size())
        return min(_ocr_dpi(page) / 72, 0.99 * math.sqrt(MAX_PIXELS / max(width * height, 1.0)))


def ocr_image(page: Any, scale: float) -> Any:
    """The grey picture of a page that OCR reads (the viewer finds its words again by it)."""
    return render(page, scale, grayscale=True)


def _ocr_dpi(page: Any) -> float:
    """The resolution to recognise a page at: its scanned image's own (rendering finer adds
    pixels, not detail: measured, a 200 dpi scan took twice as long at 300 dpi), at least
    _MIN_OCR_DPI; OCR_DPI for text drawn as outlines, which has no resolution of its own."""
    import pypdfium2.raw as pdfium_c

    from qa.reading.readers.ocr import OCR_DPI

    resolutions = []
    for image in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=3):
        left, _, right, _ = image.get_bounds()
        if right - left > 0.5 * float(page.get_width()):
            resolutions.append(image.get_px_size()[0] / ((right - left) / 72))
    return min(OCR_DPI, max(_MIN_OCR_DPI, max(resolutions))) if resolutions else OCR_DPI


def text_characters(textpage: Any) -> list[tuple[int, str]]:
    """A PDFium text page's characters, each with its index there (for its box). PDFium
    counts UTF-16 code units: a character beyond U+FFFF (a math letter such as U+1D465) comes
    as a surrogate pair, here joined into one character at the first half's index; a lone half,
    or a code that is no character, is U+FFFD."""
    import pypdfium2.raw as pdfium_c

    unicode, raw = pdfium_c.FPDFText_GetUnicode, textpage.raw
    codes = [unicode(raw, index) for index in range(textpage.count_chars())]
    units = "".join([chr(code) if code < 0x110000 else "\ufffd" for code in codes])
    if well_formed_text(units) is units:  # no surrogate: one character for each unit
        return list(enumerate(units))
    return [(match.start(), well_formed_text(match.group()))
            for match in _UTF16_CHARACTER.finditer(units)]


def _flush(glyphs: list[_Glyph], lines: list[Line], page: int, boxed: Any) -> None:
    """The glyphs so far as a line; `boxed`: the text page, where the line's words are wanted."""
    inked = [(box, size) for _, box, size, _ in glyphs if box is not _NO_BOX]
    text = " ".join("".join([glyph[0] for glyph in glyphs]).split())
    if not inked or not text:
        glyphs.clear()
        return
    size = statistics.median(size for _, size in inked)
    pieces = _pieces(glyphs, size)
    words = _words(glyphs, size, boxed) if boxed is not None else ()
    glyphs.clear()
    lines.append(Line(text, min(b[0] for b, _ in inked), max(b[2] for b, _ in inked),
                      max(b[3] for b, _ in inked), min(b[1] for b, _ in inked), size, page,
                      pieces=pieces, words=words))


def _pieces(glyphs: list[_Glyph], size: float) -> tuple[tuple[str, float, float], ...]:
    """A line cut where the space between two glyphs is wider than _CELL_GAP font sizes, or
    where the next glyph stands that far left of the last one (PDFium reads a margin note's
    line before the line of text level with it)."""
    pieces: list[tuple[str, float, float]] = []
    characters: list[str] = []
    left = right = last_left = None
    for character, box, _, _ in glyphs:
        if box is not _NO_BOX:  # inked
            if right is not None and last_left is not None and (
                    box[0] - right > _CELL_GAP * size or last_left - box[2] > _CELL_GAP * size):
                pieces.append((" ".join("".join(characters).split()), left or 0.0, right))
                characters, left = [], None
            left = box[0] if left is None else left
            right, last_left = box[2], box[0]
        characters.append(character)
    if len(pieces) == 0 or right is None:
        return ()
    return (*pieces, (" ".join("".join(characters).split()), left or 0.0, right))


def _words(glyphs: list[_Glyph], size: float, textpage: Any) -> tuple[Word, ...]:
    """The line's words, parted at spaces and where _pieces cuts the line (so a word lies in one
    piece): across, from its glyphs' boxes; up and down, from the loose box of the line's first
    glyph (its font's height), so the boxes of a passage's lines meet as its lines do. One loose
    box a line, not a glyph: PDFium's boxes are most of what a page costs."""
    words: list[tuple[str, float, float]] = []
    characters: list[str] = []
    left = right = last_left = 0.0
    gap = _CELL_GAP * size
    first = -1  # the text page's index of the line's first glyph
    for character, box, _, index in glyphs:
        if box is _NO_BOX:  # a space parts words; a soft hyphen shows nothing
            if characters and character.isspace():
                words.append(("".join(characters), left, right))
                characters = []
            continue
        if characters and (box[0] - right > gap or last_left - box[2] > gap):
            words.append(("".join(characters), left, right))
            characters = []
        if not characters:
            left, right = box[0], box[2]
            first = index if first < 0 else first
        characters.append(character)
        last_left = box[0]
        if last_left < left:
            left = last_left
        if box[2] > right:
            right = box[2]
    if characters:
        words.append(("".join(characters), left, right))
    if first < 0:
        return ()
    _, bottom, _, top = textpage.get_charbox(first, loose=True)
    return tuple(Word(text, left, top, right, bottom) for text, left, right in words)
