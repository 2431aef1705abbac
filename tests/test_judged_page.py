"""Judging on the page, in real headless Chromium against a live signed-in server with the real
model: the figures panel agrees with `qa eval` of the exported question file, shows how far
lexical mode falls below hybrid, keeps two users' judgements apart, and follows the judgements
through a rebuild and edits of the folder."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import serving
from test_browser import CHROMIUM, CHROMIUM_ARGS, ask, shoot
from test_signin import PASSWORDS, add_user, new_token

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# A folder where hybrid search beats lexical on the judged questions: each question's words
# match a paragraph that does not answer it better than the one that does.
FOLDER = {
    "ferries.txt": ["Ferries",
                    "The boat to the island departs from pier two every morning at nine.",
                    "The ferry museum shows what time old ferries would leave, and how a ferry "
                    "was built.",
                    "Tickets are sold at the harbour office beside the canteen."],
    "depot.txt": ["Depot",
                  "Colette Moreau runs the warehouse by the docks and hires its seasonal workers.",
                  "The depot manager's parking space and the depot's opening times are painted "
                  "on the gate."],
    "weather.txt": ["Weather",
                    "Gales close the harbour for two or three days each winter.",
                    "Storm warnings for the harbour come from the weather station, which closes "
                    "in a storm."],
    "canteen.txt": ["Canteen", "The canteen serves fish soup on Fridays."],
}
LEAVE = "When does the ferry leave for the island?"
CHARGE = "Who is in charge of the depot?"
STORMS = "How often is the harbour shut by storms?"
# Five hits of three questions: (question, words of the hit's passage, verdict).
JUDGED = [(LEAVE, "ferry museum", "not relevant"), (LEAVE, "departs from pier two", "relevant"),
          (CHARGE, "parking space", "not relevant"), (CHARGE, "Colette Moreau", "relevant"),
          (STORMS, "Gales close the harbour", "relevant")]
FIGURES = ("recall@1", "recall@5", "mrr@10", "ndcg@10")


def write_folder(docs: Path, folder: dict[str, list[str]]) -> None:
    docs.mkdir(parents=True, exist_ok=True)
    for name, paragraphs in folder.items():
        (docs / name).write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def judging_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`qa serve --users FILE` over FOLDER: boss reads and writes everything, alice reads it."""
    docs = tmp_path_factory.mktemp("judged-docs")
    write_folder(docs, FOLDER)
    users = tmp_path_factory.mktemp("judged-users") / "users.toml"
    add_user(users, "boss", "*", write="*")
    add_user(users, "alice", "*")
    index = tmp_path_factory.mktemp("judged-index")
    environment = {**os.environ, "GRADIO_TEMP_DIR": str(tmp_path_factory.mktemp("gradio"))}
    with serving(["--docs", str(docs), "--index", str(index), "--users", str(users)],
                 environment) as url:
        yield {"url": url, "docs": docs, "index": index,
               "tokens": {name: new_token(users, name) for name in ("boss", "alice")}}


def signed_in(browser: Any, server: dict[str, Any], name: str) -> Any:
    tab = browser.new_page(viewport={"width": 1200, "height": 1000})
    tab.goto(server["url"])
    tab.locator("input[type=password]").wait_for(timeout=30_000)
    tab.locator("input:not([type=password])").first.fill(name)
    tab.locator("input[type=password]").fill(PASSWORDS[name])
    tab.locator("input[type=password]").press("Enter")
    tab.wait_for_function("document.querySelector('#qa-user')?.innerText.includes('Signed in')",
                          timeout=60_000)
    tab.locator("#qa-figures-panel").get_by_text("Your judged questions").first.click()
    return tab


def worked_out(tab: Any) -> str:
    """When the panel's figures were worked out ("" before the first time)."""
    shown = tab.locator("#qa-figures .qa-figures[data-worked-out]")
    return str(shown.get_attribute("data-worked-out")) if shown.count() else ""


def worked_out_again(tab: Any, before: str) -> str:
    """The panel's text, once its figures were worked out again since `before`."""
    tab.wait_for_function(
        "(before) => { const shown = document.querySelector("
        "'#qa-figures .qa-figures[data-worked-out]');"
        " return shown && shown.dataset.workedOut !== before; }", arg=before, timeout=60_000)
    return str(tab.locator("#qa-figures").inner_text())


def judge(tab: Any, question: str, words: str, verdict: str) -> None:
    """Ask `question` unless it is asked already; press `verdict` on the hit holding `words`."""
    if tab.locator("#qa-question textarea").input_value() != question:
        ask(tab, question)
        tab.wait_for_selector(f".qa-judge-button[data-question={question!r}]", timeout=60_000)
    hit = tab.locator(".qa-hit", has_text=words).first
    before = worked_out(tab)
    hit.locator(f".qa-judge-button[data-verdict='{verdict}']").click()
    worked_out_again(tab, before)  # the panel is worked out again after each judgement


def panel_figures(tab: Any, mode: str) -> dict[str, str]:
    row = tab.locator(f"#qa-figures tr[data-mode='{mode}']")
    return {name: row.locator(f"td[data-figure='{name}']").inner_text() for name in FIGURES}


def recompute(tab: Any) -> str:
    before = worked_out(tab)
    tab.locator("#qa-figures-recompute").click()
    return worked_out_again(tab, before)


def rest_figures(server: dict[str, Any], name: str) -> dict[str, Any]:
    answer = httpx.get(server["url"] + "api/judgements/figures", timeout=60,
                       headers={"Authorization": f"Bearer {server['tokens'][name]}"})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def wait_until_indexed(server: dict[str, Any], question: str, words: str) -> None:
    """Until the watcher has applied an edit: a search finds `words`."""
    deadline = time.time() + 120
    while time.time() < deadline:
        answer = httpx.get(server["url"] + "api/search", params={"q": question, "k": 10},
                           headers={"Authorization": f"Bearer {server['tokens']['boss']}"},
                           timeout=60)
        if any(words in hit["text"] for hit in answer.json().get("hits", [])):
            return
        time.sleep(1)
    pytest.fail(f"the edit holding {words!r} was not indexed within 120 s")


def exported_figures(server: dict[str, Any], tmp_path: Path, embedder: Any) -> dict[str, float]:
    """`qa eval` (hybrid) of the question file boss's judgements export as."""
    from qa.core.settings import Settings
    from qa.evaluating.judged import evaluate_judgements, export_judgements
    from qa.evaluating.runs import evaluate_question_files
    from qa.library import QA

    settings = Settings(docs_dir=server["docs"], index_dir=server["index"])
    report = evaluate_judgements(QA(settings, embedder), "boss", modes=["hybrid"])
    questions = export_judgements(report, tmp_path / "export")[0]
    again = evaluate_question_files([questions], settings.with_overrides(
        index_dir=tmp_path / "eval-index"), embedder=embedder)
    return again.metrics


def test_the_figures_panel_follows_a_users_judgements(judging_server: dict[str, Any],
                                                      tmp_path: Path, embedder: Any) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        boss = signed_in(browser, judging_server, "boss")
        assert "No judged question yet" in boss.locator("#qa-figures").inner_text()
        for question, words, verdict in JUDGED:
            judge(boss, question, words, verdict)
        panel = boss.locator("#qa-figures").inner_text()
        assert "3 questions with a relevant passage" in panel and "5 judgements" in panel, panel
        hybrid = panel_figures(boss, "hybrid")
        expected = exported_figures(judging_server, tmp_path, embedder)
        assert hybrid == {name: f"{expected[name]:.3f}" for name in FIGURES}, (hybrid, expected)
        # Searching lexically, the panel marks that mode and says how far it falls.
        boss.get_by_label("lexical").check()
        boss.wait_for_selector("#qa-figures .qa-figures-drop", timeout=30_000)
        drop = boss.locator("#qa-figures .qa-figures-drop").inner_text()
        assert drop.startswith("lexical scores below hybrid on your judged questions"), drop
        lexical = panel_figures(boss, "lexical")
        assert float(lexical["mrr@10"]) < float(hybrid["mrr@10"]), (lexical, hybrid)
        assert "(searching)" in boss.locator("#qa-figures tr[data-mode='lexical']").inner_text()
        shoot(boss, "judged-figures")

        # Another user's judgements are theirs: alice sees only her one.
        alice = signed_in(browser, judging_server, "alice")
        judge(alice, STORMS, "Storm warnings", "relevant")
        assert "1 judgements" in alice.locator("#qa-figures").inner_text()
        assert rest_figures(judging_server, "alice")["judgements"] == 1
        assert rest_figures(judging_server, "boss")["judgements"] == 5

        # A rebuild: boss's judged questions searched in the new build before it is published.
        boss.get_by_role("button", name="Rebuild index").click()
        boss.wait_for_function("document.querySelector('#qa-status').innerText"
                               ".includes('Rebuilt')", timeout=120_000)
        status = boss.locator("#qa-status").inner_text()
        assert "Judged questions of boss (hybrid; 3 questions, 5 judgements)" in status, status
        assert "replaced" in status and "Warning" not in status, status
        panel = recompute(boss)
        assert "5 judgements" in panel and "stale" not in panel, panel

        # An edit of another file leaves every judgement current ...
        (judging_server["docs"] / "canteen.txt").write_text(
            "Canteen\n\nThe canteen serves mussels on Thursdays.\n", encoding="utf-8")
        wait_until_indexed(judging_server, "What does the canteen serve?", "mussels")
        assert rest_figures(judging_server, "boss")["stale"] == 0
        assert "stale" not in recompute(boss)
        # ... an edit of the judged paragraph makes its judgement stale.
        write_folder(judging_server["docs"], {"weather.txt": [
            "Weather", "Gales shut the harbour for a week every winter.",
            *FOLDER["weather.txt"][2:]]})
        wait_until_indexed(judging_server, STORMS, "for a week")
        figures = rest_figures(judging_server, "boss")
        assert (figures["stale"], figures["judgements"]) == (1, 4), figures
        panel = recompute(boss)
        assert "1 stale (their passage changed), left out" in panel, panel
        assert "2 questions with a relevant passage" in panel, panel
        browser.close()
