"""Scored chunks → an Answer: the answering sentence marked, citations, neighbours."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from khabar.records import Answer, Hit, public_source
from khabar.search import ScoredChunk
from khabar.store import Store, StoredSpan
from khabar.text.tokenize import arabic_share


@dataclass(frozen=True)
class AnswerSettings:
    """When the best passage counts as an answer: its dense score (the mean of paragraph and
    best-span score) must reach a threshold that depends on the question's script, since
    cross-lingual cosines run lower. With a second model beside the first, the dense score
    holds ``second_weight`` times the second model's cosine too, and so does the
    threshold: ``min_score + second_weight × second_min_score``. Calibrated on XQuAD with
    each question's own passage left out of the index (bench/quality.py, README)."""

    min_score_arabic: float = 0.8319
    min_score_other: float = 0.7676
    second_min_score_arabic: float = 0.2307
    second_min_score_other: float = 0.2527
    second_weight: float = 0.0

    def threshold(self, question: str, second_weight: float | None = None) -> float:
        """The threshold for this question, whose vector holds the second model's cosine
        ``second_weight`` times (default: this setting's; 0 for a question in a language
        the second model does not know)."""
        w = self.second_weight if second_weight is None else second_weight
        if arabic_share(question) >= 0.5:
            return self.min_score_arabic + w * self.second_min_score_arabic
        return self.min_score_other + w * self.second_min_score_other


def is_answered(
    question: str,
    best: ScoredChunk | None,
    settings: AnswerSettings,
    second_weight: float | None = None,
) -> bool:
    """False when no passage is a likely answer to ``question``."""
    return best is not None and best.dense_score >= settings.threshold(question, second_weight)


def answering_sentence(
    text: str, best: StoredSpan | None, spans: Sequence[StoredSpan]
) -> tuple[int, int]:
    """Offsets of the sentence to mark: the best span's sentence.

    A clause widens to the sentence that holds it.
    """
    if best is None:
        return 0, len(text)
    if best.kind == "sentence":
        return best.start, best.end
    for span in spans:
        if span.kind == "sentence" and span.start <= best.start and best.end <= span.end:
            return span.start, span.end
    return best.start, best.end


def build_answer(
    question: str,
    scored: Sequence[ScoredChunk],
    store: Store,
    context: bool = True,
    settings: AnswerSettings | None = None,
    second_weight: float | None = None,
) -> Answer:
    """Turn ranked chunks into Hits; with ``context``, attach the neighbouring paragraphs.
    ``second_weight``: the second model's weight in this question's vector (for the
    threshold; default the settings')."""
    hits = []
    for item in scored:
        chunk = item.chunk
        start, end = answering_sentence(chunk.text, item.span, item.spans)
        before = after = None
        if context:
            prev = store.chunk_at(chunk.article_id, chunk.ordinal - 1)
            nxt = store.chunk_at(chunk.article_id, chunk.ordinal + 1)
            before = prev.text if prev else None
            after = nxt.text if nxt else None
        hits.append(
            Hit(
                article_id=chunk.article_id,
                title=chunk.title,
                paragraph=chunk.paragraph,
                section=chunk.section,
                text=chunk.text,
                sentence=chunk.text[start:end],
                sentence_start=start,
                sentence_end=end,
                score=item.score,
                chunk_id=chunk.id,
                source=public_source(chunk.source),
                url=chunk.url,
                published=chunk.published,
                author=chunk.author,
                before=before,
                after=after,
            )
        )
    answered = is_answered(
        question, scored[0] if scored else None, settings or AnswerSettings(), second_weight
    )
    return Answer(question=question, hits=tuple(hits), answered=answered)
