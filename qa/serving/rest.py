"""The REST API beside the page: one plain HTTP request per question, documented by OpenAPI.

    GET  /api/search?q=…&k=…&mode=…&documents=…&collapse=…&group=…   (documents repeatable)
    POST /api/search   {"question", "k", "mode", "documents", "collapse", "group"}
    POST /api/judgements {"question", "source", "paragraph", "verdict", "quote"}   a relevance judgement
    GET  /api/judgements/figures                   your judged questions' figures, per mode
    GET  /api/similar?source=…&paragraph=…&k=…&same_document=…   more like one passage
    GET  /api/history?limit=…                      your recent questions (signed in)
    DELETE /api/history                            forget them
    GET  /api/documents                            the indexed files
    GET  /api/health                               for load balancers
    GET  /api/openapi.json, /api/docs              the schema, and a page to try it

A search answers with exactly what `qa ask --json` prints, checked by the same code as the page's
call API and MCP (qa.serving.api). Any refusal is {"error": message naming the argument}, with 422 for a
bad argument, 404 for a passage that is not indexed or not yours to read (the same answer) and
for /history on a server without sign-in (the browser keeps that history), and 503 while no
index can be opened. A signed-in reader's answered searches are kept in the history the page
keeps (one QuestionHistory, handed in by the server). Gradio's queue is not on this path: a search
is one request, answered from a worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.routing import Match

from qa.core.access import Access
from qa.core.settings import SearchMode
from qa.evaluating.judged import evaluate_judgements
from qa.indexing.store import IndexUnusableError
from qa.library import QA
from qa.serving.api import (
    MAX_K,
    ApiInputError,
    PassageNotFound,
    judge_json,
    search_json,
    similar_json,
    status_json,
)
from qa.serving.guard import REST_PREFIX as PREFIX
from qa.serving.handlers import ServerNotice
from qa.serving.history import KEPT_QUESTIONS, QuestionHistory
from qa.serving.signin import no_sign_in
from qa.serving.watch import FolderWatcher
from qa.showing.facets_html import with_documents

log = logging.getLogger(__name__)

Grouping = Literal["none", "document"]  # qa.serving.api.GROUPINGS


class CopyPlace(BaseModel):
    """Where a collapsed copy of a hit's passage is."""

    source: str
    paragraph: int
    page: int | None
    citation: str
    url: str | None = Field(None, description="Opens the page with this copy's document view.")


class HitAnswer(BaseModel):
    """One passage with its citation (the fields of `qa ask --json`)."""

    rank: int
    score: float
    similarity: float = Field(description="Best cosine of the question with the passage.")
    scores: dict[str, float] = Field(
        description="Each retrieval signal's score of the passage, by the signal's name "
                    "(dense: best window plus best sentence cosine; lexical: BM25).")
    below_threshold: bool
    text: str
    source: str = Field(description="The file, relative to the documents folder.")
    title: str
    paragraph: int = Field(description="The passage's number in its document, from 1.")
    page: int | None
    page_end: int | None
    section: str | None
    start: int = Field(description="Character offset of the passage in the extracted text.")
    end: int
    answer: str = Field(description="The sentence of the passage that answers best.")
    answer_start: int
    answer_end: int
    citation: str
    also_in: list[CopyPlace] = Field(
        description="The same passage (or nearly) elsewhere, shown once: each copy's place.")
    url: str | None = Field(None, description="Opens the page with this hit's document view.")


class GroupAnswer(BaseModel):
    """One document's card in a result grouped by document."""

    source: str
    title: str
    score: float = Field(description="Its best passage's score.")
    more: int = Field(description="How many more passages of it are in the result.")
    hits: list[HitAnswer]


class FacetValue(BaseModel):
    """One value of a facet: how many of the result's documents have it, and the filter that
    keeps them."""

    label: str = Field(description='As shown: "pdf", "reports/2024/", "2024".')
    count: int = Field(description="How many of the result's documents have it.")
    filter: str = Field(description='The query filter that keeps them ("type:pdf"); empty '
                                    "when none can (the top folder).")


class ResultFacets(BaseModel):
    """The result's documents counted by type, folder and year, most frequent (years: latest)
    first."""

    type: list[FacetValue]
    folder: list[FacetValue]
    year: list[FacetValue] = Field(description="By the date after: and before: read.")


class ResultList(BaseModel):
    """What a search and "more like this" both answer."""

    question: str
    hits: list[HitAnswer] = Field(description="The passages; grouped, each group's best.")
    no_good_match: bool
    notices: list[str]
    model: str = Field(description="The model that ranked the passages by meaning (the "
                                   "index's, as --model names it); empty when nothing was "
                                   "searched.")
    collapsed: int = Field(description="Near-duplicate passages shown once (see also_in).")
    groups: list[GroupAnswer] | None = Field(None, description="With group=document only.")


class SearchAnswer(ResultList):
    facets: ResultFacets = Field(description="The result's documents counted, each count with "
                                             "the filter that narrows to it.")


class PassageName(BaseModel):
    source: str
    paragraph: int


class SimilarAnswer(ResultList):
    like: PassageName = Field(description="The passage the others are like.")


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="A natural-language question.")
    k: int | None = Field(None, ge=1, le=MAX_K, description="How many passages (default 5).")
    mode: SearchMode | None = Field(None, description="hybrid (default), dense or lexical.")
    documents: list[str] | None = Field(
        None, description="Only these files (names as in a hit's source); all when empty.")
    collapse: bool | None = Field(
        None, description="Show near-duplicate passages once (default: the collapse setting).")
    group: Grouping | None = Field(None, description="document: one group per document.")


class JudgementRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="The question the hit was found for.")
    source: str | None = Field(None, description="The hit's file (not with verdict none).")
    # Strict: `true` is not paragraph 1.
    paragraph: int | None = Field(None, strict=True,
                                  description="The hit's paragraph (not with verdict none).")
    verdict: Literal["relevant", "not relevant", "none"] = Field(
        description="relevant or not relevant (of the hit); none: no hit answers the question.")
    quote: str | None = Field(None, description="Optional: the passage's words that answer "
                                                "(say the hit's answer); found again if the "
                                                "paragraph moves.")


class Judged(BaseModel):
    question: str
    source: str
    paragraph: int
    text_hash: str
    quote: str
    verdict: str
    time: float
    build: str
    user: str


class JudgedAnswer(BaseModel):
    judged: Judged


class ModeFigures(BaseModel):
    """Each figure is null when no judged question has a relevant passage (questions 0)."""

    recall_1: float | None = Field(alias="recall@1")
    recall_5: float | None = Field(alias="recall@5")
    mrr_10: float | None = Field(alias="mrr@10")
    ndcg_10: float | None = Field(alias="ndcg@10")
    questions: int = Field(description="Judged questions with a relevant passage (averaged).")
    unanswerable: int = Field(description="Judged answered by none (left out of the averages).")


class JudgedFigures(BaseModel):
    """`qa eval --judgements --json` of the signed-in user (docs/judging.md)."""

    user: str
    judgements: int = Field(description="The judgements the figures rest on.")
    judged_questions: int = Field(description="Judged questions scored (0: nothing judged).")
    stale: int = Field(description="Judgements whose passage changed, left out.")
    unjudged: int = Field(description="Questions judged only not relevant, left out.")
    modes: dict[str, ModeFigures] = Field(description="hybrid, dense and lexical.")


class DocumentEntry(BaseModel):
    source: str
    title: str
    pages: int | None = Field(description="The last page a passage reaches; null without pages.")
    passages: int


class SkippedEntry(BaseModel):
    source: str
    reason: str


class DocumentList(BaseModel):
    documents: list[DocumentEntry]
    skipped: list[SkippedEntry] = Field(
        description="Files the last build in this server left out, each with the reason.")


class Health(BaseModel):
    status: str = Field(description="ok, or unavailable (with error) while no index opens.")
    documents: int = Field(description="Indexed documents (signed in: those you may read; "
                                       "none without a token).")
    passages: int
    index_age_s: float = Field(description="Seconds since the served index was built.")
    watching: str = Field(description="What the folder watcher is doing; empty when off.")
    model: str | None = Field(default=None, description="The model the served index was built "
                                                        "with (and answers with).")
    dense_index: str | None = Field(default=None, description="The dense index the served "
                                                              "build searches.")
    notice: str = Field(default="", description="What the check of the server's start-up "
                                                "build found (a worse build published, or one "
                                                "declined); empty for nothing.")


class PastQuestion(BaseModel):
    question: str = Field(description="As the page would ask it again: a search's documents "
                                      "are file: filters in it.")
    asked: str = Field(description="When last asked: the server's local time, ISO 8601.")


class HistoryAnswer(BaseModel):
    """The signed-in reader's recent questions, asked on the page or by /api/search."""

    user: str
    kept: int = Field(description="How many questions the server keeps, at most.")
    questions: list[PastQuestion] = Field(description="Newest first; each once.")


class Cleared(BaseModel):
    cleared: int = Field(description="How many questions were forgotten.")


class Refusal(BaseModel):
    error: str


_REFUSALS: dict[int | str, dict[str, Any]] = {
    422: {"model": Refusal, "description": "A bad argument; the message names it."},
    503: {"model": Refusal, "description": "No index can be opened."}}
_GET_ARGUMENTS = {"q", "k", "mode", "documents", "collapse", "group"}
_SIMILAR_ARGUMENTS = {"source", "paragraph", "k", "same_document", "collapse"}


def refusal(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _validation_refusal(request: Request, error: Exception) -> JSONResponse:
    """FastAPI's check of an argument's type, worded as one line that names the argument."""
    assert isinstance(error, RequestValidationError)
    lines = []
    for problem in error.errors():
        if problem.get("type") == "json_invalid":  # its location is a character offset
            reason = problem.get("ctx", {}).get("error", "")
            return refusal(422, f"the body is not valid JSON: {reason or 'cannot be read'}")
        where = [str(part) for part in problem.get("loc", ()) if part not in ("body", "query")]
        lines.append(f"{'.'.join(where) or 'body'}: {problem.get('msg', 'invalid')}")
    return refusal(422, "; ".join(lines))


def _route_refusal(request: Request, error: Exception) -> JSONResponse:
    """An unknown route (404) or method (405) in the documented {"error": ...} shape."""
    assert isinstance(error, HTTPException)
    path = request.url.path
    if error.status_code == 404:
        message = f"no such route: {path} (GET {PREFIX}/docs lists them)"
    elif error.status_code == 405:
        allowed = _methods_of(request)
        message = f"{request.method} is not allowed on {path}; use {allowed}"
        return JSONResponse({"error": message}, 405, headers={"Allow": allowed})
    else:
        message = str(error.detail)
    return JSONResponse({"error": message}, error.status_code, headers=error.headers)


def _methods_of(request: Request) -> str:
    """Every method a request's path answers ("GET, POST"); Starlette's Allow header names only
    the first route of the path's."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if route.matches(request.scope)[0] == Match.PARTIAL:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods - {"HEAD"}))


def rest_app(qa: QA, watcher: FolderWatcher | None = None,
             access_of: Callable[[Mapping[str, str]], Access] = no_sign_in,
             history: QuestionHistory | None = None,
             notice: ServerNotice | None = None) -> FastAPI:
    """The REST routes over `qa`, as an app of their own (the page's guard hands it /api/).
    `access_of` reads who a request is from and what they may read; `history` is the page's
    store of signed-in readers' questions (None: no sign-in); `notice` what the check of the
    start-up build found, told by /api/health."""
    app = FastAPI(title="qa", summary="Ask your documents; get passages you can cite.",
                  openapi_url=f"{PREFIX}/openapi.json", docs_url=f"{PREFIX}/docs", redoc_url=None)
    app.add_exception_handler(RequestValidationError, _validation_refusal)
    app.add_exception_handler(HTTPException, _route_refusal)

    def answer(request: Request, question: str, k: int | None, mode: str | None,
               documents: list[str] | None, collapse: bool | None, group: str | None
               ) -> JSONResponse:
        return _answer(qa, access_of(request.headers), history, str(request.base_url),
                       SearchAsked(question, k, mode, documents, collapse, group))

    @app.get(f"{PREFIX}/search", response_model=None,
             responses={200: {"model": SearchAnswer}, **_REFUSALS})
    def search(request: Request,
               q: Annotated[str, Query(description="A natural-language question.")],
               k: Annotated[int | None, Query(ge=1, le=MAX_K,
                                              description="How many passages.")] = None,
               mode: Annotated[SearchMode | None,
                               Query(description="hybrid, dense or lexical.")] = None,
               documents: Annotated[list[str] | None,
                                    Query(description="Only these files (repeatable).")] = None,
               collapse: Annotated[bool | None, Query(
                   description="false: every copy of a passage (default: the collapse "
                               "setting).")] = None,
               group: Annotated[Grouping | None, Query(
                   description="document: k documents, each with its passages.")] = None
               ) -> JSONResponse:
        """The best passages for a question, each with its citation."""
        unknown = _unknown(request, "search", _GET_ARGUMENTS)
        return unknown or answer(request, q, k, mode, documents, collapse, group)

    @app.post(f"{PREFIX}/search", response_model=None,
             responses={200: {"model": SearchAnswer}, **_REFUSALS})
    def search_posted(request: Request, body: SearchRequest) -> JSONResponse:
        """The same search, its arguments in a JSON body."""
        return answer(request, body.question, body.k, body.mode, body.documents, body.collapse,
                      body.group)

    _similar_route(app, qa, access_of)
    _judgement_route(app, qa, access_of)
    _history_routes(app, history, access_of)
    _index_routes(app, qa, watcher, access_of, notice)
    return app


@dataclass(frozen=True)
class SearchAsked:
    """A search's arguments, as REST took them."""

    question: str
    k: int | None
    mode: str | None
    documents: list[str] | None
    collapse: bool | None
    group: str | None


def _answer(qa: QA, reader: Access, history: QuestionHistory | None, base_url: str,
            asked: SearchAsked) -> JSONResponse:
    """A search's answer; an answered search by a signed-in reader kept in their history."""
    try:
        # Returned as built, not through a response model: byte for byte `qa ask --json`.
        found = search_json(qa, asked.question, asked.k, asked.mode, asked.documents, reader,
                            base_url, asked.collapse, asked.group)
    except ApiInputError as error:
        return refusal(422, str(error))
    except IndexUnusableError as error:
        return refusal(503, str(error))
    if history is not None and reader.user is not None:
        # Kept as the page keeps its own (an answered question, the documents as filters):
        # one history a click on the page asks again, whichever way it was asked. Written
        # behind the answer: a search never waits for the history's file.
        history.keep(reader.user, with_documents(asked.question, asked.documents or []))
    return JSONResponse(found)


def _unknown(request: Request, route: str, arguments: set[str]) -> JSONResponse | None:
    """A refusal of the first argument the route does not take: a misspelt argument must not
    be ignored in silence."""
    unknown = sorted(set(request.query_params) - arguments)
    if not unknown:
        return None
    return refusal(422, f"{unknown[0][:50]}: not an argument of /api/{route} (it takes "
                        f"{', '.join(sorted(arguments)) or 'none'})")


# A passage the reader may not read is answered as one that does not exist: never confirmed.
_NO_SUCH_PASSAGE: dict[int | str, dict[str, Any]] = {
    404: {"model": Refusal, "description": "No such passage is yours to read."}}


def _passage_answer(answer: Callable[[], dict[str, Any]]) -> JSONResponse:
    """The JSON of a route about one passage, or the refusal its error calls for."""
    try:
        return JSONResponse(answer())
    except ApiInputError as error:
        return refusal(422, str(error))
    except PassageNotFound as error:
        return refusal(404, str(error))
    except IndexUnusableError as error:
        return refusal(503, str(error))


def _similar_route(app: FastAPI, qa: QA, access_of: Callable[[Mapping[str, str]], Access]
                   ) -> None:
    """/similar: more like one passage."""

    @app.get(f"{PREFIX}/similar", response_model=None,
             responses={200: {"model": SimilarAnswer}, **_REFUSALS, **_NO_SUCH_PASSAGE})
    def similar(request: Request,
                source: Annotated[str, Query(description="The passage's file (a hit's "
                                                         "source).")],
                paragraph: Annotated[int, Query(ge=1, description="The passage's number in "
                                                                  "its file.")],
                k: Annotated[int | None, Query(ge=1, le=MAX_K,
                                               description="How many passages.")] = None,
                same_document: Annotated[bool, Query(
                    description="Also passages of the same file.")] = False,
                collapse: Annotated[bool | None, Query(
                    description="false: every copy of a passage.")] = None) -> JSONResponse:
        """The passages closest in meaning to one passage (its stored vector), best first;
        other files' only unless same_document."""
        unknown = _unknown(request, "similar", _SIMILAR_ARGUMENTS)
        if unknown:
            return unknown
        return _passage_answer(lambda: similar_json(
            qa, source, paragraph, k, same_document, access_of(request.headers),
            str(request.base_url), collapse))


def _judgement_route(app: FastAPI, qa: QA, access_of: Callable[[Mapping[str, str]], Access]
                     ) -> None:
    """/judgements: a relevance judgement of a hit, the signed-in user's (docs/judging.md)."""

    @app.post(f"{PREFIX}/judgements", response_model=None,
              responses={200: {"model": JudgedAnswer}, **_REFUSALS, **_NO_SUCH_PASSAGE})
    def judge(request: Request, body: JudgementRequest) -> JSONResponse:
        """Record that a hit answers a question (relevant), does not (not relevant), or that
        no hit does (none): the judgements `qa eval --judgements` scores the folder by."""
        return _passage_answer(lambda: judge_json(
            qa, body.question, body.source, body.paragraph, body.verdict,
            access_of(request.headers), body.quote))

    @app.get(f"{PREFIX}/judgements/figures", response_model=None,
             responses={200: {"model": JudgedFigures}, **_REFUSALS})
    def figures(request: Request) -> JSONResponse:
        """Recall@1/5, MRR@10 and nDCG@10 of your judged questions, searched again now in each
        mode, with what they rest on: the figures of `qa eval --judgements`."""
        unknown = _unknown(request, "judgements/figures", set())
        if unknown:
            return unknown
        try:
            return JSONResponse(evaluate_judgements(qa, access=access_of(request.headers)
                                                    ).to_json())
        except IndexUnusableError as error:
            return refusal(503, str(error))


_NO_HISTORY: dict[int | str, dict[str, Any]] = {
    404: {"model": Refusal, "description": "This server has no sign-in: the page keeps the "
                                           "history in the browser."}}


def _history_routes(app: FastAPI, history: QuestionHistory | None,
                    access_of: Callable[[Mapping[str, str]], Access]) -> None:
    """/history: the signed-in reader's recent questions, the list the page shows under its
    box (docs/search.md)."""

    def unkept(request: Request) -> tuple[QuestionHistory, str] | JSONResponse:
        """The history and the reader's name, or the 404 of a server that keeps none."""
        user = access_of(request.headers).user
        if history is None or user is None:
            return refusal(404, "this server has no sign-in, so it keeps no question history: "
                                "the page keeps it in your browser (its localStorage); "
                                "`qa serve --users FILE` keeps each reader's on the server")
        return history, user

    @app.get(f"{PREFIX}/history", response_model=None,
             responses={200: {"model": HistoryAnswer}, 422: _REFUSALS[422], **_NO_HISTORY})
    def recent(request: Request,
               limit: Annotated[int | None, Query(ge=1, le=KEPT_QUESTIONS, description=(
                   "At most this many, the newest (default: every one kept)."))] = None
               ) -> JSONResponse:
        """Your recent questions, newest first: asked on the page or by /api/search."""
        kept = _unknown(request, "history", {"limit"}) or unkept(request)
        if isinstance(kept, JSONResponse):
            return kept
        store, user = kept
        return JSONResponse({"user": user, "kept": store.kept,
                             "questions": store.entries(user)[:limit]})

    @app.delete(f"{PREFIX}/history", response_model=None,
                responses={200: {"model": Cleared}, 422: _REFUSALS[422], **_NO_HISTORY,
                           500: {"model": Refusal, "description": "It could not be removed."}})
    def clear(request: Request) -> JSONResponse:
        """Forget your recent questions, on the page too."""
        kept = _unknown(request, "history", set()) or unkept(request)
        if isinstance(kept, JSONResponse):
            return kept
        store, user = kept
        try:
            return JSONResponse({"cleared": store.clear(user)})
        except OSError as error:
            log.warning("the question history %s cannot be removed: %s", store.path(user), error)
            return refusal(500, "your question history could not be cleared (the server's "
                                "log says why)")


def _index_routes(app: FastAPI, qa: QA, watcher: FolderWatcher | None,
                  access_of: Callable[[Mapping[str, str]], Access],
                  notice: ServerNotice | None = None) -> None:
    """/documents and /health: what is indexed, and whether the server can answer."""

    @app.get(f"{PREFIX}/documents", response_model=None,
             responses={200: {"model": DocumentList}, **_REFUSALS})
    def documents(request: Request) -> JSONResponse:
        """The indexed documents you may read, and the files left out."""
        reader = access_of(request.headers)
        try:
            listed = qa.documents(reader)
        except IndexUnusableError as error:
            return refusal(503, str(error))
        skipped = [skip for skip in (qa.last_report.skipped if qa.last_report else [])
                   if reader.may_read(skip.source)]
        return JSONResponse({"documents": [vars(document) for document in listed],
                             "skipped": [{"source": s.source, "reason": s.reason}
                                         for s in skipped]})

    @app.get(f"{PREFIX}/health", response_model=None,
             responses={200: {"model": Health}, **_REFUSALS})
    def health(request: Request) -> JSONResponse:
        """Whether the server can answer, and how big (in what you may read) and how old its
        index is."""
        reader = access_of(request.headers)
        said = status_json(qa, reader, watcher.status.line(reader.everything)
                           if watcher is not None else "",
                           notice.text(reader.everything) if notice is not None else "")
        return JSONResponse(said, status_code=200 if said["status"] == "ok" else 503)
