"""Test documents made here, in the layouts real files have (reportlab for PDFs, python-docx for
Word), so the readers are checked on more than the shared examples."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

A4 = (595.0, 842.0)
LINE = 14.0  # points between baselines

HISTORY = [  # a paragraph that runs from page 1 onto page 2, with two kinds of line-end hyphen
    "The lighthouse of Cordouan stands on a rock in the estuary. Its keepers kept an",
    "exact log of every ship, and the log was a well-",
    "kept record of the informa-",
    "tion that sailors needed, and of the weather over the Île-de-",
    "France and the coast. The tower was finished in 1611 after twenty-seven years",
]
HISTORY_END = [
    "of building, and it is still lit every night by the service of lights.",
]
LAMP = [
    "The lamp burns paraffin no longer: an electric bulb of 1,000 watts now turns",
    "behind a {lens} lens, and its beam reaches about forty kilometres out to sea.",
]


def report_pdf(lens: str = "Fresnel") -> bytes:
    """Three A4 pages with a running header and footer; a heading; a paragraph across a page
    break; hyphens at line ends, one that breaks a word and two that belong to it."""
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)

    def page_frame(number: int) -> None:
        pdf.setFont("Helvetica", 9)
        pdf.drawString(72, 800, "Cordouan Annual Report 2025")
        pdf.drawString(500, 40, f"Page {number} of 3")

    def lines(texts: list[str], top: float, size: float = 11) -> float:
        pdf.setFont("Times-Roman", size)
        for text in texts:
            pdf.drawString(72, top, text)
            top -= LINE
        return top

    page_frame(1)
    pdf.setFont("Times-Bold", 18)
    pdf.drawString(72, 740, "The Cordouan Lighthouse")
    pdf.setFont("Times-Bold", 14)
    pdf.drawString(72, 700, "History")
    lines(HISTORY, 670)
    pdf.showPage()
    page_frame(2)
    top = lines(HISTORY_END, 760)
    pdf.setFont("Times-Bold", 14)
    pdf.drawString(72, top - 20, "The lamp")
    lines([line.format(lens=lens) for line in LAMP], top - 50)
    pdf.showPage()
    page_frame(3)
    lines(["A last page holds the list of keepers from 1611 to 2012, in order of service."], 760)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def wrapped_title_pdf() -> bytes:
    """Two pages under a running header, the first opening with a large title wrapped onto a
    second line ("2023"), then a section."""
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    for page, body in enumerate([["This study measured the water quality of the Elm river at",
                                  "twelve sampling stations between April and September.",
                                  "Volunteers collected samples every fortnight."],
                                 ["Nitrate peaked after heavy rainfall in June, downstream of",
                                  "the farms, and fell again in the dry weeks of July."]]):
        pdf.setFont("Helvetica", 9)
        pdf.drawString(72, 800, "Elm River Trust")
        top = 760
        if not page:
            pdf.setFont("Helvetica-Bold", 22)
            pdf.drawCentredString(A4[0] / 2, 760, "River Water Quality Study")
            pdf.drawCentredString(A4[0] / 2, 730, "2023")
            pdf.setFont("Helvetica-Bold", 14)
            pdf.drawString(72, 690, "Introduction")
            top = 665
        pdf.setFont("Times-Roman", 11)
        for number, line in enumerate(body):
            pdf.drawString(72, top - number * LINE, line)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


LEFT = [f"Left column line {n} tells of the north tower." for n in range(1, 9)]
RIGHT = [f"Right column line {n} tells of the south pier." for n in range(1, 9)]


def two_column_pdf() -> bytes:
    """One page, two columns, drawn row by row (left, right, left, ...): reading the file's own
    order would interleave the columns."""
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setFont("Times-Roman", 10)
    pdf.drawString(72, 780, "Two Columns")
    for number, (left, right) in enumerate(zip(LEFT, RIGHT, strict=True)):
        pdf.drawString(60, 740 - number * 13, left)
        pdf.drawString(320, 740 - number * 13, right)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def image_only_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.rect(100, 100, 300, 400, fill=1)  # a "scan": shapes, no text
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(two_column_pdf())))
    writer.encrypt(user_password="secret", owner_password="owner")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def report_docx() -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Harbour Handbook", level=0)
    document.add_heading("Moorings", level=1)
    document.add_paragraph("Visiting boats moor on the east pontoon, where the water stays deep "
                           "at every tide.")
    table = document.add_table(rows=2, cols=3)
    for row, cells in zip(table.rows, [("Berth", "Length", "Price"), ("A1", "12 m", "40 euros")],
                          strict=True):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    document.add_heading("Fuel", level=1)
    document.add_paragraph("Diesel is sold at the fuel dock from eight in the morning until six "
                           "in the evening.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


SITE_PAGE = """<!doctype html><html><head><title>Tide tables - Harbour Site</title>
<style>body {color: red}</style><script>var tracking = "cookie consent script";</script></head>
<body><header><nav><a href="/">Home</a> <a href="/shop">Shop our store</a></nav></header>
<div class="cookie-banner">We use cookies to improve your experience. Accept all cookies.</div>
<aside><h3>Related links</h3><p>Subscribe to our newsletter for weekly harbour news and offers.</p>
</aside><main><article><h1>Tide tables</h1><p>High water at the harbour mouth comes about forty
minutes after high water at the outer buoy, because the channel is long and narrow.</p>
<h2>Spring tides</h2><p>At spring tides the range reaches six metres, and the flats dry out
completely for two hours either side of low water.</p>
<table><tr><td>Month</td><td>Range</td></tr><tr><td>March</td><td>6.1 m</td></tr></table>
</article></main><footer><p>Copyright Harbour Site. Privacy policy. Terms of use.</p></footer>
</body></html>"""


def write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def numbered_notes(folder: Path, count: int, stem: str, sentence: str) -> None:
    """`count` text files `<stem>-000.txt`...: a title and one paragraph each, `sentence` with
    {n} as the file's number, so each file answers its own question."""
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(count):
        write(folder, f"{stem}-{number:03d}.txt",
              f"{stem.title()} {number}\n\n{sentence.format(n=number)}\n")


# Hostile files: small on disk, each once made a reader take minutes or gigabytes (issue 25).

def many_lines_pdf(lines: int) -> bytes:
    """One page of `lines` short text lines, each shown by the ' operator (next line, show):
    a few kilobytes once the content stream is compressed."""
    import zlib

    content = b"BT /F1 1 Tf 1 TL 10 830 Td\n" + b"(lorem ipsum dolor sit amet.) '\n" * lines + b"ET"
    stream = zlib.compress(content, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream
        + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return _pdf_of(objects)


def _docx_with(parts: dict[str, bytes]) -> bytes:
    """report_docx() with some of its zip members replaced."""
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(report_docx()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            target.writestr(entry.filename, parts.get(entry.filename, source.read(entry)))
    return buffer.getvalue()


_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def many_styles_docx(count: int) -> bytes:
    """`count` paragraph styles and `count` paragraphs, each in its own style."""
    styles = "".join(f'<w:style w:type="paragraph" w:styleId="S{n}"><w:name w:val="Style {n}"/>'
                     "</w:style>" for n in range(count))
    heading = ('<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="Heading 1"/>'
               "</w:style>")
    body = '<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Ledger</w:t></w:r></w:p>'
    body += "".join(f'<w:p><w:pPr><w:pStyle w:val="S{n}"/></w:pPr><w:r><w:t>Entry {n} of the '
                    "harbour ledger records one boat.</w:t></w:r></w:p>" for n in range(count))
    return _docx_with({
        "word/styles.xml": f"<w:styles {_W}>{heading}{styles}</w:styles>".encode(),
        "word/document.xml": f"<w:document {_W}><w:body>{body}</w:body></w:document>".encode(),
    })


def lying_zip_docx(real_bytes: int = 300_000_000) -> bytes:
    """A .docx whose document.xml inflates to `real_bytes` while its headers declare 1,000."""
    import struct

    padding = b" " * (real_bytes - 200)
    document = (f"<w:document {_W}><w:body><w:p><w:r><w:t>x</w:t></w:r></w:p>".encode()
                + padding + b"</w:body></w:document>")
    data = bytearray(_docx_with({"word/document.xml": document}))
    name = b"word/document.xml"
    local = data.find(b"PK\x03\x04" + data[4:4])  # the first local header
    while local != -1:
        if data[local + 30 : local + 30 + len(name)] == name:
            struct.pack_into("<I", data, local + 22, 1000)  # uncompressed size
        local = data.find(b"PK\x03\x04", local + 4)
    central = data.find(b"PK\x01\x02")
    while central != -1:
        if data[central + 46 : central + 46 + len(name)] == name:
            struct.pack_into("<I", data, central + 24, 1000)
        central = data.find(b"PK\x01\x02", central + 4)
    return bytes(data)


def transcript_without_blank_lines(kilobytes: int) -> str:
    """A spoken transcript: one short sentence a line, no blank line anywhere."""
    lines, size, number = [], 0, 0
    while size < kilobytes * 1000:
        line = f"Speaker {number % 3 + 1}: we moved the buoy number {number} to the east channel."
        lines.append(line)
        size += len(line) + 1
        number += 1
    return "\n".join(lines) + "\n"


DEPOT_ROWS = [["Depot", "City", "Manager", "Opened"], ["Harbour", "Plymouth", "C. Moreau", "1998"],
              ["Northgate", "Leeds", "R. Adeyemi", "2004"], ["Riverside", "Exeter", "M. Tanaka", "2011"]]


def table_pdf() -> bytes:
    """Prose, a four-column table with a header row, prose, then a two-column table of keys
    and values without a header (its first column holds names, its second numbers)."""
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

    buffer = io.BytesIO()
    styles = getSampleStyleSheet()
    story = [Paragraph("Depot report", styles["Title"]),
             Paragraph("The company runs three depots across the south and north of England, "
                       "listed below with their managers.", styles["BodyText"]),
             Spacer(1, 12), Table(DEPOT_ROWS), Spacer(1, 12),
             Paragraph("Each depot manager reports to the regional director every quarter.",
                       styles["BodyText"]),
             Spacer(1, 12), Table([["Forklifts", "14"], ["Vans", "9"], ["Cold rooms", "3"]])]
    SimpleDocTemplate(buffer, pagesize=A4).build(story)
    return buffer.getvalue()


# Prose for the layout tests: sentences with no colon or semicolon, so a table's "Header: cell;"
# can only come from a table reader's mistake.
SEA_SENTENCES = [
    "The harbour master opened the sluice gates before dawn on the first day of spring.",
    "Fishermen from the northern villages brought their catch to the market every Tuesday.",
    "A storm in the autumn of that year broke the old wooden pier into three pieces.",
    "The council voted to rebuild the pier in stone and to widen the channel for steamers.",
    "Engineers surveyed the seabed and found a shelf of granite two fathoms down.",
    "The new lighthouse was lit for the first time on a cold evening in late November.",
    "Merchants complained that the harbour dues had risen faster than their profits.",
    "A school for navigation opened in the customs house and taught forty pupils a year.",
    "The railway reached the town a decade later and carried fish inland overnight.",
    "Tourists began to arrive in summer, and the fish market moved to the eastern quay.",
    "During the war the harbour was closed to all but naval vessels and supply ships.",
    "Today the old customs house is a museum of charts, compasses and ships in bottles.",
]


def sea_paragraphs(sentences: int) -> list[str]:
    """Eighteen paragraphs of `sentences` sentences each or one more, each paragraph once."""
    return [" ".join(SEA_SENTENCES[(start + n) % len(SEA_SENTENCES)]
                     for n in range(sentences + start // len(SEA_SENTENCES)))
            for start in range(18)]


FOOTNOTE = "1 After the town records."


def justified_columns_pdf(columns: int, pagesize: tuple[float, float] = A4, gutter: float = 12,
                          size: float = 9, footnote: bool = False,
                          paragraphs: list[str] | None = None, abstract: str = "") -> bytes:
    """Prose set justified in `columns` columns (narrow ones stretch their spaces wide), two
    pages of it (or `paragraphs`), under a full-width title (and an `abstract` across the
    columns on the first page); with `footnote`, a footnote in smaller type at the foot of the
    first column of each page."""
    from reportlab.lib.enums import TA_JUSTIFY
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph

    buffer = io.BytesIO()
    width, height = pagesize
    margin = 36
    foot = 24 if footnote else 0
    column_width = (width - 2 * margin - (columns - 1) * gutter) / columns
    style = ParagraphStyle("body", fontName="Times-Roman", fontSize=size, leading=size * 1.2,
                           alignment=TA_JUSTIFY, spaceAfter=size / 2)
    across = Paragraph(abstract, style)
    below = across.wrap(width - 2 * margin, height)[1] + size if abstract else 0
    frames = [Frame(margin + n * (column_width + gutter), margin + foot, column_width,
                    height - 2 * margin - 30 - foot - below, id=f"column{n}")
              for n in range(columns)]

    def title(canvas, document) -> None:  # type: ignore[no-untyped-def]
        canvas.setFont("Helvetica-Bold", 14)
        canvas.drawString(margin, height - margin - 14, "The Harbour Through the Years")
        if abstract and document.page == 1:
            across.drawOn(canvas, margin, height - margin - 30 - below + size)
        if footnote:
            canvas.setFont("Times-Roman", size * 0.75)
            canvas.drawString(margin + 6, margin + 8, FOOTNOTE)

    document = BaseDocTemplate(buffer, pagesize=pagesize)
    document.addPageTemplates([PageTemplate(frames=frames, onPageEnd=title)])
    document.build([Paragraph(text, style) for text in paragraphs or sea_paragraphs(4)])
    return buffer.getvalue()


def numbered_lines_pdf(columns: int = 2, sentences: list[str] | None = None,
                       gutter: float = 20.0, per_column: int = 40) -> bytes:
    """Prose in columns (SEA_SENTENCES three times, or `sentences`; `per_column` lines a column)
    with a small line number beside every line (outer margins), the way review copies and
    LaTeX's lineno print them, and a running header."""
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    column_width, left_margin, top = 240.0, 50.0, 770.0
    lines = simpleSplit(" ".join(sentences or SEA_SENTENCES * 3), "Times-Roman", 10, column_width)
    number = 1
    for page_start in range(0, len(lines), per_column * columns):
        pdf.setFont("Times-Roman", 9)
        pdf.drawString(left_margin, 810, f"Harbour notes, page {page_start // (per_column * columns) + 1}")
        for column in range(columns):
            x = left_margin + column * (column_width + gutter)
            chunk = lines[page_start + column * per_column: page_start + (column + 1) * per_column]
            for row, text in enumerate(chunk):
                y = top - row * 12
                pdf.setFont("Times-Roman", 10)
                pdf.drawString(x, y, text)
                pdf.setFont("Helvetica", 5)
                if column == 0:
                    pdf.drawRightString(x - 6, y, str(number))
                else:
                    pdf.drawString(x + column_width + 6, y, str(number))
                number += 1
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def utf16_pdf(lines: list[bytes], units: dict[int, str]) -> bytes:
    """One page of `lines` in Helvetica whose ToUnicode map gives each byte its own character,
    except the bytes of `units`, each mapped to the UTF-16 code units written there in hex (a
    surrogate pair such as D835DC65 for U+1D465, as LaTeX's math letters have, or a lone half)."""
    content = b"BT /F1 12 Tf 14 TL 72 760 Td\n" + b"".join(
        b"(" + line.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b") '\n"
        for line in lines) + b"ET"
    mapped = {code: f"{code:04X}" for code in range(0x20, 0x7F)} | units
    cmap = ("/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Units def "
            "/CMapType 2 def 1 begincodespacerange <00> <FF> endcodespacerange\n"
            f"{len(mapped)} beginbfchar\n"
            + "".join(f"<{code:02X}> <{hex_units}>\n" for code, hex_units in mapped.items())
            + "endbfchar endcmap CMapName currentdict /CMap defineresource pop end end").encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream",
    ]
    return _pdf_of(objects)


def _pdf_of(objects: list[bytes]) -> bytes:
    """A PDF file of these objects (numbered from 1, the first the catalogue), with its xref."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


MARGIN_NOTE = ["A figure disputed", "in later sources."]


def margin_notes_pdf(sentences: int = 5) -> bytes:
    """One column of justified prose with a short note in the wide right margin beside it, on
    every page, level with a line of the text (as LaTeX's marginpar sets them), drawn after the
    page's text (so PDFium reads it last)."""
    from reportlab.lib.enums import TA_JUSTIFY
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph

    buffer = io.BytesIO()
    size = 10.0

    def note(canvas, _document) -> None:  # type: ignore[no-untyped-def]
        canvas.setFont("Times-Roman", 8)
        for row, text in enumerate(MARGIN_NOTE):
            canvas.drawString(432, 600 - row * 10 - 0.4, text)

    document = BaseDocTemplate(buffer, pagesize=A4)
    document.addPageTemplates([PageTemplate(frames=[Frame(60, 60, 365, 720)], onPageEnd=note)])
    style = ParagraphStyle("body", fontName="Times-Roman", fontSize=size, leading=size * 1.2,
                           alignment=TA_JUSTIFY, spaceAfter=size / 2)
    document.build([Paragraph(text, style) for text in sea_paragraphs(sentences)])
    return buffer.getvalue()


def alternating_headers_pdf(slides: bool = False) -> bytes:
    """Justified prose over several pages under a small running header that changes from page
    to page (the title on odd pages, the authors and the date on even ones), as journals set
    them; with `slides`, each page's top line is a large title of its own instead."""
    from reportlab.lib.enums import TA_JUSTIFY
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph

    buffer = io.BytesIO()

    def header(canvas, document) -> None:  # type: ignore[no-untyped-def]
        page = canvas.getPageNumber()
        if slides:
            canvas.setFont("Helvetica-Bold", 20)
            canvas.drawString(72, 780, f"Harbour facts, part {page}: {SEA_SENTENCES[page][:20]}")
            return
        canvas.setFont("Times-Italic", 8)
        # Even pages: a header whose words change (a chapter's name), found on no other page.
        chapters = ["Moorings", "Ledgers", "Beacons", "Tides", "Quays", "Charts"]
        text = "The Harbour Through the Years" if page % 2 else f"Chapter of {chapters[page // 2 % 6]}"
        canvas.drawString(72 if page % 2 else 380, 800, text)

    document = BaseDocTemplate(buffer, pagesize=A4)
    document.addPageTemplates([PageTemplate(frames=[Frame(60, 60, 475, 700)], onPageEnd=header)])
    style = ParagraphStyle("body", fontName="Times-Roman", fontSize=10, leading=12,
                           alignment=TA_JUSTIFY, spaceAfter=5)
    document.build([Paragraph(text, style) for text in sea_paragraphs(6) * 2])
    return buffer.getvalue()


def drawn_pdf(pages: list[list[tuple[str, float, float, float, float]]],
              pagesize: tuple[float, float] = A4,
              also: Callable[[Any], None] | None = None) -> bytes:
    """Pages of lines in Times, each drawn where it is given and in the order given:
    (text, x, y of its baseline, font size, width). A line with a width is stretched to it by
    its word spaces (justified); with none it is set as it comes. `also` draws more on each
    page's reportlab canvas."""
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=pagesize)
    for lines in pages:
        for text, x, y, size, width in lines:
            line = pdf.beginText(x, y)
            line.setFont("Times-Roman", size)
            # Word spacing is part of the graphics state: set for every line, or it carries over.
            line.setWordSpace((width - stringWidth(text, "Times-Roman", size)) / text.count(" ")
                              if width and text.count(" ") else 0.0)
            line.textLine(text)
            pdf.drawText(line)
        if also is not None:
            also(pdf)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def column_lines(words: str, x: float, top: float, width: float, size: float = 10.0,
                 leading: float = 12.0) -> list[tuple[str, float, float, float, float]]:
    """A paragraph set justified in a column (its last line as it comes), for drawn_pdf."""
    from reportlab.lib.utils import simpleSplit

    lines = simpleSplit(words, "Times-Roman", size, width)
    return [(text, x, top - row * leading, size, width if row < len(lines) - 1 else 0.0)
            for row, text in enumerate(lines)]
