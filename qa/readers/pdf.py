"""`read_pdf` under the path outside tools use (see the package's docstring)."""

from qa.reading.readers.pdf import read_pdf

__all__ = ["read_pdf"]
