"""The page in real headless Chromium, driven by Playwright, against a live app on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO

pytestmark = pytest.mark.browser
SCREENSHOTS = REPO / "tests" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


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
    assert "¶ 1" in first.inner_text()
    shoot(page, "results")


def test_citation_click_shows_document(page) -> None:  # type: ignore[no-untyped-def]
    ask(page, "Which countries joined China in submitting working paper CD/1679?")
    page.wait_for_selector(".qa-hit", timeout=60_000)
    page.locator("#qa-show label").first.click()
    target = page.wait_for_selector("#qa-document .qa-target", timeout=30_000)
    assert "CD/1679" in target.inner_text()
    shoot(page, "document")


def test_citation_click_works_after_the_server_forgot_the_session(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    import httpx
    from conftest import LIVE_SESSIONS_KEPT

    from benchmarks.load import call

    ask(page, "Which countries joined China in submitting working paper CD/1679?")
    page.wait_for_selector(".qa-hit", timeout=60_000)
    with httpx.Client(base_url=app_url, timeout=60) as http:  # each call is a new session
        for _ in range(LIVE_SESSIONS_KEPT + 5):
            call(http, "search", ["outer space", 1, None, None])
    page.locator("#qa-show label").first.click()
    target = page.wait_for_selector("#qa-document .qa-target", timeout=30_000)
    assert "CD/1679" in target.inner_text()


def test_adding_a_pdf_from_the_page_makes_it_searchable_with_its_page(  # type: ignore[no-untyped-def]
        page, live_docs: Path) -> None:
    from documents import LAMP, report_pdf

    page.locator("button:has-text('Add documents')").click()
    upload = page.locator("#qa-upload input[type=file]")
    upload.set_input_files([
        {"name": "harbour-lights.pdf", "mimeType": "application/pdf",
         "buffer": report_pdf(lens="Augustin")},
        {"name": "../../escape.txt", "mimeType": "text/plain",
         "buffer": b"Escape note\n\nThis file tried to leave the documents folder by its name."},
    ])
    page.wait_for_selector("#qa-added li", timeout=120_000)
    added = page.locator("#qa-added").inner_text()
    assert "added harbour-lights.pdf" in added and "added escape.txt" in added, added
    assert (live_docs / "escape.txt").is_file()
    assert not (live_docs.parent / "escape.txt").exists()
    assert not (live_docs.parent.parent / "escape.txt").exists()
    ask(page, "Which lens does the electric bulb turn behind, named Augustin?")
    page.wait_for_selector(".qa-hit", timeout=60_000)
    first = page.locator(".qa-hit").first
    assert first.get_attribute("data-source") == "harbour-lights.pdf", first.inner_text()
    assert "p. 2" in first.inner_text() and LAMP[0][:20] in first.inner_text()
    link = first.locator("a.qa-open")
    assert link.get_attribute("href") == "qa/documents/harbour-lights.pdf#page=2"
    shoot(page, "upload")


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
    open_result(page, "html.txt")  # the view shows the markup as text too, and runs nothing
    view = page.locator("#qa-document")
    assert "<img src=x onerror=alert(2)>" in view.inner_text()
    assert view.locator("script, img, .qa-text-whole b").count() == 0
    page.wait_for_timeout(500)
    assert page.dialogs == []


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


TOWER = "When was the Cordouan tower finished, after twenty-seven years of building?"


def open_result(tab, source: str) -> None:  # type: ignore[no-untyped-def]
    tab.locator("#qa-show label", has_text=source).first.click()
    tab.wait_for_selector(f"#qa-document .qa-view[data-query*='open={source}']", timeout=30_000)


def pictures(tab) -> list[dict[str, int]]:  # type: ignore[no-untyped-def]
    tab.wait_for_function("() => [...document.querySelectorAll('#qa-document img')]"
                          ".every(i => i.complete && i.naturalWidth > 0)", timeout=30_000)
    return tab.evaluate(  # type: ignore[no-any-return]
        "() => [...document.querySelectorAll('#qa-document figure')].map(f => ({"
        "page: +f.dataset.page, natural: f.querySelector('img').naturalWidth,"
        "shown: f.querySelector('img').clientWidth,"
        "passage: f.querySelectorAll('.qa-box-passage').length,"
        "answer: f.querySelectorAll('.qa-box-answer').length}))")


def test_a_pdf_result_shows_its_pages_with_the_passage_marked(page) -> None:  # type: ignore[no-untyped-def]
    ask(page, TOWER)
    page.wait_for_selector(".qa-hit", timeout=60_000)
    open_result(page, "cordouan.pdf")
    first, second = pictures(page)  # the paragraph runs from page 1 onto page 2
    assert (first["page"], second["page"]) == (1, 2)
    for shown in (first, second):
        assert shown["natural"] >= 400 and shown["shown"] >= 400, shown
        assert shown["passage"] >= 1 and shown["answer"] >= 1, shown
    assert first["passage"] == 5  # the paragraph's five lines on page 1
    page.wait_for_url("**open=cordouan.pdf**", timeout=10_000)
    shoot(page, "view-pdf")
    page.locator("#qa-document").screenshot(path=str(SCREENSHOTS / "view-pdf-only.png"))
    page.locator("#qa-next").click()  # the passage's second page alone, still marked
    page.wait_for_selector("#qa-document figure[data-page='2']:only-of-type", timeout=30_000)
    page.locator("#qa-next").click()  # past the passage: the page, unmarked
    page.wait_for_selector("#qa-document figure[data-page='3']", timeout=30_000)
    (third,) = pictures(page)
    assert third["passage"] == 0 and third["natural"] >= 400
    page.wait_for_url("**page=3**", timeout=10_000)
    page.locator("#qa-zoom-in").click()
    page.wait_for_selector("#qa-document .qa-view[data-query*='zoom=150']", timeout=30_000)
    (zoomed,) = pictures(page)
    assert zoomed["natural"] == 2000 and zoomed["page"] == 3


def test_a_text_result_shows_the_whole_document_with_the_answer_in_view(page) -> None:  # type: ignore[no-untyped-def]
    ask(page, "Which countries joined China in submitting working paper CD/1679?")
    page.wait_for_selector(".qa-hit", timeout=60_000)
    source = "004_0a75116a2b3c4ab4.txt"
    open_result(page, source)
    whole = page.locator("#qa-document .qa-text-whole")
    assert page.locator("#qa-document .qa-title").inner_text().startswith("FUNDAMENTAL WAYS")
    assert page.locator("#qa-document .qa-aside").first.inner_text() == "Zhang Ju'nan"  # byline
    mark = page.locator("#qa-document mark")
    assert "CD/1679" in mark.inner_text()
    text = (REPO / "seeds" / source).read_text(encoding="utf-8")
    assert whole.evaluate("e => e.textContent") == text  # the offsets are into this very text
    target = page.locator("#qa-target")
    start, end = int(target.get_attribute("data-start")), int(target.get_attribute("data-end"))
    assert whole.evaluate(f"e => e.textContent.slice({start}, {end})") == text[start:end]
    page.wait_for_timeout(500)  # the scroll runs just after the view is shown
    assert page.evaluate(
        "() => { const m = document.querySelector('#qa-document mark').getBoundingClientRect();"
        " const w = document.querySelector('#qa-document .qa-text-whole')"
        ".getBoundingClientRect(); return m.top >= w.top && m.top < w.bottom"
        " && m.top >= 0 && m.top < window.innerHeight; }"), "the answer is not scrolled into view"
    page.locator("#qa-document").screenshot(path=str(SCREENSHOTS / "view-text-only.png"))
    shoot(page, "view-text")


def test_a_hits_url_opens_the_page_with_its_view(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    import httpx

    hit = httpx.get(app_url + "api/search", params={"q": TOWER, "documents": "cordouan.pdf",
                                                    "k": 1}, timeout=60).json()["hits"][0]
    page.goto(hit["url"])
    page.wait_for_selector("#qa-document .qa-view", timeout=60_000)
    assert [shown["page"] for shown in pictures(page)] == [hit["page"], hit["page_end"]]
    assert page.locator(".qa-hit").count() >= 1  # the question was asked again
    assert page.locator("#qa-question textarea").input_value() == TOWER


def test_results_and_views_are_reached_with_the_keyboard(page) -> None:  # type: ignore[no-untyped-def]
    ask(page, "Which countries joined China in submitting working paper CD/1679?")
    page.wait_for_selector(".qa-hit", timeout=60_000)
    page.locator("#qa-show input").first.focus()
    page.keyboard.press("Space")  # the focused result opens
    page.wait_for_selector("#qa-document .qa-view", timeout=30_000)
    first = page.locator("#qa-document .qa-view").get_attribute("data-query")
    # Gradio names each choice's input apart, so each result is a Tab stop of its own.
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # the next result opens
    page.wait_for_function(f"() => document.querySelector('#qa-document .qa-view')"
                           f".dataset.query !== {first!r}", timeout=30_000)
    whole = page.locator("#qa-document .qa-text-whole")
    page.wait_for_timeout(500)  # the view scrolls to its answer just after it is shown
    assert whole.evaluate("e => e.scrollHeight > e.clientHeight"), "the text does not scroll"
    whole.evaluate("e => { e.scrollTop = 0; }")
    whole.focus()  # a Tab stop of its own, scrolled with the keys
    assert whole.evaluate("e => document.activeElement === e"), "the text takes no focus"
    page.keyboard.press("PageDown")
    page.wait_for_function("() => document.querySelector('#qa-document .qa-text-whole')"
                           ".scrollTop > 0", timeout=5_000)


def test_more_like_this_and_one_card_per_document(page) -> None:  # type: ignore[no-untyped-def]
    ask(page, "Who co-organised the 2018 PAROS workshop?")
    page.wait_for_selector(".qa-hit", timeout=60_000)
    source = page.locator(".qa-hit").first.get_attribute("data-source")
    page.locator(".qa-hit .qa-like").first.click()  # the page opens again at ?like=...
    page.wait_for_selector(".qa-notice:has-text('More like')", timeout=60_000)
    page.wait_for_selector(".qa-hit", timeout=60_000)
    assert "like=" in page.url
    sources = [hit.get_attribute("data-source") for hit in page.locator(".qa-hit").all()]
    assert sources and source not in sources, (source, sources)
    page.locator("#qa-group input").check()
    ask(page, "Who co-organised the 2018 PAROS workshop?")
    page.wait_for_selector(".qa-group", timeout=60_000)
    groups = page.locator(".qa-group")
    assert len({groups.nth(n).get_attribute("data-source") for n in range(groups.count())}) \
        == groups.count() >= 2
    shoot(page, "grouped")


def test_a_facet_adds_its_filter_a_chip_removes_it_and_history_asks_again(page) -> None:  # type: ignore[no-untyped-def]
    question = "Which lens does the electric bulb turn behind?"
    ask(page, question)
    page.wait_for_selector("#qa-refine .qa-facet[title^='type:']", timeout=60_000)
    facet = page.locator("#qa-refine .qa-facet[title^='type:']").first
    suffix = str(facet.get_attribute("title")).removeprefix("type:")
    facet.click()  # asks the question again with the filter added
    page.wait_for_selector(f"#qa-refine .qa-chip:has-text('type:{suffix}')", timeout=60_000)
    box = page.locator("#qa-question textarea")
    assert box.input_value() == f"{question} type:{suffix}"
    sources = [hit.get_attribute("data-source") for hit in page.locator(".qa-hit").all()]
    assert sources and all(str(s).endswith(f".{suffix}") for s in sources), (suffix, sources)
    shoot(page, "facets")
    page.locator("#qa-refine .qa-chip-remove").first.click()
    page.wait_for_function("() => !document.querySelector('#qa-refine .qa-chip')",
                           timeout=60_000)
    assert box.input_value() == question
    # Without sign-in the browser keeps the questions: after a reload, one click asks again.
    page.reload()
    past = page.locator(f"#qa-history .qa-past[data-qa-query='{question} type:{suffix}']")
    past.wait_for(timeout=30_000)
    assert page.locator("#qa-history .qa-past").first.get_attribute("data-qa-query") == question
    past.click()
    page.wait_for_selector(f"#qa-refine .qa-chip:has-text('type:{suffix}')", timeout=60_000)
    assert box.input_value() == f"{question} type:{suffix}"


def test_a_hit_is_judged_from_its_buttons_and_a_question_answered_by_none(page) -> None:  # type: ignore[no-untyped-def]
    ask(page, "Who co-organised the 2018 PAROS workshop?")
    page.wait_for_selector(".qa-hit", timeout=60_000)
    first = page.locator(".qa-hit").first
    source = str(first.get_attribute("data-source"))
    relevant = first.locator(".qa-judge-button[data-verdict='relevant']")
    relevant.focus()
    page.keyboard.press("Enter")  # reached and pressed with the keyboard
    judged = page.locator("#qa-judged")
    judged.locator(f"text=/Judged .*{source}.* relevant/").wait_for(timeout=30_000)
    assert relevant.get_attribute("aria-pressed") == "true"
    assert first.locator(".qa-judge-button[data-verdict='not relevant']") \
        .get_attribute("aria-pressed") == "false"
    page.locator(".qa-judge-none .qa-judge-button").click()
    judged.locator("text=/no hit answers/").wait_for(timeout=30_000)
