"""Retrieval: dense paragraph vectors and dense span (sentence/clause) vectors, fused.

A paragraph's score is the mean of its own cosine with the question and the best
cosine of any of its spans. The span leg rewards a paragraph that holds one
sentence or clause that answers the question even when the rest of the paragraph
is about something else — the usual shape of a news paragraph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from khabar.embed.base import Vectors
from khabar.store import IndexStore, StoredChunk, StoredSpan


@dataclass(frozen=True)
class SearchSettings:
    """Knobs of the ranking; the defaults are the measured best (see README)."""

    chunk_candidates: int = 64
    span_candidates: int = 256
    span_weight: float = 1.0


@dataclass(frozen=True)
class ScoredChunk:
    """A chunk with its fused score and the span that answered best."""

    chunk: StoredChunk
    score: float
    paragraph_score: float
    span: StoredSpan | None
    span_score: float
    spans: tuple[StoredSpan, ...]


def search(
    store: IndexStore, query: Vectors, k: int, settings: SearchSettings | None = None
) -> list[ScoredChunk]:
    """The ``k`` best chunks for one query vector, best first."""
    settings = settings or SearchSettings()
    q = np.asarray(query, dtype=np.float32).reshape(-1)
    with store.reading():
        return _search(store, q, k, settings)


def _search(store: IndexStore, q: Vectors, k: int, settings: SearchSettings) -> list[ScoredChunk]:
    chunk_ids, _ = store.chunk_index.search(q, max(settings.chunk_candidates, k))
    span_ids, _ = store.span_index.search(q, settings.span_candidates)
    owners = store.db.span_owners(int(i) for i in span_ids)
    candidates = np.unique(
        np.concatenate([chunk_ids, np.fromiter(owners.values(), dtype=np.int64, count=len(owners))])
    )
    if not len(candidates):
        return []
    rows = store.db.chunks(int(i) for i in candidates)
    # Another process may have removed rows since our vectors were loaded: keep the live ones.
    live = np.asarray([i for i in candidates if int(i) in rows], dtype=np.int64)
    present = np.intersect1d(live, store.chunk_index.ids(), assume_unique=True)
    paragraph_scores = dict(
        zip(present.tolist(), (store.chunk_index.vectors(present) @ q).tolist(), strict=True)
    )

    spans = store.db.spans_of_chunks(paragraph_scores)
    span_array = np.asarray([s.id for s in spans], dtype=np.int64)
    span_present = set(np.intersect1d(span_array, store.span_index.ids()).tolist())
    spans = [s for s in spans if s.id in span_present]
    span_scores = (
        store.span_index.vectors(np.asarray([s.id for s in spans], dtype=np.int64)) @ q
        if spans
        else np.empty(0, dtype=np.float32)
    )
    by_chunk: dict[int, list[tuple[StoredSpan, float]]] = {}
    for span, score in zip(spans, span_scores.tolist(), strict=True):
        by_chunk.setdefault(span.chunk_id, []).append((span, score))

    scored: list[ScoredChunk] = []
    w = settings.span_weight
    for chunk_id, p_score in paragraph_scores.items():
        own = by_chunk.get(chunk_id, [])
        best_span, best = max(own, key=lambda pair: pair[1]) if own else (None, p_score)
        fused = (p_score + w * best) / (1.0 + w)
        scored.append(
            ScoredChunk(rows[chunk_id], fused, p_score, best_span, best, tuple(s for s, _ in own))
        )
    scored.sort(key=lambda s: (-s.score, s.chunk.id))
    return scored[:k]
