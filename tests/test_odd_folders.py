"""Odd document folders and serving options: each case is indexed, skipped or refused as documented."""

from __future__ import annotations

import threading
from pathlib import Path

from click.testing import CliRunner

from qa.core.settings import Settings
from qa.library import QA
from qa.reading.isolation import load_folder


def test_fifty_megabyte_file_is_skipped_by_name(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("Title\n\nA small and fine document.", encoding="utf-8")
    with (tmp_path / "huge.txt").open("w", encoding="utf-8") as stream:
        paragraph = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 20 + "\n\n"
        while stream.tell() < 50_000_000:
            stream.write(paragraph)
    loaded = load_folder(tmp_path)
    assert [d.source for d in loaded.documents] == ["ok.txt"]
    assert loaded.skipped[0].source == "huge.txt" and "too large" in loaded.skipped[0].reason


def test_thousands_of_tiny_files_are_indexed(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    for number in range(2000):
        folder = docs / f"part{number // 500}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"note{number}.txt").write_text(
            f"Note {number}\n\nItem {number} is stored on shelf {number % 37}.", encoding="utf-8")
    qa = QA(Settings(docs_dir=docs, index_dir=tmp_path / "index"), embedder=embedder)
    report = qa.index()
    assert (report.files, report.passages) == (2000, 2000)
    hit = qa.search("Item 1234 shelf", k=1, mode="lexical").hits[0]
    assert hit.passage.source == "part2/note1234.txt"


def test_rebuild_keeps_answering_from_the_old_index(seeds_qa: QA, tmp_path: Path) -> None:
    qa = QA(seeds_qa.settings.with_overrides(index_dir=tmp_path / "index"),
            embedder=seeds_qa.embedder)
    qa.index()
    failures: list[BaseException] = []
    answers = 0
    builder = threading.Thread(target=lambda: qa.index(force=True))
    builder.start()
    while builder.is_alive() or answers < 5:
        try:
            assert qa.search("Who co-organised the 2018 PAROS workshop?", k=1).hits
            answers += 1
        except BaseException as error:  # collected: the assertion below reports them
            failures.append(error)
    builder.join()
    assert failures == [] and answers >= 5


def serve_with(monkeypatch, arguments: list[str], environment: dict[str, str]
               ) -> tuple[object, dict[str, object]]:  # type: ignore[no-untyped-def]
    """Run `qa serve ARGUMENTS` with `launch` replaced; what it would have served."""
    import qa.serving.server
    from qa.cli import main

    started: dict[str, object] = {}
    monkeypatch.setattr(qa.serving.server, "launch", lambda settings, options: started.update(
        options=options))
    result = CliRunner().invoke(main, ["serve", *arguments], env=environment)
    assert result.exit_code == 0, result.output
    return result, started


def test_serving_beyond_loopback_warns_and_turns_uploads_off(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    result, started = serve_with(monkeypatch, ["--host", "0.0.0.0", "--port", "7999",
                                               "--no-auth"], {})
    assert "warning: listening on 0.0.0.0" in result.stderr
    options = started["options"]
    assert (options.host, options.port, options.uploads) == ("0.0.0.0", 7999, False)  # type: ignore[attr-defined]
    quiet, started = serve_with(monkeypatch, [], {})
    assert "warning" not in quiet.stderr
    assert (started["options"].host, started["options"].uploads) == ("127.0.0.1", True)  # type: ignore[attr-defined]


def test_upload_flags(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _, started = serve_with(monkeypatch, ["--host", "0.0.0.0", "--allow-uploads",
                                             "--no-auth"], {})
    assert started["options"].uploads is True  # type: ignore[attr-defined]
    _, started = serve_with(monkeypatch, ["--read-only"], {})
    assert started["options"].uploads is False  # type: ignore[attr-defined]


def test_gradio_variables_work_and_flags_win(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    variables = {"GRADIO_SERVER_PORT": "8123", "GRADIO_SERVER_NAME": "0.0.0.0"}
    _, started = serve_with(monkeypatch, ["--no-auth"], variables)
    assert (started["options"].host, started["options"].port) == ("0.0.0.0", 8123)  # type: ignore[attr-defined]
    _, started = serve_with(monkeypatch, ["--port", "8124", "--host", "127.0.0.1"], variables)
    assert (started["options"].host, started["options"].port) == ("127.0.0.1", 8124)  # type: ignore[attr-defined]


def test_bad_port_variable_is_a_clear_error() -> None:
    from qa.cli import main

    result = CliRunner().invoke(main, ["serve"], env={"GRADIO_SERVER_PORT": "eighty"})
    assert result.exit_code == 2 and "GRADIO_SERVER_PORT='eighty'" in result.output
