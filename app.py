"""Serve the qa web page over the bundled seeds/ on http://127.0.0.1:7860.

Takes the flags of `qa serve` (--port, --host, --docs, --mcp, ...); GRADIO_SERVER_PORT and
GRADIO_SERVER_NAME work as in any Gradio app, and flags win over them.
"""

import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from qa.cli import main


def serve_arguments(arguments: list[str]) -> list[str]:
    """`qa serve` with `arguments`; a leading `serve` is taken too, as `--help`'s usage line
    ("app.py serve [OPTIONS]") shows it."""
    return ["serve", *(arguments[1:] if arguments[:1] == ["serve"] else arguments)]


if __name__ == "__main__":
    main(serve_arguments(sys.argv[1:]))
