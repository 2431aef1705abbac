"""Chunk stage: split a document into titled, numbered paragraphs with offsets into its text."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from qa.core.languages import SENTENCE_END_AFTER, SENTENCE_ENDS, word_count
from qa.reading.load import Document, SkippedFile
from qa.reading.readers import Heading

CHUNKING_VERSION = 5  # bump when the rules below change: it forces a rebuild of every index

_BLANK_LINES = re.compile(r"\n[ \t\r\f\v]*\n")
_WHITESPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(rf"[.!?:;…\"'”’)\]」』）{SENTENCE_ENDS}]$")
_HAS_WORD = re.compile(r"\w")
_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+")

# A block this short that does not end a sentence is a heading or boilerplate ("Source link").
_MIN_PASSAGE_WORDS = 4
# A block that stops mid-sentence is joined to the next only if it is long enough to be prose.
_MIN_WORDS_TO_JOIN = 5
_MAX_BYLINE_WORDS = 8
# Longer text is cut into passages of at most this many characters, at line breaks, else at
# sentence ends, else between words: one hit never returns a whole file, and sentence splitting
# (superlinear in a passage's length) stays cheap. Well above any paragraph of the evaluation sets.
MAX_PASSAGE_CHARS = 4000
_BREAKS = (re.compile(r"\n"), re.compile(rf"(?<=[.!?…])\s|(?<=[{SENTENCE_ENDS}])"),
           re.compile(r"\s"))
# A first line longer than this is prose, not a title.
_MAX_TITLE_CHARS = 300
# Nor is a first line that ends a sentence (a full stop, not a question mark: titles ask) of
# at least this many words: "Die Stadtbibliothek ist montags geschlossen." is a note's first
# sentence, and taken as its title it would be in no passage.
_MIN_PROSE_WORDS = 3
_FULL_STOP = re.compile(rf"[.!…{''.join(c for c in SENTENCE_ENDS if c not in '？؟')}]"
                        r"[\"'”’)\]」』）]*$")
_BYLINE_JOINERS = {"by", "and", "&", "de", "van", "von", "der", "da", "di", "le", "la"}


@dataclass(frozen=True)
class Passage:
    """A paragraph: the unit that is searched and cited.

    `paragraph` counts passages within the document from 1; `start`/`end` are character
    offsets into the document's text; `text` has its whitespace normalised. `page`/`page_end`
    are the physical pages (from 1) it starts and ends on, for paged formats; `section` is the
    path of headings above it ("History > Norman conquest"), when the document has headings.
    """

    source: str
    title: str
    paragraph: int
    start: int
    end: int
    text: str
    page: int | None = None
    page_end: int | None = None
    section: str | None = None


@dataclass(frozen=True)
class _Block:
    start: int
    end: int
    text: str

    @property
    def words(self) -> int:
        return word_count(self.text)

    @property
    def ends_sentence(self) -> bool:
        return bool(_SENTENCE_END.search(self.text))


def normalise_whitespace(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def _blocks(text: str, start: int = 0, end: int | None = None) -> list[_Block]:
    """The blank-line separated blocks of text[start:end], with offsets into `text`."""
    end = len(text) if end is None else end
    blocks = []
    for separator in [*_BLANK_LINES.finditer(text, start, end), None]:
        stop = separator.start() if separator else end
        block = _block_at(text, start, stop)
        if block is not None:
            blocks.append(block)
        start = separator.end() if separator else end
    return blocks


def block_spans(text: str) -> list[tuple[int, int]]:
    """Where the text's blank-line separated blocks start and end, as the chunker cuts them
    (the document view shows the same pieces)."""
    return [(block.start, block.end) for block in _blocks(text)]


def _block_at(text: str, start: int, end: int) -> _Block | None:
    """text[start:end] without its surrounding whitespace, as a block; None if blank."""
    raw = text[start:end]
    if not raw.strip():
        return None
    lead = len(raw) - len(raw.lstrip())
    return _Block(start + lead, start + len(raw.rstrip()), normalise_whitespace(raw))


def _blocks_around_headings(text: str, headings: tuple[Heading, ...]) -> list[_Block]:
    """Blocks, with every heading a block of its own even without blank lines around it."""
    blocks, position = [], 0
    for heading in headings:
        blocks += _blocks(text, position, heading.start)
        blocks += _blocks(text, heading.start, heading.end)
        position = heading.end
    return blocks + _blocks(text, position)


def _is_passage(block: _Block) -> bool:
    if not _HAS_WORD.search(block.text):
        return False
    return block.words >= _MIN_PASSAGE_WORDS or (block.ends_sentence and block.words > 1)


def _is_title(line: str, following: str) -> bool:
    """Whether a text's first line is its title, `following` the line under it in its block
    ("" for none): not when it is prose, too long, a whole sentence, or a line that runs on
    into one starting in lower case (a wrapped paragraph's first line). A Markdown heading
    always is."""
    if _MARKDOWN_HEADING.match(line):
        return True
    if len(line) > _MAX_TITLE_CHARS or following[:1].islower():
        return False
    return not (_FULL_STOP.search(line) and word_count(line) >= _MIN_PROSE_WORDS)


def _split_title(blocks: list[_Block], titled: bool) -> tuple[str, list[_Block]]:
    """The first block is the title when `titled`; a short line right under it is a byline
    (metadata)."""
    if not titled:
        return "", blocks
    title, rest = _MARKDOWN_HEADING.sub("", blocks[0].text), blocks[1:]
    if len(rest) > 1 and _is_byline(rest[0]):
        rest = rest[1:]
    return title, rest


def _is_byline(block: _Block) -> bool:
    """A short line of names or a date: every word capitalised, a number, or a joining word."""
    words = block.text.replace(",", " ").split()
    return (block.words <= _MAX_BYLINE_WORDS and not block.ends_sentence
            and all(w[0].isupper() or w[0].isdigit() or w.lower() in _BYLINE_JOINERS
                    for w in words))


def _join_broken(blocks: list[_Block], heading_starts: set[int]) -> list[_Block]:
    """Join a paragraph cut by a stray blank line in mid-sentence to the block after it."""
    joined: list[_Block] = []
    for block in blocks:
        previous = joined[-1] if joined else None
        if (
            previous is not None
            and previous.start not in heading_starts
            and block.start not in heading_starts
            and not previous.ends_sentence
            and previous.words >= _MIN_WORDS_TO_JOIN
            and _is_passage(block)
        ):
            joined[-1] = _Block(previous.start, block.end, f"{previous.text} {block.text}")
        else:
            joined.append(block)
    return joined


def _within_limit(text: str, block: _Block) -> list[_Block]:
    """The block, or its pieces of at most MAX_PASSAGE_CHARS when it is longer."""
    if block.end - block.start <= MAX_PASSAGE_CHARS:
        return [block]
    pieces = (_block_at(text, start, end) for start, end in _cut(text, block.start, block.end, 0))
    return [piece for piece in pieces if piece is not None]


def _cut(text: str, start: int, end: int, level: int) -> list[tuple[int, int]]:
    """Spans of at most MAX_PASSAGE_CHARS covering text[start:end], packed greedily from the
    segments between _BREAKS[level]; a segment still too long is cut at the next level."""
    if end - start <= MAX_PASSAGE_CHARS:
        return [(start, end)]
    if level == len(_BREAKS):  # one "word" longer than a passage: cut it anywhere
        return [(at, min(at + MAX_PASSAGE_CHARS, end)) for at in range(start, end, MAX_PASSAGE_CHARS)]
    spans: list[tuple[int, int]] = []
    piece_start = segment_start = start
    for separator in [*_BREAKS[level].finditer(text, start, end), None]:
        segment_end = separator.start() if separator else end
        if segment_end - piece_start > MAX_PASSAGE_CHARS:
            if segment_start > piece_start:
                spans.append((piece_start, segment_start))
            piece_start = segment_start
            if segment_end - segment_start > MAX_PASSAGE_CHARS:
                spans += _cut(text, segment_start, segment_end, level + 1)
                piece_start = segment_end
        segment_start = separator.end() if separator else end
    if end > piece_start:
        spans.append((piece_start, end))
    return spans


@dataclass(frozen=True)
class Sentences:
    """A passage's sentences: spans in the passage text, and the same sentences as offsets into
    its document's text (the offsets a citation gives)."""

    spans: tuple[tuple[int, int], ...]
    offsets: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class ChunkedDocument:
    """A document and its passages, as the chunk stage hands them to the indexer."""

    document: Document
    passages: list[Passage]

    def sentences(self, passage: Passage,
                  known_spans: tuple[tuple[int, int], ...] | None = None) -> Sentences:
        """The passage's sentences. `known_spans` are spans an earlier build found for the same
        text: segmenting depends on the text alone and is the slow part of chunking (pysbd), so
        a passage already indexed is not segmented again."""
        spans = known_spans if known_spans is not None else tuple(sentence_spans(passage.text))
        original = self.document.text[passage.start : passage.end]
        return Sentences(spans, tuple((passage.start + a, passage.start + b)
                                      for a, b in file_offsets(original, list(spans))))


def chunk_documents(documents: list[Document]) -> list[ChunkedDocument]:
    return [ChunkedDocument(document, chunk_document(document)) for document in documents]


@dataclass(frozen=True)
class ChunkedCorpus:
    """What a build indexes: each document's content hash by source (known without reading an
    unchanged file, qa.indexing.catalog), the files left out, and the chunked documents, read only
    when a build needs them."""

    files: dict[str, str]
    skipped: list[SkippedFile]
    read: Callable[[], list[ChunkedDocument]]

    @classmethod
    def of(cls, chunked: list[ChunkedDocument], skipped: list[SkippedFile]) -> ChunkedCorpus:
        """A corpus already in memory (a BEIR collection, a test's documents)."""
        return cls({item.document.source: item.document.content_hash for item in chunked},
                   skipped, lambda: chunked)

    def only(self, keep: Callable[[str], bool]) -> ChunkedCorpus:
        """The part of the corpus whose sources `keep` holds (a shard's share)."""
        read = self.read
        return ChunkedCorpus({s: h for s, h in self.files.items() if keep(s)}, self.skipped,
                             lambda: [item for item in read() if keep(item.document.source)])


def chunk_document(document: Document) -> list[Passage]:
    """Split a document into paragraphs; headings, bylines and junk lines are not passages."""
    blocks, titled = _first_line_as_block(document.text, document.headings)
    if not blocks:
        return []
    title, body = _split_title(blocks, titled)
    heading_starts = {h.start for h in document.headings}
    paragraphs = [piece for block in _join_broken(body, heading_starts)
                  for piece in _within_limit(document.text, block)
                  if _is_passage(piece) and block.start not in heading_starts]
    if not paragraphs:
        # A document of short lines only (a one-line note, a label, a list): its lines are the
        # passages, title included, rather than a file nobody can find.
        paragraphs = [block for block in blocks
                      if _HAS_WORD.search(block.text) and len(block.text) <= _MAX_TITLE_CHARS]
    sections = _SectionPath(document.headings, title_at=blocks[0].start)
    return [
        Passage(document.source, title or document.source, number, block.start, block.end,
                block.text, *_pages(document.page_starts, block), sections.at(block.start))
        for number, block in enumerate(paragraphs, start=1)
    ]


def _pages(page_starts: tuple[int, ...], block: _Block) -> tuple[int | None, int | None]:
    """The physical pages (from 1) a block starts and ends on; None for formats without pages."""
    if not page_starts:
        return None, None
    return (bisect.bisect_right(page_starts, block.start),
            bisect.bisect_right(page_starts, max(block.start, block.end - 1)))


class _SectionPath:
    """The headings above a position, outermost first; the document's title heading is left out
    (it names the document, not a section)."""

    def __init__(self, headings: tuple[Heading, ...], title_at: int) -> None:
        self.headings = [h for h in headings if h.start != title_at]

    def at(self, position: int) -> str | None:
        path: list[Heading] = []
        for heading in self.headings:
            if heading.start >= position:
                break
            path = [h for h in path if h.level < heading.level] + [heading]
        return " > ".join(h.text for h in path) or None


def _first_line_as_block(text: str, headings: tuple[Heading, ...] = ()
                         ) -> tuple[list[_Block], bool]:
    """Blocks of the text, with the first line split off as its own block when it is the
    title (_is_title); and whether it is."""
    blocks = _blocks_around_headings(text, headings)
    if not blocks:
        return [], False
    first = blocks[0]
    raw = text[first.start : first.end]
    line_end = raw.find("\n")
    line = raw if line_end == -1 else raw[:line_end]
    rest_raw = "" if line_end == -1 else raw[line_end + 1 :]
    if not _is_title(normalise_whitespace(line), rest_raw.lstrip()):
        return blocks, False
    if line_end == -1:
        return blocks, True
    title = _Block(first.start, first.start + line_end, normalise_whitespace(line))
    lead = len(rest_raw) - len(rest_raw.lstrip())
    rest = _Block(first.start + line_end + 1 + lead, first.end, normalise_whitespace(rest_raw))
    return [title, rest, *blocks[1:]], True


@lru_cache(maxsize=1)
def _segmenter():  # type: ignore[no-untyped-def]
    import pysbd  # imported here: only the paths that split sentences pay for it

    return pysbd.Segmenter(language="en", clean=False, char_span=True)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of `text`, trailing whitespace excluded."""
    spans = []
    for piece in _segmenter().segment(text):
        for start, end in _split_unspaced(text, piece.start, piece.end):
            sentence = text[start:end].rstrip()
            if sentence.strip():
                spans.append((start, start + len(sentence)))
    return spans or [(0, len(text))]


def _split_unspaced(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """pysbd's English rules end sentences at Latin stops only; a Chinese, Japanese or Hindi
    sentence ends at its own (。, ！, ।), with no space after it."""
    if text.isascii():
        return [(start, end)]
    spans = []
    for gap in SENTENCE_END_AFTER.finditer(text, start, end):
        spans.append((start, gap.start(1)))
        start = gap.end(1)
    return [*spans, (start, end)]


_WORD = re.compile(r"\S+")


def file_offsets(original: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Map spans in normalise_whitespace(original) back to offsets in `original`."""
    words = list(_WORD.finditer(original))
    normalised_starts, position = [], 0
    for word in words:
        normalised_starts.append(position)
        position += len(word.group()) + 1

    def locate(index: int) -> int:
        # The word that holds normalised position `index` (binary search over word starts).
        low, high = 0, len(words) - 1
        while low < high:
            middle = (low + high + 1) // 2
            if normalised_starts[middle] <= index:
                low = middle
            else:
                high = middle - 1
        return words[low].start() + min(index - normalised_starts[low], len(words[low].group()))

    return [(locate(start), locate(end - 1) + 1) for start, end in spans] if words else []
