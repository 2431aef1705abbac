"""The Milvus backend against Milvus Lite: a gRPC server started here on 127.0.0.1 (the protocol
of a real server) and the embedded file mode. The answers must be the local backend's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, SEEDS, free_port

from qa.core.settings import Settings
from qa.library import QA

pytest.importorskip("pymilvus")

QUESTIONS = ["Who co-organised the 2018 PAROS workshop?",
             "Why is amending the Outer Space Treaty not a workable solution?",
             "debris mitigation guidelines",
             "When did the third ARF workshop on space security open?"]


@pytest.fixture(scope="module")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`milvus-lite server` on a free loopback port; `timeout` stops it even if pytest dies."""
    port = free_port()
    data = tmp_path_factory.mktemp("milvus-data")
    server = subprocess.Popen(
        ["timeout", "1800", str(Path(sys.executable).parent / "milvus-lite"), "server",
         "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                from qa.indexing.backends.milvus.backend import connect

                connect(uri, timeout=2).close()
                break
            except Exception:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.5)
        yield uri
    finally:
        server.terminate()
        server.wait(timeout=30)


def answers(qa: QA, **options: object) -> list[list[tuple[str, int, float, tuple[int, int]]]]:
    return [[(h.passage.source, h.passage.paragraph, round(h.score, 4), h.answer)
             for h in qa.search(question, k=5, **options).hits]  # type: ignore[arg-type]
            for question in QUESTIONS]


def seeds_copy(tmp_path: Path, uri: str, collection: str, index: str = "index") -> Settings:
    """Settings for a copy of the seeds (which a test may change) published as `collection`."""
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    return Settings(docs_dir=docs, index_dir=tmp_path / index, backend="milvus").with_overrides(
        milvus_uri=uri, milvus_collection=collection)


@pytest.mark.parametrize("where", ["server", "file"])
def test_milvus_gives_the_local_answers(seeds_qa: QA, milvus_server: str, tmp_path: Path,
                                        where: str) -> None:
    uri = milvus_server if where == "server" else str(tmp_path / "lite.db")
    settings = seeds_qa.settings.with_overrides(backend="milvus", milvus_uri=uri,
                                                milvus_collection=f"seeds_{where}")
    QA(settings, embedder=seeds_qa.embedder).index()  # publishes the local build
    remote = QA.open(settings, embedder=seeds_qa.embedder)
    assert remote.searcher.index.__class__.__name__ == "MilvusIndex"
    for mode in ("hybrid", "dense", "lexical"):
        assert answers(remote, mode=mode) == answers(seeds_qa, mode=mode)
    source = seeds_qa.searcher.sources[1]
    assert answers(remote, sources=[source]) == answers(seeds_qa, sources=[source])
    assert remote.searcher.sources == seeds_qa.searcher.sources
    assert [p.passage for p in remote.searcher.index.passages_in(source)] == \
        [p.passage for p in seeds_qa.searcher.index.passages_in(source)]


@pytest.mark.slow  # takes long (a Milvus Lite server)
def test_unchanged_folder_publishes_nothing_and_a_change_publishes_once(
        tiny_encoder: Any, milvus_server: str, tmp_path: Path) -> None:
    from qa.indexing.backends.milvus.backend import connect

    settings = seeds_copy(tmp_path, milvus_server, "refresh")
    docs = settings.docs_dir
    qa = QA(settings, embedder=tiny_encoder)
    assert qa.index().rebuilt_because
    client = connect(milvus_server)
    built = sorted(n for n in client.list_collections() if n.startswith("refresh__"))
    assert len(built) == 3
    again = qa.index()
    assert not again.rebuilt_because and again.embedded_passages == 0
    assert sorted(n for n in client.list_collections() if n.startswith("refresh__")) == built
    first = sorted(docs.iterdir())[0]
    first.write_text(first.read_text(encoding="utf-8") + "\n\nThe lighthouse keeper logged a "
                     "green comet over the bay.\n", encoding="utf-8")
    changed = qa.index()
    assert changed.embedded_passages == 1
    after = sorted(n for n in client.list_collections() if n.startswith("refresh__"))
    assert len(after) == 6 and set(built) < set(after)  # the build before is kept for readers
    assert qa.search("Who logged a green comet?").hits[0].passage.source == first.name
    first.write_text(first.read_text(encoding="utf-8") + "\n\nA second note.\n", encoding="utf-8")
    qa.index()
    latest = sorted(n for n in client.list_collections() if n.startswith("refresh__"))
    assert len(latest) == 6 and set(latest).isdisjoint(built)  # two builds back: dropped


@pytest.mark.slow  # a `qa` process loads the real model
def test_a_server_that_is_down_is_one_line(tmp_path: Path) -> None:
    environment = {**os.environ, "QA_BACKEND": "milvus",
                   "QA_MILVUS_URI": f"http://127.0.0.1:{free_port()}"}
    started = time.monotonic()
    done = subprocess.run([str(Path(sys.executable).parent / "qa"), "ask", "anything",
                           "--index", str(tmp_path / "index")], cwd=REPO, env=environment,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.startswith("qa: error: cannot use Milvus at http://127.0.0.1:")
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert time.monotonic() - started < 60


def test_milvus_settings_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    from qa.core.settings import settings_from_env

    monkeypatch.setenv("QA_BACKEND", "milvus")
    with pytest.raises(ValueError, match="QA_MILVUS_URI"):
        QA(settings_from_env())


@pytest.mark.slow  # `qa` processes with the real model
def test_cli_flags_choose_the_backend_and_override_the_environment(tmp_path: Path) -> None:
    import json

    qa_bin = str(Path(sys.executable).parent / "qa")
    environment = {**os.environ, "QA_BACKEND": "local", "QA_MILVUS_URI": "http://127.0.0.1:1"}
    flags = ["--docs", str(SEEDS), "--index", str(tmp_path / "index"), "--backend", "milvus",
             "--milvus-uri", str(tmp_path / "cli.db")]
    built = subprocess.run([qa_bin, "index", *flags], env=environment, capture_output=True,
                           text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    asked = subprocess.run([qa_bin, "ask", QUESTIONS[0], "--json", *flags], env=environment,
                           capture_output=True, text=True, timeout=600)
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["hits"][0]["source"] == "001_3bdd3841a68f260c.txt"
    assert (tmp_path / "cli.db").exists()


def test_replicas_answer_alike_through_a_rebuild_and_a_killed_publish_changes_nothing(
        seeds_qa: QA, milvus_server: str, tmp_path: Path) -> None:
    """Two reader processes' worth of QA objects keep answering, identically, while another
    process rebuilds and republishes; `qa index` killed (SIGKILL) at random moments of a
    rebuild leaves the published build answering as before."""
    import random
    import signal
    import threading

    settings = seeds_qa.settings.with_overrides(backend="milvus", milvus_uri=milvus_server,
                                                milvus_collection="replicas")
    QA(settings, embedder=seeds_qa.embedder).index()
    readers = [QA.open(settings, embedder=seeds_qa.embedder) for _ in range(2)]
    expected = answers(seeds_qa)
    seen: list[object] = []
    stop = threading.Event()

    def read(reader: QA) -> None:
        while not stop.is_set():
            seen.append(answers(reader))

    threads = [threading.Thread(target=read, args=(reader,)) for reader in readers]
    for thread in threads:
        thread.start()
    environment = {**os.environ, "QA_BACKEND": "milvus", "QA_MILVUS_URI": milvus_server,
                   "QA_MILVUS_COLLECTION": "replicas"}
    command = [str(Path(sys.executable).parent / "qa"), "index", "--force", "--docs",
               str(settings.docs_dir), "--index", str(settings.index_dir)]
    try:
        rebuilt = subprocess.run(command, env=environment, capture_output=True, text=True,
                                 timeout=600)
        assert rebuilt.returncode == 0, rebuilt.stderr
        for delay in random.Random(11).sample([x / 2 for x in range(2, 24)], 4):
            killed = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
            time.sleep(delay)
            killed.send_signal(signal.SIGKILL)
            killed.wait()
            fresh = QA(settings, embedder=seeds_qa.embedder)
            assert answers(fresh) == expected, f"after a kill at {delay} s"
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert len(seen) >= 4 and all(result == expected for result in seen)


def _collections(uri: str, prefix: str) -> list[str]:
    from qa.indexing.backends.milvus.backend import connect

    return sorted(n for n in connect(uri).list_collections() if n.startswith(prefix))


def _append(path: Path, paragraph: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\n\n{paragraph}\n", encoding="utf-8")


def test_readers_answer_from_the_published_build_and_never_publish(
        seeds_qa: QA, milvus_server: str, tmp_path: Path) -> None:
    """A reader whose own copy of the folder differs (or is stale) still answers from what
    `qa index` published, and publishes nothing itself."""
    settings = seeds_copy(tmp_path, milvus_server, "readonly", index="writer")
    docs = settings.docs_dir
    reader_settings = settings.with_overrides(index_dir=tmp_path / "reader")
    with pytest.raises(Exception, match=r"no index named 'readonly'.*qa index"):
        QA.open(reader_settings, embedder=seeds_qa.embedder)
    QA(settings, embedder=seeds_qa.embedder).index()
    published = _collections(milvus_server, "readonly__")
    _append(sorted(docs.iterdir())[0], "The lighthouse keeper logged a green comet.")
    reader = QA.open(reader_settings, embedder=seeds_qa.embedder)
    assert answers(reader) == answers(seeds_qa)
    assert _collections(milvus_server, "readonly__") == published
    assert not (tmp_path / "reader").exists()  # nothing built either


@pytest.mark.slow  # takes long (a Milvus Lite server)
def test_a_machine_without_the_local_build_embeds_only_what_changed(
        tiny_encoder: Any, milvus_server: str, tmp_path: Path) -> None:
    first = seeds_copy(tmp_path, milvus_server, "nocache", index="first-machine")
    docs = first.docs_dir
    built = QA(first, embedder=tiny_encoder).index()
    assert built.embedded_passages == built.passages > 0
    second = first.with_overrides(index_dir=tmp_path / "second-machine")
    unchanged = QA(second, embedder=tiny_encoder).index()
    assert not unchanged.rebuilt_because and unchanged.embedded_passages == 0
    # Nothing fetched, nothing built: only the catalogue of the files it read is written.
    assert [p.name for p in second.index_dir.iterdir()] == ["catalog"]
    changed_file = sorted(docs.iterdir())[1]
    _append(changed_file, "The lighthouse keeper logged a green comet over the bay.")
    refreshed = QA(second, embedder=tiny_encoder)
    report = refreshed.index()
    assert report.embedded_passages == 1 and report.reused_passages == built.passages
    hit = refreshed.search("Who logged a green comet?").hits[0]
    assert hit.passage.source == changed_file.name
    from_scratch = QA.open(Settings(docs_dir=docs, index_dir=tmp_path / "scratch"),
                           embedder=tiny_encoder)
    for mode in ("hybrid", "dense", "lexical"):
        assert answers(refreshed, mode=mode) == answers(from_scratch, mode=mode)


def _run_qa(*arguments: str, environment: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([str(Path(sys.executable).parent / "qa"), *arguments],
                            env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=600)
    return process.returncode, out, err


def test_two_shards_in_parallel_give_the_index_of_one_process(
        seeds_qa: QA, milvus_server: str, tmp_path: Path) -> None:
    import numpy as np

    from qa.indexing.backends import backend_for
    from qa.indexing.build import Shard

    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    for number, topic in enumerate(["tides", "glaciers", "comets", "orchards", "bridges"]):
        (docs / f"extra-{number}.md").write_text(
            f"# On {topic}\n\nA short note on {topic}, written for the shard test. It has two "
            f"sentences.\n\nA second paragraph about {topic} and what they teach us.\n",
            encoding="utf-8")
    shares = [[f.name for f in docs.iterdir() if Shard(n, 2).holds(f.name)] for n in (1, 2)]
    assert all(shares) and sorted(shares[0] + shares[1]) == sorted(f.name for f in docs.iterdir())
    one = Settings(docs_dir=docs, index_dir=tmp_path / "one", backend="milvus").with_overrides(
        milvus_uri=milvus_server, milvus_collection="one_process")
    QA(one, embedder=seeds_qa.embedder).index()
    environment = {**os.environ, "QA_BACKEND": "milvus", "QA_MILVUS_URI": milvus_server,
                   "QA_MILVUS_COLLECTION": "sharded"}
    common = ["--docs", str(docs), "--index", str(tmp_path / "sharded")]
    status, _, err = _finish(_run_qa("index", "--shard", "1/2", *common, environment=environment))
    assert status == 0, err
    status, _, err = _finish(_run_qa("index", "--publish", *common, environment=environment))
    assert status == 1 and err.strip() == \
        "qa: error: shard 2/2 of 'sharded' has not finished; publish once every shard has"
    shards = [_run_qa("index", "--shard", f"{n}/2", *common, environment=environment)
              for n in (1, 2)]
    for shard in shards:
        status, out, err = _finish(shard)
        assert status == 0 and out.startswith("shard "), err
    status, _, err = _finish(_run_qa("ask", "tides", *common, environment=environment))
    assert status == 1 and "no index named 'sharded'" in err  # staged, not yet served
    status, out, err = _finish(_run_qa("index", "--publish", *common, environment=environment))
    assert status == 0 and "(0 embedded," in out, out + err
    assert not _collections(milvus_server, "sharded__part")

    sharded_qa = QA.open(one.with_overrides(milvus_collection="sharded"),
                         embedder=seeds_qa.embedder)
    one_qa = QA.open(one, embedder=seeds_qa.embedder)
    sharded, single = backend_for(sharded_qa.settings).open_reader(), backend_for(one).open_reader()
    assert sharded.manifest.files == single.manifest.files
    assert sharded.all_passages() == single.all_passages()
    every = np.arange(single.passage_count)
    for mine, theirs in zip(sharded.candidate_vectors(every), single.candidate_vectors(every),
                            strict=True):
        np.testing.assert_allclose(mine, theirs, atol=2e-3)  # batches differ: float noise only
    assert answers(sharded_qa) == answers(one_qa)
    assert answers(sharded_qa, mode="lexical") == answers(one_qa, mode="lexical")


@pytest.mark.slow  # a `qa` process loads the real model
def test_a_server_that_refuses_the_token_is_one_line(tmp_path: Path) -> None:
    """Milvus Lite checks no token, so a stand-in gRPC server refuses every call the way a
    Milvus server with authorization on does (status UNAUTHENTICATED)."""
    from concurrent import futures

    import grpc

    class Refuse(grpc.GenericRpcHandler):
        def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
            def refuse(request: bytes, context: grpc.ServicerContext) -> bytes:
                context.abort(grpc.StatusCode.UNAUTHENTICATED,
                              "auth check failure, please check username and password are "
                              "correct")
                raise AssertionError("abort returns no answer")

            return grpc.unary_unary_rpc_method_handler(refuse)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((Refuse(),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        environment = {**os.environ, "QA_BACKEND": "milvus",
                       "QA_MILVUS_URI": f"http://127.0.0.1:{port}",
                       "QA_MILVUS_TOKEN": "root:wrong"}
        status, _, err = _finish(_run_qa("ask", "anything", "--index", str(tmp_path / "index"),
                                         environment=environment))
    finally:
        server.stop(grace=None)
    assert status == 1
    assert err.strip() == (f"qa: error: cannot use Milvus at http://127.0.0.1:{port}: the server "
                           "refused the credentials (QA_MILVUS_TOKEN): auth check failure, "
                           "please check username and password are correct")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
