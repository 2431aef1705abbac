"""The layer contract (pyproject.toml, [tool.importlinter]): the package keeps it, and it fails
on an upward import or an import cycle, in a copy of the package with one such import added."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` over the package `qa` under `root`, with the repository's contract."""
    environment = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
                          cwd=root, env=environment, capture_output=True, text=True, timeout=300)


def copy_with_import(tmp_path: Path, module: str, line: str) -> Path:
    shutil.copytree(REPO / "qa", tmp_path / "qa", ignore=shutil.ignore_patterns("__pycache__"))
    path = tmp_path / "qa" / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    return tmp_path


def test_the_package_keeps_its_layer_contract() -> None:
    checked = lint_imports(REPO)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    # The read stage taking a type from the chunk stage above it.
    root = copy_with_import(tmp_path, "reading/load.py", "from qa.chunking.chunk import Passage")
    checked = lint_imports(root)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "qa.reading is not allowed to import qa.chunking" in checked.stdout


def test_an_import_cycle_within_a_folder_breaks_the_contract(tmp_path: Path) -> None:
    # The cycle load and isolation had: isolation runs load's reader, load imported isolation.
    root = copy_with_import(tmp_path, "reading/load.py", "from qa.reading.isolation import ReadLimits")
    checked = lint_imports(root)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "No cycles are allowed in qa.reading" in checked.stdout
