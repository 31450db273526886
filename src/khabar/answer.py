"""Scored chunks → an Answer: the answering sentence marked, citations, neighbours."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from khabar.quoted import SpeakerMatch, quote_sentence
from khabar.records import Answer, Hit, public_source
from khabar.search import ScoredChunk
from khabar.store import Store, StoredSpan
from khabar.text.tokenize import arabic_share, terms


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
    #: A follow-up searched with the conversation (khabar.followup) has a mixed vector that
    #: scores lower: its threshold is this much lower (bench/followups.py calibrates it).
    follow_up_margin: float = 0.0375

    def threshold(
        self, question: str, second_weight: float | None = None, follow_up: bool = False
    ) -> float:
        """The threshold for this question, whose vector holds the second model's cosine
        ``second_weight`` times (default: this setting's; 0 for a question in a language
        the second model does not know); ``follow_up`` for a follow-up's."""
        w = self.second_weight if second_weight is None else second_weight
        margin = self.follow_up_margin if follow_up else 0.0
        if arabic_share(question) >= 0.5:
            return self.min_score_arabic + w * self.second_min_score_arabic - margin
        return self.min_score_other + w * self.second_min_score_other - margin


def is_answered(
    question: str,
    best: ScoredChunk | None,
    settings: AnswerSettings,
    second_weight: float | None = None,
    follow_up: bool = False,
) -> bool:
    """False when no passage is a likely answer to ``question`` (``follow_up``: searched
    with the conversation)."""
    if best is None:
        return False
    return best.dense_score >= settings.threshold(question, second_weight, follow_up)


# How the sentence to mark is chosen (bench/sentences.py, tuned on XQuAD articles 0–23):
# half its own cosine with the question and half the best of its own and its clauses'
# cosines, plus MARK_TERMS times the share of the question's terms it holds.
MARK_CLAUSE_SHARE = 0.5
MARK_TERMS = 0.2


def answering_sentence(
    text: str,
    best: StoredSpan | None,
    spans: Sequence[StoredSpan],
    scores: Sequence[float | None] = (),
    question_terms: Sequence[str] = (),
) -> tuple[int, int]:
    """Offsets of the sentence to mark.

    With each span's cosine (``scores``, aligned with ``spans``): the sentence with the
    best mark score (above); else the best span's sentence (a clause widens to the sentence
    that holds it); the whole text when there is neither."""
    sentences = [s for s in spans if s.kind == "sentence"]
    cosine = {s.id: c for s, c in zip(spans, scores, strict=False) if c is not None}
    if sentences and all(s.id in cosine for s in sentences):
        wanted = set(question_terms)
        marks = []
        for sentence in sentences:
            own = cosine[sentence.id]
            parts = [
                cosine[s.id]
                for s in spans
                if s.kind == "clause"
                and s.id in cosine
                and sentence.start <= s.start
                and s.end <= sentence.end
            ]
            held = wanted & set(terms(text[sentence.start : sentence.end])) if wanted else set()
            marks.append(
                (1 - MARK_CLAUSE_SHARE) * own
                + MARK_CLAUSE_SHARE * max([own, *parts])
                + MARK_TERMS * len(held) / max(len(wanted), 1)
            )
        chosen = sentences[max(range(len(marks)), key=lambda i: (marks[i], -i))]
        return chosen.start, chosen.end
    if best is None:
        return 0, len(text)
    if best.kind == "sentence":
        return best.start, best.end
    for span in sentences:
        if span.start <= best.start and best.end <= span.end:
            return span.start, span.end
    return best.start, best.end


def marked_sentence(question: str, item: ScoredChunk) -> tuple[int, int]:
    """The offsets of the sentence to mark in ``item``'s chunk, for ``question``."""
    return answering_sentence(
        item.chunk.text, item.span, item.spans, item.span_scores, terms(question)
    )


def build_answer(
    question: str,
    scored: Sequence[ScoredChunk],
    store: Store,
    context: bool = True,
    settings: AnswerSettings | None = None,
    second_weight: float | None = None,
    searched: str = "",
    follow_up: bool = False,
    speaker: SpeakerMatch | None = None,
) -> Answer:
    """Turn ranked chunks into Hits; with ``context``, attach the neighbouring paragraphs.
    ``second_weight``: the second model's weight in this question's vector (for the
    threshold; default the settings'). ``searched``: what was searched, when it was more
    than ``question``; ``follow_up``: searched with the conversation (the follow-ups'
    threshold); the sentence marked is still ``question``'s. ``speaker``: for a question about
    what someone said, their quotes among the passages: the sentence marked is the quote's,
    and with none the answer says so and is not answered."""
    hits = []
    said = speaker.quotes if speaker else {}
    for item in scored:
        chunk = item.chunk
        if chunk.id in said:
            sentences = [(s.start, s.end) for s in item.spans if s.kind == "sentence"]
            start, end = quote_sentence(chunk.text, said[chunk.id], sentences)
        else:
            start, end = marked_sentence(question, item)
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
                quotes=chunk.quotes,
            )
        )
    answered = is_answered(
        question,
        scored[0] if scored else None,
        settings or AnswerSettings(),
        second_weight,
        follow_up=follow_up,
    )
    notes: tuple[str, ...] = ()
    if speaker is not None and not said:
        answered = False
        notes = (f"the articles quote no one matching “{speaker.asked.person}”",)
    elif speaker is not None and not speaker.on_topic:
        answered = False
        notes = (
            f"the articles quote “{speaker.asked.person}”, but not on “{speaker.asked.topic}”",
        )
    return Answer(
        question=question,
        hits=tuple(hits),
        answered=answered,
        searched=searched if searched != question else "",
        notes=notes,
        speaker=speaker.asked.person if speaker else "",
        speaker_quoted=bool(said),
    )
