"""The document view as HTML: a PDF's or an image's cited page as a picture with the passage
and its answer sentence boxed on it, any other document as its whole extracted text with the
passage highlighted. What it shows comes from qa.showing.view; everything in it is escaped."""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote, urlencode

from qa.chunking.chunk import Passage
from qa.core.access import EVERYONE, Access
from qa.library import QA
from qa.showing.cite import display_source, page_label
from qa.showing.view import (
    PICTURED,
    MarkedPage,
    PageImages,
    Piece,
    TextView,
    ViewError,
    marked_pages,
    page_count,
    text_view,
)

# Where a view's links point; the server's guard serves these routes.
DOCUMENT_ROUTE = "/qa/documents/"  # the file itself (a PDF opens at #page=N)
PAGE_ROUTE = "/qa/pages/"  # a page of a PDF or an image as PNG: PAGE_ROUTE + source?page=N&width=W

ZOOMS = (50, 75, 100, 150, 200)  # per cent of the view's width
# The picture's width in pixels at each zoom: sharp on a wide screen at 100 %, never larger
# than a reader can use, and few enough sizes that a page is rarely rendered twice.
_RENDER_WIDTHS = {50: 800, 75: 1000, 100: 1400, 150: 2000, 200: 2400}
RENDER_WIDTHS = frozenset(_RENDER_WIDTHS.values())
_PAGE_WORDS = {".pptx": "slide", ".odp": "slide", ".xlsx": "sheet", ".csv": "sheet",
               ".tsv": "sheet"}

PICTURED_VIEW = '<div class="qa-view qa-pictured"'  # how a view of pages begins
LEGEND_PAGE = ("Marked on the page: the passage in a dashed blue frame, its answer sentence in "
               "yellow with a solid frame.")
LEGEND_TEXT = ("The whole text as qa read it. The passage is framed with a bar on its left, its "
               "answer sentence highlighted and underlined; lines that are not passages are grey "
               "and in italics. Offsets count characters of this text from 0.")


@dataclass(frozen=True)
class ViewRequest:
    """What a document view shows: a passage of a document (by its number), its answer
    sentence (offsets into the document's text), the page shown if not the passage's own, the
    zoom, and the question asked (for the address only)."""

    source: str
    paragraph: int
    answer: tuple[int, int] | None = None
    page: int | None = None
    zoom: int = 100
    question: str = ""

    def query(self) -> str:
        """The page's address parameters that open this view again."""
        fields: dict[str, str | int] = {"open": self.source, "p": self.paragraph}
        if self.question:
            fields = {"q": self.question, **fields}
        if self.answer is not None:
            fields["a"] = f"{self.answer[0]}-{self.answer[1]}"
        if self.page is not None:
            fields["page"] = self.page
        if self.zoom != 100:
            fields["zoom"] = self.zoom
        return urlencode(fields)

    def to_json(self) -> str:
        return json.dumps([self.source, self.paragraph, list(self.answer or ()), self.page,
                           self.zoom, self.question])

    @classmethod
    def from_json(cls, text: str) -> ViewRequest | None:
        """The request a radio choice or the view's state holds; None for anything else."""
        try:
            source, paragraph, answer, page, zoom, question = json.loads(text)
            return cls._checked(source, paragraph, answer, page, zoom, question)
        except (ValueError, TypeError):
            return None

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> ViewRequest | None:
        """The request in a page address (?open=SOURCE&p=N&a=START-END&page=N&zoom=Z&q=...);
        None when it names no view or a part of it is malformed."""
        if "open" not in params:
            return None
        try:
            answer = [int(part) for part in params["a"].split("-")] if params.get("a") else []
            return cls._checked(params["open"], int(params.get("p", "1")), answer,
                                int(params["page"]) if params.get("page") else None,
                                int(params.get("zoom", "100")), params.get("q", ""))
        except (ValueError, TypeError):
            return None

    @classmethod
    def _checked(cls, source: object, paragraph: object, answer: object, page: object,
                 zoom: object, question: object) -> ViewRequest | None:
        if not isinstance(source, str) or type(paragraph) is not int or \
                not isinstance(question, str) or type(zoom) is not int or zoom not in ZOOMS:
            return None
        if page is not None and type(page) is not int:
            return None
        if not isinstance(answer, list) or len(answer) not in (0, 2) or \
                any(type(a) is not int for a in answer):
            return None
        return cls(source, paragraph, (answer[0], answer[1]) if answer else None, page, zoom,
                   question)


class DocumentViews:
    """The views of `qa`'s documents, and the pictures of their pages (kept in memory up to
    `page_cache_bytes`)."""

    def __init__(self, qa: QA, page_cache_bytes: int) -> None:
        self.qa = qa
        self.images = PageImages(page_cache_bytes, qa.settings.page_render_mb * 1_000_000)

    def html(self, wanted: ViewRequest, access: Access = EVERYONE) -> str:
        """The view of one passage in its document, or a notice saying why there is none."""
        passages = self.qa.passages(wanted.source, access)
        passage = next((p for p in passages if p.paragraph == wanted.paragraph), None)
        if passage is None:
            return notice(f"{display_source(wanted.source)} has no passage "
                           f"{wanted.paragraph} in the index.")
        document = self.qa.document(wanted.source, access)
        answer = wanted.answer if wanted.answer and passage.start <= wanted.answer[0] < \
            wanted.answer[1] <= passage.end else None
        path = self.qa.document_path(wanted.source, access)
        if path is not None and path.suffix.lower() in PICTURED:
            answer_text = document.text[answer[0]:answer[1]] if document and answer else None
            try:
                pages = marked_pages(path, passage, answer_text, wanted.page)
            except ViewError as error:
                return notice(str(error))
            return pictured_html(wanted, passage.title, pages)
        if document is None:
            return notice(f"{display_source(wanted.source)} changed since it was indexed: "
                           "its text will be shown once the index is brought up to date.")
        return text_html(wanted, text_view(document, passages), passage, answer)

    def png(self, source: str, number: int, width: int, access: Access) -> bytes | None:
        """A page of an indexed PDF or image `access` may read, as PNG; None for any other."""
        rendering = self._rendering(source, number, width, access)
        try:
            return rendering.result() if rendering is not None else None
        except ViewError:
            return None

    async def page_png(self, source: str, number: int, width: int, access: Access
                       ) -> bytes | None:
        """`png`, for a server: the file is looked up in a thread (it touches the disk) and the
        render awaited on the event loop, so no thread the server answers searches with waits
        for a render, however many are queued."""
        from starlette.concurrency import run_in_threadpool

        rendering = await run_in_threadpool(self._rendering, source, number, width, access)
        if rendering is None:
            return None
        try:
            # Shielded: a request that goes away must not cancel a render others wait for.
            return await asyncio.shield(asyncio.wrap_future(rendering))
        except ViewError:
            return None

    def _rendering(self, source: str, number: int, width: int, access: Access
                   ) -> Future[bytes] | None:
        path = self.qa.document_path(source, access)
        if path is None or path.suffix.lower() not in PICTURED or width not in RENDER_WIDTHS:
            return None
        try:
            return self.images.rendering(path, number, width)
        except OSError:  # gone since it was looked up
            return None

    def turned(self, wanted: ViewRequest, pages: int, access: Access = EVERYONE
               ) -> ViewRequest:
        """The request moved by `pages` pages (within the document's pages)."""
        passage = next((p for p in self.qa.passages(wanted.source, access)
                        if p.paragraph == wanted.paragraph), None)
        if passage is None or passage.page is None:
            return wanted
        last = self._page_count(wanted.source, access)
        page = min(max(1, (wanted.page or passage.page) + pages), last)
        return replace(wanted, page=None if page == passage.page else page)

    def _page_count(self, source: str, access: Access) -> int:
        path = self.qa.document_path(source, access)
        try:
            return page_count(path) if path is not None else 1
        except ViewError:
            return 1


def zoomed(wanted: ViewRequest, steps: int) -> ViewRequest:
    at = ZOOMS.index(wanted.zoom) + steps
    return replace(wanted, zoom=ZOOMS[min(max(at, 0), len(ZOOMS) - 1)])


def notice(text: str) -> str:
    """A line the reader should see first (a search's notice, why a view shows nothing)."""
    return f'<div class="qa-notice">{html.escape(text)}</div>'


def _head(wanted: ViewRequest, title: str, where: str, file_page: int | None) -> str:
    href = DOCUMENT_ROUTE.lstrip("/") + quote(wanted.source) + (
        f"#page={file_page}" if file_page else "")
    opens = f"open the file at page {file_page}" if file_page else "download the file"
    return (f'<div class="qa-view-head"><b>{html.escape(title)}</b> · '
            f"<span>{html.escape(display_source(wanted.source))}</span> · "
            f"<span>{html.escape(where)}</span> · "
            f'<a href="{html.escape(href, quote=True)}" target="_blank" rel="noopener">'
            f"{opens}</a></div>")


def pictured_html(wanted: ViewRequest, title: str, pages: list[MarkedPage]) -> str:
    """The passage's pages as pictures, each with its boxes."""
    shown = ", ".join(str(page.number) for page in pages)
    where = f"¶ {wanted.paragraph} · page {shown} of {pages[0].pages}"
    sheets = "".join(_sheet(wanted, page) for page in pages)
    unmarked = all(not page.passage for page in pages) and wanted.page is None
    note = notice("The passage's words were not found on the page (a page read by OCR is "
                   "marked once its words are in the OCR cache).") if unmarked else ""
    return (f'{PICTURED_VIEW} data-query="{html.escape(wanted.query(), True)}">'
            f"{_head(wanted, title, where, pages[0].number)}"
            f'<p class="qa-legend">{LEGEND_PAGE} Zoom {wanted.zoom} %.</p>{note}'
            f'<div class="qa-sheets" tabindex="0" role="region" '
            f'aria-label="{html.escape(f"Pages {shown}", True)}">{sheets}</div></div>')


def _sheet(wanted: ViewRequest, page: MarkedPage) -> str:
    width = _RENDER_WIDTHS[wanted.zoom]
    height = round(width * page.height / page.width)
    src = f"{PAGE_ROUTE.lstrip('/')}{quote(wanted.source)}?page={page.number}&width={width}"
    boxes = "".join(_box(box, "passage") for box in page.passage) + "".join(
        _box(box, "answer") for box in page.answer)
    marked = ""
    if page.passage:
        answer = " and its answer sentence" if page.answer else ""
        marked = f", with the passage{answer} marked (found by the {page.found_by})"
    alt = f"Page {page.number} of {page.pages}{marked}"
    caption = f"page {page.number} of {page.pages}" + (
        " · marked from OCR's words" if page.found_by == "OCR" else "")
    # The boxes are placed in per cent of the picture: a frame of its own, caption outside.
    return (f'<figure class="qa-sheet" data-page="{page.number}" style="width:{wanted.zoom}%">'
            f'<div class="qa-picture"><img src="{html.escape(src, True)}" width="{width}" height="{height}" '
            f'alt="{html.escape(alt, True)}">{boxes}</div>'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _box(box: tuple[float, float, float, float], kind: str) -> str:
    left, top, right, bottom = box
    pad = 0.002  # a little air around the words, so a frame does not cut through letters
    return (f'<span class="qa-box qa-box-{kind}" style="left:{100 * (left - pad):.3f}%;'
            f"top:{100 * (top - pad):.3f}%;width:{100 * (right - left + 2 * pad):.3f}%;"
            f'height:{100 * (bottom - top + 2 * pad):.3f}%"></span>')


def text_html(wanted: ViewRequest, view: TextView, passage: Passage,
              answer: tuple[int, int] | None) -> str:
    """The whole text, its pieces as spans, `passage` the target; its textContent is exactly
    the document's text, so a selection's offsets are the citation's."""
    page_word = _PAGE_WORDS.get(Path(view.source).suffix.lower(), "page")
    inserts = [(start, f'<span class="qa-pagebreak" role="separator" '
                       f'data-label="{page_word} {number}"></span>')
               for number, start in enumerate(view.page_starts, start=1) if number > 1]
    if answer is not None:
        inserts += [(answer[0], '<mark class="qa-answer">'), (answer[1], "</mark>")]
    inserts.sort(key=lambda insert: (insert[0], insert[1].startswith("<mark")))
    parts: list[str] = []
    position = 0
    for piece in view.pieces:
        parts.append(_with_inserts(view.text, position, piece.start, inserts))
        parts.append(f"<span {_attributes(piece, passage.paragraph)}>"
                     f"{_with_inserts(view.text, piece.start, piece.end, inserts)}</span>")
        position = piece.end
    parts.append(_with_inserts(view.text, position, len(view.text), inserts))
    pages = page_label(passage.page, passage.page_end)
    where = (f"¶ {passage.paragraph} · {pages + ' · ' if pages else ''}"
             f"characters {passage.start}–{passage.end}")
    return (f'<div class="qa-view qa-whole" data-query="{html.escape(wanted.query(), True)}">'
            f"{_head(wanted, view.title, where, None)}"
            f'<p class="qa-legend">{LEGEND_TEXT}</p>'
            f'<div class="qa-text-whole" tabindex="0" role="document" '
            f'aria-label="{html.escape(f"The whole text of {view.title}", True)}">'
            f'{"".join(parts)}</div></div>')


def _attributes(piece: Piece, target: int) -> str:
    """A piece's span attributes: its kind, a heading's level, a passage's number and offsets,
    and the target's mark."""
    if piece.kind == "heading":
        return f'class="qa-piece qa-heading" role="heading" aria-level="{min(piece.level + 2, 6)}"'
    if piece.kind != "passage":
        return f'class="qa-piece qa-{piece.kind}"'
    targeted = piece.paragraph == target
    classes = "qa-piece qa-passage qa-target" if targeted else "qa-piece qa-passage"
    return (f'class="{classes}" data-paragraph="{piece.paragraph}" data-start="{piece.start}" '
            f'data-end="{piece.end}" title="¶ {piece.paragraph} · characters '
            f'{piece.start}–{piece.end}"' + (' id="qa-target"' if targeted else ""))


def _with_inserts(text: str, start: int, end: int, inserts: list[tuple[int, str]]) -> str:
    """text[start:end] escaped, with the markup of `inserts` (positions in `text`) placed in it.
    The answer's <mark> lies inside its passage (DocumentViews.html checks), so it is closed
    at the passage's end at the latest."""
    out: list[str] = []
    position = start
    for at, tag in inserts:
        if start <= at < end or (at == end and tag == "</mark>"):
            out += [html.escape(text[position:at]), tag]
            position = at
    out.append(html.escape(text[position:end]))
    return "".join(out)
