"""Reading fidelity on PDFs that come without their source text (real papers, reports,
brochures): the sentences both peers keep intact stand in for the truth.

    .venv/bin/python -m benchmarks.agreed [PDF or folder ...] [--show N]

Each PDF is read by poppler's `pdftotext` and by pypdfium2's plain text, and both are put in the
shared checker's normal form (../shared/tools/reading_check.py). The truth is every sentence of
either peer's text, 8 to 60 words and mostly letters, that the other peer's text also holds
intact; qa's share is how many of them its own text holds. A sentence both peers read into a
running header or a page number counts against qa when qa leaves those out, so 1.000 is not
the ceiling; `--show` prints what qa loses, to tell the two apart.
"""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

from benchmarks.reading import SHARED, checker
from qa.reading.readers import UnreadableError
from qa.reading.readers.pdf import read_pdf

_SENTENCE_GAP = re.compile(r"(?<=[a-z0-9)][.?!]) (?=[a-z\"'(])")


def sentences(normal: str) -> list[str]:
    """The sentences of a text in the checker's normal form, 8 to 60 words, mostly letters."""
    found = []
    for sentence in _SENTENCE_GAP.split(normal):
        letters = sentence.replace(" ", "")
        if 8 <= len(sentence.split()) <= 60 and sum(c.isalpha() for c in letters) > 0.7 * len(letters):
            found.append(sentence.strip())
    return found


def peer_texts(path: Path) -> tuple[str, str]:
    import pypdfium2 as pdfium

    poppler = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                             check=True).stdout
    document = pdfium.PdfDocument(path)
    try:
        pdfium_text = "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()
    return poppler, pdfium_text


def agreed(path: Path, normalise: object) -> tuple[list[str], str] | None:
    """The sentences both peers keep, and qa's text in normal form; None when a peer or qa
    cannot read the file (encrypted, damaged, no text)."""
    try:
        first, second = (normalise(text) for text in peer_texts(path))  # type: ignore[operator]
        text = normalise(read_pdf(path.read_bytes()).text)  # type: ignore[operator]
    except (subprocess.CalledProcessError, UnreadableError, Exception):
        return None
    truth = {s for s in sentences(first) if s in second} | {s for s in sentences(second) if s in first}
    return sorted(truth), text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path,
                        default=[SHARED / "documents" / "pdf-samples"])
    parser.add_argument("--show", type=int, default=0, help="print up to N sentences qa loses a file")
    arguments = parser.parse_args()
    files = [file for path in arguments.paths
             for file in (sorted(path.glob("*.pdf")) if path.is_dir() else [path])]
    normalise = checker().normalise
    kept = total = 0
    for file in files:
        found = agreed(file, normalise)
        if found is None:
            print(f"   unread  {file.name}")
            continue
        truth, text = found
        lost = [sentence for sentence in truth if sentence not in text]
        kept, total = kept + len(truth) - len(lost), total + len(truth)
        print(f"{len(truth) - len(lost):4d}/{len(truth):<4d} {file.name}")
        for sentence in lost[:arguments.show]:
            print(f"      lost: {sentence[:150]}")
    print(f"qa keeps {kept}/{total} = {kept / max(total, 1):.3f} of the sentences both peers keep")


if __name__ == "__main__":
    main()
