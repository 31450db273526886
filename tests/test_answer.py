"""Which sentence is marked as the answer (pure logic: spans and cosines given)."""

from __future__ import annotations

from khabar.answer import answering_sentence
from khabar.store import StoredSpan
from khabar.text.tokenize import terms

TEXT = "Cairo grew fast. Giza holds the pyramids, which draw many visitors. Aswan lies south."


def spans() -> list[StoredSpan]:
    first = TEXT.index("Giza")
    second = TEXT.index("Aswan")
    comma = TEXT.index(",") + 1
    return [
        StoredSpan(1, 9, 0, first - 1, "sentence"),
        StoredSpan(2, 9, first, second - 1, "sentence"),
        StoredSpan(3, 9, first, comma, "clause"),
        StoredSpan(4, 9, comma + 1, second - 1, "clause"),
        StoredSpan(5, 9, second, len(TEXT), "sentence"),
    ]


def sentence(scores: list[float | None], question: str = "", best: int = 0) -> str:
    all_spans = spans()
    start, end = answering_sentence(
        TEXT, all_spans[best], all_spans, scores, terms(question) if question else ()
    )
    return TEXT[start:end]


def test_the_sentence_with_the_best_mark_is_marked() -> None:
    assert sentence([0.9, 0.5, 0.5, 0.5, 0.4]).startswith("Cairo")
    # a clause counts for its sentence, half its own cosine and half the better of the two
    assert sentence([0.6, 0.5, 0.8, 0.4, 0.4]).startswith("Giza")  # 0.65 > 0.6
    assert sentence([0.7, 0.5, 0.8, 0.4, 0.4]).startswith("Cairo")  # 0.65 < 0.7


def test_the_question_s_terms_count_too() -> None:
    scores: list[float | None] = [0.62, 0.6, 0.6, 0.6, 0.5]
    assert sentence(scores).startswith("Cairo")
    # "pyramids" and "visitors": two of the question's terms are in the second sentence
    assert sentence(scores, "Where are the pyramids that draw visitors?").startswith("Giza")


def test_without_every_sentence_s_cosine_the_best_span_s_sentence_is_marked() -> None:
    # no cosines (a paragraph-only search): the best span, a clause, widens to its sentence
    assert sentence([], best=3).startswith("Giza")
    assert sentence([0.9, None, 0.1, 0.1, 0.1], best=3).startswith("Giza")
    start, end = answering_sentence(TEXT, None, [], (), ())
    assert (start, end) == (0, len(TEXT))
