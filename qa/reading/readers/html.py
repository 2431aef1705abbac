"""Web pages: the article only, through trafilatura (Apache-2.0), which drops navigation, cookie
banners, sidebars, footers, scripts and styles; headings are kept as sections, tables are read
row by row. A page trafilatura finds no article in is read from its <main>, <article> or <body>,
without the parts that are never content."""

from __future__ import annotations

import re
from typing import Any

from qa.reading.readers import Extracted, UnreadableError, from_blocks

_NEVER_CONTENT = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form",
                  "template", "svg", "button")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_HEADINGS = {f"h{level}": level for level in range(1, 7)}


def read_html(data: bytes) -> Extracted:
    """The article's text; UnreadableError when the page holds no text at all."""
    import trafilatura

    page = _decoded(data)
    xml = trafilatura.extract(page, output_format="xml", include_tables=True,
                              include_comments=False, include_images=False, favor_recall=True,
                              with_metadata=True)
    blocks = _with_headings(_from_trafilatura(xml), page) if xml else markup_blocks(page)
    extracted = from_blocks(blocks)
    if not extracted.text.strip():
        raise UnreadableError("no text found in the page")
    return extracted


def _from_trafilatura(xml: str) -> list[tuple[str, int | None]]:
    from lxml import etree

    root = etree.fromstring(xml.encode("utf-8"))
    blocks: list[tuple[str, int | None]] = []
    title = root.get("title")
    body = root.find("main")
    for element in (body if body is not None else root).iter("head", "p", "item", "row", "quote",
                                                                "code"):
        if element.tag == "head":
            rend = element.get("rend", "h2")
            blocks.append((_text(element), _HEADINGS.get(rend, 2)))
        elif element.tag == "row":
            blocks.append((" | ".join(_text(cell) for cell in element.iter("cell")), None))
        elif not _inside(element, ("item", "row", "quote", "p")):
            blocks.append((_text(element), None))
    if title and (not blocks or blocks[0][1] is None):
        blocks.insert(0, (title, 1))  # the page's title heads the text, as in every document
    return blocks


def _with_headings(blocks: list[tuple[str, int | None]], page: str | bytes
                   ) -> list[tuple[str, int | None]]:
    """`blocks` with the page's own headings back: trafilatura drops some (often the ones
    before the first paragraph) and keeps others as plain paragraphs. A heading of the page's
    markup comes back when it directly precedes a block trafilatura kept, so the headings of
    boilerplate it removed (a sidebar's "Related links") stay out."""
    try:
        markup = [(" ".join(text.split()), level) for text, level in markup_blocks(page, False)]
    except UnreadableError:
        return blocks
    where: dict[str, list[int]] = {}
    for index, (text, _) in enumerate(markup):
        where.setdefault(text, []).append(index)
    mended: list[tuple[str, int | None]] = []
    done = -1  # the markup blocks up to here are placed
    for text, level in blocks:
        found = next((i for i in where.get(" ".join(text.split()), ()) if i > done), None)
        if found is None:
            mended.append((text, level))
            continue
        first = found
        while first - 1 > done and markup[first - 1][1] is not None:
            first -= 1  # the run of headings right above this block
        mended.extend(markup[first:found])
        mended.append((text, markup[found][1] or level))
        done = found
    return mended


def _inside(element: Any, tags: tuple[str, ...]) -> bool:
    return any(parent.tag in tags for parent in element.iterancestors())


def _text(element: Any) -> str:
    return " ".join("".join(element.itertext()).split())


def _decoded(data: bytes) -> str | bytes:
    """The page as text when its bytes are UTF-8 beyond ASCII, whatever its <meta charset> says:
    text in another encoding is almost never valid UTF-8 by chance, while pages saved as UTF-8
    under an old declaration are common ("naïve" read as windows-1250 is "naďve"). Otherwise the
    bytes, for the parsers to decode as the page declares."""
    if data.isascii():
        return data
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data
    return _XML_DECLARATION.sub("", text, count=1)  # lxml refuses text that names an encoding


def markup_blocks(data: str | bytes, with_title: bool = True) -> list[tuple[str, int | None]]:
    """Every heading, paragraph, list item, table row and quote of the page's <main>, <article>
    or <body>, without the parts that are never content; the <title> first if `with_title`.
    Nothing is dropped as boilerplate: for markup known to be content (an e-book's chapter, an
    e-mail's body)."""
    import lxml.html

    try:
        document = lxml.html.document_fromstring(data)
    except (ValueError, lxml.etree.ParserError) as error:
        raise UnreadableError(f"not readable HTML ({error})") from error
    for element in document.iter(*_NEVER_CONTENT):
        element.drop_tree()
    main = next(iter(document.iter("main", "article")), document.body)
    blocks: list[tuple[str, int | None]] = []
    title = document.findtext(".//title")
    if with_title and title and title.strip():
        blocks.append((title, 1))
    for element in main.iter("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "tr", "pre",
                             "blockquote"):
        if element.tag in _HEADINGS:
            blocks.append((element.text_content(), _HEADINGS[element.tag]))
        elif element.tag == "tr":
            blocks.append((" | ".join(cell.text_content() for cell in element), None))
        elif not _inside(element, ("li", "tr", "blockquote", "p")):
            blocks.append((element.text_content(), None))
    return blocks
