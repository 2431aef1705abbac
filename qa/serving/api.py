"""The JSON search API (HTTP and MCP): typed arguments checked one by one, clear refusals."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from qa.core.access import EVERYONE, Access
from qa.core.settings import SEARCH_MODES, SearchMode
from qa.indexing.judgements import VERDICTS
from qa.library import QA, IndexUnusableError, QuestionRefused
from qa.showing.cite import result_to_json

MAX_K = 100
GROUPINGS = ("none", "document")  # how a result list may be grouped
_SHOWN_NAMES = 5
_SHOWN_NAME_CHARS = 100


class ApiInputError(ValueError):
    """An argument of the API has the wrong type or value; the message says which and why."""


class PassageNotFound(LookupError):
    """No such passage is indexed, or it is not the caller's to read (one answer for both)."""


def search_json(qa: QA, question: Any, k: Any = None, mode: Any = None,
                documents: Any = None, access: Access = EVERYONE, server: str = "",
                collapse: Any = None, group: Any = None) -> dict[str, Any]:
    """What `qa ask --json` prints for `question`, after checking every argument. A document
    `access` may not read is refused as not indexed: its name is not confirmed either. With
    the `server`'s address, each hit has a `url` that opens its document view there.
    `collapse` (default: the setting) shows near-duplicates once; `group` "document" gives
    one group per document. `facets` counts the result's documents (docs/search.md)."""
    if not isinstance(question, str):
        raise ApiInputError(f"question must be a string, not {_kind(question)}")
    try:
        result = qa.search(question, _top_k(k), _mode(mode),
                           _documents(documents, qa.sources(access)), access,
                           collapse=_switch("collapse", collapse), group=_group(group))
    except QuestionRefused as error:
        raise ApiInputError(str(error)) from error
    return result_to_json(result, server or qa.settings.server_url, qa.facets(result))


def similar_json(qa: QA, source: Any, paragraph: Any, k: Any = None, same_document: Any = None,
                 access: Access = EVERYONE, server: str = "", collapse: Any = None
                 ) -> dict[str, Any]:
    """The passages most like passage `paragraph` of `source` (QA.similar) as search results
    are given, with `like` naming that passage. PassageNotFound when there is no such passage
    or `access` may not read it."""
    if not isinstance(source, str) or not source:
        raise ApiInputError(f"source must be a file name, not {_kind(source)}")
    if isinstance(paragraph, bool) or not isinstance(paragraph, int) or paragraph < 1:
        raise ApiInputError(f"paragraph must be a whole number from 1, not {paragraph!r}")
    result = qa.similar(source, paragraph, _top_k(k), access,
                        same_document=bool(_switch("same_document", same_document)),
                        collapse=_switch("collapse", collapse))
    if result is None:
        raise PassageNotFound(f"no passage {paragraph} of {source[:_SHOWN_NAME_CHARS]!r} is "
                              "indexed that you may read")
    return {"like": {"source": source, "paragraph": paragraph},
            **result_to_json(result, server or qa.settings.server_url)}


def judge_json(qa: QA, question: Any, source: Any, paragraph: Any, verdict: Any,
               access: Access = EVERYONE, quote: Any = "") -> dict[str, Any]:
    """Record a relevance judgement (QA.judge) after checking every argument: {"judged": the
    judgement as stored}. Verdict "none" (no hit answers the question) takes no source or
    paragraph. PassageNotFound when there is no such passage or `access` may not read it."""
    if not isinstance(question, str):
        raise ApiInputError(f"question must be a string, not {_kind(question)}")
    if verdict not in VERDICTS:
        raise ApiInputError(f"verdict must be one of {', '.join(map(repr, VERDICTS))}, "
                            f"not {verdict!r}")
    if not isinstance(quote, str | None):
        raise ApiInputError(f"quote must be a string, not {_kind(quote)}")
    if verdict == "none":
        if source not in (None, "") or paragraph not in (None, 0):
            raise ApiInputError('verdict "none" judges the question: give no source or paragraph')
        source, paragraph = "", 0
    else:
        for name, given in (("source", source), ("paragraph", paragraph)):
            if given is None:
                raise ApiInputError(f"{name} is required (with verdict {verdict!r})")
        if not isinstance(source, str) or not source:
            raise ApiInputError(f"source must be a file name, not {_kind(source)}")
        if isinstance(paragraph, bool) or not isinstance(paragraph, int) or paragraph < 1:
            raise ApiInputError(f"paragraph must be a whole number from 1, not {paragraph!r}")
    try:
        judged = qa.judge(question, source, paragraph, verdict, access, quote or "")
    except QuestionRefused as error:
        raise ApiInputError(str(error)) from error
    if judged is None:
        raise PassageNotFound(f"no passage {paragraph} of {source[:_SHOWN_NAME_CHARS]!r} is "
                              "indexed that you may read")
    return {"judged": asdict(judged)}


def status_json(qa: QA, access: Access = EVERYONE, watching: str = "", notice: str = ""
                ) -> dict[str, Any]:
    """What `GET /api/health` and the status tool (JSON API, MCP) say of the index: how many
    documents and passages `access` may read, the model and dense index the build used, its
    age; `watching`, what the folder watcher is doing, and `notice`, what the check of the
    start-up build found ("" for nothing)."""
    told = {"watching": watching, "notice": notice}
    try:
        status = qa.status(access)
    except IndexUnusableError as error:
        return {"status": "unavailable", "error": str(error), "documents": 0, "passages": 0,
                "index_age_s": 0.0, **told}
    return {"status": "ok", "documents": status.documents, "passages": status.passages,
            "model": status.model, "dense_index": status.dense_index,
            "index_age_s": round(time.time() - status.built, 1), **told}


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _top_k(k: Any) -> int | None:
    if k is None:
        return None
    if isinstance(k, bool) or not isinstance(k, int | float) or not math.isfinite(k) \
            or k != int(k):
        raise ApiInputError(f"k must be a whole number from 1 to {MAX_K}, not {k!r}")
    if not 1 <= k <= MAX_K:
        raise ApiInputError(f"k must be from 1 to {MAX_K}, not {int(k)}")
    return int(k)


def _switch(name: str, value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ApiInputError(f"{name} must be true or false, not {value!r}")


def _group(group: Any) -> bool:
    if group is None or group in GROUPINGS:
        return group == "document"
    raise ApiInputError(f"group must be one of {', '.join(GROUPINGS)}, not {group!r}")


def _mode(mode: Any) -> SearchMode | None:
    if mode is None or mode == "":
        return None
    if mode not in SEARCH_MODES:
        raise ApiInputError(f"mode must be one of {', '.join(SEARCH_MODES)}, not {mode!r}")
    return mode


def _documents(documents: Any, known: Sequence[str]) -> list[str] | None:
    """None or [] for every document; one name or a list of names of indexed documents."""
    if documents is None:
        return None
    # One name given as a plain string is one document, never a list of its characters.
    names = [documents] if isinstance(documents, str) else documents
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ApiInputError(f"documents must be a list of file names, not {_kind(documents)}")
    unknown = sorted(set(names) - set(known))
    if unknown:
        # Only a few names, each cut short: the refusal of a huge filter stays small.
        shown = ", ".join(repr(name[:_SHOWN_NAME_CHARS]) for name in unknown[:_SHOWN_NAMES])
        more = f" and {len(unknown) - _SHOWN_NAMES:,} more" if len(unknown) > _SHOWN_NAMES else ""
        raise ApiInputError(f"documents names files not indexed: {shown}{more}; indexed "
                            f"documents are {', '.join(map(repr, known[:20]))}")
    return names or None
