"""Spreadsheets (.xlsx through openpyxl, MIT) and CSV files (the standard library): each sheet
a section under the workbook's title, its rows read with their column headers (qa.reading.readers.tables).
Cell values are read as last saved, not recalculated."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import zipfile
from collections.abc import Iterator, Sequence

from qa.reading.readers import Block, Extracted, UnreadableError, from_blocks
from qa.reading.readers.archive import checked_archive
from qa.reading.readers.tables import table_blocks

_CSV_DELIMITERS = ",;\t|"


def read_xlsx(data: bytes) -> Extracted:
    checked_archive(data, ".xlsx workbook", "xl/workbook.xml")
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (KeyError, ValueError, TypeError, zipfile.BadZipFile) as error:
        raise UnreadableError(f"not a readable workbook ({error})") from error
    try:
        sheets = [(sheet.title, table_blocks(_dated(row) for row in sheet.iter_rows(
            values_only=True))) for sheet in workbook.worksheets]
        title = workbook.properties.title
    finally:
        workbook.close()
    sheets = [(name, blocks) for name, blocks in sheets if blocks]
    if not sheets:
        raise UnreadableError("no cell holds a value")
    # A workbook without a title is named by its sheets, so the first sheet stays a section.
    blocks: list[Block] = [(title or ", ".join(name for name, _ in sheets), 1)]
    for name, rows in sheets:
        blocks += [(name, 2), *rows]
    return from_blocks(blocks, keep_lines=True)


def _dated(row: Sequence[object]) -> list[object]:
    """A date cell as its date; a time of day only when it has one."""
    cells: list[object] = []
    for value in row:
        if isinstance(value, datetime.datetime) and value.time() == datetime.time():
            value = value.date()
        cells.append(value.isoformat() if isinstance(value, datetime.date | datetime.time)
                     else value)
    return cells


def read_csv(data: bytes) -> Extracted:
    text = _decoded(data)
    rows = list(_csv_rows(text))
    blocks = table_blocks(rows)
    if not blocks:
        raise UnreadableError("no row holds a value")
    # A CSV file has no title of its own, and its columns' names are no title (the load stage
    # gives the file name's stem).
    return dataclasses.replace(from_blocks(blocks, keep_lines=True), untitled=True)


def _decoded(data: bytes) -> str:
    """UTF-8 (a byte-order mark dropped), else Windows-1252, which spreadsheet programs write."""
    if b"\x00" in data:
        raise UnreadableError("contains NUL bytes (binary file, or UTF-16?)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _csv_rows(text: str) -> Iterator[list[str]]:
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:20_000], delimiters=_CSV_DELIMITERS)
    except csv.Error:  # one column, or nothing to tell by: commas
        dialect = csv.excel
    try:
        yield from csv.reader(io.StringIO(text), dialect)
    except csv.Error as error:
        raise UnreadableError(f"not a readable CSV file ({error})") from error
