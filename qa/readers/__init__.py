"""The PDF reader where tools outside qa look for it: `../shared/tools/reading_check.py` (the
reading-fidelity checker) runs `from qa.readers.pdf import read_pdf` in a checkout's venv. The
readers themselves live in qa.reading.readers; this folder only names the entry point again."""
