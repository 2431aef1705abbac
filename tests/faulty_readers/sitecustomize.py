"""Readers made to fail, for a test's server: Python imports this module at start-up in every
process with this folder on PYTHONPATH, the server's reader workers among them. A file whose
name holds "segfault-reader" crashes its reader for real (a C read of address 0, as a bug in a
native PDF library would); one whose name holds "hang-reader" is never answered; one whose
name holds "slow-reader" takes five seconds, saying it is alive each second, as OCR does; one
whose name holds "endless-reader" says it is alive five times a second, forever; one
whose name holds "child-reader" starts a process (its pid written beside the file) and hangs; one whose
name holds "memory-reader" is read by a reader that runs out of memory (MemoryError); one whose
name holds "held-reader" is read only once no file .<name>.hold lies beside it, saying it is alive
meanwhile, and each read of it adds its worker's pid to .<name>.reads (hidden names: no watcher
sees them)."""

from __future__ import annotations

import ctypes
import os
import subprocess
import time
from pathlib import Path
from typing import Any

try:
    from qa.reading import load
except ImportError:  # a Python without qa (a tool the test runs): nothing to break
    load = None  # type: ignore[assignment]

if load is not None:
    _real_read_file = load.read_file

    def _faulty_read_file(source: str, path: Path, *more: Any, **options: Any) -> Any:
        if "segfault-reader" in source:
            ctypes.string_at(0)
        if "hang-reader" in source:
            time.sleep(3600)
        if "slow-reader" in source:
            from qa.reading.readers import report

            for second in range(5):
                time.sleep(1)
                report("progress", f"{second + 1} of 5 seconds")
        if "endless-reader" in source:
            from qa.reading.readers import report

            while True:
                time.sleep(0.2)
                report("progress", "still reading")
        if "child-reader" in source:
            child = subprocess.Popen(["sleep", "3600"])
            Path(f"{path}.pid").write_text(str(child.pid))
            time.sleep(3600)
        if "memory-reader" in source:
            return _read_by_exhausted_reader(source, path)
        if "held-reader" in source:
            _wait_while_held(path)
        return _real_read_file(source, path, *more, **options)

    def _wait_while_held(path: Path) -> None:
        from qa.reading.readers import report

        with path.with_name(f".{path.name}.reads").open("a", encoding="utf-8") as reads:
            reads.write(f"{os.getpid()}\n")
        while path.with_name(f".{path.name}.hold").exists():
            time.sleep(0.2)
            report("progress", "held")

    def _read_by_exhausted_reader(source: str, path: Path) -> Any:
        def exhausted(data: bytes) -> Any:
            raise MemoryError

        suffix = Path(source).suffix.lower()
        real_reader = load.READERS[suffix]
        load.READERS[suffix] = exhausted
        try:
            return _real_read_file(source, path)
        finally:
            load.READERS[suffix] = real_reader

    load.read_file = _faulty_read_file
