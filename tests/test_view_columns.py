"""The viewer boxes a passage in the order the reader read it: a paragraph that runs from the foot
of one column to the head of the next is boxed in both, on a text layer, on a scan, and on a
page typeset by LaTeX, though PDFium's own order of the page's characters runs across rows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from documents import A4, SEA_SENTENCES, column_lines, drawn_pdf, write

from qa.chunking.chunk import Passage, chunk_document
from qa.reading.load import read_file
from qa.showing.view import MarkedPage, marked_pages

LETTER = (612.0, 792.0)
MARGIN, GUTTER, SIZE, LEADING = 50.0, 20.0, 10.0, 12.0
SQUAD_LATEX = Path(__file__).resolve().parents[2] / "shared" / "documents" / "squad-latex"

Flow = dict[int, dict[int, int]]  # paragraph -> column -> how many of its lines stand there


def _paragraphs() -> list[str]:
    """Paragraphs of three to five sentences, each sentence its own (dated by a year of its
    own), so that each passage is found on the page in one place only."""
    counts, sentences = [3, 5, 4, 5, 3, 4, 5, 3, 4, 5], 0
    paragraphs = []
    for count in counts:
        paragraphs.append(" ".join(f"{SEA_SENTENCES[n % len(SEA_SENTENCES)][:-1]} in {1801 + n}."
                                   for n in range(sentences, sentences + count)))
        sentences += count
    return paragraphs


def flowing_columns_pdf(columns: int, pagesize: tuple[float, float]) -> tuple[bytes, Flow]:
    """One page of justified paragraphs under a title across the page, flowing down each column
    and on at the head of the next, drawn row by row across the columns (so PDFium's order of
    the characters is not the reading order); and where each paragraph's lines stand. Columns
    are as long as makes each one end two lines or more into a paragraph, mid-sentence (a
    sentence's end at a column's foot may end a paragraph), that goes on for two lines or more
    at the head of the next."""
    width, height = pagesize
    column_width = (width - 2 * MARGIN - (columns - 1) * GUTTER) / columns
    paragraphs = [column_lines(paragraph, 0.0, 0.0, column_width, SIZE, LEADING)
                  for paragraph in _paragraphs()]
    for rows in range(20, 40):
        flow = _flow([len(lines) for lines in paragraphs], rows, columns)
        if len(crossing(flow)) == columns - 1 and all(
                min(flow[number].values()) >= 2
                and not paragraphs[number][flow[number][min(flow[number])] - 1][0].endswith(".")
                for number in crossing(flow)):
            break
    top = height - MARGIN - 40
    drawn: list[list[tuple[str, float, float, float, float]]] = [[] for _ in range(rows)]
    slot = 0
    for lines in paragraphs:
        for text, _, _, size, stretched in lines:
            column, row = divmod(slot, rows)
            if column < columns:
                x = MARGIN + column * (column_width + GUTTER)
                drawn[row].append((text, x, top - row * LEADING, size, stretched))
            slot += 1
        slot += 1  # a blank line between paragraphs
    title = ("The Harbour Through the Years: Notes from the Town Records", width / 2 - 160,
             height - MARGIN, 14.0, 0.0)
    return drawn_pdf([[title] + [line for row in drawn for line in row]], pagesize), flow


def _flow(lengths: list[int], rows: int, columns: int) -> Flow:
    """Where the lines of paragraphs of these lengths stand in columns `rows` lines long."""
    flow: Flow = {}
    slot = 0  # the next free line, counted down the columns one after the other
    for number, length in enumerate(lengths):
        for _ in range(length):
            if slot // rows < columns:
                spread = flow.setdefault(number, {})
                spread[slot // rows] = spread.get(slot // rows, 0) + 1
            slot += 1
        slot += 1
    return flow


def column_counts(page: MarkedPage, columns: int) -> dict[int, int]:
    """How many boxes stand in each column (by the box's middle across the page)."""
    counts: dict[int, int] = {}
    for left, _, right, _ in page.passage:
        column = min(columns - 1, int((left + right) / 2 * columns))
        counts[column] = counts.get(column, 0) + 1
    return counts


def crossing(flow: Flow) -> list[int]:
    return [number for number, spread in flow.items() if len(spread) > 1]


def passage_of(passages: list[Passage], paragraph: str) -> Passage:
    first_sentence = paragraph.split(". ")[0]
    return next(p for p in passages if " ".join(p.text.split()).startswith(first_sentence))


@pytest.mark.parametrize(("columns", "pagesize"), [(2, A4), (2, LETTER), (3, A4), (3, LETTER)])
def test_a_paragraph_running_into_the_next_column_is_boxed_in_both(
        tmp_path: Path, columns: int, pagesize: tuple[float, float]) -> None:
    pdf, flow = flowing_columns_pdf(columns, pagesize)
    assert len(crossing(flow)) == columns - 1  # the page is drawn as meant
    path = write(tmp_path, "columns.pdf", pdf)
    document = read_file(path.name, path)
    passages = chunk_document(document)
    for number in crossing(flow):
        passage = passage_of(passages, _paragraphs()[number])
        (page,) = marked_pages(path, passage, None)
        # One box for each of its lines, in each column it stands in, and none elsewhere.
        assert column_counts(page, columns) == flow[number], (number, page.passage)
        assert page.found_by == "text layer"


def test_the_answer_at_the_head_of_the_next_column_is_boxed_there(tmp_path: Path) -> None:
    pdf, flow = flowing_columns_pdf(2, A4)
    (number,) = crossing(flow)
    path = write(tmp_path, "columns.pdf", pdf)
    passage = passage_of(chunk_document(read_file(path.name, path)), _paragraphs()[number])
    last_sentence = _paragraphs()[number].rsplit(". ", 1)[1]
    (page,) = marked_pages(path, passage, last_sentence)
    assert any(box[0] > 0.5 for box in page.answer), page.answer


@pytest.mark.slow  # takes long (OCR)
@pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs Tesseract")
@pytest.mark.parametrize("columns", [2, 3])
def test_a_scanned_paragraph_running_into_the_next_column_is_boxed_in_both(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, columns: int) -> None:
    from scans import multipage, scanned

    monkeypatch.setenv("QA_OCR_CACHE", str(tmp_path / "ocr"))
    pdf, flow = flowing_columns_pdf(columns, A4)
    path = write(tmp_path, "scan.pdf", multipage([scanned(pdf, 0, dpi=300)], "PDF"))
    passages = chunk_document(read_file(path.name, path))  # OCR, its words kept in the cache
    for number in crossing(flow):
        passage = passage_of(passages, _paragraphs()[number])
        (page,) = marked_pages(path, passage, None)
        assert page.found_by == "OCR"
        # OCR may part a line in two where it sees a wide space: at least a box a line.
        counts = column_counts(page, columns)
        assert counts.keys() == flow[number].keys(), (number, page.passage)
        assert all(counts[column] >= lines for column, lines in flow[number].items()), counts


@pytest.mark.skipif(not SQUAD_LATEX.is_dir(), reason="needs ../shared/documents/squad-latex")
def test_a_latex_paragraph_running_past_a_float_into_the_next_column_is_boxed_in_both() -> None:
    # IEEEtran: the paragraph ends column one and goes on in column two below Table I, which
    # PDFium reads between the two halves.
    path = SQUAD_LATEX / "ieee" / "Victoria_Australia.pdf"
    passage = next(p for p in chunk_document(read_file(path.name, path))
                   if p.text.startswith("The centre-left Australian Labor Party"))
    (page,) = marked_pages(path, passage, "The Greens, who won their first lower house seats")
    counts = column_counts(page, 2)
    assert counts.keys() == {0, 1} and counts[1] >= 4, page.passage
    assert page.answer and all(box[0] > 0.5 for box in page.answer)
