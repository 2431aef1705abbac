"""The conformance suite every encoder must pass, shipped with the seam (like the backends'
suite, qa/indexing/backends/testing.py), so an encoder written outside qa is proven by the
same tests as qa's own runtimes.

Subclass `EncoderConformance` in a test module (its name starting with `Test`) and give the
`encoder` fixture your `Encoder`; pytest then runs every test below against it. This module
imports pytest: import it from tests only.
"""

from __future__ import annotations

import numpy as np
import pytest

from qa.embedding.embed import Encoder

TEXTS = ["The keeper lit the lamp at dusk.",
         "Tomatoes ripen faster against a south-facing wall; water them at the roots.",
         "a", "Debris mitigation guidelines ask operators to move satellites out of crowded "
         "orbits at the end of their missions, and a treaty forbids weapons in orbit."]
# Texts that are not the same text, for an encoder that sees words: their vectors must differ.
UNLIKE = ["harbour ships berth", "tomatoes garden blight"]


def assert_unit_rows(vectors: np.ndarray, rows: int, dimension: int) -> None:
    assert vectors.dtype == np.float32, vectors.dtype
    assert vectors.shape == (rows, dimension), vectors.shape
    norms = np.linalg.norm(vectors, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-3), norms


class EncoderConformance:
    """The tests; a subclass gives the `encoder` fixture."""

    @pytest.fixture(scope="class")
    @classmethod
    def encoder(cls) -> Encoder:
        raise NotImplementedError("override the `encoder` fixture with the Encoder under test")

    def test_it_says_its_size_and_identity(self, encoder: Encoder) -> None:
        assert isinstance(encoder.dimension, int) and encoder.dimension > 0
        assert isinstance(encoder.max_tokens, int) and encoder.max_tokens > 0
        assert isinstance(encoder.pools_by_mean, bool)
        identity = encoder.identity()
        assert identity == encoder.identity() and identity.dimension == encoder.dimension
        assert identity.name and identity.fingerprint

    def test_texts_become_unit_rows_in_input_order(self, encoder: Encoder) -> None:
        vectors = encoder.encode(TEXTS)
        assert_unit_rows(vectors, len(TEXTS), encoder.dimension)
        for row, text in enumerate(TEXTS):
            alone = encoder.encode([text])[0]
            assert float(alone @ vectors[row]) > 0.999, text
        reversed_vectors = encoder.encode(TEXTS[::-1])
        assert np.allclose(reversed_vectors[::-1], vectors, atol=1e-3)
        unlike = encoder.encode(UNLIKE)
        assert float(unlike[0] @ unlike[1]) < 0.99
        assert_unit_rows(encoder.encode([]), 0, encoder.dimension)

    def test_progress_reaches_every_text(self, encoder: Encoder) -> None:
        seen: list[tuple[int, int]] = []
        encoder.encode(TEXTS, progress=lambda done, total: seen.append((done, total)))
        assert seen and seen[-1] == (len(TEXTS), len(TEXTS))

    def test_a_question_is_one_unit_row_like_its_text(self, encoder: Encoder) -> None:
        """A question is encoded exactly as its text is, unless the encoder declares that it
        marks questions (`marks_questions`: e5 reads "query: " before a question, "passage: "
        before a text); then its vector differs from its text's but is nearest that text."""
        question = "Who lit the lamp at dusk?"
        asked = encoder.encode_query(question)
        assert_unit_rows(asked, 1, encoder.dimension)
        assert np.allclose(encoder.encode_query(question), asked, atol=1e-5)
        assert isinstance(encoder.marks_questions, bool)
        if not encoder.marks_questions:
            assert float(asked[0] @ encoder.encode([question])[0]) > 0.999
            return
        similarities = encoder.encode([question, *UNLIKE, TEXTS[1]]) @ asked[0]
        assert int(np.argmax(similarities)) == 0, similarities
        assert 0.9 < similarities[0] < 0.999, similarities  # near its text, and marked

    def test_token_counts_one_per_text_uncut(self, encoder: Encoder) -> None:
        counts = encoder.token_counts(TEXTS)
        assert len(counts) == len(TEXTS) and all(isinstance(n, int) and n > 0 for n in counts)
        assert encoder.token_counts([]) == []
        long_text = " ".join(["lighthouse"] * (encoder.max_tokens * 2))
        assert encoder.token_counts([long_text])[0] > encoder.max_tokens  # not truncated
        assert counts[1] > counts[2]

    def test_spans_are_pooled_from_the_text_s_pass(self, encoder: Encoder) -> None:
        """Only asked of an encoder that pools by mean (late sentence vectors)."""
        if not encoder.pools_by_mean:
            pytest.skip("this encoder does not pool by mean: sentences are encoded alone")
        text = TEXTS[3]
        middle = text.index(", and")
        spans = [[(0, middle), (middle + 2, len(text))], []]
        [(vector, rows), (lone, none)] = encoder.encode_with_spans([text, TEXTS[0]], spans)
        assert_unit_rows(vector[None, :], 1, encoder.dimension)
        assert float(vector @ encoder.encode([text])[0]) > 0.999
        assert_unit_rows(rows, 2, encoder.dimension)
        assert float(rows[0] @ rows[1]) < 0.999  # each span its own vector
        assert float(lone @ encoder.encode([TEXTS[0]])[0]) > 0.999 and none.shape[0] == 0

    def test_releasing_batch_workers_keeps_it_working(self, encoder: Encoder) -> None:
        before = encoder.encode(TEXTS)
        encoder.release_batch_workers()
        assert np.allclose(encoder.encode(TEXTS), before, atol=1e-5)
