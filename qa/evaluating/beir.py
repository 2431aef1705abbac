"""Public retrieval collections in BEIR layout: corpus.jsonl, queries.jsonl, qrels/test.tsv."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from qa.chunking.chunk import ChunkedDocument, Passage, normalise_whitespace
from qa.reading.load import Document, SkippedFile, content_hash


class CollectionError(Exception):
    """The folder is not a readable BEIR collection."""


@dataclass(frozen=True)
class Collection:
    name: str
    sources: list[ChunkedDocument]
    skipped: list[SkippedFile]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]  # query id -> document id -> grade (> 0 is relevant)


def _jsonl(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise CollectionError(f"{path} is missing")
    with path.open(encoding="utf-8") as stream:
        return [json.loads(line) for line in stream if line.strip()]


def _record_source(record: dict[str, str]) -> ChunkedDocument | SkippedFile:
    # Title and text together, as the BEIR paper indexes them; one record is one passage.
    doc_id = str(record["_id"])
    raw = f"{record.get('title') or ''} {record.get('text') or ''}".strip()
    if not raw:
        return SkippedFile(doc_id, "no title and no text")
    document = Document(doc_id, raw, content_hash(raw.encode("utf-8")))
    title = normalise_whitespace(record.get("title") or "") or doc_id
    return ChunkedDocument(document, [Passage(doc_id, title, 1, 0, len(raw), normalise_whitespace(raw))])


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    if not path.is_file():
        raise CollectionError(f"{path} is missing")
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as stream:
        rows = csv.reader(stream, delimiter="\t")
        next(rows, None)  # header
        for row in rows:
            if len(row) >= 3 and int(row[2]) > 0:
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return qrels


def load_collection(folder: Path, limit_queries: int | None = None) -> Collection:
    """Read a collection; with `limit_queries`, keep the first queries that have judgements and
    only the documents those judge plus an equal number of others (a small, honest slice)."""
    try:
        records = _jsonl(folder / "corpus.jsonl")
        queries = {str(q["_id"]): str(q["text"]) for q in _jsonl(folder / "queries.jsonl")}
        qrels = read_qrels(folder / "qrels" / "test.tsv")
    except (json.JSONDecodeError, KeyError, ValueError) as error:
        raise CollectionError(f"{folder} is not in BEIR layout: {error}") from error
    queries = {qid: text for qid, text in queries.items() if qid in qrels}
    if limit_queries is not None:
        queries = dict(list(queries.items())[:limit_queries])
        qrels = {qid: qrels[qid] for qid in queries}
        judged = {doc for grades in qrels.values() for doc in grades}
        others = [r for r in records if str(r["_id"]) not in judged][: len(judged)]
        records = [r for r in records if str(r["_id"]) in judged] + others
    sources: list[ChunkedDocument] = []
    skipped: list[SkippedFile] = []
    for record in records:
        outcome = _record_source(record)
        (sources if isinstance(outcome, ChunkedDocument) else skipped).append(outcome)  # type: ignore[arg-type]
    return Collection(folder.name, sources, skipped, queries, qrels)
