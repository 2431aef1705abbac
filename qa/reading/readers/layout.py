"""A page's geometry read as a person reads it, from lines with boxes and font sizes, whether a
PDF's text layer (qa.reading.readers.pdfium) or OCR's hOCR (lines_of_ocr) gave them: margin line
numbers, running headers and footers, columns and reading order (one to three columns under a
full-width title or abstract; margin notes and footnotes as asides after the page's text),
tables only where cells line up in columns across rows, paragraphs and headings, and line-end
hyphens. Each step is a function over a page's lines; text_of_lines runs them in order, and
page_in_reading_order the steps of one page for the viewer, which boxes a passage's words in the
order the reader read them.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import itertools
import math
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass

from qa.reading.readers import Extracted, Heading, UnreadableError
from qa.reading.readers.ocr import OcrLine, OcrPage, OcrWord, levelled
from qa.reading.readers.tables import PASSAGE_CHARS

# OCR finds no letters in noise it cannot read, so a few it does find are text (a label, a form).
MIN_OCR_CHARACTERS = 4
_RUNNING_SHARE = 0.5  # a line in the margin on at least this share of pages is running text
_FLOAT_TYPE = 0.93  # a paragraph's size against another's: more apart is another type
# Running lines on two pages stand this close in height, or closer: four points, or a line's
# size (a scan's page lies a few points higher or lower on the glass, or turned, from page to page).
_SAME_PLACE = 4.0
_NARROW_CELL = 0.25  # of the page's width: a piece of a line narrower than this may be a cell
_SENTENCE_END = re.compile(r"[.!?:;…\"'”’)\]]$")
_PAGE_NUMBER = re.compile(r"^[-–—\s]*(\d+|[ivxlcdm]+)[-–—\s]*$", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


@dataclass(frozen=True)
class Word:
    """A word where the page shows it, for the viewer to box: its text and its box in points (y
    upwards), a text layer's from its glyphs' loose boxes (as tall as the font), a scan's where
    OCR found it (a tilted scan's lines are levelled for the layout, not for the picture)."""

    text: str
    left: float
    top: float
    right: float
    bottom: float

    @property
    def centre(self) -> float:
        return (self.left + self.right) / 2


@dataclass
class Line:
    """One line of text on a page, with its box in PDF points (y grows upwards)."""

    text: str
    left: float
    right: float
    top: float
    bottom: float
    size: float  # font size in points
    page: int  # 0-based
    table: int = 0  # a table's row (read with its headers): which table on the page, from 1
    # The line's pieces (text, left, right) where it has gaps of a cell's padding or more;
    # empty for a line without such gaps. Tables are found by them.
    pieces: tuple[tuple[str, float, float], ...] = ()
    aside: bool = False  # in a margin beside the text (a margin note, a figure's label)
    # Its words as the page shows them, where the caller asked for them (the viewer); the reader
    # goes without.
    words: tuple[Word, ...] = ()

    @property
    def centre(self) -> float:
        return (self.left + self.right) / 2

    @property
    def centre_height(self) -> float:
        return (self.top + self.bottom) / 2


@dataclass
class Block:
    """A paragraph or heading being assembled: its lines, in reading order."""

    lines: list[Line]
    heading: bool = False

    @property
    def aside(self) -> bool:
        return self.lines[0].aside


def text_of_lines(pages: list[list[Line]], widths: list[float], empty_reason: str,
                  min_characters: int = MIN_OCR_CHARACTERS) -> Extracted:
    """Lines of every page (from a text layer or OCR) read as the author wrote them;
    UnreadableError(empty_reason) with fewer than `min_characters` letters and digits."""
    pages = _drop_running_lines([_without_line_numbers(lines) for lines in pages])
    if sum(c.isalnum() for page in pages for line in page for c in line.text) < min_characters:
        raise UnreadableError(empty_reason)
    body_size = _body_size(pages)
    blocks = [_paragraphs(_runs(lines, widths[n], body_size), body_size)
              for n, lines in enumerate(pages)]
    return _assemble(_join_across_pages(_one_title(blocks)), len(pages), body_size)


def _one_title(pages: list[list[Block]]) -> list[list[Block]]:
    """The first page's title as one line, when it opens the page as headings of one size: a
    title wrapped onto two lines ("River Water Quality Study" over "2023") is one title, not a
    title and a section under it, and the chunker takes a document's first line as its title."""
    first = next((blocks for blocks in pages if blocks), [])
    if not first or not first[0].heading:
        return pages
    size = first[0].lines[0].size
    count = 1
    while count < len(first) and first[count].heading and not first[count].aside \
            and abs(first[count].lines[0].size - size) <= 0.1 * size:
        count += 1
    lines = [line for block in first[:count] for line in block.lines]
    text = " ".join(" ".join(line.text for line in lines).split())
    if len(lines) < 2 or len(text) >= 200:
        return pages
    title = dataclasses.replace(lines[0], text=text, left=min(line.left for line in lines),
                    right=max(line.right for line in lines), bottom=lines[-1].bottom,
                    pieces=(), words=tuple(word for line in lines for word in line.words))
    first[:count] = [Block([title], heading=True)]
    return pages


def page_in_reading_order(lines: list[Line], width: float) -> list[Line]:
    """One page's lines (`width` points wide) in the order text_of_lines reads them: without
    margin line numbers and page numbers, columns one after the other, tables as rows, and
    asides after the text. Alone, a page has no running headers to find (they repeat over
    pages) and its own body size stands for the document's."""
    lines = _drop_running_lines([_without_line_numbers(lines)])[0]
    return [line for run in _runs(lines, width, _body_size([lines])) for line in run]


def _runs(lines: list[Line], width: float, body_size: float) -> list[list[Line]]:
    """A page's lines in runs read one after the other. Columns first, then tables inside each
    column: a table is never read across a gutter, so the prose of the column beside it stays
    out of its rows."""
    return [_with_table_rows(column, width)
            for column in _with_floats_aside(_reading_order(lines), body_size)]


def lines_of_ocr(page: OcrPage, number: int, pixels_per_point: float,
                 words: bool = False) -> list[Line]:
    """OCR's lines as text-layer lines: boxes in points with y upwards, turned level first
    when the scan is tilted, and each line's size in points as _ocr_sizes states it; with
    `words`, each line's words where OCR found them, not turned (the viewer boxes them on the
    scan)."""
    height = page.height / pixels_per_point
    level_page = levelled(page)
    ocr_lines = _overlaps_joined(level_page.lines)
    lines = []
    # Each levelled word where OCR found it (levelled turns copies, in the same order).
    found = {id(level): word for level, word in zip(
        (word for line in level_page.lines for word in line.words),
        (word for line in page.lines for word in line.words), strict=True)} if words else {}
    sizes = _ocr_sizes(ocr_lines)
    cut = _ocr_pieces(ocr_lines, sizes, level_page.width)
    for line, size, pieces in zip(ocr_lines, sizes, cut, strict=True):
        level = line.words
        lines.append(Line(" ".join(word.text for word in level),
                          min(w.left for w in level) / pixels_per_point,
                          max(w.right for w in level) / pixels_per_point,
                          height - min(w.top for w in level) / pixels_per_point,
                          height - max(w.bottom for w in level) / pixels_per_point,
                          round(2 * size / pixels_per_point) / 2, number,
                          pieces=tuple((" ".join(word.text for word in words),
                                        words[0].left / pixels_per_point,
                                        words[-1].right / pixels_per_point) for words in pieces),
                          words=tuple(Word(w.text, w.left / pixels_per_point,
                                           height - w.top / pixels_per_point,
                                           w.right / pixels_per_point,
                                           height - w.bottom / pixels_per_point)
                                      for w in (found[id(v)] for v in level)) if words else ()))
    return lines


# A line's gap this many of its sizes wide may part two columns or two cells (the text layer's
# _CELL_GAP); OCR's gap is cut only where, beyond it, the page's other lines keep the edges.
_OCR_CELL_GAP = 0.8
_OCR_COLUMN = 0.15  # of the page's width: OCR's pieces narrower than this may be table cells
_EDGE_LINES = 2  # other lines that must end where a piece ends, and start where the next starts


def _ocr_pieces(lines: tuple[OcrLine, ...], sizes: tuple[float, ...], width: float
                ) -> list[tuple[tuple[OcrWord, ...], ...]]:
    """Each line's words in pieces, where the text layer would cut it (_CELL_GAP), as far as
    the page's other lines bear the cut out: Tesseract reads two columns' lines as one line
    when the gutter is narrow, and OCR's word boxes leave justified prose's wide spaces
    anything but equal, so a wide gap alone does not tell a gutter or a table's column from a
    stretched space. A gutter has a column's lines end at its left and start at its right;
    a stretched space falls anywhere. A line with no cut that holds has no pieces (()), as a
    text layer's line without gaps."""
    groups = []
    for line, size in zip(lines, sizes, strict=True):
        found: list[list[OcrWord]] = [[line.words[0]]]
        for previous, word in itertools.pairwise(line.words):
            if word.left - previous.right > _OCR_CELL_GAP * size:
                found.append([])
            found[-1].append(word)
        groups.append(found)
    lefts = sorted((group[0].left, number) for number, found in enumerate(groups)
                   for group in found)
    rights = sorted((group[-1].right, number) for number, found in enumerate(groups)
                    for group in found)

    def sharing(edges: list[tuple[int, int]], x: int, number: int, tolerance: float) -> int:
        """How many other lines have an edge at x, counted up to one more than the most
        any rule asks (a column's edge is shared by nearly every line: counting them all, for
        every line, grew with the square of a page's lines)."""
        start = bisect.bisect_left(edges, (x - tolerance, -1))
        end = bisect.bisect_right(edges, (x + tolerance, len(groups)))
        others: set[int] = set()
        for at in range(start, end):
            other = edges[at][1]
            if other != number:
                others.add(other)
                if len(others) > _EDGE_LINES:
                    break
        return len(others)

    pieces = []
    for number, (found, size) in enumerate(zip(groups, sizes, strict=True)):
        kept = [list(found[0])]
        for before, after in itertools.pairwise(found):
            if sharing(rights, before[-1].right, number, size / 3) >= _EDGE_LINES \
                    or sharing(lefts, after[0].left, number, size / 3) >= _EDGE_LINES:
                kept.append([])
            kept[-1] += after
        # A column's last line may be short, where it starts at the column's edge.
        last = kept[-1][-1].right - kept[-1][0].left >= _OCR_COLUMN * width \
            or sharing(lefts, kept[-1][0].left, number, size / 3) > _EDGE_LINES
        columns = last and all(group[-1].right - group[0].left >= _OCR_COLUMN * width
                               for group in kept[:-1])
        pieces.append(tuple(tuple(group) for group in kept) if len(kept) > 1 and columns else ())
    return pieces


def _overlaps_joined(lines: tuple[OcrLine, ...]) -> tuple[OcrLine, ...]:
    """OCR's lines with each line that stands level with another and within its width joined
    to it, words left to right: Tesseract now and then takes a word out of its line as a line
    of its own ("the with both channel" and "channels" for "the channels with both channel").
    Lines side by side in two columns do not overlap, and stay apart. In Tesseract's order,
    a joined line where the first of its parts stood."""
    boxes = [_box(line) for line in lines]
    rows: list[list[int]] = []
    for index in sorted(range(len(lines)), key=lambda index: boxes[index][1] + boxes[index][3]):
        _, top, _, bottom = boxes[index]
        if rows and abs(sum(boxes[rows[-1][0]][1::2]) - top - bottom) < bottom - top:
            rows[-1].append(index)
        else:
            rows.append([index])
    groups: list[list[int]] = []
    for row in rows:
        reach = -1
        for index in sorted(row, key=lambda index: boxes[index][0]):
            if boxes[index][0] < reach:
                groups[-1].append(index)
            else:
                groups.append([index])
            reach = max(reach, boxes[index][2])
    first = {min(group): group for group in groups}
    return tuple(lines[index] if len(first[index]) == 1 else OcrLine(
        max((lines[part] for part in first[index]), key=lambda part: len(part.words)).size,
        tuple(sorted((word for part in first[index] for word in lines[part].words),
                     key=lambda word: word.left)))
        for index in range(len(lines)) if index in first)


# OCR measures the lines of one type up to a tenth apart (it fits their letters' height to the
# letters each line holds); this close to the page's text size, a line is in the text's type.
# The layout's bounds for another type lie beyond: a heading is 1.15 times the text's size.
_OCR_SAME_SIZE = 0.12
# Letters that reach above a lower-case x, and below the line: how tall a word's ink stands
# depends on which of them it holds ("erates a concentrated service to" has no descender).
# A t or an i's dot rises part way: a word with one and no taller letter is measured by none.
_TALL = re.compile(r"[^\W\da-z_]|[bdfhkl\d()\[\]{}|/!?'\"“”‘’&%$#]")
_LOW = re.compile(r"[gjpqy()\[\]{}|]")
_PART_WAY = re.compile(r"[ti]")


# OCR's letter height puts a footnote or a caption two points under the text's size within
# _OCR_SAME_SIZE of it, while its words' ink stands clearly lower than the text's words with the
# same kinds of letters: below this share of them (the layout's bound for small type), a line of
# at least _INK_WORDS such words is in a smaller type, whatever OCR's letter height says.
_SMALL_INK = 0.85
_INK_WORDS = 3


def _ocr_sizes(lines: tuple[OcrLine, ...]) -> tuple[float, ...]:
    """The lines' sizes in pixels, one for each type, as a text layer states them. A line
    within _OCR_SAME_SIZE of the page's text size (the median over its characters) is of the
    text's size. A line measured smaller whose ink stands as tall as the text's words with
    the same kinds of letters, or taller, is of the text's size too (OCR now and then fits a
    line's letters a fifth or more too small, most of all a line of few letters: "ma-"). But a
    line no larger whose words stand clearly shorter than the text's (_ink_share) is in a
    smaller type, as much smaller, whatever its letter height says (a footnote two points
    under the text measured within a tenth of it); and a line whose words stand lower than
    the text's, though not that clearly, keeps its letter height: two measures agree it is
    smaller. A line of too few words to measure that goes on under one set smaller takes its
    size (_last_lines_in_type). Any other line keeps its own size. Taken as measured, two
    lines of one paragraph measured 8.7 and 9.3 points would round to 8.5 and 9.5: another
    size, so a new paragraph."""
    if not lines:
        return ()
    half, count = sum(len(word.text) for line in lines for word in line.words) / 2, 0
    text_size = lines[0].size
    for line in sorted(lines, key=lambda line: line.size):
        count += sum(len(word.text) for word in line.words)
        text_size = line.size
        if count >= half:
            break

    def near(value: float, typical: float) -> bool:
        return abs(value - typical) <= _OCR_SAME_SIZE * typical

    typical = _ink_heights([line for line in lines if near(line.size, text_size)])

    def size(line: OcrLine, share: float | None) -> float:
        if share is not None and share < _SMALL_INK \
                and line.size < (1 + _OCR_SAME_SIZE) * text_size:
            return min(line.size, share * text_size)  # the words say small type
        if near(line.size, text_size):
            return text_size
        if share is not None and share < 1 - _OCR_SAME_SIZE:
            return line.size  # the words stand lower too: the line's height is not OCR's slip
        kind = _letters(" ".join(word.text for word in line.words))
        _, top, _, bottom = _box(line)
        ink = bottom - top
        if line.size < text_size and ink >= (1 - _OCR_SAME_SIZE) * typical.get(kind, math.inf):
            return text_size
        return line.size

    shares = [_ink_share(line, typical) for line in lines]
    sizes = [size(line, share) for line, share in zip(lines, shares, strict=True)]
    measured = [index for index, share in enumerate(shares) if share is not None]
    small = [index for index in measured if sizes[index] < (1 - _OCR_SAME_SIZE) * text_size]
    unmeasured = set(range(len(lines))) - set(measured)
    return _last_lines_in_type(lines, sizes, small, {index for index in unmeasured
                                                    if sizes[index] <= text_size})


# The white between two lines of one paragraph, against their size: less than a blank line.
_NO_GAP = 0.8


def _last_lines_in_type(lines: tuple[OcrLine, ...], sizes: list[float], small: list[int],
                        short: set[int]) -> tuple[float, ...]:
    """The sizes with each `short` line (too few words to measure by their ink, no larger than
    the text) that goes on right under a `small` one (words enough to measure, set smaller
    than the text) in that line's size: at its left edge, within half that size, and under
    its foot by less white than a blank line leaves. A margin note's last line of a word or
    two ("follows.") has only OCR's letter height to go by, which puts it a point off the
    line above it (or at the text's size): taken as measured, the note's lines would be two
    paragraphs. Top to bottom, so a third line follows the second."""
    boxes = [_box(line) for line in lines]
    for index in sorted(short, key=lambda index: boxes[index][1]):
        left, top, _, _ = boxes[index]
        above = next((other for other in small if abs(left - boxes[other][0]) < sizes[other] / 2
                      and 0 <= top - boxes[other][3] < _NO_GAP * sizes[other]), None)
        if above is not None:
            sizes[index] = sizes[above]
            small.append(index)
    return tuple(sizes)


def _box(line: OcrLine) -> tuple[int, int, int, int]:
    """A line's box in pixels: left, top, right, bottom."""
    return (min(w.left for w in line.words), min(w.top for w in line.words),
            max(w.right for w in line.words), max(w.bottom for w in line.words))


def _letters(text: str) -> tuple[bool, bool]:
    """Which kinds of letters a text holds: any reaching above an x, any reaching below the line."""
    return bool(_TALL.search(text)), bool(_LOW.search(text))


def _measured(word: OcrWord) -> bool:
    """Whether a word's ink tells its type's size: not when a t or an i is all that rises."""
    return bool(_TALL.search(word.text)) or not _PART_WAY.search(word.text)


def _ink_heights(lines: list[OcrLine]) -> dict[tuple[bool, bool], float]:
    """How tall the text's words stand, by the kinds of letters they hold (_letters): the
    median over the lines in the text's type, for each kind found in five words or more."""
    heights: dict[tuple[bool, bool], list[int]] = defaultdict(list)
    for line in lines:
        for word in line.words:
            if _measured(word):
                heights[_letters(word.text)].append(word.bottom - word.top)
    return {kind: statistics.median(found) for kind, found in heights.items() if len(found) >= 5}


def _ink_share(line: OcrLine, typical: dict[tuple[bool, bool], float]) -> float | None:
    """How tall the line's words stand against the text's words of their kinds (the median
    over its words); None for a line of fewer than _INK_WORDS words to measure."""
    shares = [(word.bottom - word.top) / typical[_letters(word.text)] for word in line.words
              if _measured(word) and _letters(word.text) in typical]
    return statistics.median(shares) if len(shares) >= _INK_WORDS else None


_NUMBER = re.compile(r"\d{1,5}")


def _without_line_numbers(lines: list[Line]) -> list[Line]:
    """A page's lines without the numbers printed beside them in a margin (review copies,
    legal and LaTeX `lineno` pages): numbers at one edge, at one place across, that rise as
    the lines go down the page in step with the lines' spacing, beside lines of prose. A page
    number, a numbered list or a table's column does not rise with the line pitch beside
    prose, so it stays."""
    candidates: list[tuple[float, Line, int, str]] = []
    for line in lines:
        # A number is a piece of its own where the line has pieces (it may touch a word: "ser-"
        # then "150"), else a word of its own (OCR's lines have no pieces).
        pieces = line.pieces or tuple((word, line.left, line.right) for word in line.text.split())
        for kind, (part, left, _) in (("alone", pieces[0]), ("first", pieces[0]),
                                      ("last", pieces[-1])):
            if _NUMBER.fullmatch(part) and (kind == "alone") == (len(pieces) == 1):
                # Without pieces a word's place is unknown: the line's edge on its side.
                edge = line.right if kind == "last" and not line.pieces else left
                candidates.append((edge, line, int(part), kind))
        # A number set close before a heading's own number ("275" then "5 Part 5") shares
        # its piece.
        lead = pieces[0][0].split(" ", 1)
        if line.pieces and len(lead) == 2 and _NUMBER.fullmatch(lead[0]):
            candidates.append((pieces[0][1], line, int(lead[0]), "lead"))
    numbers: dict[int, str] = {}
    if not candidates:
        return lines
    level, size = _Level(lines), statistics.median(line.size for line in lines)
    for members in _stacks(candidates):
        if _numbers_lines([(line, value) for line, value, _ in members], level, size):
            numbers.update((id(line), kind) for line, _, kind in members)
    if not numbers:
        return lines
    return [_without_number(line, numbers[id(line)]) if id(line) in numbers else line
            for line in lines if numbers.get(id(line)) != "alone"]


def _stacks(candidates: list[tuple[float, Line, int, str]]) -> list[list[tuple[Line, int, str]]]:
    """Numbers grouped by where they stand across the page: left edges within a font size of
    the next one's (right-aligned numbers' edges differ by a digit or two)."""
    stacks: list[list[tuple[Line, int, str]]] = []
    last_edge = float("-inf")
    for edge, line, value, kind in sorted(candidates, key=lambda candidate: candidate[0]):
        if edge - last_edge > max(line.size, 1.0):
            stacks.append([])
        stacks[-1].append((line, value, kind))
        last_edge = edge
    return stacks


def _numbers_lines(members: list[tuple[Line, int]], level: _Level, size: float) -> bool:
    """Do these numbers count the lines beside them (`size`: the page's usual type)?"""
    if len(members) < 5:
        return False
    members = sorted(members, key=lambda member: -member[0].top)
    steps = [(a.top - b.top) / (m - n) if m > n else -1.0
             for (a, n), (b, m) in itertools.pairwise(members)]
    pitch = statistics.median(steps)
    if not 0.8 * size <= pitch <= 4 * size:
        return False
    # Loosely: a tiny number standing alone sits lower in its line than a line's top.
    in_step = sum(abs(step - pitch) <= 0.5 * pitch for step in steps)
    beside_prose = sum(len(_beside(line, level).split()) >= 4 for line, _ in members)
    return in_step >= 0.8 * len(steps) and beside_prose >= 0.6 * len(members)


def _beside(number: Line, level: _Level) -> str:
    """The text on the number's line: its own line, or the longest line level with it."""
    if len(number.text.split()) > 1:
        return number.text
    middle = (number.top + number.bottom) / 2
    return max((line.text for line in level.at(middle) if line is not number), key=len, default="")


class _Level:
    """The lines a height falls within, found by buckets of a few points rather than a scan
    of the page: a page of 5,000 lone numbers would otherwise cost 25 million comparisons."""

    _BUCKET = 4.0  # points
    _TALLEST = 200.0  # a taller line is no line of text beside a number

    def __init__(self, lines: list[Line]) -> None:
        self._buckets: dict[int, list[Line]] = defaultdict(list)
        for line in lines:
            if line.top - line.bottom <= self._TALLEST:
                for bucket in range(math.floor(line.bottom / self._BUCKET),
                                    math.floor(line.top / self._BUCKET) + 1):
                    self._buckets[bucket].append(line)

    def at(self, height: float) -> list[Line]:
        return [line for line in self._buckets.get(math.floor(height / self._BUCKET), [])
                if line.bottom < height < line.top]


def _without_number(line: Line, kind: str) -> Line:
    """The line without its first or last piece (or word), the number."""
    if kind == "lead":  # the number is the first word of the first piece
        text, left, right = line.pieces[0]
        rest = text.split(" ", 1)[1]
        left = right - (right - left) * len(rest) / len(text)  # about where the rest starts
        pieces = ((rest, left, right), *line.pieces[1:])
        return dataclasses.replace(line, text=" ".join(piece[0] for piece in pieces), left=left,
                                   pieces=pieces, words=line.words[1:])
    if line.pieces:
        pieces = line.pieces[1:] if kind == "first" else line.pieces[:-1]
        _, number_left, number_right = line.pieces[0] if kind == "first" else line.pieces[-1]
        return dataclasses.replace(line, text=" ".join(piece[0] for piece in pieces),
                                   left=pieces[0][1], right=pieces[-1][2],
                                   pieces=pieces if len(pieces) > 1 else (),
                                   words=tuple(word for word in line.words
                                               if not number_left <= word.centre <= number_right))
    words = line.text.split()
    return dataclasses.replace(line, text=" ".join(words[1:] if kind == "first" else words[:-1]),
                               words=line.words[1:] if kind == "first" else line.words[:-1])


def _drop_running_lines(pages: list[list[Line]]) -> list[list[Line]]:
    """Remove running headers and footers (the same words, digits aside, at the same height in
    the top or bottom margin of many pages) and lone page numbers in the margins."""
    candidates: dict[tuple[str, str], list[Line]] = defaultdict(list)
    margin_lines: set[int] = set()
    for lines in pages:
        by_height = sorted(lines, key=lambda line: -line.top)
        for zone, chosen in (("top", by_height[:2]), ("bottom", by_height[-2:])):
            for line in chosen:
                margin_lines.add(id(line))
                candidates[(zone, re.sub(r"\d+", "#", line.text.lower()))].append(line)
    running: set[int] = set()
    needed = max(2, round(_RUNNING_SHARE * len(pages)))
    for lines in candidates.values():
        middle = statistics.median(line.top for line in lines)
        same_place = [line for line in lines
                      if abs(line.top - middle) < max(_SAME_PLACE, line.size)]
        if len({line.page for line in same_place}) >= needed:
            running.update(id(line) for line in same_place)
    rows = [_rows(lines) for lines in pages]
    running |= _set_apart_bands(rows, needed) | _stray_marks(rows)
    # A number beside other text on its line is a table's cell, not a page number.
    beside = {id(line) for page in rows for row in page if len(row) > 1 for line in row}
    return [[line for line in lines if id(line) not in running
             and not (id(line) in margin_lines and id(line) not in beside
                      and _PAGE_NUMBER.match(line.text))]
            for lines in pages]


def _set_apart_bands(pages: list[list[list[Line]]], needed: int) -> set[int]:
    """Running headers and footers whose words change from page to page (a title on odd pages,
    the authors on even ones; a date): the topmost or lowest row of a page, in type no larger
    than the text's, set apart from the rest by more than a line's space, at the same height on
    enough pages (within _SAME_PLACE). A page's first line of text is not set apart, and a
    slide's title is larger. `pages`: each page's rows (_rows)."""
    sizes = [line.size for rows in pages for row in rows for line in row]
    if not sizes:
        return set()
    text_size = statistics.median(sizes)
    zones: dict[str, list[list[Line]]] = defaultdict(list)
    for rows in pages:
        if len(rows) < 2:  # a blank page, or one line alone: nothing is set apart from anything
            continue
        for zone, row, neighbour in (("top", rows[0], rows[1:2]), ("bottom", rows[-1], rows[-2:-1])):
            size = max(line.size for line in row)
            if neighbour and size <= text_size and _gap(row, neighbour[0]) > 1.5 * size:
                zones[zone].append(row)
    bands: list[list[list[Line]]] = []
    for rows in zones.values():
        rows.sort(key=lambda row: row[0].top)
        start = len(bands)
        for row in rows:  # rows at about one height: each within _SAME_PLACE of the band's lowest
            if len(bands) > start and row[0].top - bands[-1][0][0].top < max(_SAME_PLACE, row[0].size):
                bands[-1].append(row)
            else:
                bands.append([row])
    return {id(line) for rows in bands if len({row[0].page for row in rows}) >= needed
            for row in rows for line in row}


def _stray_marks(pages: list[list[list[Line]]]) -> set[int]:
    """A page's topmost or lowest row when it is one mark of three characters or fewer, set
    apart from the rest by more than a line's space: a page number OCR misread ("5" read as
    "wo"), a printer's mark. `pages`: each page's rows (_rows)."""
    marks = set()
    for rows in pages:
        for row, neighbour in ((rows[0], rows[1:2]), (rows[-1], rows[-2:-1])) if rows else ():
            if len(row) == 1 and len(row[0].text) <= 3 and neighbour \
                    and _gap(row, neighbour[0]) > 1.5 * row[0].size:
                marks.add(id(row[0]))
    return marks


def _gap(row: list[Line], other: list[Line]) -> float:
    """The white space between two rows, one above the other."""
    upper, lower = (row, other) if row[0].top > other[0].top else (other, row)
    return min(line.bottom for line in upper) - max(line.top for line in lower)


def _body_size(pages: list[list[Line]]) -> float:
    sizes: Counter[float] = Counter()
    for lines in pages:
        for line in lines:
            sizes[round(line.size, 1)] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 10.0


def _reading_order(lines: list[Line]) -> list[list[Line]]:
    """The page's lines as runs read one after the other: each column of a band of columns
    top to bottom, left column first, and the full-width lines between bands (a title, an
    abstract, a float across the page) where they stand; then what stands in a margin beside
    the text (a column that is not prose beside one that is), as asides. A page without
    columns is one run in PDFium's order."""
    gutters = _gutters(lines)
    if not gutters:
        return [lines]
    margins = _margin_columns(lines, gutters)
    runs: list[list[Line]] = []
    asides: list[list[Line]] = []
    band: list[list[Line]] = [[] for _ in range(len(gutters) + 1)]

    def end_band() -> None:
        for number, column in enumerate(band):
            if column and number in margins:
                asides.append([dataclasses.replace(line, aside=True) for line in column])
            elif column:
                # Side by side in a column: one line PDFium cut at a wide space (a line of few
                # words stretched to the column's width), read left to right.
                runs.append([line for row in _rows(column) for line in row])
            band[number] = []

    above: Line | None = None  # the line across the gutters just read, before any band
    ordered = sorted(lines, key=lambda line: -line.top)
    for index, line in enumerate(ordered):
        if any(left < gutter < right for _, left, right in _spans(line) for gutter in gutters):
            end_band()  # a line across the gutters ends a band
            runs.append([line])
            above = line
            continue
        if above is not None and _ends_paragraph_across(ordered, index, above):
            runs.append([line])
            above = None
            continue
        above = None
        for part in _split_at(line, gutters):
            band[bisect.bisect(gutters, part.centre)].append(part)
    end_band()
    return runs + asides


def _ends_paragraph_across(ordered: list[Line], index: int, above: Line) -> bool:
    """Is line `index` of the page's lines (top first), which crosses no gutter, the last
    line of a paragraph across the columns (an abstract's)? Right under the line across them
    `above`, as close as the lines of a paragraph stand, starting where it starts, and alone
    in its row. It stands in the first column's place, but its column's edges are the
    abstract's: an abstract set in from the columns would make it look indented there."""
    line = ordered[index]
    size = max(line.size, 1.0)
    if abs(line.left - above.left) > size / 2 or not 0 <= above.bottom - line.top < size / 2:
        return False
    # Lines level with it stand next to it in the order, their tops within a line's height.
    after = itertools.takewhile(lambda other: line.top - other.top < 2 * size, ordered[index + 1:])
    return not any(abs(other.centre_height - line.centre_height) < size / 2 for other in after)


def _with_floats_aside(runs: list[list[Line]], body_size: float) -> list[list[Line]]:
    """Footnotes at the foot of a column and a figure or its caption at its head: the lowest
    and the highest lines of a run, in a smaller type than the text between them, become asides
    after the page's text, so a sentence that runs from the foot of one column to the head of
    the next reads whole."""
    kept: list[list[Line]] = []
    set_apart: list[list[Line]] = []
    for run in runs:
        by_height = sorted(run, key=lambda line: -line.top)
        head, foot = _small_lines(by_height, body_size), _small_lines(by_height[::-1], body_size)
        if head + foot == 0 or head + foot >= len(run):
            kept.append(run)
            continue
        apart = by_height[:head] + by_height[len(run) - foot:]
        kept.append([line for line in run if all(line is not other for other in apart)])
        set_apart += [[dataclasses.replace(line, aside=True) for line in lines]
                      for lines in (by_height[:head], by_height[len(run) - foot:]) if lines]
    return kept + set_apart


def _small_lines(lines: list[Line], body_size: float) -> int:
    """How many of the first lines are in a smaller type than the text's, and no aside."""
    return next((count for count, line in enumerate(lines)
                 if line.size >= 0.85 * body_size or line.aside), len(lines))


def _margin_columns(lines: list[Line], gutters: list[float]) -> set[int]:
    """The columns (by number, from the left) that are not prose while another one is, and
    narrower than the prose: the last column of a page of columns may hold only a line or
    two, but they are as wide as the other columns' lines."""
    texts: dict[int, list[str]] = defaultdict(list)
    edges: dict[int, tuple[float, float]] = {}
    for line in lines:
        found = _column_texts(line, gutters)
        for column, text in found.items():
            texts[column].append(text)
        for _, left, right in _spans(line) if found else ():
            column = bisect.bisect(gutters, (left + right) / 2)
            low, high = edges.get(column, (left, right))
            edges[column] = (min(low, left), max(high, right))
    prose = {column for column, found in texts.items() if _prose(found)}
    if not prose:
        return set()
    width = min(edges[column][1] - edges[column][0] for column in prose)
    return {column for column in set(texts) - prose
            if edges[column][1] - edges[column][0] < 0.8 * width}


def _column_texts(line: Line, gutters: list[float]) -> dict[int, str]:
    """A line's words in each column it has pieces in (none for a line across a gutter)."""
    if any(left < gutter < right for _, left, right in _spans(line) for gutter in gutters):
        return {}
    texts: dict[int, list[str]] = defaultdict(list)
    for text, left, right in _spans(line):
        texts[bisect.bisect(gutters, (left + right) / 2)].append(text)
    return {column: " ".join(found) for column, found in texts.items()}


def _spans(line: Line) -> tuple[tuple[str, float, float], ...]:
    """Where a line has ink: its pieces, or the whole line."""
    return line.pieces or ((line.text, line.left, line.right),)


def _split_at(line: Line, gutters: list[float]) -> list[Line]:
    """A line whose pieces stand in two columns (PDFium runs two columns' lines together when
    the gutter is narrow) as one line per column."""
    columns: dict[int, list[tuple[str, float, float]]] = defaultdict(list)
    for piece in line.pieces:
        columns[bisect.bisect(gutters, (piece[1] + piece[2]) / 2)].append(piece)
    if len(columns) < 2:
        return [line]
    return [dataclasses.replace(line, text=" ".join(text for text, _, _ in pieces),
                                left=pieces[0][1], right=pieces[-1][2],
                                pieces=tuple(pieces) if len(pieces) > 1 else (),
                                words=tuple(word for word in line.words
                                            if bisect.bisect(gutters, word.centre) == column))
            for column, pieces in sorted(columns.items())]


def _gutters(lines: list[Line]) -> list[float]:
    """The x of each gutter between columns: a vertical strip at least half a font size wide
    that at most a quarter of the lines cross, with lines wholly on either side and at least
    three lines of prose on one. Cells of a table are short, so a table's gaps are not
    gutters."""
    if sum(len(_spans(line)) for line in lines) < 6:
        return []
    size = statistics.median(line.size for line in lines)
    spans = [span for line in lines for span in _spans(line)]
    left = math.floor(min(span[1] for span in spans))
    right = math.ceil(max(span[2] for span in spans))
    crossing = [0] * (right - left + 2)  # lines over each point of the page's width (a sweep)
    for _, span_left, span_right in spans:
        crossing[math.floor(span_left) - left] += 1
        crossing[math.ceil(span_right) - left] -= 1
    over = list(itertools.accumulate(crossing))
    # Stretches of the width that few lines cross; within each, the part the fewest cross (a
    # margin's few notes are few enough to leave a stretch open up to the page's edge), or
    # one more where that is too narrow (a line's hyphen that overhangs the gutter's edge).
    open_strips: list[tuple[int, int]] = []
    for is_open, points in itertools.groupby(enumerate(over[:-1]),
                                             key=lambda point: point[1] <= len(lines) / 4):
        stretch = list(points)
        if is_open:
            fewest = min(count for _, count in stretch)
            strips = _strips(stretch, fewest)
            if all(right - left < size / 2 for left, right in strips):
                strips = _strips(stretch, fewest + 1)
            open_strips += [(left + start, left + end) for start, end in strips]
    gutters = []
    for strip_left, strip_right in open_strips:
        middle = (strip_left + strip_right) / 2
        sides = [_column_texts(line, [middle]) for line in lines]
        left_texts = [side[0] for side in sides if 0 in side]
        right_texts = [side[1] for side in sides if 1 in side]
        if strip_right - strip_left < size / 2 or not left_texts or not right_texts:
            continue
        left_prose, right_prose = _prose(left_texts), _prose(right_texts)
        # Prose on both sides; or on one, the other a margin's notes beyond a strip that
        # (nearly) nothing crosses: the spaces of justified prose leave strips that only some
        # lines cross, never none.
        crossed = max(over[strip_left - left: strip_right - left])
        # And more lines stop at the strip and start after it than cross it: a column's lines
        # end at its edge, while the lines around a river of justified spaces run on past it.
        ending = sum(strip_left - size <= right <= strip_left + 1 for _, _, right in spans)
        starting = sum(strip_right - 1 <= left <= strip_right + size for _, left, _ in spans)
        if min(ending, starting) <= crossed:
            continue
        if (left_prose and right_prose) or (
                (left_prose or right_prose) and crossed <= max(1, len(lines) // 50)):
            gutters.append(middle)
    return gutters


def _strips(points: list[tuple[int, int]], most: int) -> list[tuple[int, int]]:
    """The runs of points (x, lines over x) that at most `most` lines cross, as (start, end)."""
    strips = []
    for low, run in itertools.groupby(points, key=lambda point: point[1] <= most):
        xs = [x for x, _ in run]
        if low:
            strips.append((xs[0], xs[-1] + 1))
    return strips


def _prose(texts: list[str]) -> bool:
    """Three lines or more, most of them several words long (a column of text, not of cells)."""
    return len(texts) >= 3 and statistics.median(len(text.split()) for text in texts) >= 4


def _with_table_rows(lines: list[Line], width: float) -> list[Line]:
    """A column's lines, with each table found in it as one line per row, read with its headers
    ("Depot: Harbour; City: Plymouth"). A table is two rows or more, one after the other, each
    of three cells or more, or of two narrow ones (wide cells are two columns of prose), whose
    cells line up with the next row's: cells are the pieces a line falls into at wide gaps. The
    wide spaces of justified prose fall anywhere, so they never line up down a page; and cells
    are short, so lines of prose side by side are never a table."""
    rows = _rows(lines)
    tables: list[list[list[Line]]] = []
    for index, row in enumerate(rows):
        if not _tabular(row, width):
            continue
        previous = rows[index - 1] if index else None
        if previous is not None and tables and tables[-1][-1] is previous \
                and previous[0].bottom - row[0].top < 3 * row[0].size and _line_up(previous, row):
            tables[-1].append(row)
        else:
            tables.append([row])
    tables = [table for table in tables if _table(table)]
    if not tables:
        return lines
    # Each table's rows take the place of its first line in the page's order.
    first_lines = {id(min(table[0], key=lines.index)): _table_lines(table, number)
                   for number, table in enumerate(tables, start=1)}
    replaced = {id(line) for table in tables for row in table for line in row}
    result: list[Line] = []
    for line in lines:
        result += first_lines.get(id(line), [])
        if id(line) not in replaced:
            result.append(line)
    return result


def _line_up(upper: list[Line], lower: list[Line]) -> bool:
    """Do the two rows share columns? Every gap between the cells of the row with fewer cells
    lies over (or under) a gap of the other, and each of its cells starts, ends or is centred
    where the other row's cell under it does (within a third of a font size). A table's
    columns leave channels of white down its rows; the wide spaces of justified prose fall
    anywhere, and its words stand where they fall."""
    fewer, more = sorted((_cells(upper), _cells(lower)), key=len)
    tolerance = upper[0].size / 3

    def aligned(cell: tuple[str, float, float]) -> bool:
        _, left, right = cell
        under = max(more, key=lambda other: min(right, other[2]) - max(left, other[1]))
        return (abs(left - under[1]) < tolerance or abs(right - under[2]) < tolerance
                or abs(left + right - under[1] - under[2]) < 2 * tolerance)

    return all(aligned(cell) for cell in fewer) and all(
        any(left < other_right and other_left < right for other_left, other_right in _gaps(more))
        for left, right in _gaps(fewer))


def _gaps(cells: list[tuple[str, float, float]]) -> list[tuple[float, float]]:
    return [(a[2], b[1]) for a, b in itertools.pairwise(cells)]


def _table(rows: list[list[Line]]) -> bool:
    """Rows that line up are a table when there are three of them, or two of four cells or more
    (two rows of a few pieces can line up by chance in prose), and their cells are short: most
    cells of three words or more are pieces of prose."""
    cells = [_cells(row) for row in rows]
    enough = len(rows) >= 3 or (len(rows) == 2 and min(len(row) for row in cells) >= 4)
    return enough and statistics.median(len(text.split()) for row in cells for text, _, _ in row) < 3


def _rows(lines: list[Line]) -> list[list[Line]]:
    """Lines side by side (their vertical middles within half a line of each other), top
    first, each row left to right."""
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda line: -line.top):
        middle = (line.top + line.bottom) / 2
        if rows and abs((rows[-1][0].top + rows[-1][0].bottom) / 2 - middle) < 0.5 * line.size:
            rows[-1].append(line)
        else:
            rows.append([line])
    return [sorted(row, key=lambda line: line.left) for row in rows]


def _cells(row: list[Line]) -> list[tuple[str, float, float]]:
    return [piece for line in row
            for piece in (line.pieces or ((line.text, line.left, line.right),))]


def _tabular(row: list[Line], width: float) -> bool:
    cells = _cells(row)
    if any(_justified(line) for line in row):
        return False
    return len(cells) >= 3 or (len(cells) == 2 and all(
        right - left < _NARROW_CELL * width for _, left, right in cells))


def _justified(line: Line) -> bool:
    """A line of words stretched to its column's width: its wide spaces are all the same width
    (a table's gaps differ with its columns' widths) and it is mostly words, not numbers."""
    gaps = [right - left for left, right in _gaps(list(line.pieces))]
    words = sum(any(c.isalpha() for c in text) for text, _, _ in line.pieces)
    return len(gaps) >= 2 and max(gaps) - min(gaps) < 0.25 * line.size \
        and words > len(line.pieces) / 2


def _table_lines(table: list[list[Line]], number: int) -> list[Line]:
    """A table's rows as lines of text read with their headers: each cell goes to the column
    of the row with the most cells whose span it overlaps most."""
    from qa.reading.readers.tables import row_texts

    columns = max((_cells(row) for row in table), key=len)
    cells = []
    for row in table:
        texts = [""] * len(columns)
        for text, left, right in _cells(row):
            overlaps = [min(right, c_right) - max(left, c_left) for _, c_left, c_right in columns]
            column = max(range(len(columns)), key=lambda index: overlaps[index])
            texts[column] = f"{texts[column]} {text}".strip()
        cells.append(texts)
    return [Line(text, min(c.left for c in table[index]), max(c.right for c in table[index]),
                 max(c.top for c in table[index]), min(c.bottom for c in table[index]),
                 statistics.median(c.size for c in table[index]), table[index][0].page, number,
                 aside=table[index][0].aside,
                 words=tuple(word for line in table[index] for word in line.words))
            for index, text in row_texts(cells)]


def _paragraphs(runs: list[list[Line]], body_size: float) -> list[Block]:
    """Group a page's lines, in runs read one after the other (_reading_order), into paragraphs
    and headings by spacing, indentation and size; a table's rows into passages of their own, a
    few hundred characters each."""
    blocks: list[Block] = []
    lines = [line for run in runs for line in run]
    spacing = _spacing(lines)
    edges = _column_edges(runs)
    for line in lines:
        heading = line.size > body_size * 1.15 and len(line.text) < 200 and not line.table
        previous = blocks[-1].lines[-1] if blocks else None
        if previous is not None and (line.table or previous.table):
            same_table = line.table == previous.table and sum(
                len(row.text) for row in blocks[-1].lines) + len(line.text) <= PASSAGE_CHARS
            if same_table:
                blocks[-1].lines.append(line)
            else:
                blocks.append(Block([line]))
        elif previous is None or blocks[-1].heading != heading or previous.aside != line.aside \
                or _starts_paragraph(previous, line, spacing, edges[id(line)]):
            blocks.append(Block([line], heading))
        else:
            blocks[-1].lines.append(line)
    return blocks


class _Columns:
    """The left and right edges of the lines that share a line's horizontal span, answered in
    logarithmic time: a page of 50,000 lines must not cost 50,000 scans of the page.

    Sorted by left edge, the first line whose right edge passes a line's left is the leftmost
    that overlaps it (the line itself qualifies, so nothing after it can be further left); the
    running maximum of right edges is monotone, so a binary search finds it. The right edge is
    the mirror image. A line of no width may overlap nothing; its own edges stand then."""

    def __init__(self, lines: list[Line]) -> None:
        by_left = sorted(lines, key=lambda line: line.left)
        self._lefts = [line.left for line in by_left]
        self._reach_right = list(itertools.accumulate((line.right for line in by_left), max))
        by_right = sorted(lines, key=lambda line: -line.right)
        self._rights = [line.right for line in by_right]
        # Negated running minimum of left edges: non-decreasing, so bisect applies.
        self._reach_left = [-left for left in
                            itertools.accumulate((line.left for line in by_right), min)]

    def around(self, line: Line) -> tuple[float, float]:
        first = bisect.bisect_right(self._reach_right, line.left)
        last = bisect.bisect_right(self._reach_left, -line.right)
        if first == len(self._lefts) or self._lefts[first] >= line.right \
                or self._rights[last] <= line.left:
            return line.left, line.right  # a line of no width that overlaps nothing
        return self._lefts[first], self._rights[last]


def _column_edges(runs: list[list[Line]]) -> dict[int, tuple[float, float]]:
    """The left and right edges of the column each line stands in (by the line's id): of the
    lines of its run in its type (its size) that share its span, the lines across a page's
    columns (a title, an abstract: one run each) taken together. Over the whole page, a title
    across two columns would stand in both, and their lines would all look short beside it;
    and a heading set out into the margin would make every line of text below it look
    indented."""
    regions: list[list[Line]] = []
    for number, run in enumerate(runs):
        if number and len(run) == 1 and len(runs[number - 1]) == 1:
            regions[-1].append(run[0])
        else:
            regions.append(list(run))
    edges: dict[int, tuple[float, float]] = {}
    for region in regions:
        types: dict[float, list[Line]] = defaultdict(list)
        for line in region:
            types[round(line.size, 1)].append(line)
        for lines in types.values():
            columns = _Columns(lines)
            edges.update((id(line), columns.around(line)) for line in lines)
    return edges


@dataclass(frozen=True)
class _Spacing:
    """The usual space between two lines of a paragraph (the medians over a page): the white
    between them, and the steps from one's top to the next one's and from bottom to bottom."""

    gap: float
    tops: float
    bottoms: float


def _spacing(lines: list[Line]) -> _Spacing:
    pairs = [(a, b) for a, b in itertools.pairwise(lines) if a.bottom - b.top >= 0]
    if not pairs:
        return _Spacing(0.0, 0.0, 0.0)
    return _Spacing(statistics.median(a.bottom - b.top for a, b in pairs),
                    statistics.median(a.top - b.top for a, b in pairs),
                    statistics.median(a.bottom - b.bottom for a, b in pairs))


def _starts_paragraph(previous: Line, line: Line, spacing: _Spacing,
                      column: tuple[float, float]) -> bool:
    size = max(line.size, 1.0)
    if abs(previous.size - line.size) > 0.1 * size:
        return True  # another size
    if line.left > previous.right and abs(line.centre_height - previous.centre_height) < size / 2:
        return False  # further along the same row: a line PDFium cut at a wide space
    left, right = column
    indented = 0.8 * size < line.left - left < 6 * size
    if line.top > previous.top + size:  # back up the page: the next column's first line
        return indented or bool(_SENTENCE_END.search(previous.text))  # a sentence runs on
    # More space than between the lines of a paragraph, by the white between them and by the
    # steps from top to top and bottom to bottom: a line without ascenders ("ous areas.")
    # leaves more white above it, but only one of the steps grows.
    extra = min(previous.bottom - line.top - spacing.gap, previous.top - line.top - spacing.tops,
                previous.bottom - line.bottom - spacing.bottoms)
    if extra > max(0.25 * size, 2.0):
        return True  # clearly more space than between the lines of a paragraph
    short = previous.right < right - 4 * size
    # An inset block (an abstract, a quotation) has every line in from the column's edge: a
    # paragraph's first line is in from the line above it as well.
    indented = indented and line.left - previous.left > 0.8 * size
    return indented or (short and bool(_SENTENCE_END.search(previous.text)))


def _join_across_pages(pages: list[list[Block]]) -> list[list[Block]]:
    """A paragraph that runs onto the next page continues there: its first block in the same
    type joins the last one when that one stops mid-sentence."""
    last: Block | None = None  # the last block of the pages before, wherever it now lives
    for blocks in pages:
        first = next((block for block in blocks if last and _continues(last, block)), None)
        if last and first and not last.heading and not first.heading \
                and not _SENTENCE_END.search(last.lines[-1].text):
            last.lines.extend(first.lines)
            blocks.remove(first)
        last = next((block for block in reversed(blocks)
                     if not block.aside and not block.lines[0].table), last)
    return pages


def _continues(last: Block, block: Block) -> bool:
    """Whether `block` may go on from `last`, the paragraph at the foot of the page before.
    Asides (margin notes) stand after a page's text, and a table, or a caption or a note in
    another type, set at the head of the next page is a float: a paragraph runs on past them.
    A word broken at the foot of the page goes on in lower case, past a float's labels."""
    if block.aside or block.lines[0].table:
        return False
    if abs(block.lines[0].size - last.lines[-1].size) > (1 - _FLOAT_TYPE) * last.lines[-1].size:
        return False
    return not last.lines[-1].text.endswith("-") or block.lines[0].text[:1].islower()


def _assemble(pages: list[list[Block]], page_count: int, body_size: float) -> Extracted:
    """Paragraphs separated by blank lines; page starts and headings as offsets into the text."""
    vocabulary = _vocabulary(pages)
    heading_levels = _heading_levels(pages)
    # The text is gathered in pieces and joined once: growing one string line by line would
    # copy it whole for every line (quadratic in the document's length).
    parts: list[str] = []
    length, page_starts, headings = 0, [0] * page_count, []
    seen_pages: set[int] = set()
    for blocks in pages:
        for block in blocks:
            if length:
                parts.append("\n\n")
                length += 2
            start, first_part, tail = length, len(parts), ""
            for number, line in enumerate(block.lines):
                if line.page not in seen_pages:
                    seen_pages.add(line.page)
                    page_starts[line.page] = length
                joint = _joint(tail, line.text, vocabulary) if number else ""
                if joint is None:  # the previous line's last character goes (a hyphen)
                    parts[-1], tail, length, joint = parts[-1][:-1], tail[:-1], length - 1, ""
                parts.append(joint + line.text)
                length += len(joint) + len(line.text)
                tail = (tail + joint + line.text)[-200:]
            if block.heading:
                headings.append(Heading(start, length, heading_levels[round(block.lines[0].size, 1)],
                                        " ".join("".join(parts[first_part:]).split())))
    text = "".join(parts)
    for page in range(page_count):  # a page with no text starts where the next text goes
        if page not in seen_pages:
            page_starts[page] = page_starts[page - 1] if page else 0
    if "\u00ad" in text:
        return _without_soft_hyphens(text, tuple(page_starts), tuple(headings))
    return Extracted(text, tuple(page_starts), tuple(headings))


def _without_soft_hyphens(text: str, page_starts: tuple[int, ...], headings: tuple[Heading, ...]
                          ) -> Extracted:
    """Soft hyphens are invisible: remove them and move every offset after them."""
    kept = [i for i, c in enumerate(text) if c != "\u00ad"]
    new_offset = {old: new for new, old in enumerate(kept)}

    def moved(offset: int) -> int:
        while offset < len(text) and offset not in new_offset:
            offset += 1
        return new_offset.get(offset, len(kept))

    return Extracted("".join(text[i] for i in kept), tuple(moved(o) for o in page_starts),
                     tuple(Heading(moved(h.start), moved(h.end), h.level, h.text) for h in headings))


def _heading_levels(pages: list[list[Block]]) -> dict[float, int]:
    sizes = sorted({round(b.lines[0].size, 1) for blocks in pages for b in blocks if b.heading},
                   reverse=True)
    return {size: level for level, size in enumerate(sizes, start=1)}


def _vocabulary(pages: list[list[Block]]) -> set[str]:
    """Every word written whole in the document (hyphenated compounds included), lower case;
    the pieces of a word hyphenated at a line end are left out."""
    words: set[str] = set()
    for blocks in pages:
        for block in blocks:
            cut = False  # the previous line ended with a hyphen
            for line in block.lines:
                found = _WORD.findall(line.text)
                ends_cut = line.text.endswith("-")
                whole = found[int(cut) : len(found) - int(ends_cut)]
                words.update(word.lower() for word in whole)
                cut = ends_cut
    return words


def _joint(text: str, line: str, vocabulary: set[str]) -> str | None:
    """What goes between the end of `text` (a block so far) and its next `line`: a line break,
    nothing, or None when the text's last character goes, rejoining a word hyphenated at the
    end of the previous line."""
    if text.endswith("\u00ad"):
        return None
    end = text[-100:]  # only the end of the text so far matters (and searching it all is slow)
    if re.search(r"\S[—–/]$", end):  # a line may break after "word—" or "and/": no space there
        return ""
    head = re.search(r"([^\W\d_]+)-$", end)
    tail = re.match(r"[^\W\d_]+", line)
    if not head or not tail:
        return "\n"
    first, second = head.group(1), tail.group(0)
    # A word of three parts or more ("Île-de-France") is broken at its own hyphens only: a
    # typesetter does not hyphenate a compound inside its parts.
    if end[head.start() - 1 : head.start()] == "-" or line[tail.end() : tail.end() + 1] == "-":
        return ""
    if _is_line_break_hyphen(first, second, vocabulary):
        return None
    return ""  # a real hyphen: "well-" + "kept" stays "well-kept"


def _is_line_break_hyphen(first: str, second: str, vocabulary: set[str]) -> bool:
    """Was this hyphen put in to break a word at the line end? The document's own words decide
    first, then an English word list: "informa-tion" is one word, "tech-oriented" two. A
    compound's parts are both words ("X-ray" too), while a word broken between syllables leaves
    at least one piece that is none, though the other may be ("Harthac-nut", "polynomi-ally"):
    a word of the list or one the document writes whole elsewhere."""
    joined, compound = (first + second).lower(), f"{first}-{second}".lower()
    if joined in vocabulary:
        return True
    if compound in vocabulary or second[0].isupper():
        return False
    words = _english_words()
    if joined in words:
        return True
    first_word = len(first) == 1 or first.lower() in words or first.lower() in vocabulary \
        or first.lower() in _PREFIXES
    second_word = len(second) > 1 and second.lower() in words
    return not (first_word and second_word)


# Prefixes English sets with a hyphen ("multi-member") that the word list lacks as words.
_PREFIXES = frozenset({"multi", "pre", "intra", "neo", "trans", "tri", "tele"})


@functools.lru_cache(maxsize=1)
def _english_words() -> frozenset[str]:
    from spellchecker import SpellChecker  # pyspellchecker's word list (MIT), loaded on first use

    return frozenset(SpellChecker(language="en").word_frequency.dictionary)
