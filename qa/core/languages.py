"""What qa knows of writing systems: which scripts write words without spaces between them,
where sentences end in each, which stemmer (if any) suits a word, and whether a question is
English. The chunker and BM25 both read it, so a passage and a question are split alike."""

from __future__ import annotations

import unicodedata

import regex

# Han, Hiragana, Katakana (and their halfwidth forms), Thai, Lao, Khmer, Myanmar: scripts whose
# words run together. BM25 reads them as overlapping character pairs; the chunker counts one
# word for every few characters.
_UNSPACED = (r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}"
             r"\u30fc\uff66-\uff9f")
UNSPACED_RUN = regex.compile(rf"[{_UNSPACED}]+")
_CHARACTERS_PER_WORD = 2
# A word: letters, digits, their combining marks (Devanagari and Thai vowel signs, Arabic and
# Hebrew points) and underscores; an unspaced run is its own token.
_WORD = regex.compile(rf"[{_UNSPACED}]+|(?:[^\W{_UNSPACED}]|\p{{N}}|\p{{M}})+", regex.VERSION1)
# What the viewer matches a passage to a page's words by: a word, or one character of an
# unspaced script (a page breaks those runs at every line end, where the text does not).
_MATCHING_UNIT = regex.compile(rf"[{_UNSPACED}]|(?:[^\W{_UNSPACED}]|\p{{N}}|\p{{M}})+",
                               regex.VERSION1)
# Sentence ends beyond the Latin ones: CJK full stops, the Devanagari danda, the Arabic and Urdu
# question mark and full stop, the Armenian and Ethiopic full stops.
SENTENCE_ENDS = "。！？｡．؟۔।॥։።"
# A sentence end, its closing quotes or brackets, and (group 1) the space before the next one.
SENTENCE_END_AFTER = regex.compile(rf"[{SENTENCE_ENDS}][」』）》〉\"”’]*(\s*)(?=\S)")

# The Snowball stemmer for each script whose language it can tell; Latin text is stemmed as
# English (qa cannot tell English from French by its letters), others are left whole.
_STEMMER_BY_SCRIPT = (("Cyrillic", "russian"), ("Greek", "greek"), ("Arabic", "arabic"),
                      ("Devanagari", "hindi"), ("Armenian", "armenian"), ("Tamil", "tamil"))
_SCRIPT_OF = [(regex.compile(rf"\p{{{script}}}"), stemmer) for script, stemmer in _STEMMER_BY_SCRIPT]
_LATIN = regex.compile(r"\p{Latin}")
_LETTER = regex.compile(r"\p{L}")


def word_count(text: str) -> int:
    """Words as a reader counts them: spaced words, plus one for every two characters of an
    unspaced script (a Chinese sentence of 20 characters counts as about 10 words)."""
    if text.isascii():
        return len(text.split())
    spaced = UNSPACED_RUN.sub(" ", text).split()
    unspaced = sum(-(-len(run) // _CHARACTERS_PER_WORD) for run in UNSPACED_RUN.findall(text))
    return len(spaced) + unspaced


def tokens(text: str) -> list[str]:
    """Lower-cased words of two characters or more; an unspaced run as its overlapping pairs
    (a single character alone: CJK words are often one character)."""
    found: list[str] = []
    for word in _WORD.findall(text.lower()):
        if UNSPACED_RUN.fullmatch(word):
            found += [word] if len(word) == 1 else [word[i:i + 2] for i in range(len(word) - 1)]
        elif len(word) > 1:
            found.append(word)
    return found


def stemmer_for(word: str) -> str | None:
    """The Snowball stemmer's name for a word's script; None when no stemmer fits it."""
    if word.isascii() or _LATIN.search(word):
        return "english"
    for script, stemmer in _SCRIPT_OF:
        if script.search(word):
            return stemmer
    return None


def is_english_script(text: str) -> bool:
    """Whether most of a text's letters are Latin: what an English-only model can read."""
    letters = _LETTER.findall(text)
    return not letters or sum(bool(_LATIN.match(c)) for c in letters) * 2 >= len(letters)


def matching_units(text: str) -> list[tuple[str, int, int]]:
    """The text's words (single characters in unspaced scripts), compatibility-folded and
    case-folded, each with its span in `text`."""
    return [(unicodedata.normalize("NFKC", match.group()).casefold(), match.start(), match.end())
            for match in _MATCHING_UNIT.finditer(text)]
