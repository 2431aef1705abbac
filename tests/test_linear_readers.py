"""Reading and chunking cost time in proportion to a document's size: each stage is timed at two
sizes, and the time per line (or per kilobyte) must not grow with the size. A quadratic step
would make the larger input cost 8x (or 10x) per unit; the bound leaves room for noise."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from documents import (
    lying_zip_docx,
    many_lines_pdf,
    many_styles_docx,
    transcript_without_blank_lines,
)

from qa.chunking.chunk import MAX_PASSAGE_CHARS, chunk_document, sentence_spans
from qa.reading.load import Document
from qa.reading.readers import UnreadableError
from qa.reading.readers.docx import read_docx
from qa.reading.readers.layout import Line, _Columns, _paragraphs

GROWTH_ALLOWED = 3.0


def _seconds(work: Callable[[], object], repeats: int) -> float:
    """The fastest of `repeats` runs: a run slowed by another process on the machine (the
    machines are shared) would otherwise read as growth."""
    fastest = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        fastest = min(fastest, time.perf_counter() - started)
    return fastest


def _growth(work: Callable[[int], object], small: int, large: int) -> float:
    """How much more each unit costs at `large` than at `small` (1.0: linear)."""
    work(small)  # warm caches and imports
    return (_seconds(lambda: work(large), 3) / large) / (_seconds(lambda: work(small), 5) / small)


def _lines(count: int) -> list[Line]:
    return [Line("lorem ipsum dolor sit amet.", 10, 120, 830 - n, 829 - n, 1.0, 0)
            for n in range(count)]


def test_pdf_paragraphs_are_linear_in_the_lines_of_a_page() -> None:
    growth = _growth(lambda n: _paragraphs([_lines(n)], 1.0), 5_000, 40_000)
    assert growth < GROWTH_ALLOWED, f"time per line grew {growth:.1f}x from 5,000 to 40,000 lines"


def test_column_edges_match_a_scan_of_the_page() -> None:
    generator = random.Random(7)
    for _ in range(30):
        lines = []
        for _ in range(generator.randint(1, 60)):
            left = generator.uniform(0, 500)
            lines.append(Line("x", left, left + generator.choice([0.0, generator.uniform(1, 300)]),
                              0, 0, 10, 0))
        columns = _Columns(lines)
        for line in lines:
            beside = [o for o in lines if o.left < line.right and o.right > line.left]
            expected = (min(o.left for o in beside), max(o.right for o in beside)) if beside \
                else (line.left, line.right)
            assert columns.around(line) == expected


@pytest.mark.slow  # takes long (a size sweep of PDFs)
def test_pdf_of_many_lines_reads_in_linear_time() -> None:
    growth = _growth(lambda n: _read(many_lines_pdf(n)), 2_000, 16_000)
    assert growth < GROWTH_ALLOWED, f"time per line grew {growth:.1f}x"


def _numbered_lines(count: int) -> list[Line]:
    """A column of lone line numbers beside a column of prose, one pair a point apart."""
    return [line for n in range(count) for line in (
        Line(str(count - n), 40, 44, 10 + n + 0.8, 10 + n, 1.0, 0),
        Line("some words of prose beside it", 60, 120, 10 + n + 0.8, 10 + n, 1.0, 0))]


def test_line_numbers_are_found_in_linear_time() -> None:
    from qa.reading.readers.layout import _without_line_numbers

    assert len(_without_line_numbers(_numbered_lines(500))) == 500  # the numbers go
    growth = _growth(lambda n: _without_line_numbers(_numbered_lines(n)), 1_000, 8_000)
    assert growth < GROWTH_ALLOWED, f"time per line grew {growth:.1f}x"


def _read(data: bytes) -> None:
    from qa.reading.readers.pdf import read_pdf

    read_pdf(data)


def test_docx_with_many_styles_reads_in_linear_time() -> None:
    growth = _growth(lambda n: read_docx(many_styles_docx(n)), 1_000, 8_000)
    assert growth < GROWTH_ALLOWED, f"time per paragraph grew {growth:.1f}x"


def test_docx_that_under_declares_its_size_is_refused_early() -> None:
    import resource

    data = lying_zip_docx(300_000_000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    try:
        read_docx(data)
    except UnreadableError as error:
        assert "damaged archive" in str(error)
    else:
        raise AssertionError("a lying zip was read")
    assert time.perf_counter() - started < 5
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100, f"peak memory grew {grown_mb:.0f} MB"


@pytest.mark.parametrize(("lines", "reason"), [
    (400_000, "page 1 holds over 100,000 pieces of text"),  # 31 KB; 1.7 GB and a minute to read
    (50_000, "page 1 holds over 1,000,000 characters")])  # fewer objects, each of 29 characters
def test_a_pdf_page_of_absurdly_much_text_is_refused_early(tmp_path: Path, lines: int,
                                                           reason: str) -> None:
    """PDFium's text page costs about 130 bytes a character: a few kilobytes of compressed
    lines must be refused before it is built (or, for characters, before Python reads it)."""
    pdf = tmp_path / "lines.pdf"
    pdf.write_bytes(many_lines_pdf(lines))
    # The peak is VmHWM, this process's own: ru_maxrss keeps the parent's from before the exec.
    script = ("import json, re, sys, time\n"
              "from qa.reading.readers import UnreadableError\n"
              "from qa.reading.readers.pdf import read_pdf\n"
              "started = time.perf_counter()\n"
              "try:\n"
              "    read_pdf(open(sys.argv[1], 'rb').read())\n"
              "    reason = ''\n"
              "except UnreadableError as error:\n"
              "    reason = str(error)\n"
              "peak = re.search(r'VmHWM:\\s*(\\d+)', open('/proc/self/status').read())\n"
              "print(json.dumps([reason, time.perf_counter() - started,\n"
              "                  int(peak.group(1)) / 1024]))\n")
    answer = subprocess.run([sys.executable, "-c", script, str(pdf)], capture_output=True,
                            text=True, timeout=120, check=True)
    refused, seconds, peak_mb = json.loads(answer.stdout)
    assert reason in refused, refused
    assert seconds < 5 and peak_mb < 600, f"{seconds:.1f} s, peak {peak_mb:.0f} MB"


def _chunk_and_split(kilobytes: int) -> None:
    text = transcript_without_blank_lines(kilobytes)
    for passage in chunk_document(Document("t.txt", text, "")):
        sentence_spans(passage.text)


def test_a_paragraph_without_blank_lines_costs_linear_time() -> None:
    growth = _growth(_chunk_and_split, 20, 200)
    assert growth < GROWTH_ALLOWED, f"time per KB grew {growth:.1f}x from 20 KB to 200 KB"


def test_long_text_is_cut_into_bounded_passages_that_cover_it() -> None:
    text = transcript_without_blank_lines(100)
    passages = chunk_document(Document("t.txt", text, ""))
    assert len(passages) > 20
    assert max(len(p.text) for p in passages) <= MAX_PASSAGE_CHARS
    assert all(text[p.start:p.end].split() == p.text.split() for p in passages)
    covered = " ".join(p.text for p in passages).split()
    # Every word in order: the first line is a sentence, so it is searched, not the title.
    assert covered == text.split()
    assert all(p.text.startswith("Speaker") for p in passages)  # cut at line breaks


def test_a_long_first_line_is_prose_not_a_title() -> None:
    line = "The tide tables of the harbour are printed every spring. " * 200
    passages = chunk_document(Document("one-line.txt", line, ""))
    assert passages and passages[0].title == "one-line.txt"
    assert sum(len(p.text.split()) for p in passages) == len(line.split())
