"""The answer sentence of a hit: the sentence of its passage that best answers the question.

Each sentence is scored by its dense cosine with the question plus `weight` × the idf of the
question's words it holds (a word asked twice counts twice), so a sentence that a question
paraphrases wins over one that is only about the same thing; among sentences holding the same
words the cosine decides. How the weight was chosen: docs/benchmarks.md ("The answer sentence").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def word_overlap(question_words: Sequence[str], sentence_words: Sequence[Sequence[str]],
                 idf: Mapping[str, float]) -> np.ndarray:
    """Per sentence, the summed idf of the question's words it holds (analysed words)."""
    return np.array([sum(idf.get(word, 0.0) for word in question_words if word in held)
                     for held in map(set, sentence_words)], dtype=np.float64)


def best_sentence(cosines: np.ndarray, question_words: Sequence[str],
                  sentence_words: Sequence[Sequence[str]], idf: Mapping[str, float],
                  weight: float) -> int:
    """The index of the answer sentence among a passage's sentences (0 for none), from each
    sentence's cosine with the question and its analysed words."""
    if len(cosines) == 0:
        return 0
    scores = np.asarray(cosines, dtype=np.float64)
    if weight > 0 and question_words:
        scores = scores + weight * word_overlap(question_words, sentence_words, idf)
    return int(scores.argmax())
