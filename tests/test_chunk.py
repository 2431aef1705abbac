from qa.chunking.chunk import chunk_document, file_offsets, normalise_whitespace, sentence_spans
from qa.reading.load import Document


def doc(text: str, source: str = "d.txt") -> Document:
    return Document(source, text, "hash")


def test_title_is_first_line_and_not_a_passage() -> None:
    passages = chunk_document(doc("My Title\n\nThe first paragraph is here. It has words.\n"))
    assert [p.text for p in passages] == ["The first paragraph is here. It has words."]
    assert passages[0].title == "My Title"
    assert passages[0].paragraph == 1


def test_a_first_line_of_prose_is_searched_not_taken_as_the_title() -> None:
    # A note that opens with a sentence, or with a wrapped paragraph's first line: taken as
    # the title, that text was in no passage (the new-user trial found it).
    sentence = "Die Stadtbibliothek ist montags geschlossen. Sie öffnet dienstags um neun."
    passages = chunk_document(doc(f"{sentence}\n\nZweiter Absatz mit mehr Text dazu.\n"))
    assert [p.text for p in passages] == [sentence, "Zweiter Absatz mit mehr Text dazu."]
    assert passages[0].title == "d.txt"
    wrapped = "The library is closed on Mondays and opens\nagain on Tuesday at nine."
    passages = chunk_document(doc(f"{wrapped}\n\nThe second paragraph has words.\n"))
    assert passages[0].text == normalise_whitespace(wrapped) and passages[0].title == "d.txt"
    assert chunk_document(doc("東京タワーは港区にある電波塔である。\n\n高さは333メートルである。")
                          )[0].text == "東京タワーは港区にある電波塔である。"
    # Titles stay titles: a question, a short name with a full stop, a Markdown heading, a
    # line that the next line does not continue.
    for title in ("What is space security?", "Acme Corp.", "# Minutes of the meeting.",
                  "Sky (United Kingdom)"):
        text = f"{title}\nSpace security keeps orbits safe for everyone.\n"
        passages = chunk_document(doc(text))
        assert passages[0].title == title.lstrip("# "), title
        assert [p.text for p in passages] == ["Space security keeps orbits safe for everyone."]


def test_leading_blank_lines_and_markdown_heading_title() -> None:
    passages = chunk_document(doc("\n\n# Heading Title\n\nBody text of the note goes here.\n"))
    assert passages[0].title == "Heading Title"


def test_short_author_line_under_title_is_metadata() -> None:
    text = "ESSAY TITLE\n\nJane Doe\n\nFirst real paragraph of the essay starts here.\n\nSecond one."
    passages = chunk_document(doc(text))
    assert passages[0].text.startswith("First real paragraph")
    assert all("Jane Doe" not in p.text for p in passages)


def test_paragraph_broken_mid_sentence_is_joined() -> None:
    text = ("Title\n\nFor the past two decades, the General\n\nAssembly has adopted a resolution "
            "every year.\n\nNext paragraph stands alone here.")
    passages = chunk_document(doc(text))
    assert passages[0].text == ("For the past two decades, the General Assembly has adopted a "
                                "resolution every year.")
    assert passages[1].paragraph == 2


def test_junk_lines_are_not_passages() -> None:
    text = "Title\n\nA real paragraph with several words in it.\n\nSource link\n\n---\n"
    passages = chunk_document(doc(text))
    assert [p.text for p in passages] == ["A real paragraph with several words in it."]


def test_offsets_point_into_the_file_and_whitespace_is_normalised() -> None:
    text = "Title\r\n\r\n  Lines   wrapped\r\nacross the file, with   spaces.  \r\n\r\nEnd here now."
    passages = chunk_document(doc(text))
    first = passages[0]
    assert first.text == "Lines wrapped across the file, with spaces."
    assert normalise_whitespace(text[first.start : first.end]) == first.text


def test_seed_essay_keeps_general_assembly_sentence_whole(seeds_dir=None) -> None:
    from conftest import SEEDS

    from qa.reading.isolation import load_folder

    loaded = load_folder(SEEDS)
    essay = next(d for d in loaded.documents if d.source.startswith("004"))
    passages = chunk_document(essay)
    assert any("the General Assembly has adopted" in p.text for p in passages)
    assert passages[0].title.startswith("FUNDAMENTAL WAYS")
    assert all(p.text != "Zhang Ju'nan" for p in passages)
    report = next(d for d in loaded.documents if d.source.startswith("000"))
    assert all(p.text != "Source link" for p in chunk_document(report))


def test_sentence_spans_and_file_offsets_round_trip() -> None:
    original = "Dr. Smith  arrived.\nHe said   hello!  Then left."
    normal = normalise_whitespace(original)
    spans = sentence_spans(normal)
    assert [normal[a:b] for a, b in spans] == ["Dr. Smith arrived.", "He said hello!",
                                               "Then left."]
    mapped = file_offsets(original, spans)
    assert [normalise_whitespace(original[a:b]) for a, b in mapped] == [
        normal[a:b] for a, b in spans]
