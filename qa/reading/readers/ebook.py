"""E-books (.epub, EPUB 2 and 3): the chapters in the order of the book's spine, each one's
title (from the table of contents, else its first heading) a section under the book's title.
Read with the standard library's zip and XML and lxml's HTML parser: the one EPUB library
(EbookLib) is AGPL, which qa, embedded by others, cannot take."""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ElementTree
import zipfile
from urllib.parse import unquote

from qa.reading.readers import Block, Extracted, UnreadableError, from_blocks
from qa.reading.readers.archive import checked_archive
from qa.reading.readers.html import markup_blocks

_CONTAINER = "META-INF/container.xml"
_NS = {"container": "urn:oasis:names:tc:opendocument:xmlns:container",
       "opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/",
       "ncx": "http://www.daisy.org/z3986/2005/ncx/", "xhtml": "http://www.w3.org/1999/xhtml",
       "epub": "http://www.idpf.org/2007/ops"}


def read_epub(data: bytes) -> Extracted:
    archive = checked_archive(data, ".epub e-book", _CONTAINER)
    package_path = _package_path(archive)
    package = _xml(archive, package_path)
    folder = posixpath.dirname(package_path)
    manifest = {item.get("id"): item for item in package.iterfind("opf:manifest/opf:item", _NS)}
    labels = _toc_labels(archive, package, manifest, folder)
    blocks: list[Block] = [(package.findtext("opf:metadata/dc:title", "", _NS).strip(), 1)]
    for reference in package.iterfind("opf:spine/opf:itemref", _NS):
        item = manifest.get(reference.get("idref"))
        if item is None or "html" not in (item.get("media-type") or ""):
            continue
        path = _joined(folder, item.get("href", ""))
        blocks += _chapter_blocks(archive.read(path) if path in archive.namelist() else b"",
                                  labels.get(path))
    extracted = from_blocks(blocks)
    if not any(level is None and text.strip() for text, level in blocks):
        raise UnreadableError("no text in any chapter")
    return extracted


def _chapter_blocks(page: bytes, label: str | None) -> list[Block]:
    if not page.strip():
        return []
    body = markup_blocks(page, with_title=False)
    headings = [text for text, level in body if level is not None]
    title = label or (headings[0] if headings else None)
    if title is None:
        return body  # a cover or a chapter without a name: its text under the one before
    if body and body[0][1] is not None and " ".join(body[0][0].split()) == " ".join(title.split()):
        body = body[1:]  # the chapter's own heading repeats its title
    # Chapters are sections under the book's title; their own headings sit below them.
    return [(title, 2), *((text, None if level is None else level + 2) for text, level in body)]


def _package_path(archive: zipfile.ZipFile) -> str:
    rootfile = _xml(archive, _CONTAINER).find("container:rootfiles/container:rootfile", _NS)
    path = rootfile.get("full-path") if rootfile is not None else None
    if not path or path not in archive.namelist():
        raise UnreadableError("not an e-book (its container names no package file)")
    return path


def _toc_labels(archive: zipfile.ZipFile, package: ElementTree.Element,
                manifest: dict[str | None, ElementTree.Element], folder: str) -> dict[str, str]:
    """Chapter file → its title in the table of contents: EPUB 3's nav document, else EPUB 2's
    NCX. A file listed twice keeps its first (outermost) title."""
    labels: dict[str, str] = {}
    nav = next((item for item in manifest.values()
                if "nav" in (item.get("properties") or "").split()), None)
    spine = package.find("opf:spine", _NS)
    ncx = manifest.get(spine.get("toc")) if spine is not None else None
    if nav is not None:
        path = _joined(folder, nav.get("href", ""))
        for link in _xml(archive, path).iter(f"{{{_NS['xhtml']}}}a"):
            _label(labels, posixpath.dirname(path), link.get("href"), "".join(link.itertext()))
    elif ncx is not None:
        path = _joined(folder, ncx.get("href", ""))
        for point in _xml(archive, path).iter(f"{{{_NS['ncx']}}}navPoint"):
            content = point.find("ncx:content", _NS)
            _label(labels, posixpath.dirname(path), content.get("src") if content is not None
                   else None, point.findtext("ncx:navLabel/ncx:text", "", _NS))
    return labels


def _label(labels: dict[str, str], folder: str, href: str | None, text: str) -> None:
    if href and text.strip():
        labels.setdefault(_joined(folder, href.split("#")[0]), " ".join(text.split()))


def _joined(folder: str, href: str) -> str:
    return posixpath.normpath(posixpath.join(folder, unquote(href)))


def _xml(archive: zipfile.ZipFile, path: str) -> ElementTree.Element:
    """A member parsed as XML. The standard library's parser (expat) expands no external
    entities and bounds entity expansion (billion laughs)."""
    try:
        return ElementTree.fromstring(archive.read(path))
    except KeyError as error:
        raise UnreadableError(f"damaged e-book: {path} is missing") from error
    except ElementTree.ParseError as error:
        raise UnreadableError(f"damaged e-book: {path} is not XML ({error})") from error
