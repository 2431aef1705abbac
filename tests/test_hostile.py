"""Arbitrary input never makes the search call or the page handler raise, beyond a refusal
that says what is wrong (a malformed query: an unclosed quote, a sign with nothing after it)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.library import QA, QuestionRefused
from qa.showing.hits_html import render_results

questions = st.text(alphabet=st.characters(codec="utf-8"), max_size=300) | st.text(
    alphabet=st.sampled_from("\x00\x07\x1b\u202e\u200b <>&\"'\n\t"), max_size=50)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=questions, k=st.integers(min_value=-3, max_value=50))
def test_search_and_page_never_raise(seeds_qa: QA, question: str, k: int) -> None:
    try:
        result = seeds_qa.search(question, k=k)
    except QuestionRefused as refusal:
        # Only the query syntax may refuse arbitrary text, and it names the part it refuses.
        assert str(refusal).startswith("query: "), (question, str(refusal))
        assert any(sign in question for sign in '"“”-+:'), (question, str(refusal))
        return
    assert len(result.hits) <= max(1, k)
    page = render_results(result)
    assert "<script" not in page.lower() or "&lt;script" in page.lower()


def test_very_long_question_is_cut_with_a_notice(seeds_qa: QA) -> None:
    result = seeds_qa.search("outer space " * 2000)
    assert any("cut to its first" in notice for notice in result.notices)
    assert result.hits
