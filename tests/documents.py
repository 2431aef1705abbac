"""Test documents made here, in the layouts real files have (reportlab for PDFs, python-docx for
Word), so the readers are checked on more than the shared examples."""

from __future__ import annotations

import io
from pathlib import Path

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
