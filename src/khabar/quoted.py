"""Questions about what someone said: the passages where that person speaks come first.

"What did Putin say about Israel?" is searched as any question; then, among its best
``DEPTH`` passages, those holding a quote whose speaker is the person asked about
(``khabar.text.speakers``: by spelling; with ``speaker_match`` "both" or "vectors", by the
model's vectors of the names too) gain ``SPEAKER_BONUS``, are ordered among themselves by
the topic's cosine and the question's verb, and the sentence marked is the quote's. When
none of them quotes that person the answer says so and is not counted as answered: another
person's words are never given as theirs. A question that is not about
what someone said is searched and answered exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from khabar.records import Quote
from khabar.search import ScoredChunk
from khabar.text.normalize import normalize_for_matching
from khabar.text.speakers import AskedSpeaker, spelled_alike

#: Tuned on data/quotes (bench/quotes.py): a quote by the person asked about lifts a passage
#: by this much, within the best DEPTH passages.
SPEAKER_BONUS = 0.1
DEPTH = 30
#: By the model's vectors, the closest speaker is the one asked about when its cosine with
#: the question's words for them reaches NAME_MIN_COSINE and beats the next by NAME_MARGIN
#: (bench/quotes.py: "the police" ↔ الشرطة 0.915, "the Russian president" ↔ الرئيس الروسي
#: 0.879 against الرئيس السوري 0.835; names of different people reach 0.84).
NAME_MIN_COSINE = 0.85
NAME_MARGIN = 0.02
#: Among the passages quoting the person, the topic's cosine with each decides their order
#: (bench/quotes.py: the right paragraph has the best topic cosine for 49 of 52 questions
#: with a topic), and the best must reach TOPIC_MIN_COSINE for the person to be quoted "on
#: this" (calibrated for the default models on the questions against the traps).
TOPIC_MIN_COSINE = 0.555
#: A quote whose verb is the question's ("warn about" ↔ حذر، "call on" ↔ دعا) comes first
#: among the person's passages by this much.
VERB_BONUS = 0.05

Embed = Callable[[list[str]], np.ndarray]
TopicScores = Callable[[str, list[int]], dict[int, float]]


@dataclass(frozen=True)
class SpeakerMatch:
    """The passages that quote the person asked about, and the quote of each."""

    asked: AskedSpeaker
    quotes: dict[int, Quote]  # chunk id → the person's quote in it (the first)
    on_topic: bool = True  # False: the person is quoted, but on nothing near the topic
    topic_cosine: float | None = None  # the best of the topic's cosines with those passages


def matching_speakers(
    person: str,
    speakers: Sequence[str],
    embed: Embed | None,
    how: str = "both",
    names: dict[str, str] | None = None,
) -> set[str]:
    """Which of ``speakers`` (as articles name them) are ``person`` (as a question names
    them): by spelling, by the model's vectors of the two (``embed``), or ``both``. By
    spelling an English name is compared with the speaker's name alone (``names``: each
    speaker's name words, without their title), an Arabic one with the whole mention
    (``spelled_alike``); by vectors, when spelling finds no one, the closest speaker if it
    stands out."""
    names = names or {}
    found: set[str] = set()
    if how != "vectors":
        found = {s for s in speakers if spelled_alike(person, s, names.get(s, ""))}
    if embed is not None and not found and how != "spelling" and speakers:
        vectors = np.asarray(embed([person, *speakers]), dtype=np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        cosines = vectors[1:] @ vectors[0]
        order = np.argsort(-cosines)
        best = float(cosines[order[0]])
        second = float(cosines[order[1]]) if len(order) > 1 else -1.0
        if best >= NAME_MIN_COSINE and best - second >= NAME_MARGIN:
            found = {speakers[int(order[0])]}
    return found


def prefer_speaker(
    scored: Sequence[ScoredChunk],
    asked: AskedSpeaker,
    embed: Embed | None,
    how: str = "both",
    topic_scores: TopicScores | None = None,
    bonus: float = SPEAKER_BONUS,
) -> tuple[list[ScoredChunk], SpeakerMatch]:
    """``scored`` with ``bonus`` added to the passages that quote ``asked.person``, those
    passages ordered among themselves by the topic's cosine with each (``topic_scores``) and
    VERB_BONUS for the question's verb, best first (ties keep their order), and which quote of
    each it is."""
    names = {q.speaker: q.name for item in scored for q in item.chunk.quotes}
    speakers = sorted(names)
    same = matching_speakers(asked.person, speakers, embed, how, names) if speakers else set()
    quotes: dict[int, Quote] = {}
    for item in scored:
        mine = [q for q in item.chunk.quotes if q.speaker in same]
        if mine:
            quotes[item.chunk.id] = mine[0]
    topic: dict[int, float] = {}
    if quotes and asked.topic and topic_scores is not None:
        topic = topic_scores(asked.topic, list(quotes))
    top = max((item.score for item in scored if item.chunk.id in quotes), default=0.0)
    best_topic = max(topic.values()) if topic else None
    out = []
    for item in scored:
        if item.chunk.id in quotes:
            # the person's passages take the best one's place, then the topic orders them
            lift = 0.0
            if best_topic is not None:
                lift = (top - item.score) + topic.get(item.chunk.id, best_topic) - best_topic
            verb = VERB_BONUS if _said_as(item.chunk.quotes, same, asked) else 0.0
            item = replace(item, score=item.score + bonus + verb + lift)
        out.append(item)
    out.sort(key=lambda item: -item.score)
    on_topic = best_topic is None or best_topic >= TOPIC_MIN_COSINE
    return out, SpeakerMatch(asked, quotes, on_topic, best_topic)


def _said_as(quotes: Sequence[Quote], same: set[str], asked: AskedSpeaker) -> bool:
    """Whether one of the person's quotes has the verb the question asks about."""
    forms = asked.verb_forms
    return bool(forms) and any(
        q.speaker in same and normalize_for_matching(q.verb) in forms for q in quotes
    )


def quote_sentence(
    text: str, quote: Quote, sentences: Sequence[tuple[int, int]]
) -> tuple[int, int]:
    """The sentence that holds the start of ``quote`` (the quote itself without one)."""
    for start, end in sentences:
        if start <= quote.start < end:
            return start, end
    return quote.start, min(quote.end, len(text))
