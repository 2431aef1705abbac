"""Serve the qa web page over the bundled seeds/ (or QA_DOCS_DIR) on http://127.0.0.1:7860."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from qa.cli import main

if __name__ == "__main__":
    main(["serve"])
