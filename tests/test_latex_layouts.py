"""Reading fidelity on real LaTeX typesetting (../shared/documents/squad-latex: six layouts of
the SQuAD articles, with the sentences a perfect reader gives back): on every layout qa keeps
at least as many sentences intact as poppler's pdftotext, measured by the shared checker's own
rules (../shared/tools/reading_check.py) against the peers' figures stored beside the PDFs."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from conftest import REPO, SHARED

from qa.reading.readers.pdf import read_pdf

LAYOUTS = SHARED / "documents" / "squad-latex"
CHECKER = SHARED / "tools" / "reading_check.py"
pytestmark = pytest.mark.skipif(not (LAYOUTS.is_dir() and CHECKER.is_file()),
                                reason="../shared/documents/squad-latex or the checker is missing")


def checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reading_check", CHECKER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def qa_share(folder: Path) -> float:
    check = checker()
    kept = total = 0
    for line in (folder / "truth.jsonl").read_text(encoding="utf-8").splitlines():
        truth = json.loads(line)
        text = read_pdf((folder / truth["file"]).read_bytes()).text
        found = check.intact(truth["sentences"], text)
        kept, total = kept + sum(found), total + len(found)
    return kept / total


@pytest.mark.parametrize("layout", ["ieee", "acm", "revtex", "lineno", "margins", "multicol"])
def test_every_layout_reads_at_least_as_well_as_pdftotext(layout: str) -> None:
    folder = LAYOUTS / layout
    if not folder.is_dir():
        pytest.skip(f"no {layout} layout in {LAYOUTS}")
    peers = json.loads((folder / "peers.json").read_text(encoding="utf-8"))["overall"]
    assert qa_share(folder) >= peers["pdftotext"]


def test_the_shared_checker_reads_this_checkout() -> None:
    """The checker imports `qa.readers.pdf` in the checkout's own venv: that path must stay."""
    if not (REPO / ".venv" / "bin" / "python").exists():
        pytest.skip("no .venv in the checkout (scripts/setup makes it)")
    done = subprocess.run([sys.executable, str(CHECKER), str(REPO), str(LAYOUTS / "ieee")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.search(r"reading fidelity qa ([0-9.]+); best peer (\S+)", done.stdout)
    assert found, done.stdout
    peers = json.loads((LAYOUTS / "ieee" / "peers.json").read_text(encoding="utf-8"))["overall"]
    assert float(found.group(1)) >= peers["pdftotext"]
