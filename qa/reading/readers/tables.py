"""Tables (spreadsheet sheets, CSV files, tables in documents) as text a question can match:
each row read with its column headers ("Depot: Harbour; City: Plymouth"), rows packed into
passages of a few hundred characters, so every passage carries the headers it needs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from qa.core.languages import SENTENCE_ENDS
from qa.reading.readers import Block

# Rows are packed into one passage up to this length: long enough to hold several rows of a
# narrow table, short enough for the bundled model's 256 tokens.
PASSAGE_CHARS = 600
_SENTENCE_END = (".", "!", "?", "…", *SENTENCE_ENDS)


def table_blocks(rows: Iterable[Sequence[object]]) -> list[Block]:
    """Passages of a table's rows, one row to a line (see row_texts)."""
    return [(passage, None) for passage in _packed(text for _, text in row_texts(rows))]


def row_texts(rows: Iterable[Sequence[object]]) -> list[tuple[int, str]]:
    """Each row (by its index) as text read with its headers. The first non-empty row is the
    header when every one of its cells is text (not a number), and is not a row of its own;
    without a header, cells are joined by " | "."""
    cleaned = [(number, cells) for number, cells in enumerate(_cells(row) for row in rows)
               if any(cells)]
    if not cleaned:
        return []
    header = cleaned[0][1] if _is_header(cleaned[0][1]) else None
    texts = [(number, _row_line(cells, header)) for number, cells in
             (cleaned[1:] if header else cleaned)]
    return [(number, text) for number, text in texts if text]


def _cells(row: Sequence[object]) -> list[str]:
    cells = [_cell_text(value) for value in row]
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def _is_header(cells: list[str]) -> bool:
    filled = [cell for cell in cells if cell]
    return len(filled) >= 2 and all(not _is_number(cell) for cell in filled)


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "").rstrip("%"))
    except ValueError:
        return False
    return True


def _row_line(cells: list[str], header: list[str] | None) -> str:
    if header is None:
        line = " | ".join(cells)
    else:
        named = [f"{header[i] if i < len(header) and header[i] else f'Column {i + 1}'}: {cell}"
                 for i, cell in enumerate(cells) if cell]
        line = "; ".join(named)
    # Each row a sentence of its own, so the answer sentence of a hit is the row.
    return line if not line or line.endswith(_SENTENCE_END) else f"{line}."


def _packed(lines: Iterable[str]) -> list[str]:
    passages: list[str] = []
    current: list[str] = []
    for line in lines:
        if current and sum(len(x) + 1 for x in current) + len(line) > PASSAGE_CHARS:
            passages.append("\n".join(current))
            current = []
        current.append(line)
    if current:
        passages.append("\n".join(current))
    return passages
