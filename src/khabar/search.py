"""Retrieval: three legs, fused.

- dense paragraph vectors (section heading + paragraph),
- dense span vectors (sentences, and clauses of long sentences): a paragraph's
  dense score is the mean of its own cosine and its best span's cosine, which
  rewards a paragraph holding one sentence or clause that answers the question;
- lexical BM25 over Arabic-normalised, lightly stemmed terms, weighted by the
  question's script: an Arabic question shares words with an Arabic paragraph,
  an English one mostly does not, so its lexical weight is much lower.

Fusion is score interpolation: dense + weight × (BM25 / the question's best BM25);
reciprocal-rank fusion is available for comparison (``fusion="rrf"``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt

from khabar.embed.base import Vectors
from khabar.store import Filter, Store, StoredChunk, StoredSpan
from khabar.text.tokenize import arabic_share, terms

RRF_K = 60
# A filter that leaves at most this many chunks is searched exhaustively (exact); a wider
# one keeps the candidate search, the store applying the filter inside it.
EXHAUSTIVE_CHUNKS = 4096
# Threads for the legs of questions asked at once (a server answers up to 8), used from this
# many paragraphs on.
LEXICAL_WORKERS = 8
PARALLEL_CHUNKS = 20_000
T = TypeVar("T")
Floats = npt.NDArray[np.float64]
Ids = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SearchSettings:
    """Knobs of the ranking; the defaults are the measured best (README, bench/quality.py)."""

    chunk_candidates: int = 64
    span_candidates: int = 256
    lexical_candidates: int = 64
    span_weight: float = 1.0
    use_clauses: bool = True
    lexical_weight_arabic: float = 0.1
    lexical_weight_other: float = 0.01
    fusion: Literal["interpolate", "rrf"] = "interpolate"

    def lexical_weight(self, question: str) -> float:
        """The lexical weight for this question, by its script."""
        if arabic_share(question) >= 0.5:
            return self.lexical_weight_arabic
        return self.lexical_weight_other


@dataclass(frozen=True)
class ScoredChunk:
    """A chunk with its fused score, its legs' scores, and the span that answered best."""

    chunk: StoredChunk
    score: float
    dense_score: float
    paragraph_score: float
    span: StoredSpan | None
    span_score: float
    lexical_score: float
    spans: tuple[StoredSpan, ...]
    span_scores: tuple[float | None, ...] = ()  # each span's cosine (None: no vector)


@dataclass(frozen=True)
class Ranking:
    """Every candidate's scores, as parallel arrays (before cutting to the top k)."""

    ids: Ids
    score: Floats
    dense: Floats
    paragraph: Floats
    span: Floats
    span_id: Ids  # -1 where the chunk has no span
    lexical: Floats
    scored_spans: Ids = field(default_factory=lambda: np.empty(0, dtype=np.int64))  # ascending
    span_cosines: Floats = field(default_factory=lambda: np.empty(0))  # their cosines


def quiet_blas() -> None:
    """Keep NumPy's (and FAISS's) BLAS to one thread in this process (``Khabar.open`` does).

    The encoder engine runs on its own threads across every core; BLAS threads left
    spinning after a search's small matrix products steal those cores and the other legs'.
    Measured: 46 → 22 ms median on XQuAD questions; at a million paragraphs a question's
    CPU time 359 → 195 ms (wall 191 → 129 ms median), 2 cores.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def search(
    store: Store,
    query: Vectors,
    k: int,
    settings: SearchSettings | None = None,
    question: str = "",
    exclude: frozenset[str] = frozenset(),
    where: Filter | None = None,
) -> list[ScoredChunk]:
    """The ``k`` best chunks for one question (its vector and, for the lexical leg, its text).

    ``exclude`` names articles to leave out, as if they were not in the index (used to
    calibrate the "the articles don't say" signal); ``where`` restricts the search to the
    articles a filter lets through (a narrow filter has every chunk of them scored).
    """
    settings = settings or SearchSettings()
    q = np.asarray(query, dtype=np.float32).reshape(-1)
    with store.reading():
        ranking = rank(store, q, question, settings, exclude, where or Filter())
        order = np.lexsort((ranking.ids, -ranking.score))[:k]
        return _materialise(store, ranking, order)


def rank(
    store: Store,
    q: Vectors,
    question: str,
    settings: SearchSettings,
    exclude: frozenset[str] = frozenset(),
    where: Filter | None = None,
) -> Ranking:
    """Score every candidate chunk by every leg and fuse (unsorted).

    Every step costs what the question's candidates cost, not what the index holds: the
    dense candidates come from the store's (approximate, for large indexes) search, the
    lexical ones from its BM25 top, a filter is applied inside those searches (or, when it
    leaves few chunks, gives them all)."""
    where = where or Filter()
    excluded = store.chunk_ids_of(sorted(exclude)) if exclude else np.empty(0, np.int64)
    allowed = None
    if not where.empty:
        allowed = store.chunk_ids_matching(where, EXHAUSTIVE_CHUNKS)
    weight = settings.lexical_weight(question)
    query_terms = terms(question) if weight > 0 and question else []
    # On a large index the lexical leg (SQLite) and the paragraph leg (FAISS) run on worker
    # threads while this one runs the span leg: SQLite and FAISS release the GIL while they
    # search, so on two cores a question waits for about the slowest leg, not for all three
    # (bench/scale.py). A small index's legs take a few milliseconds, less than handing work
    # to a thread can cost.
    submit = _workers().submit if store.counts()[1] >= PARALLEL_CHUNKS else _now
    lexical = submit(
        store.lexical_top, query_terms, settings.lexical_candidates + len(excluded), where
    )
    use_spans = settings.span_weight > 0
    if allowed is None:
        n_chunks = settings.chunk_candidates + len(excluded)
        paragraphs = submit(store.search_chunks, q, n_chunks, where)
        span_owners = np.empty(0, dtype=np.int64)
        if use_spans:
            n_spans = settings.span_candidates + 8 * len(excluded)
            span_owners = store.search_spans(q, n_spans, where)[1]
        chunk_ids = paragraphs.result()[0]
    lexical_ids, lexical_top = lexical.result()
    keep = ~np.isin(lexical_ids, excluded)
    lexical_ids, lexical_top = lexical_ids[keep], lexical_top[keep]
    best_lexical = float(lexical_top[0]) if len(lexical_top) else 0.0
    if allowed is not None:
        candidates = allowed  # a narrow filter: score every chunk it may return
    else:
        candidates = np.unique(
            np.concatenate(
                [chunk_ids, span_owners, lexical_ids[: settings.lexical_candidates]]
            ).astype(np.int64)
        )
        if not where.empty:
            candidates = store.keep_matching(candidates, where)
    candidates = np.unique(candidates[~np.isin(candidates, excluded)])
    # Rows another process added after our segments loaded have no vector here yet.
    candidates, vectors = store.chunk_vectors(candidates)
    paragraph = (vectors @ q).astype(np.float64)
    # the candidates' BM25 (SQLite) beside their best spans (FAISS segments)
    scoring = None
    if best_lexical > 0 and len(candidates):
        scoring = submit(store.lexical_scores, query_terms, candidates)

    scored_spans, span_cosines = np.empty(0, dtype=np.int64), np.empty(0)
    if use_spans:
        best_span, best_id, scored_spans, span_cosines = _best_spans(
            store, q, candidates, paragraph, settings.use_clauses
        )
    else:  # paragraph vectors only: the baseline of the benchmarks
        best_span, best_id = paragraph.copy(), np.full(len(candidates), -1, dtype=np.int64)
    w = settings.span_weight
    dense = (paragraph + w * best_span) / (1.0 + w)
    lexical_score = np.zeros(len(candidates))
    if scoring is not None:
        lexical_score = scoring.result() / best_lexical
    if settings.fusion == "rrf":
        score = _reciprocal_rank(dense, lexical_score, weight)
    else:
        score = dense + weight * lexical_score
    return Ranking(
        candidates,
        score,
        dense,
        paragraph,
        best_span,
        best_id,
        lexical_score,
        scored_spans,
        span_cosines,
    )


def _now(fn: Callable[..., T], *args: Any) -> Future[T]:
    """``fn(*args)`` run here, as a finished Future (the small-index path)."""
    done: Future[T] = Future()
    done.set_result(fn(*args))
    return done


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _workers() -> ThreadPoolExecutor:
    """The threads that run a question's lexical and paragraph legs beside its span leg (one
    pool for the process; a server's concurrent questions share it)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=LEXICAL_WORKERS, thread_name_prefix="lexical")
        return _POOL


def _best_spans(
    store: Store, q: Vectors, chunks: Ids, paragraph: Floats, use_clauses: bool
) -> tuple[Floats, Ids, Ids, Floats]:
    """Each chunk's best span cosine and span id (its paragraph cosine and -1 if none), and
    every span scored with its cosine (span ids ascending)."""
    best = paragraph.copy()
    best_id = np.full(len(chunks), -1, dtype=np.int64)
    table = store.span_table(chunks.tolist(), sentences_only=not use_clauses)
    found, vectors = store.span_vectors(table[:, 0])
    table = table[np.isin(table[:, 0], found)]
    if not len(table):
        return best, best_id, np.empty(0, dtype=np.int64), np.empty(0)
    scores = (vectors @ q).astype(np.float64)
    by_id = np.argsort(table[:, 0], kind="stable")
    scored = (table[by_id, 0], scores[by_id])
    order = np.lexsort((-scores, table[:, 1]))  # by chunk, best span first
    owners = table[order, 1]
    first = np.concatenate([[True], owners[1:] != owners[:-1]])
    position = np.searchsorted(chunks, owners[first])
    best[position] = scores[order][first]
    best_id[position] = table[order, 0][first]
    return best, best_id, *scored


def _reciprocal_rank(dense: Floats, lexical: Floats, weight: float) -> Floats:
    """1/(60 + dense rank) + weight/(60 + lexical rank) (lexical only where BM25 > 0)."""
    dense_rank = np.empty(len(dense))
    dense_rank[np.argsort(-dense, kind="stable")] = np.arange(len(dense))
    lexical_rank = np.empty(len(lexical))
    lexical_rank[np.argsort(-lexical, kind="stable")] = np.arange(len(lexical))
    fused = 1.0 / (RRF_K + dense_rank)
    return fused + np.where(lexical > 0, weight / (RRF_K + lexical_rank), 0.0)


def _materialise(store: Store, ranking: Ranking, order: Ids) -> list[ScoredChunk]:
    ids = ranking.ids[order].tolist()
    rows = store.chunks(ids)
    spans_by_chunk: dict[int, list[StoredSpan]] = {}
    for span in store.spans_of_chunks(ids):
        spans_by_chunk.setdefault(span.chunk_id, []).append(span)
    out = []
    for i in order.tolist():
        chunk_id = int(ranking.ids[i])
        if chunk_id not in rows:
            continue
        spans = tuple(spans_by_chunk.get(chunk_id, []))
        best = next((s for s in spans if s.id == int(ranking.span_id[i])), None)
        span_scores = _cosines_of(ranking, spans)
        out.append(
            ScoredChunk(
                chunk=rows[chunk_id],
                score=float(ranking.score[i]),
                dense_score=float(ranking.dense[i]),
                paragraph_score=float(ranking.paragraph[i]),
                span=best,
                span_score=float(ranking.span[i]),
                lexical_score=float(ranking.lexical[i]),
                spans=spans,
                span_scores=span_scores,
            )
        )
    return out


def _cosines_of(ranking: Ranking, spans: tuple[StoredSpan, ...]) -> tuple[float | None, ...]:
    """The cosine ``ranking`` scored each of ``spans`` with (None for a span it did not)."""
    ids = ranking.scored_spans
    if not len(ids) or not spans:
        return tuple(None for _ in spans)
    wanted = np.asarray([s.id for s in spans], dtype=np.int64)
    at = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
    hit = ids[at] == wanted
    return tuple(
        float(ranking.span_cosines[a]) if h else None
        for a, h in zip(at.tolist(), hit.tolist(), strict=True)
    )
