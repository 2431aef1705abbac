"""Documents of every format qa reads beyond PDF, HTML, DOCX and text, made here, each holding
facts no other test document holds: decks, workbooks, CSV, e-books, e-mail, OpenDocument, RTF,
and notes in many scripts."""

from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage

DECK_FACT = "The winter ferry leaves Tobermory at 07:40 on weekdays and returns at 16:15."
DECK_NOTE = "Remind riders that the Sunday crossing is cancelled throughout January."


def deck_pptx() -> bytes:
    """Three slides: a title slide, one whose fact lies in a bullet, one with a table; notes."""
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[0])
    first.shapes.title.text = "Island transport review"
    first.placeholders[1].text = "Prepared for the harbour committee by the transport office."
    second = deck.slides.add_slide(deck.slide_layouts[1])
    second.shapes.title.text = "Ferry timetable"
    body = second.placeholders[1].text_frame
    body.text = DECK_FACT
    body.add_paragraph().text = "Bicycles travel free on every crossing"
    second.notes_slide.notes_text_frame.text = DECK_NOTE
    third = deck.slides.add_slide(deck.slide_layouts[5])
    third.shapes.title.text = "Fares"
    table = third.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(6), Inches(2)).table
    for row, cells in enumerate([("Ticket", "Price"), ("Adult return", "£14.50"),
                                 ("Child return", "£7.25")]):
        for column, text in enumerate(cells):
            table.cell(row, column).text = text
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


DEPOTS = [("Depot", "City", "Manager", "Opened"), ("Harbour", "Plymouth", "C. Moreau", 1998),
          ("Northgate", "Leeds", "R. Adeyemi", 2004), ("Riverside", "Exeter", "M. Tanaka", 2011)]


def workbook_xlsx() -> bytes:
    """Two sheets: depots with a header row, and a budget; a workbook title in its properties
    only when `titled`."""
    import datetime

    from openpyxl import Workbook

    workbook = Workbook()
    depots = workbook.active
    depots.title = "Depots"
    for row in DEPOTS:
        depots.append(row)
    budget = workbook.create_sheet("Budget")
    budget.append(["Item", "Amount", "Approved"])
    budget.append(["Roof repairs at Northgate", 48_250, datetime.datetime(2026, 3, 4)])
    budget.append(["Forklift batteries", 12_900.5, datetime.datetime(2026, 5, 19)])
    workbook.create_sheet("Empty")
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


LIGHTHOUSES_CSV = ("Lighthouse;Height;Keeper;First lit\n"
                   "Bell Rock;35 m;Robert Stevenson;1811\n"
                   "Skerryvore;48 m;Alan Stevenson;1844\n"
                   "Eddystone;49 m;James Douglass;1882\n")

BOOK_FACT = "Quince trees are pruned in late February, before their buds begin to swell."


def book_epub(epub3: bool = True) -> bytes:
    """An e-book of three chapters in spine order unlike their file names, titled by its
    table of contents (EPUB 3's nav, or EPUB 2's NCX)."""
    chapters = [("c2.xhtml", "Spring pruning", f"<h1>Spring pruning</h1><p>{BOOK_FACT}</p>"
                 "<p>Apple trees wait until the worst frosts have passed.</p>"),
                ("c1.xhtml", "Winter planting", "<h1>Winter planting</h1><p>Bare-root trees "
                 "go into the ground while they are dormant, from November to March.</p>"),
                ("c3.xhtml", "Summer harvest", "<h2>Cherries</h2><p>Netting keeps the "
                 "blackbirds from the cherries for the three weeks of their ripening.</p>")]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip")
        archive.writestr("META-INF/container.xml", (
            '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:'
            'opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/book.opf" '
            'media-type="application/oebps-package+xml"/></rootfiles></container>'))
        items = "".join(f'<item id="{name[:2]}" href="text/{name}" '
                        'media-type="application/xhtml+xml"/>' for name, _, _ in chapters)
        items += ('<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" '
                  'properties="nav"/>' if epub3 else
                  '<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>')
        spine = "".join(f'<itemref idref="{name[:2]}"/>' for name in ("c1", "c2", "c3"))
        toc = "" if epub3 else ' toc="ncx"'
        archive.writestr("OEBPS/book.opf", (
            '<?xml version="1.0" encoding="utf-8"?><package xmlns="http://www.idpf.org/2007/opf"'
            ' version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>'
            f'The Orchard Year</dc:title></metadata><manifest>{items}</manifest><spine'
            f"{toc}>{spine}</spine></package>"))
        for name, _, body in chapters:
            archive.writestr(f"OEBPS/text/{name}", (
                '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml">'
                f"<head><title>The Orchard Year</title></head><body>{body}</body></html>"))
        links = "".join(f'<li><a href="text/{name}">{label}</a></li>' for name, label, _ in chapters)
        archive.writestr("OEBPS/nav.xhtml", (
            '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml" '
            'xmlns:epub="http://www.idpf.org/2007/ops"><body><nav epub:type="toc"><ol>'
            f"{links}</ol></nav></body></html>"))
        points = "".join(f'<navPoint id="p{n}"><navLabel><text>{label}</text></navLabel>'
                         f'<content src="text/{name}"/></navPoint>'
                         for n, (name, label, _) in enumerate(chapters))
        archive.writestr("OEBPS/toc.ncx", (
            '<?xml version="1.0"?><ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" '
            f'version="2005-1"><navMap>{points}</navMap></ncx>'))
    return out.getvalue()


MAIL_FACT = "The engineer will replace the boiler's pressure valve on Thursday 12 March."


def letter_eml(html: bool = False) -> bytes:
    message = EmailMessage()
    message["From"] = "Priya Natarajan <priya@example.org>"
    message["To"] = "tenants@example.org"
    message["Subject"] = "Boiler service visit"
    message["Date"] = "Tue, 03 Mar 2026 09:12:00 +0000"
    text = (f"Dear tenants,\n\n{MAIL_FACT} Hot water will be off from nine until noon.\n\n"
            "Please leave the plant room unlocked.\n\n-- \nPriya, building manager")
    message.set_content(text)
    if html:
        message.add_alternative(
            "<html><body><p>Dear tenants,</p><p>The engineer will replace the boiler's pressure "
            "valve on Thursday 12 March. Hot water will be off from nine until noon.</p>"
            "</body></html>", subtype="html")
        message.get_body(("plain",)).set_content("")  # type: ignore[union-attr]
    return bytes(message)


ODT_FACT = "The council agreed to raise the allotment rent to 42 pounds a year from April."


def minutes_odt() -> bytes:
    text = 'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    table = 'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
    office = 'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {office} {text} '
        f'{table}><office:body><office:text>'
        '<text:h text:outline-level="1">Parish council minutes</text:h>'
        '<text:p>Held in the village hall<text:s text:c="2"/>on 9 February.</text:p>'
        '<text:h text:outline-level="2">Allotments</text:h>'
        f'<text:p><text:span>{ODT_FACT}</text:span><text:note><text:note-body><text:p>A '
        'footnote that is not text of the minutes.</text:p></text:note-body></text:note></text:p>'
        '<text:list><text:list-item><text:p>Plot 14 is to be offered to the waiting list.'
        '</text:p></text:list-item></text:list>'
        '<text:h text:outline-level="2">Grants</text:h>'
        '<table:table><table:table-row><table:table-cell><text:p>Group</text:p></table:table-cell>'
        '<table:table-cell><text:p>Grant</text:p></table:table-cell></table:table-row>'
        '<table:table-row><table:table-cell><text:p>Bell ringers</text:p></table:table-cell>'
        '<table:table-cell><text:p>350</text:p></table:table-cell></table:table-row>'
        '</table:table></office:text></office:body></office:document-content>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", content)
    return out.getvalue()


RTF_FACT = "The stoneware kiln is fired to 1,280 degrees on the second Tuesday of each month."
MEMO_RTF = ("{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0 Times New Roman;}}\\f0\\fs24 "
            "{\\b Kiln firing schedule}\\par\\par "
            f"{RTF_FACT}\\par\\par "
            "Glaze tests go on the top shelf, away from the caf\\'e9 orders.\\par}")

# Notes in other scripts, each with a fact a keyword question can find.
SCRIPT_NOTES = {
    "arabic.txt": ("ملاحظات المكتب", "يفتح مكتب البريد في الساعة الثامنة صباحا كل يوم سبت. "
                   "ويغلق المكتب عند الظهر في أيام العطل الرسمية."),
    "russian.txt": ("Заметки склада", "Склад в Новосибирске принимает грузы только по вторникам. "
                    "Охрана дежурит круглосуточно."),
    "chinese.txt": ("仓库笔记", "上海仓库每周二接收货物。仓库的叉车电池每三年更换一次。"
                    "夜班保安负责锁门。"),
    "japanese.txt": ("倉庫のメモ", "大阪の倉庫は毎週火曜日に荷物を受け取ります。"
                     "フォークリフトの電池は三年ごとに交換します。"),
    "hebrew.txt": ("הערות המחסן", "המחסן בחיפה מקבל סחורה רק בימי שלישי. "
                   "השומר נועל את השער בשמונה בערב."),
    "greek.txt": ("Σημειώσεις αποθήκης", "Η αποθήκη στη Θεσσαλονίκη δέχεται εμπορεύματα μόνο "
                  "την Τρίτη. Ο φύλακας κλειδώνει την πύλη στις οκτώ."),
    "thai.txt": ("บันทึกคลังสินค้า", "คลังสินค้าที่เชียงใหม่รับสินค้าทุกวันอังคาร "
                 "ยามจะล็อคประตูตอนสองทุ่ม"),
    "hindi.txt": ("गोदाम के नोट", "पुणे का गोदाम केवल मंगलवार को माल स्वीकार करता है। "
                  "चौकीदार रात आठ बजे फाटक बंद करता है।"),
}


def script_note(name: str) -> str:
    title, body = SCRIPT_NOTES[name]
    return f"{title}\n\n{body}\n"
