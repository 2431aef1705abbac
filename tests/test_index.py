"""The persisted index: manifest, staleness, reuse of embeddings, atomic writes, corruption."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from qa.chunking.chunk import MAX_PASSAGE_CHARS
from qa.core.files import atomic_write_text
from qa.core.settings import Settings
from qa.indexing.backends.local import LocalIndex
from qa.indexing.store import IndexUnusableError, read_manifest
from qa.library import QA


def write_docs(folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "a.txt").write_text("Alpha\n\nThe alpha file talks about rockets and orbits.\n\n"
                                  "A second paragraph about satellites.", encoding="utf-8")
    (folder / "b.md").write_text("Beta\n\nThe beta file is about gardens and tomatoes.",
                                 encoding="utf-8")


@pytest.fixture()
def small(tmp_path: Path, embedder):  # type: ignore[no-untyped-def]
    write_docs(tmp_path / "docs")
    settings = Settings(docs_dir=tmp_path / "docs", index_dir=tmp_path / "index")
    return settings, QA(settings, embedder=embedder)


def test_first_build_then_nothing_changed_embeds_nothing(small) -> None:  # type: ignore[no-untyped-def]
    settings, qa = small
    first = qa.index()
    assert (first.files, first.passages, first.embedded_passages) == (2, 3, 3)
    second = qa.index()
    assert second.rebuilt_because == "" and second.embedded_passages == 0
    manifest = read_manifest(settings.index_dir)
    assert manifest.passage_count == 3 and set(manifest.files) == {"a.txt", "b.md"}
    assert manifest.model["dimension"] == 384


def test_changed_file_reembeds_only_its_new_passages(small) -> None:  # type: ignore[no-untyped-def]
    settings, qa = small
    qa.index()
    path = settings.docs_dir / "a.txt"
    path.write_text(path.read_text() + "\n\nA brand new third paragraph on launches.")
    report = qa.index()
    assert report.embedded_passages == 1 and report.reused_passages == 3
    hits = qa.search("launches", k=1).hits
    assert hits[0].passage.source == "a.txt" and hits[0].passage.paragraph == 3


def test_removed_file_leaves_the_index(small) -> None:  # type: ignore[no-untyped-def]
    settings, qa = small
    qa.index()
    (settings.docs_dir / "b.md").unlink()
    report = qa.index()
    assert report.files == 1 and report.embedded_passages == 0
    assert {i.passage.source for i in qa.searcher.passages} == {"a.txt"}


def test_other_model_forces_rebuild(small) -> None:  # type: ignore[no-untyped-def]
    settings, qa = small
    qa.index()
    manifest_path = settings.index_dir / "manifest.json"
    data = json.loads(manifest_path.read_text())
    data["model"]["fingerprint"] = "another-model"
    manifest_path.write_text(json.dumps(data))
    report = qa.index()
    assert "model" in report.rebuilt_because and report.embedded_passages == 3


def test_changed_chunking_setting_forces_rebuild(small, embedder) -> None:  # type: ignore[no-untyped-def]
    settings, qa = small
    qa.index()
    other = QA(settings.with_overrides(window_overlap_sentences=2), embedder=embedder)
    report = other.index()
    assert report.rebuilt_because == "chunking settings changed"
    assert report.embedded_passages == 3


@pytest.mark.parametrize("damage", ["truncate", "garble", "delete"])
def test_damaged_files_are_detected_and_rebuilt(small, damage: str) -> None:  # type: ignore[no-untyped-def]
    settings, qa = small
    qa.index()
    build = settings.index_dir / read_manifest(settings.index_dir).build
    target = build / "vectors.npy"
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:100])
    elif damage == "garble":
        data = bytearray(target.read_bytes())
        data[-10:] = b"\xff" * 10
        target.write_bytes(bytes(data))
    else:
        target.unlink()
    report = qa.index()
    assert "vectors.npy" in report.rebuilt_because
    assert qa.search("tomatoes", k=1).hits[0].passage.source == "b.md"


def _mark_format_version(index_dir: Path, version: int) -> None:
    """Make the manifest say another version of qa wrote it."""
    manifest_path = index_dir / "manifest.json"
    data = json.loads(manifest_path.read_text())
    data["format_version"] = version
    manifest_path.write_text(json.dumps(data))


def test_future_format_version_is_refused(small) -> None:  # type: ignore[no-untyped-def]
    settings, qa = small
    qa.index()
    _mark_format_version(settings.index_dir, 99)
    with pytest.raises(IndexUnusableError, match="format version 99"):
        read_manifest(settings.index_dir)
    assert "format version" in qa.index().rebuilt_because


def test_an_index_of_the_earlier_format_is_rebuilt_from_its_own_vectors(small) -> None:  # type: ignore[no-untyped-def]
    """Format 2 changed only the lexical folder: a format-1 index is rebuilt on first use, its
    vectors reused, nothing embedded, and it then searches."""
    settings, qa = small
    qa.index()
    _mark_format_version(settings.index_dir, 1)
    with pytest.raises(IndexUnusableError, match="format version 1"):
        read_manifest(settings.index_dir)
    report = QA(settings, embedder=qa.embedder).index()
    assert "format version 1" in report.rebuilt_because
    assert (report.embedded_passages, report.reused_passages) == (0, 3)
    assert read_manifest(settings.index_dir).format_version == 2
    assert qa.search("tomatoes", k=1).hits[0].passage.source == "b.md"


def test_passage_table_not_matching_vectors_is_refused(small, tiny_encoder) -> None:  # type: ignore[no-untyped-def]
    from qa.core.files import file_sha256
    from qa.searching.search import Searcher

    settings, qa = small
    qa.index()
    manifest_path = settings.index_dir / "manifest.json"
    data = json.loads(manifest_path.read_text())
    table = settings.index_dir / data["build"] / "passages.jsonl"
    table.write_text("".join(table.read_text().splitlines(keepends=True)[:-1]))
    data["checksums"]["passages.jsonl"] = file_sha256(table)  # checksums agree, contents do not
    manifest_path.write_text(json.dumps(data))
    with pytest.raises(IndexUnusableError, match="does not match"):
        Searcher(LocalIndex(settings.index_dir, settings), settings, tiny_encoder)


def test_atomic_write_leaves_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "m.json"
    target.write_text("old")

    with pytest.raises(TypeError):
        atomic_write_text(target, 123)  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]
    atomic_write_text(target, "new")
    assert target.read_text() == "new"


def test_repeated_texts_are_encoded_once(embedder) -> None:  # type: ignore[no-untyped-def]
    model_calls: list[list[str]] = []
    runtime = embedder._runtime
    model_encode = runtime.encode

    def counting(texts, batch_size):  # type: ignore[no-untyped-def]
        model_calls.append(list(texts))
        return model_encode(texts, batch_size)

    runtime.encode = counting
    try:
        vectors = embedder.encode(["one sentence.", "two words", "one sentence."])
    finally:
        del runtime.encode
    assert sorted(t for call in model_calls for t in call) == ["one sentence.", "two words"]
    assert vectors.shape == (3, 384) and (vectors[0] == vectors[2]).all()
    assert abs(float(vectors[0] @ vectors[1])) < 0.99


def test_paragraph_longer_than_the_model_is_cut_into_windows(  # type: ignore[no-untyped-def]
        tmp_path: Path, tiny_encoder) -> None:
    # Far longer than the model's 256 word pieces, yet one passage (under MAX_PASSAGE_CHARS).
    sentences = [f"Sentence number {n} talks about orbital debris mitigation rules." for n in range(55)]
    assert len(" ".join(sentences)) < MAX_PASSAGE_CHARS
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "long.txt").write_text("Long\n\n" + " ".join(sentences), encoding="utf-8")
    qa = QA(Settings(docs_dir=tmp_path / "docs", index_dir=tmp_path / "index"), embedder=tiny_encoder)
    qa.index()
    [item] = qa.searcher.passages
    assert item.window_count > 1 and len(item.sentences) == 55
    assert item.row_count == item.window_count + 55


@pytest.mark.parametrize("long_paragraph", [False, True])
def test_late_sentence_vectors_fill_the_same_rows_and_find_the_answer(  # type: ignore[no-untyped-def]
        tmp_path: Path, embedder, long_paragraph: bool) -> None:
    filler = [f"Clause {n} of the treaty concerns the registration of launched objects."
              for n in range(50 if long_paragraph else 3)]  # 50: one passage, many windows
    answer = "The observatory on the ridge was closed in 1987 after a landslide."
    half = len(filler) // 2
    text = " ".join([*filler[:half], answer, *filler[half:]])
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "treaty.txt").write_text(f"Treaty\n\n{text}", encoding="utf-8")
    settings = Settings(docs_dir=tmp_path / "docs", index_dir=tmp_path / "index",
                        sentence_vectors="late")
    qa = QA(settings, embedder=embedder)
    qa.index()
    [item] = qa.searcher.passages
    assert (item.window_count > 1) == long_paragraph
    assert item.row_count == item.window_count + len(filler) + 1
    assert read_manifest(settings.index_dir).chunking["sentence_vectors"] == "late"
    hit = qa.search("When was the observatory on the ridge closed?").hits[0]
    assert item.passage.text[slice(*hit.answer)] == answer


def test_checked_index_is_not_hashed_again_until_a_file_changes(  # type: ignore[no-untyped-def]
        small, monkeypatch) -> None:
    from qa.indexing import store

    settings, qa = small
    qa.index()
    manifest = read_manifest(settings.index_dir)
    build = settings.index_dir / manifest.build
    hour_ago = time.time() - 3600
    for path in build.rglob("*"):
        os.utime(path, (hour_ago, hour_ago))  # files older than the clock's resolution
    hashed: list[Path] = []
    real_sha256 = store.file_sha256
    monkeypatch.setattr(store, "file_sha256", lambda path: hashed.append(path) or real_sha256(path))
    store.verify_checksums(settings.index_dir, manifest)
    assert len(hashed) == len(manifest.checksums)
    store.verify_checksums(settings.index_dir, manifest)
    assert len(hashed) == len(manifest.checksums)  # trusted: nothing changed since the check
    target = build / "vectors.npy"
    data = bytearray(target.read_bytes())
    data[-10:] = b"\xff" * 10  # same size, new modification time
    target.write_bytes(bytes(data))
    with pytest.raises(IndexUnusableError, match=r"vectors\.npy"):
        store.verify_checksums(settings.index_dir, manifest)


def _chunked(folder: Path):  # type: ignore[no-untyped-def]
    from qa.chunking.chunk import chunk_documents
    from qa.reading.isolation import load_folder

    return chunk_documents(load_folder(folder, 1_000_000).documents)


def test_embedding_plan_lays_out_rows_without_a_model(tmp_path: Path) -> None:
    """Planning is a pure function: passages and reusable vectors in, rows out. A passage that
    fits is one window then its sentences; one too long is cut into overlapping windows; a
    passage an earlier build has keeps its rows and is not embedded again."""
    import numpy as np
    from encoders import HashingEncoder

    from qa.indexing import store
    from qa.indexing.indexer import Windowing, plan_embedding

    write_docs(tmp_path / "docs")
    long_text = " ".join(f"Clause {n} governs launches and registries." for n in range(12))
    (tmp_path / "docs" / "c.txt").write_text(f"Gamma\n\n{long_text}", encoding="utf-8")
    chunked = _chunked(tmp_path / "docs")
    encoder = HashingEncoder(max_tokens=20)
    windowing = Windowing(encoder.token_counts, encoder.max_tokens, 1, late=False)
    plan = plan_embedding(chunked, {}, windowing)
    assert [p.passage.source for p in plan.passages] == ["a.txt", "a.txt", "b.md", "c.txt"]
    assert len(plan.pending) == 4 and plan.blocks == [None] * 4
    first, *_, long_one = plan.passages
    assert first.window_count == 1 and plan.pending[0].texts[0] == first.passage.text
    assert long_one.window_count > 1 and len(long_one.sentences) == 12
    assert all(len(t.split()) <= 20 for t in plan.pending[3].texts[:long_one.window_count])
    rows = [p.first_row for p in plan.passages]
    assert rows == list(np.cumsum([0] + [p.row_count for p in plan.passages[:-1]]))
    # Offsets point into the document's text, sentence by sentence.
    text = chunked[0].document.text
    for passage in plan.passages[:2]:
        assert [" ".join(text[a:b].split()) for a, b in passage.sentence_offsets] == \
            [passage.passage.text[a:b] for a, b in passage.sentences]
    reused_rows = np.ones((first.row_count, encoder.dimension), dtype=np.float32)
    again = plan_embedding(chunked, {store.text_key(first.passage.text): (first, reused_rows)},
                           windowing)
    assert len(again.pending) == 3 and again.blocks[0] is reused_rows
    assert again.passages == plan.passages
    late = plan_embedding(chunked, {}, Windowing(encoder.token_counts, 20, 1, late=True))
    assert late.pending[0].texts == [first.passage.text]  # sentences pooled from its pass
    assert [p.row_count for p in late.passages[:3]] == [p.row_count for p in plan.passages[:3]]


def test_a_whole_index_and_search_runs_on_any_encoder(tmp_path: Path) -> None:
    """The Encoder protocol is all the library needs: a tiny real encoder builds, refreshes
    and searches an index (and re-embeds only the passage that changed)."""
    from encoders import HashingEncoder

    write_docs(tmp_path / "docs")
    encoder = HashingEncoder()
    qa = QA(Settings(docs_dir=tmp_path / "docs", index_dir=tmp_path / "index"), embedder=encoder)
    assert qa.index().embedded_passages == 3
    assert qa.search("tomatoes in gardens").hits[0].passage.source == "b.md"
    (tmp_path / "docs" / "b.md").write_text("Beta\n\nThe beta file is about harbours and ships.",
                                            encoding="utf-8")
    encoder.encoded.clear()
    assert qa.index().embedded_passages == 1
    assert "The beta file is about harbours and ships." in encoder.encoded
    assert qa.search("harbours and ships").hits[0].passage.source == "b.md"


@pytest.mark.parametrize("sentence_vectors", ["separate", "late"])
def test_a_text_is_embedded_once_per_build_however_often_it_occurs(  # type: ignore[no-untyped-def]
        tmp_path: Path, monkeypatch, sentence_vectors: str) -> None:
    """Copies of one file, and a sentence two different paragraphs share, cost one encoding per
    distinct text, also across the runs a build saves one by one; every copy gets the same
    rows as the first, and the report says how many texts the passages took."""
    from encoders import HashingEncoder

    from qa.indexing import indexer

    monkeypatch.setattr(indexer, "DURABLE_TEXTS", 1)  # every passage a run of its own
    docs = tmp_path / "docs"
    docs.mkdir()
    body = ("Pump report\n\nThe pump failed twice in winter. Its valves were replaced in March."
            "\n\nA second paragraph about the valves. The pump failed twice in winter.")
    for number in range(5):
        (docs / f"copy-{number}.txt").write_text(body, encoding="utf-8")
    (docs / "other.txt").write_text("Other\n\nA note on gaskets. Its valves were replaced in "
                                    "March.", encoding="utf-8")
    encoder = HashingEncoder()
    qa = QA(Settings(docs_dir=docs, index_dir=tmp_path / "index",
                     sentence_vectors=sentence_vectors), embedder=encoder)
    report = qa.index()
    repeated = sorted({text for text in encoder.encoded if encoder.encoded.count(text) > 1})
    assert repeated == [], f"encoded more than once: {repeated}"
    passages = qa.searcher.passages
    distinct = {item.passage.text for item in passages}
    assert report.passages == report.embedded_passages == len(passages) > len(distinct)
    assert report.distinct_passages == len(distinct)
    assert report.texts_embedded == len(encoder.encoded)
    assert f"{len(encoder.encoded)} texts embedded for {len(passages)} passages " \
           f"({len(distinct)} distinct)" in report.summary()
    hits = qa.search("pump failed twice in winter", k=20, collapse=False).hits  # every copy
    copies = [h for h in hits if h.passage.source.startswith("copy-")
              and "pump failed" in h.passage.text and "second" not in h.passage.text]
    assert len(copies) == 5 and len({round(h.score, 6) for h in copies}) == 1, copies


def test_an_edited_paragraph_encodes_only_its_new_sentences(tmp_path: Path) -> None:
    """Sentences encoded on their own: a paragraph with one sentence changed keeps the rows
    the earlier build has for its other sentences; only its new text and new sentence are
    encoded."""
    from encoders import HashingEncoder

    docs = tmp_path / "docs"
    docs.mkdir()
    sentences = ["The pump failed twice in winter.", "Its valves were replaced in March.",
                 "The gaskets held."]
    (docs / "pump.txt").write_text("Pump\n\n" + " ".join(sentences), encoding="utf-8")
    encoder = HashingEncoder()
    qa = QA(Settings(docs_dir=docs, index_dir=tmp_path / "index"), embedder=encoder)
    qa.index()
    edited = [sentences[0], "Its valves were replaced in May.", sentences[2]]
    (docs / "pump.txt").write_text("Pump\n\n" + " ".join(edited), encoding="utf-8")
    encoder.encoded.clear()
    report = qa.index()
    assert report.embedded_passages == 1 and report.texts_embedded == 2
    assert sorted(encoder.encoded) == sorted([" ".join(edited), edited[1]])
    [item] = qa.searcher.passages
    assert qa.search("gaskets held", k=1).hits[0].passage.source == "pump.txt"
    assert item.row_count == 4


@pytest.fixture()
def notes(tmp_path: Path, embedder):  # type: ignore[no-untyped-def]
    from documents import numbered_notes

    numbered_notes(tmp_path / "docs", 500, "harbour", "Berth {n} was painted blue in spring.")
    settings = Settings(docs_dir=tmp_path / "docs", index_dir=tmp_path / "index")
    qa_ = QA(settings, embedder=embedder)
    qa_.index()
    return settings


def test_opening_an_index_parses_only_the_passages_a_search_returns(notes, embedder,  # type: ignore[no-untyped-def]
                                                                     monkeypatch) -> None:
    import qa.indexing.store
    from qa.searching.search import Searcher

    parsed: list[str] = []
    real = qa.indexing.store.passage_from_record
    monkeypatch.setattr(qa.indexing.store, "passage_from_record",
                        lambda line: parsed.append(line) or real(line))
    index = LocalIndex(notes.index_dir, notes)
    assert parsed == [] and index.passage_count >= 500
    hits = Searcher(index, notes, embedder).search("berth 7 painted", 3, "hybrid")
    # At most the candidates each retriever proposes (100 each), not all 500.
    assert hits and len(parsed) <= 200


def test_an_index_without_its_passage_columns_still_opens(notes, embedder) -> None:  # type: ignore[no-untyped-def]
    from qa.indexing.store import COLUMNS_NAME, SOURCES_NAME
    from qa.searching.search import Searcher

    def found() -> list[tuple[str, int]]:
        hits = Searcher(LocalIndex(notes.index_dir, notes), notes, embedder).search(
            "berth 7 painted", 5, "hybrid")
        return [(hit.passage.source, hit.passage.paragraph) for hit in hits]

    expected = found()
    manifest_path = notes.index_dir / "manifest.json"
    data = json.loads(manifest_path.read_text())
    for name in (COLUMNS_NAME, SOURCES_NAME):  # as a build made before the columns were stored
        (notes.index_dir / data["build"] / name).unlink()
        del data["checksums"][name]
    manifest_path.write_text(json.dumps(data))
    assert found() == expected and expected
