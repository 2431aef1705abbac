"""The package's shape: every function short enough to read whole, and the files beside its
modules (the page's styles and script) shipped with it."""

from __future__ import annotations

import ast
import fnmatch
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "qa"
MAX_LINES = 60

# Functions over the limit that are still to be shortened, as "path/inside/qa.py:function".
# This list must only shrink: a function leaves it when shortened, and none joins it.
STILL_LONG = {
    "indexing/catalog.py:read_folder",
}


def long_functions(root: Path) -> dict[str, int]:
    """Every function (nested ones too) of the modules under `root` longer than MAX_LINES,
    as "path:name" with its length in lines (from `def` to its last line)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_LINES:
                    found[f"{path.relative_to(root).as_posix()}:{node.name}"] = lines
    return found


def test_no_function_is_over_sixty_lines() -> None:
    over = {name: lines for name, lines in long_functions(PACKAGE).items()
            if name not in STILL_LONG}
    assert not over, "over 60 lines: " + ", ".join(f"{name} ({lines})"
                                                   for name, lines in sorted(over.items()))


def test_the_list_of_long_functions_only_shrinks() -> None:
    shortened = STILL_LONG - set(long_functions(PACKAGE))
    assert not shortened, f"now 60 lines or fewer, take them off STILL_LONG: {sorted(shortened)}"


def test_a_long_function_is_found(tmp_path: Path) -> None:
    # inner: exactly MAX_LINES lines, so not listed; outer: one more.
    body = "".join(f"        x{number} = {number}\n" for number in range(MAX_LINES - 1))
    (tmp_path / "long.py").write_text(f"def outer():\n    def inner():\n{body}", encoding="utf-8")
    (tmp_path / "short.py").write_text("def short():\n    return 1\n", encoding="utf-8")
    assert long_functions(tmp_path) == {"long.py:outer": MAX_LINES + 1}


def test_the_files_beside_the_modules_ship_with_the_package() -> None:
    """Every file in qa/ that is not Python is matched by the package-data of pyproject.toml
    (a wheel leaves out what it does not name)."""
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8")
                                 )["tool"]["setuptools"]["package-data"]
    data_files = [path for path in PACKAGE.rglob("*") if path.is_file()
                  and path.suffix not in {".py", ".pyc"} and "__pycache__" not in path.parts]
    assert data_files  # the page's CSS and script at least
    for path in data_files:
        shipped = any(fnmatch.fnmatch(path.relative_to(REPO / package.replace(".", "/")).as_posix(),
                                      pattern)
                      for package, patterns in package_data.items() for pattern in patterns
                      if path.is_relative_to(REPO / package.replace(".", "/")))
        assert shipped, f"{path.relative_to(REPO)} is not in [tool.setuptools.package-data]"
