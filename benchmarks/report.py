"""How every benchmark script reports: a readable table on stdout, then the same figures as one
JSON line, also written to benchmarks/results/<name>.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def print_sections(results: dict[str, dict[str, Any]], width: int = 40) -> None:
    for name, figures in results.items():
        print(f"\n{name}")
        for key, value in figures.items():
            shown = f"{value:.4g}" if isinstance(value, float) else str(value)
            print(f"  {key:{width}s} {shown}")


def save(results: dict[str, Any], name: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=1))
    print(json.dumps(results))
