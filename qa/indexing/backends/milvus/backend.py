"""The Milvus backend: a published index lives on a Milvus server, cluster or Milvus Lite.

Each build is three collections named after the index's alias and the build:
- `<alias>__<build>_passages`: one entity per passage: its number, source, record (the
  IndexedPassage as JSON) and its analysed words, over which the server keeps BM25;
- `<alias>__<build>_rows`: one entity per vector row (windows, then sentences), with its
  passage number, whether it is a window, and the vector; the server searches the windows;
- `<alias>__<build>_terms`: BM25's statistics: each word's document frequency, and one entity
  (the empty word) holding the manifest, the passage count and the mean passage length.

The alias points at the passages collection of the published build. Publishing a new build
writes all three collections first and then moves the alias, one step on the server, so a
search never sees half a build. A reader resolves the alias once, when it opens.

The server proposes candidates (nearest windows; best BM25); qa then scores the candidates
exactly as the local backend does, from what it fetches for them alone: their rows, their words
and their words' document frequencies, handed to qa.indexing.lexical's one BM25 formula. Milvus Lite
computes BM25 statistics over the filtered entities only when a search is filtered, so scores
are never taken from a filtered search.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from qa.core.settings import Settings
from qa.indexing import store
from qa.indexing.backends import BackendUnavailableError, IndexReader
from qa.indexing.build import BuildIdentity, BuildOptions, KnownVectors, same_content
from qa.indexing.lexical import BM25_B, BM25_K1, CollectionStatistics, analyse, candidate_scores

_INSERT_BATCH = 1000
_QUERY_BATCH = 500  # ids per `in [...]` filter
_META = ""  # the terms collection's entity that holds the manifest
_FILE = "file:"  # prefix of the terms collection's entities that list the indexed files
_MAX_TEXT = 65_535  # bytes in a VARCHAR field
_KEPT_RECORDS = 200_000  # passage records a reader keeps (a few hundred MB at most)


class MilvusUnavailableError(BackendUnavailableError):
    """The Milvus server cannot be reached, refuses us, or holds no index under that name."""


def default_collection(docs_dir: Path) -> str:
    """An alias per documents folder, so two folders never overwrite each other's index."""
    resolved = str(docs_dir.resolve())
    stem = re.sub(r"[^A-Za-z0-9_]", "_", Path(resolved).name)[:40]
    return f"qa_{stem}_{hashlib.sha256(resolved.encode()).hexdigest()[:10]}"


def separate_index(settings: Settings, index_dir: Path, folder: Path, suffix: str) -> Settings:
    """A collection's index under its own alias (from its folder), unless one was given."""
    name = settings.option("milvus_collection") or default_collection(folder) \
        + suffix.replace("-", "_")
    return settings.with_overrides(index_dir=index_dir, milvus_collection=name)


class MilvusBackend:
    """Builds published to a Milvus server under an alias; many readers, one `qa index`."""

    readers_build = False
    stages_shards = True

    def __init__(self, settings: Settings) -> None:
        if not settings.option("milvus_uri"):
            raise ValueError("QA_BACKEND=milvus needs QA_MILVUS_URI (a file path or "
                             "http://host:19530)")
        self._settings = settings
        self.alias = settings.option("milvus_collection") or default_collection(settings.docs_dir)
        self._client: Any = None

    @property
    def client(self) -> Any:
        """Connected on first use, so making the backend costs nothing."""
        if self._client is None:
            self._client = connect(self._settings.option("milvus_uri"),
                                   self._settings.option("milvus_token"))
        return self._client

    def open_reader(self) -> IndexReader:
        return MilvusIndex(self.client, self.alias)

    def serves_already(self, identity: BuildIdentity, files: Mapping[str, str]) -> bool:
        served = published_manifest(self.client, self.alias)
        return served is not None and served.files == dict(files) \
            and identity.shares_vectors_with(BuildIdentity.of(served))

    def known_vectors(self, gather_shards: bool) -> KnownVectors | None:
        client, alias = self.client, self.alias
        builds = finished_parts(client, alias) if gather_shards else []
        published = alias_target(client, alias)
        builds += [published] if published else []

        def fetch(identity: BuildIdentity, keys: list[str]
                  ) -> dict[str, tuple[store.IndexedPassage, np.ndarray]]:
            alike = [name for name in builds
                     if (manifest := build_manifest(client, name)) is not None
                     and identity.shares_vectors_with(BuildIdentity.of(manifest))]
            return known_vectors(client, alike, keys)

        return fetch

    def publish(self, index_dir: Path, options: BuildOptions) -> bool:
        """A shard's build is staged, not served; gathering shards drops their parts once
        published. Nothing is copied when the server holds the same content already."""
        manifest = store.read_manifest(index_dir)
        folder = store.build_folder(index_dir, manifest)
        if options.shard is not None:
            stage_part(self.client, self.alias, options.shard.number, options.shard.count,
                       folder, manifest)
            return False
        served = published_manifest(self.client, self.alias)
        changed = options.force or served is None or not same_content(served, manifest)
        if changed:
            publish(self.client, self.alias, folder, manifest)
        if options.gather_shards:
            drop_parts(self.client, self.alias)
        return changed


def connect(uri: str, token: str = "", timeout: float = 10.0) -> Any:
    """A client for `uri` (a file path: Milvus Lite embedded; http://host:19530: a server)."""
    from pymilvus import MilvusClient

    # pymilvus logs every failed call at ERROR with a traceback, also those qa expects and
    # handles (an alias not there yet); qa reports what matters itself.
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
    # Milvus Lite's embedded server lacks AllocTimestamp; pymilvus falls back, but the gRPC
    # server logs each refusal with a traceback first.
    logging.getLogger("grpc").setLevel(logging.CRITICAL)
    for attempt in (1, 2):
        try:
            client = MilvusClient(uri=uri, token=token, timeout=timeout)
            client.list_collections()
            return client
        except Exception as error:  # pymilvus raises many kinds; the user needs one line
            reason = _reason(error)
            # A server may drop a connection pymilvus keeps between clients (Milvus Lite's
            # sends GOAWAY "too_many_pings" to idle ones) just as it is reused: try once more.
            if attempt == 2 or "refused the credentials" in reason:
                raise MilvusUnavailableError(f"cannot use Milvus at {uri}: {reason}") from error
            time.sleep(1.0)
    raise AssertionError("unreachable")


def _reason(error: BaseException) -> str:
    """One line on why a connection failed. pymilvus reports a refused token as "illegal
    connection params or server unavailable"; the gRPC status underneath says what it was."""
    cause: BaseException | None = error
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen:  # pymilvus raises `e from e`
        seen.add(id(cause))
        code = getattr(cause, "code", None)
        status = code() if callable(code) else None
        if getattr(status, "name", "") in ("UNAUTHENTICATED", "PERMISSION_DENIED"):
            details = getattr(cause, "details", lambda: "")() or "refused"
            return f"the server refused the credentials (QA_MILVUS_TOKEN): {details}"
        cause = cause.__cause__ or cause.__context__
    text = str(error)
    return text.splitlines()[0] if text else type(error).__name__


def _names(alias: str, build: str) -> dict[str, str]:
    base = f"{alias}__{re.sub(r'[^A-Za-z0-9_]', '_', build)}"
    return {kind: f"{base}_{kind}" for kind in ("passages", "rows", "terms")}


def _among(field: str, values: Sequence[Any]) -> dict[str, Any]:
    """A filter `field in [values]`. Strings are written as JSON without ASCII escapes: Milvus
    Lite accepts \\", \\\\, \\t and \\n but not \\u, and has no filter templates."""
    return {"filter": f"{field} in {json.dumps(list(values), ensure_ascii=False)}"}


# ---- publishing ------------------------------------------------------------------------------

def publish(client: Any, alias: str, build_folder: Path, manifest: store.Manifest) -> None:
    """Copy a finished local build to the server and make it the one searches see."""
    names = _names(alias, manifest.build)
    for name in names.values():
        if client.has_collection(name):
            client.drop_collection(name)  # left by a publish that was killed
    passages = store.read_passages(build_folder)
    vectors = store.read_vectors(build_folder)
    words = analyse([item.passage.text for item in passages])
    _create_passages(client, names["passages"], passages, words)
    _create_rows(client, names["rows"], passages, vectors)
    _create_terms(client, names["terms"], manifest, words)
    for name in names.values():
        # Sealed segments get their indexes; searches of unflushed (growing) ones scan every
        # row: 1.8 s against 0.09 s at 20,000 rows on Milvus Lite.
        client.flush(name)
        client.load_collection(name)
    previous = alias_target(client, alias)
    if previous is None:
        client.create_alias(names["passages"], alias)
    else:
        client.alter_alias(names["passages"], alias)
    keep = set(names.values())
    if previous:  # readers that opened it moments ago may still be answering from it
        keep |= set(_names_of(previous).values())
    _drop_old_builds(client, alias, keep)


def _names_of(passages: str) -> dict[str, str]:
    base = passages.removesuffix("_passages")
    return {"passages": passages, "rows": f"{base}_rows", "terms": f"{base}_terms"}


def _drop_old_builds(client: Any, alias: str, keep: set[str]) -> None:
    """Builds other than the live one and the one before it go (and any a killed publish left);
    a reader still on a dropped build reopens the live one (see MilvusIndex)."""
    for name in client.list_collections():
        if name.startswith(f"{alias}__") and not name.startswith(_part_prefix(alias)) \
                and name not in keep:
            client.drop_collection(name)


# ---- shards ----------------------------------------------------------------------------------
# `qa index --shard I/N` stages its share as a build of its own behind the alias
# `<alias>__part<I>of<N>`, moved only once the share is complete; `qa index --publish` then
# builds the whole folder, taking every staged vector, publishes it and drops the parts.

def _part_prefix(alias: str) -> str:
    return f"{alias}__part"


def stage_part(client: Any, alias: str, number: int, count: int, build_folder: Path,
               manifest: store.Manifest) -> None:
    publish(client, f"{_part_prefix(alias)}{number}of{count}", build_folder, manifest)


def finished_parts(client: Any, alias: str) -> list[str]:
    """The passages collections of every part of a sharded build, once all of its shards have
    finished; otherwise MilvusUnavailableError naming the shards still missing."""
    pattern = re.compile(re.escape(_part_prefix(alias)) + r"(\d+)of(\d+)__")
    counts = {int(m.group(2)) for name in client.list_collections()
              if (m := pattern.match(name))}
    if not counts:
        raise MilvusUnavailableError(f"no shard of {alias!r} has been staged; run "
                                     "`qa index --shard I/N` first")
    if len(counts) > 1:
        raise MilvusUnavailableError(f"parts of {alias!r} from {sorted(counts)} shards are "
                                     "staged; run every shard of one count again")
    count = counts.pop()
    targets = {number: alias_target(client, f"{_part_prefix(alias)}{number}of{count}")
               for number in range(1, count + 1)}
    missing = [f"{number}/{count}" for number, target in targets.items() if target is None]
    if missing:
        raise MilvusUnavailableError(f"shard {', '.join(missing)} of {alias!r} has not "
                                     "finished; publish once every shard has")
    return [target for target in targets.values() if target is not None]


def drop_parts(client: Any, alias: str) -> None:
    prefix = _part_prefix(alias)
    for name in client.list_collections():
        if name.startswith(prefix):
            for part_alias in client.list_aliases(name).get("aliases", []):
                client.drop_alias(part_alias)
            client.drop_collection(name)


def known_vectors(client: Any, passage_collections: Sequence[str], keys: Sequence[str]
                  ) -> dict[str, tuple[store.IndexedPassage, np.ndarray]]:
    """The passage records and rows that these builds hold for any of the text keys: fetched
    for those keys alone, so a refresh on a machine without the local build, or the build that
    gathers shards' parts, re-embeds nothing the server has."""
    found: dict[str, tuple[store.IndexedPassage, np.ndarray]] = {}
    for passages in passage_collections:
        rows_name = _names_of(passages)["rows"]
        client.load_collection(passages)
        client.load_collection(rows_name)
        wanted = [key for key in keys if key not in found]
        for begin in range(0, len(wanted), _QUERY_BATCH):
            records = {int(e["number"]): (e["key"], store.passage_from_record(e["record"]))
                       for e in client.query(passages, **_among("key", wanted[begin:begin + _QUERY_BATCH]),
                                             output_fields=["number", "key", "record"])}
            items = [item for _, item in records.values()]
            vectors = _rows_of(client, rows_name, items)
            ends = np.cumsum([item.row_count for item in items])
            for (key, item), end in zip(records.values(), ends, strict=True):
                found[key] = (item, vectors[end - item.row_count : end])
    return found


def _rows_of(client: Any, rows_name: str, items: Sequence[store.IndexedPassage]
             ) -> np.ndarray:
    """Every vector row of these passages, passage after passage (looked up by primary key,
    which Milvus finds without scanning, unlike a filter on the passage number)."""
    wanted = store.row_ranges(np.array([item.first_row for item in items], dtype=np.int64),
                              np.array([item.row_count for item in items], dtype=np.int64))
    by_row: dict[int, list[float]] = {}
    for begin in range(0, len(wanted), _QUERY_BATCH):
        batch = wanted[begin:begin + _QUERY_BATCH].tolist()
        for entity in client.query(rows_name, **_among("row", batch),
                                   output_fields=["row", "vector"]):
            by_row[int(entity["row"])] = entity["vector"]
    vectors = [by_row[int(row)] for row in wanted]
    return np.array(vectors, dtype=np.float32) if vectors else np.zeros((0, 0), np.float32)


def _create_passages(client: Any, name: str, passages: list[store.IndexedPassage],
                     words: list[list[str]]) -> None:
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("number", DataType.INT64, is_primary=True)
    schema.add_field("source", DataType.VARCHAR, max_length=4096)
    schema.add_field("key", DataType.VARCHAR, max_length=64)  # store.text_key of the text
    schema.add_field("record", DataType.VARCHAR, max_length=_MAX_TEXT)
    # The words are qa's own analysis (stopwords out, stemmed), joined by spaces: the server's
    # standard tokenizer splits them back unchanged, so its BM25 sees what the local one sees.
    schema.add_field("words", DataType.VARCHAR, max_length=_MAX_TEXT, enable_analyzer=True,
                     analyzer_params={"tokenizer": "standard", "filter": ["lowercase"]})
    schema.add_field("bm25", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                 input_field_names=["words"], output_field_names=["bm25"]))
    indexes = client.prepare_index_params()
    indexes.add_index(field_name="bm25", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                      params={"bm25_k1": BM25_K1, "bm25_b": BM25_B})
    client.create_collection(name, schema=schema, index_params=indexes)
    entities = ({"number": number, "source": item.passage.source,
                 "key": store.text_key(item.passage.text),
                 "record": _fits(store.passage_record(item), item),
                 "words": _fits(" ".join(words[number]), item)}
                for number, item in enumerate(passages))
    _insert(client, name, entities)


def _fits(text: str, item: store.IndexedPassage) -> str:
    if len(text.encode("utf-8")) > _MAX_TEXT:
        raise ValueError(f"{item.passage.source}, paragraph {item.passage.paragraph}, is longer "
                         f"than Milvus stores in one field ({_MAX_TEXT} bytes)")
    return text


def _create_rows(client: Any, name: str, passages: list[store.IndexedPassage],
                 vectors: np.ndarray) -> None:
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("passage", DataType.INT64)
    schema.add_field("source", DataType.VARCHAR, max_length=4096)
    schema.add_field("window", DataType.BOOL)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=int(vectors.shape[1]))
    indexes = client.prepare_index_params()
    # FLAT: exact inner products, the answers of the local backend's exact search.
    indexes.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
    client.create_collection(name, schema=schema, index_params=indexes)

    def entities() -> Iterator[dict[str, Any]]:
        for number, item in enumerate(passages):
            block = np.asarray(vectors[item.first_row : item.first_row + item.row_count],
                               dtype=np.float32)
            for offset, vector in enumerate(block):
                yield {"row": item.first_row + offset, "passage": number,
                       "source": item.passage.source, "window": offset < item.window_count,
                       "vector": vector.tolist()}

    _insert(client, name, entities())


def _create_terms(client: Any, name: str, manifest: store.Manifest,
                  words: list[list[str]]) -> None:
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("term", DataType.VARCHAR, is_primary=True, max_length=1024)
    schema.add_field("df", DataType.INT64)
    schema.add_field("data", DataType.JSON)
    schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants one vector field
    indexes = client.prepare_index_params()
    indexes.add_index(field_name="unused", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=indexes)
    frequencies = Counter(word for passage_words in words for word in set(passage_words))
    mean_length = CollectionStatistics.of(words).mean_length
    # The manifest's file list can be long; each file is an entity of its own ("file:" + name;
    # no analysed word contains a colon).
    meta = {"term": _META, "df": len(words), "unused": [0.0, 0.0],
            "data": {"manifest": {**asdict(manifest), "files": {}}, "mean_length": mean_length}}
    files = ({"term": _FILE + source, "df": 0, "data": {"hash": digest}, "unused": [0.0, 0.0]}
             for source, digest in manifest.files.items())
    terms = ({"term": term, "df": count, "data": {}, "unused": [0.0, 0.0]}
             for term, count in frequencies.items() if len(term.encode()) < 1024)
    _insert(client, name, itertools.chain([meta], files, terms))


def _insert(client: Any, name: str, entities: Iterator[dict[str, Any]]) -> None:
    batch: list[dict[str, Any]] = []
    for entity in entities:
        batch.append(entity)
        if len(batch) == _INSERT_BATCH:
            client.insert(name, batch)
            batch = []
    if batch:
        client.insert(name, batch)


def alias_target(client: Any, alias: str) -> str | None:
    """The collection an alias points at; None when there is no such alias."""
    from pymilvus import MilvusException

    try:
        return str(client.describe_alias(alias)["collection_name"])
    except MilvusException as error:
        if "not exist" in str(error) or "not found" in str(error):
            return None
        raise


def published_manifest(client: Any, alias: str) -> store.Manifest | None:
    """The manifest of the build the alias points at; None when nothing is published."""
    passages = alias_target(client, alias)
    return None if passages is None else build_manifest(client, passages)


def build_manifest(client: Any, passages: str) -> store.Manifest | None:
    """The manifest of the build whose passages collection this is."""
    terms = _names_of(passages)["terms"]
    client.load_collection(terms)
    return _read_manifest(client, terms)


def _read_manifest(client: Any, terms: str) -> store.Manifest | None:
    found = client.query(terms, filter=f'term == "{_META}"', output_fields=["data"])
    if not found:
        return None
    files = {entity["term"].removeprefix(_FILE): entity["data"]["hash"] for entity in
             client.query(terms, filter=f'term like "{_FILE}%"', output_fields=["term", "data"])}
    return store.Manifest(**{**found[0]["data"]["manifest"], "files": files})


# ---- searching -------------------------------------------------------------------------------

class MilvusIndex:
    """The build an alias points at, opened for searching; every answer comes from the server.
    Passage records fetched once are kept (they never change within a build)."""

    def __init__(self, client: Any, alias: str) -> None:
        self._client = client
        self._alias = alias
        passages = alias_target(client, alias)
        if passages is None:
            raise store.IndexUnusableError(
                f"no index named {alias!r} on the Milvus server; run `qa index` first")
        self._names = _names_of(passages)
        for name in self._names.values():
            client.load_collection(name)  # a no-op when loaded; Milvus Lite files start released
        manifest = _read_manifest(client, self._names["terms"])
        found = client.query(self._names["terms"], filter=f'term == "{_META}"',
                             output_fields=["df", "data"])
        if manifest is None or not found:
            raise store.IndexUnusableError(f"the Milvus index {alias!r} has no manifest")
        self.manifest = manifest
        self._count = int(found[0]["df"])
        self._mean_length = float(found[0]["data"]["mean_length"])
        self._records: dict[int, store.IndexedPassage] = {}
        self._words: dict[int, list[str]] = {}
        self._df: dict[str, int] = {}

    @property
    def passage_count(self) -> int:
        return self._count

    @property
    def sources(self) -> list[str]:
        return sorted(self.manifest.files)

    def is_current(self) -> bool:
        """One round trip: is the alias still on the build this reader opened?"""
        return alias_target(self._client, self._alias) == self._names["passages"]

    def _fetch(self, numbers: Sequence[int]) -> None:
        missing = [n for n in dict.fromkeys(int(n) for n in numbers) if n not in self._records]
        if len(self._records) + len(missing) > _KEPT_RECORDS:  # a replica runs for weeks
            self._records.clear()
            self._words.clear()
            missing = list(dict.fromkeys(int(n) for n in numbers))
        for begin in range(0, len(missing), _QUERY_BATCH):
            chunk = missing[begin : begin + _QUERY_BATCH]
            for entity in self._client.query(self._names["passages"],
                                             **_among("number", chunk),
                                             output_fields=["number", "record", "words"]):
                number = int(entity["number"])
                self._records[number] = store.passage_from_record(entity["record"])
                self._words[number] = entity["words"].split()

    def passages(self, numbers: Sequence[int]) -> list[store.IndexedPassage]:
        self._fetch(numbers)
        return [self._records[int(n)] for n in numbers]

    def passages_in(self, source: str) -> list[store.IndexedPassage]:
        return self.passages(self.numbers_in(source).tolist())

    def numbers_in(self, source: str) -> np.ndarray:
        found = self._client.query(self._names["passages"], **_among("source", [source]),
                                   output_fields=["number"])
        return np.array(sorted(int(e["number"]) for e in found), dtype=np.int64)

    def all_passages(self) -> list[store.IndexedPassage]:
        numbers = list(range(self._count))
        return self.passages(numbers)

    def dense_candidates(self, query: np.ndarray, depth: int, sources: Collection[str] | None,
                         numbers: np.ndarray | None = None) -> np.ndarray:
        if numbers is not None:
            return self._permitted(sources, numbers)  # scored exactly, as below
        if sources:
            # As the local backend: a filtered search scores every chosen passage exactly.
            found = self._client.query(self._names["passages"], **_among("source", sorted(sources)),
                                       output_fields=["number"])
            return np.array(sorted(int(e["number"]) for e in found), dtype=np.int64)
        # Like the local index: windows only where the local build would use an approximate
        # index over windows, every row (windows and sentences) where it searches exactly.
        windows_only = self.manifest.dense_index.get("vectors", "all") == "windows"
        hits = self._client.search(self._names["rows"], data=[query.astype(np.float32).tolist()],
                                   anns_field="vector",
                                   filter="window == true" if windows_only else "",
                                   limit=min(depth * 4, 16_384), output_fields=["passage"],
                                   search_params={"metric_type": "IP"})[0]
        owners = list(dict.fromkeys(int(hit["entity"]["passage"]) for hit in hits))
        return np.array(owners[:depth], dtype=np.int64)

    def _permitted(self, sources: Collection[str] | None, numbers: np.ndarray) -> np.ndarray:
        """The passages of `numbers` that are of `sources` (all: None)."""
        chosen = np.asarray(numbers, dtype=np.int64)
        if not sources:
            return chosen
        items = self.passages(chosen.tolist())
        return chosen[np.array([item.passage.source in sources for item in items], dtype=bool)]

    def candidate_vectors(self, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        items = self.passages(numbers.tolist())
        return (_rows_of(self._client, self._names["rows"], items),
                np.array([i.row_count for i in items], dtype=np.int64),
                np.array([i.window_count for i in items], dtype=np.int64))

    def lexical_top(self, words: Sequence[str], depth: int, sources: Collection[str] | None,
                    numbers: np.ndarray | None = None) -> np.ndarray:
        if not words:
            return np.zeros(0, dtype=np.int64)
        if numbers is not None:
            # Scored here from the passages' own words: correct for any number of them, where a
            # filter `number in [...]` would grow without bound.
            chosen = self._permitted(sources, numbers)
            scores = self.lexical_scores(Counter(words), chosen)
            order = np.argsort(-scores, kind="stable")[:depth]
            return chosen[order[scores[order] > 0]]
        hits = self._client.search(self._names["passages"], data=[" ".join(words)],
                                   anns_field="bm25", limit=depth, output_fields=["number"],
                                   **(_among("source", sorted(sources)) if sources else {}),
                                   search_params={"metric_type": "BM25"})[0]
        return np.array([int(hit["entity"]["number"]) for hit in hits], dtype=np.int64)

    def lexical_scores(self, weights: Mapping[str, float], numbers: np.ndarray) -> np.ndarray:
        """From the candidates' own words and the collection's document frequencies."""
        self._fetch(numbers.tolist())
        return candidate_scores(weights, [self._words[n] for n in numbers.tolist()],
                                self._frequencies(list(weights)),
                                CollectionStatistics(self._count, self._mean_length))

    def _frequencies(self, words: list[str]) -> dict[str, int]:
        """Each word's document frequency. Those fetched once are kept (a build never
        changes), so feedback words and repeated questions cost nothing."""
        wanted = [w for w in dict.fromkeys(words) if w and w not in self._df]
        if wanted:
            found = {e["term"]: int(e["df"]) for e in self._client.query(
                self._names["terms"], **_among("term", wanted), output_fields=["term", "df"])}
            self._df.update({word: found.get(word, 0) for word in wanted})
        return {w: self._df[w] for w in dict.fromkeys(words) if w and self._df.get(w)}
