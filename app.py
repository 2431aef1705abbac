"""Serve the qa web page over the bundled seeds/ on http://127.0.0.1:7860.

Takes the flags of `qa serve` (--port, --host, --docs, --mcp, ...); GRADIO_SERVER_PORT and
GRADIO_SERVER_NAME work as in any Gradio app, and flags win over them.
"""

import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from qa.cli import main

if __name__ == "__main__":
    main(["serve", *sys.argv[1:]])
