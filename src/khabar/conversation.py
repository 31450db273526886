"""A question in its conversation: the search of a follow-up (khabar.followup's chain) and
what an optional language model adds to an answer (khabar.llm). Called by the service."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from khabar.embed import Encoder
from khabar.followup import BONUS_DEPTH, CONTEXT_WEIGHT, prefer_article, searched_text
from khabar.records import Answer, Hit
from khabar.search import ScoredChunk, SearchSettings, search
from khabar.store import Filter, Store

if TYPE_CHECKING:
    from khabar.llm import LanguageModel


def search_conversation(
    store: Store,
    encoder: Encoder,
    settings: SearchSettings,
    questions: Sequence[str],
    k: int,
    where: Filter,
    exclude: frozenset[str] = frozenset(),
) -> list[ScoredChunk]:
    """The ``k`` best chunks for the last of ``questions`` (khabar.followup.chain).

    A single question: one search. A follow-up: its own vector moved toward the previous
    question's (CONTEXT_WEIGHT), the words of the chain so far, and a bonus for the article
    that answered the question before it (found the same way, from the chain's start)."""
    vectors = encoder.embed_queries(list(questions))
    if len(questions) == 1:
        return search(store, vectors[0], k, settings, questions[0], exclude=exclude, where=where)
    previous: str | None = None
    scored: list[ScoredChunk] = []
    vector = vectors[0]
    for i, own in enumerate(vectors):
        if i:
            vector = ((1.0 - CONTEXT_WEIGHT) * own + CONTEXT_WEIGHT * vector).astype(np.float32)
        text = searched_text(questions[: i + 1])
        depth = max(k, BONUS_DEPTH) if i else 1
        found = search(store, vector, depth, settings, text, exclude=exclude, where=where)
        scored = prefer_article(found, previous)
        previous = scored[0].chunk.article_id if scored else None
    return scored[:k]


#: The notes of an answer when the language model did not give what was asked.
NO_REPLY = "the language model gave no reply that cites the passages; the passages are below"
NO_READING = "the language model gave no English reading"


def reply_passages(answer: Answer) -> list[str] | None:
    """The passages a reply to ``answer`` is written from (numbered [1], [2], … in it), or
    None when none may be written: no passages, or the articles may not answer."""
    from khabar.llm import REPLY_PASSAGES

    if not answer.hits or not answer.answered:
        return None
    return [passage_with_quotes(h) for h in answer.hits[:REPLY_PASSAGES]]


def passage_with_quotes(hit: Hit) -> str:
    """A passage as the language model reads it: its text, then who said what in it, so
    that a reply to "what did X say" can lead with the speaker and their words."""
    said = [f"{q.speaker} ({q.verb}): «{hit.text[q.start : q.end]}»" for q in hit.quotes]
    return hit.text + (" — who said what: " + "; ".join(said) if said else "")


def with_model(
    answer: Answer,
    llm: LanguageModel | None,
    reply: bool,
    translate: bool,
    notes: list[str],
) -> Answer:
    """``answer`` with the language model's reply and English reading, as asked; what it
    could not do goes in the notes (never an error: the passages are the answer)."""
    written = reading = None
    requested = (("reply",) if reply else ()) + (("translation",) if translate else ())
    if requested and llm is None:
        notes.append("no language model is configured (the llm_url setting)")
    elif reply and llm is not None:
        passages = reply_passages(answer)
        if passages is None:
            notes.append("no reply: the articles may not answer this question")
        else:
            written = llm.reply(answer.question, passages)
            if written is None:
                notes.append(NO_REPLY)
    if translate and llm is not None and answer.hits:
        reading = llm.translate(answer.hits[0].sentence)
        if reading is None:
            notes.append(NO_READING)
    return replace(
        answer, reply=written, translation=reading, notes=tuple(notes), requested=requested
    )
