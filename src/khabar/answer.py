"""Scored chunks → an Answer: the answering sentence marked, citations, neighbours."""

from __future__ import annotations

from collections.abc import Sequence

from khabar.records import Answer, Hit
from khabar.search import ScoredChunk
from khabar.store import IndexStore, StoredSpan


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
    question: str, scored: Sequence[ScoredChunk], store: IndexStore, context: bool = True
) -> Answer:
    """Turn ranked chunks into Hits; with ``context``, attach the neighbouring paragraphs."""
    hits = []
    for item in scored:
        chunk = item.chunk
        start, end = answering_sentence(chunk.text, item.span, item.spans)
        before = after = None
        if context:
            prev = store.db.chunk_at(chunk.article_id, chunk.ordinal - 1)
            nxt = store.db.chunk_at(chunk.article_id, chunk.ordinal + 1)
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
                source=chunk.source,
                url=chunk.url,
                published=chunk.published,
                before=before,
                after=after,
            )
        )
    return Answer(question=question, hits=tuple(hits))
