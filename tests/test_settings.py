"""Settings declared once: every path that makes settings checks them, each setting's variable
and flag come from its declaration, docs/settings.md is generated from them, and a backend's
options come from the backend alone."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import qa.core.settings as settings_module
from qa import cli
from qa.core.settings import (
    INDEXING,
    READING,
    Option,
    SettingError,
    Settings,
    declared_option,
    every_option,
    settings_from_env,
    settings_markdown,
)
from qa.indexing import backends

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def no_qa_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests' own environment says nothing about settings."""
    for option in every_option():
        monkeypatch.delenv(option.variable, raising=False)


def a_changed_value(option: Option) -> Any:
    """A value the option allows that is not its default."""
    if option.kind is bool:
        return not option.default
    if option.choices:
        return next(choice for choice in option.choices if choice != option.default)
    if option.kind is Path:
        return Path("elsewhere") / option.name
    if option.kind is str:
        return {"ocr_languages": "eng+deu", "server_url": "http://qa.example:8080"}.get(
            option.name, f"a-{option.name}")
    tries = [option.default + 1, option.default / 2, option.most, option.least]
    return next(option.kind(value) for value in tries if value is not None
                and option.kind(value) != option.default and _allows(option, option.kind(value)))


def _allows(option: Option, value: Any) -> bool:
    try:
        option.check(value, option.name)
    except SettingError:
        return False
    return True


def bad_values(option: Option) -> list[Any]:
    """Values of the right type the option refuses, and one of the wrong type."""
    refused: list[Any] = [3 if option.kind in (str, Path) else "3"]
    if option.choices:
        refused.append("no-such-choice")
    if option.pattern:
        refused.append("!! not this")
    if option.kind in (int, float):
        refused += [option.kind(bound) for bound in
                    (option.least - 1 if option.least is not None else None, option.above,
                     option.most + 1 if option.most is not None else None) if bound is not None]
    if option.kind is float:
        refused.append(float("nan"))
    return refused


def bad_texts(option: Option) -> list[str]:
    """Texts the option's variable refuses (none for free text)."""
    if option.kind is bool:
        return ["maybe"]
    if option.kind in (int, float):
        return ["many", *(str(value) for value in bad_values(option)[1:])]
    return [value for value in bad_values(option) if isinstance(value, str)]


def test_every_field_is_declared_with_help_and_a_stage() -> None:
    declared = {option.name for option in every_option()}
    fields = set(Settings.__dataclass_fields__) - {"plugin_options"}
    assert fields <= declared
    assert all(option.help and option.help.strip() == option.help for option in every_option())
    assert {option.group for option in every_option()} == {"reading", "indexing", "searching",
                                                           "serving"}


@pytest.mark.parametrize("option", every_option(), ids=lambda option: option.name)
def test_a_bad_value_is_refused_on_every_path(option: Option, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    for bad in bad_values(option):
        quoted = "***" if option.secret else repr(bad)  # a secret is not echoed, even when bad
        expected = rf"^{option.name} must be .+, got {re.escape(quoted)}$"
        with pytest.raises(SettingError, match=expected):
            Settings().with_overrides(**{option.name: bad})
        if option.name in Settings.__dataclass_fields__:
            with pytest.raises(SettingError, match=expected):
                Settings(**{option.name: bad})
        else:
            with pytest.raises(SettingError, match=expected):
                Settings(plugin_options={option.name: bad})
    for text in bad_texts(option):
        monkeypatch.setenv(option.variable, text)
        quoted = "***" if option.secret else repr(text)
        expected = rf"^{option.variable} must be .+, got {re.escape(quoted)}$"
        with pytest.raises(SettingError, match=expected):
            settings_from_env()
    assert bad_values(option) and (bad_texts(option) or option.kind in (str, Path))


def test_the_error_says_what_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingError) as refused:
        Settings(batch_size=0)
    assert str(refused.value) == "batch_size must be an integer >= 1, got 0"
    with pytest.raises(SettingError, match=r"^mode must be one of dense, lexical, hybrid, got 'x'$"):
        Settings().with_overrides(mode="x")
    monkeypatch.setenv("QA_IVF_SCANNED_SHARE", "1.5")
    with pytest.raises(SettingError, match=r"^QA_IVF_SCANNED_SHARE must be a number above 0 and "
                                           r"at most 1, got '1.5'$"):
        settings_from_env()
    monkeypatch.setenv("QA_IVF_SCANNED_SHARE", "a quarter")
    with pytest.raises(SettingError, match=r"^QA_IVF_SCANNED_SHARE must be a number"):
        settings_from_env()
    with pytest.raises(SettingError, match="there is no setting 'top_kk'"):
        Settings().with_overrides(top_kk=3)
    with pytest.raises(TypeError):
        Settings(top_kk=3)  # type: ignore[call-arg]


@pytest.mark.parametrize("option", every_option(), ids=lambda option: option.name)
def test_each_variable_gives_its_setting(option: Option, monkeypatch: pytest.MonkeyPatch) -> None:
    value = a_changed_value(option)
    monkeypatch.setenv(option.variable, option.text(value))
    settings = settings_from_env()
    assert settings.environment()[option.variable] == option.text(value)
    assert option.name not in Settings.__dataclass_fields__ or \
        getattr(settings, option.name) == value
    assert settings.environment(changed=True) == {option.variable: option.text(value)}


def test_an_empty_variable_is_unset_and_text_is_trimmed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_BATCH_SIZE", "")
    monkeypatch.setenv("QA_OCR", " OFF ")
    settings = settings_from_env()
    assert settings.batch_size == 32 and settings.ocr is False


def test_values_are_kept_as_their_declared_type() -> None:
    settings = Settings(docs_dir="papers", read_seconds=2)  # type: ignore[arg-type]
    assert settings.docs_dir == Path("papers") and isinstance(settings.read_seconds, float)
    assert settings == Settings(docs_dir=Path("papers"), read_seconds=2.0)


def _flags() -> dict[str, set[str]]:
    """Each command's flags."""
    return {name: {flag for param in command.params for flag in param.opts}
            for name, command in cli.main.commands.items()}


def test_each_declared_flag_is_offered() -> None:
    offered = set().union(*_flags().values())
    flagged = [option for option in every_option() if option.flag]
    assert {option.name for option in flagged} >= {"docs_dir", "index_dir", "model", "mode",
                                                   "top_k", "backend", "milvus_uri"}
    assert [option.flag for option in flagged if option.flag not in offered] == []
    assert "--milvus-token" not in offered  # a secret stays out of the process list


def test_flags_win_over_the_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Settings] = []

    def opened(settings: Settings, quiet: bool = False) -> None:
        made.append(settings)
        raise RuntimeError("stop here")

    monkeypatch.setattr(cli, "open_qa", opened)
    monkeypatch.setenv("QA_TOP_K", "9")
    monkeypatch.setenv("QA_MILVUS_COLLECTION", "from_variable")
    arguments = ["ask", "anything", "-k", "3", "--docs", str(tmp_path), "--index",
                 str(tmp_path / "index"), "--model", "some-model", "--mode", "lexical",
                 "--backend", "milvus", "--milvus-uri", str(tmp_path / "lite.db")]
    result = CliRunner().invoke(cli.main, arguments)
    assert str(result.exception) == "stop here", result.output
    settings = made[0]
    assert (settings.top_k, settings.docs_dir, settings.index_dir, settings.model, settings.mode,
            settings.backend) == (3, tmp_path, tmp_path / "index", "some-model", "lexical",
                                  "milvus")
    assert settings.option("milvus_uri") == str(tmp_path / "lite.db")
    assert settings.option("milvus_collection") == "from_variable"
    refused = CliRunner().invoke(cli.main, ["ask", "anything", "-k", "0"])
    assert refused.exit_code == 2 and "-k" in refused.output


def test_the_settings_command_prints_each_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_OCR_LANGUAGES", "eng+fra")
    printed = CliRunner().invoke(cli.main, ["settings"]).output.splitlines()
    assert "QA_OCR_LANGUAGES=eng+fra" in printed and "QA_MILVUS_URI=" in printed
    assert len(printed) == len(every_option())
    monkeypatch.setenv("QA_TOPK", "3")
    misspelt = CliRunner().invoke(cli.main, ["settings"])
    assert misspelt.exit_code == 0
    assert "warning: QA_TOPK names no setting (`qa settings` lists them)" in misspelt.output
    monkeypatch.delenv("QA_TOPK")
    monkeypatch.setenv("QA_TOP_K", "0")
    refused = CliRunner().invoke(cli.main, ["settings"])
    assert refused.exit_code == 1
    assert refused.output.strip() == ("qa: error: QA_TOP_K must be an integer between 1 and "
                                      "1000, got '0'")


def test_docs_settings_md_is_generated_from_the_declarations() -> None:
    written = (REPO / "docs" / "settings.md").read_text(encoding="utf-8")
    assert written == settings_markdown(), (
        "docs/settings.md is stale: run `qa settings --markdown > docs/settings.md`")
    assert CliRunner().invoke(cli.main, ["settings", "--markdown"]).output == written
    for option in every_option():
        assert f"`{option.variable}`" in written


def test_a_backend_declares_its_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings_module, "_PLUGIN_OPTIONS", dict(settings_module._PLUGIN_OPTIONS))
    monkeypatch.setattr(backends, "_REGISTRY", dict(backends._REGISTRY))
    depth = Option("fake_depth", int, 3, "How deep the fake backend looks.", INDEXING, least=1,
                   flag="--fake-depth")
    backends.register(backends.BackendKind("fake", lambda settings: None, (depth,)))  # type: ignore[arg-type, return-value]
    assert depth in backends.options() and "`QA_FAKE_DEPTH`" in settings_markdown()
    assert Settings().option("fake_depth") == 3
    monkeypatch.setenv("QA_FAKE_DEPTH", "7")
    assert settings_from_env().option("fake_depth") == 7
    assert Settings().with_overrides(fake_depth=5).option("fake_depth") == 5
    monkeypatch.setenv("QA_FAKE_DEPTH", "0")
    with pytest.raises(SettingError, match=r"^QA_FAKE_DEPTH must be an integer >= 1, got '0'$"):
        settings_from_env()
    with pytest.raises(ValueError, match="declared twice"):
        backends.register(backends.BackendKind("other", lambda settings: None, (  # type: ignore[arg-type, return-value]
            Option("fake_depth", int, 4, "Another meaning.", INDEXING),)))
    with pytest.raises(ValueError, match="declared twice"):
        settings_module.declare([Option("top_k", int, 5, "A backend's own k.", INDEXING)])


def test_the_milvus_options_keep_their_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_MILVUS_URI", "http://milvus.example:19530")
    monkeypatch.setenv("QA_MILVUS_TOKEN", "root:Milvus")
    settings = settings_from_env().with_overrides(milvus_collection="papers")
    assert (settings.option("milvus_uri"), settings.option("milvus_token"),
            settings.option("milvus_collection")) == ("http://milvus.example:19530",
                                                      "root:Milvus", "papers")
    assert settings.with_overrides(backend="milvus") != settings


def test_the_settings_name_no_backend() -> None:
    for module in ("settings.py", "options.py"):
        text = (REPO / "qa" / "core" / module).read_text(encoding="utf-8")
        assert "milvus" not in text.lower(), module


def test_qa_variables_are_read_in_one_module() -> None:
    reads = re.compile(r"""(environ|getenv)\W.*["']QA_""")
    found = [f"{path.relative_to(REPO)}:{number}"
             for path in sorted((REPO / "qa").rglob("*.py"))
             if path != REPO / "qa" / "core" / "settings.py"
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if reads.search(line)]
    assert found == []


def test_settings_made_in_code_reach_the_reader_workers(tmp_path: Path) -> None:
    from qa.reading.isolation import ReadLimits, load_folder

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "note.txt").write_text("A note, so the folder has a document.\n", encoding="utf-8")
    (docs / "scan.png").write_bytes(b"not even an image")
    settings = Settings(docs_dir=docs, ocr=False)
    assert dict(ReadLimits.of(settings).environment)["QA_OCR"] == "off"
    loaded = load_folder(docs, limits=replace(ReadLimits.of(settings), workers=1))
    assert [(skipped.source, "OCR, which is off" in skipped.reason)
            for skipped in loaded.skipped] == [("scan.png", True)]


def test_reading_settings_are_a_group() -> None:
    reading = Settings().environment(READING)
    assert {"QA_OCR", "QA_OCR_LANGUAGES", "QA_OCR_CACHE", "QA_OCR_CACHE_MB",
            "QA_READ_SECONDS"} <= set(reading)
    assert "QA_TOP_K" not in reading


def test_a_secret_is_shown_masked_and_kept_out_of_the_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_MILVUS_TOKEN", "hunter2")
    printed = CliRunner().invoke(cli.main, ["settings"])
    assert printed.exit_code == 0 and "hunter2" not in printed.output
    assert "QA_MILVUS_TOKEN=***" in printed.output.splitlines()
    monkeypatch.delenv("QA_MILVUS_TOKEN")
    unset = CliRunner().invoke(cli.main, ["settings"]).output.splitlines()
    assert "QA_MILVUS_TOKEN=" in unset  # unset is shown as unset, not as ***
    settings = Settings().with_overrides(milvus_token="hunter2")
    assert "hunter2" not in repr(settings)
    assert settings.environment()["QA_MILVUS_TOKEN"] == "hunter2"  # a worker still gets it
    assert declared_option("milvus_token").secret
    with_default = Option("example_secret", str, "s3cret", "A secret.", INDEXING, secret=True)
    assert "s3cret" not in with_default.row() and "`***`" in with_default.row()
