"""The page in real headless Chromium, driven by Playwright, against a live app on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest
from conftest import REPO, SEEDS

pytestmark = pytest.mark.browser
SCREENSHOTS = REPO / "tests" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    docs = tmp_path_factory.mktemp("docs")
    for seed in SEEDS.iterdir():
        (docs / seed.name).write_bytes(seed.read_bytes())
    (docs / "html.txt").write_text(
        "Markup note\n\nThis paragraph holds <img src=x onerror=alert(2)> and <b>bold</b> tags "
        "about the orbital debris markup.", encoding="utf-8")
    port = free_port()
    # `timeout` makes sure the server stops by itself even if the test run is killed.
    server = subprocess.Popen(
        ["timeout", "900", sys.executable, "-m", "qa.cli", "serve", "--docs", str(docs),
         "--index", str(tmp_path_factory.mktemp("index")), "--port", str(port)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            time.sleep(1)
    else:
        server.kill()
        pytest.fail("the app did not start within 180 s")
    yield url
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture()
def page(app_url: str):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1200, "height": 900})
        dialogs: list[str] = []
        tab.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        tab.goto(app_url)
        tab.dialogs = dialogs  # type: ignore[attr-defined]
        yield tab
        browser.close()


def ask(tab, question: str) -> None:  # type: ignore[no-untyped-def]
    box = tab.locator("#qa-question textarea")
    box.fill(question)
    box.press("Enter")


def shoot(tab, name: str) -> None:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_question_gives_cited_results(page) -> None:  # type: ignore[no-untyped-def]
    ask(page, "Who co-organised the 2018 PAROS workshop?")
    page.wait_for_selector(".qa-hit", timeout=60_000)
    first = page.locator(".qa-hit").first
    assert first.get_attribute("data-source") == "001_3bdd3841a68f260c.txt"
    assert "paragraph 1" in first.inner_text()
    shoot(page, "results")


def test_citation_click_shows_document(page) -> None:  # type: ignore[no-untyped-def]
    ask(page, "Which countries joined China in submitting working paper CD/1679?")
    page.wait_for_selector(".qa-hit", timeout=60_000)
    page.locator("#qa-show label").first.click()
    target = page.wait_for_selector(".qa-doc .qa-target", timeout=30_000)
    assert "CD/1679" in target.inner_text()
    shoot(page, "document")


def test_empty_question_shows_message(page) -> None:  # type: ignore[no-untyped-def]
    page.locator("#qa-ask").click()
    page.wait_for_selector(".qa-notice", timeout=30_000)
    assert "Please type a question" in page.locator(".qa-notice").first.inner_text()
    shoot(page, "empty")


def test_markup_is_shown_as_text_never_run(page) -> None:  # type: ignore[no-untyped-def]
    ask(page, "<script>alert(1)</script> orbital debris markup <img src=x onerror=alert(3)>")
    page.wait_for_selector(".qa-hit", timeout=60_000)
    page.wait_for_timeout(500)
    assert page.dialogs == []
    results = page.locator("#qa-results")
    assert results.locator("script, img").count() == 0
    text = results.inner_text()
    assert "<img src=x onerror=alert(2)>" in text and "<b>bold</b>" in text
    shoot(page, "markup")


def test_file_route_refuses_paths_outside_the_documents(app_url: str) -> None:
    import urllib.error

    for path in ["gradio_api/file=/etc/passwd", "gradio_api/file=../../../../etc/passwd",
                 "file=/etc/passwd", f"gradio_api/file={REPO}/pyproject.toml"]:
        try:
            with urllib.request.urlopen(app_url + path, timeout=10) as response:
                body = response.read().decode("utf-8", "replace")
            assert "root:" not in body and "[project]" not in body, path
        except urllib.error.HTTPError as error:
            assert error.code in {400, 403, 404}, (path, error.code)


def test_concurrent_clients_all_succeed(app_url: str) -> None:
    """A short load test: 20 clients asking for 10 s (benchmarks/load.py runs it longer)."""
    from benchmarks.load import run_load

    figures = run_load(app_url, clients=20, seconds=10)
    assert figures["failures"] == 0, figures
    assert figures["requests"] >= 20, figures


def test_works_at_phone_width(app_url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 390, "height": 844})
        tab.goto(app_url)
        ask(tab, "Which expert body was the 2018 workshop preparing the ground for?")
        tab.wait_for_selector(".qa-hit", timeout=60_000)
        hit_box = tab.locator(".qa-hit").first.bounding_box()
        assert hit_box is not None and hit_box["width"] <= 390
        overflow = tab.evaluate("document.documentElement.scrollWidth")
        assert overflow <= 390, overflow
        shoot(tab, "phone")
        browser.close()
