"""The Store protocol: everything search, answer and the service may ask of an index.

A backend (the embedded FAISS segments + SQLite store today; Milvus next) implements it,
and every backend passes the one contract test (tests/test_store_contract.py). Nothing
above ``store/`` knows which backend it has.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from khabar.records import Article, Chunk
from khabar.store.metadata import ArticleRow, StoredChunk, StoredSpan
from khabar.store.quote_rows import QuoteRow

Ids = npt.NDArray[np.int64]
Matrix = npt.NDArray[np.float32]
Scores = npt.NDArray[np.float64]

SPACE_FLOOR = 0.05


@dataclass(frozen=True)
class EncoderInfo:
    """What an index records of the encoder that built it."""

    name: str
    fingerprint: str
    dim: int
    # How a question's vector weighs its blocks of dimensions against a passage's, as
    # (width, weight) pairs in order; empty: every dimension 1. A paired encoder's second
    # model counts ``second_weight`` times (embed/paired.py). Only the approximate index's
    # clustering uses it (``question_space``), never a score.
    question_weights: tuple[tuple[int, float], ...] = ()

    def question_space(self) -> Matrix | None:
        """The scale per dimension of ``question_weights`` (weights below SPACE_FLOOR
        raised to it, so that a weight raised later still finds its lists), or None when
        there are none or they do not add up to ``dim``."""
        if not self.question_weights or sum(w for w, _ in self.question_weights) != self.dim:
            return None
        blocks = [np.full(w, max(x, SPACE_FLOOR), np.float32) for w, x in self.question_weights]
        return np.concatenate(blocks)

    def weights_record(self) -> list[list[float]]:
        """``question_weights`` as a manifest or a Milvus meta row keeps them (JSON lists)."""
        return [[w, x] for w, x in self.question_weights]

    @staticmethod
    def weights_from_record(record: Sequence[Sequence[float]]) -> tuple[tuple[int, float], ...]:
        """The inverse of ``weights_record``."""
        return tuple((int(w), float(x)) for w, x in record)


@dataclass(frozen=True)
class PendingArticle:
    """An article ready to be written: its chunks and their vectors."""

    article: Article
    chunks: Sequence[Chunk]
    chunk_vectors: Matrix
    span_vectors: Matrix  # one row per span, chunks in order
    # the article's content hash when it is not its text's (an article copied from another
    # index, whose text is its chunks: `khabar migrate`)
    stored_hash: str = ""

    @property
    def content_hash(self) -> str:
        """The hash the index records of the article (``khabar sync`` compares it)."""
        return self.stored_hash or self.article.content_hash


@dataclass(frozen=True)
class Filter:
    """Which articles a question may be answered from (None: no condition of that kind).

    ``source`` matches articles whose source contains it (any case); ``since`` and
    ``until`` are ISO days, inclusive, on the publication day (an article without a date
    never matches a date condition); ``article_ids`` names articles."""

    article_ids: frozenset[str] | None = None
    source: str | None = None
    since: str | None = None
    until: str | None = None

    @property
    def empty(self) -> bool:
        """True when the filter lets every article through."""
        return self.article_ids is None and not (self.source or self.since or self.until)


class Store(Protocol):
    """One index: articles, their chunks and spans, vectors and the lexical leg.

    Reads may come from several threads at once (a question's lexical leg runs on a worker
    thread beside its dense legs: ``search.py``)."""

    location: str  # the folder or address, for messages
    rebuilt: list[str]  # what the last open rebuilt (repair)
    notes: list[str]  # what opening did that a person should hear of (a migration)
    read_only: bool  # opened for questions only: a write is a ReadOnlyIndexError

    # -- writing --
    def check_writable(self, what: str = "changed") -> None:
        """A ReadOnlyIndexError saying the index cannot be ``what``, when it is read-only."""

    def write(self, add: Sequence[PendingArticle], remove: Sequence[str] = ()) -> None:
        """Remove articles and add others in one step: all of it lands, or none of it. An
        added article replaces the one with its id, if any."""

    def compact(self) -> dict[str, Any]:
        """Merge segments and drop removed vectors now; returns what was done."""

    # -- freshness and life --
    def refresh(self) -> None:
        """Pick up what another process wrote (cheap when nothing changed)."""

    def reading(self) -> contextlib.AbstractContextManager[None]:
        """Hold while using vectors across calls (a writer in this process swaps them)."""

    def close(self) -> None:
        """Release files and connections."""

    # -- dense legs --
    def search_chunks(
        self, query: Matrix, k: int, where: Filter | None = None
    ) -> tuple[Ids, Scores]:
        """About ``k`` best chunk ids by inner product (live rows only), best first; with
        ``where``, the best of the chunks it lets through (filtered inside the search, so
        that a filter costs no deeper search)."""

    def search_spans(self, query: Matrix, k: int, where: Filter | None = None) -> tuple[Ids, Ids]:
        """About ``k`` best spans: (span ids, their chunk ids), live rows only, within
        ``where`` as ``search_chunks``."""

    def chunk_vectors(self, ids: Ids) -> tuple[Ids, Matrix]:
        """The chunk ids of ``ids`` that have vectors, and their vectors."""

    def span_vectors(self, ids: Ids) -> tuple[Ids, Matrix]:
        """The same for span ids."""

    # -- lexical leg --
    def lexical_top(self, terms: Sequence[str], k: int, where: Filter) -> tuple[Ids, Scores]:
        """The ``k`` chunks with the best BM25 for ``terms`` (within ``where``), best first."""

    def lexical_scores(self, terms: Sequence[str], ids: Ids) -> Scores:
        """BM25 of each of ``ids`` for ``terms`` (0 where none matches)."""

    # -- metadata --
    def article(self, article_id: str) -> ArticleRow | None:
        """One article, or None."""

    def article_by_url(self, url: str) -> ArticleRow | None:
        """The article with this URL, or None."""

    def articles(self) -> list[ArticleRow]:
        """Every article, in the order they were added."""

    def quote_names(self) -> list[tuple[str, str]]:
        """Every distinct (speaker, name) quoted in the index."""
        ...

    def quotes(
        self, speakers: Sequence[str] | None, since: str | None, limit: int
    ) -> list[QuoteRow]:
        """Quotes newest first (undated last), of ``speakers`` (as recorded) if given, from
        articles published on or after ``since`` if given, at most ``limit``."""
        ...

    def sources(self) -> list[str]:
        """The distinct sources, sorted."""

    def counts(self) -> tuple[int, int, int]:
        """(articles, chunks, spans)."""

    def count_matching(self, where: Filter) -> int:
        """How many articles ``where`` lets through."""

    def chunk_ids_matching(self, where: Filter, limit: int) -> Ids | None:
        """Every chunk id ``where`` lets through, or None when there are more than ``limit``."""

    def keep_matching(self, ids: Ids, where: Filter) -> Ids:
        """The chunk ids of ``ids`` (live) that ``where`` lets through, in order."""

    def chunk_ids_of(self, article_ids: Sequence[str]) -> Ids:
        """The chunk ids of the given articles."""

    def chunks(self, ids: Sequence[int]) -> dict[int, StoredChunk]:
        """Chunks by id with their article's citation fields (unknown ids left out)."""

    def chunk_at(self, article_id: str, ordinal: int) -> StoredChunk | None:
        """The chunk of ``article_id`` at position ``ordinal``, or None."""

    def spans_of_chunks(self, ids: Sequence[int]) -> list[StoredSpan]:
        """Every span of the given chunks."""

    def span_table(self, chunk_ids: Sequence[int], sentences_only: bool = False) -> Ids:
        """Rows (span id, chunk id) of every span of the given chunks (of their sentences
        alone, with ``sentences_only``)."""

    def describe(self) -> dict[str, Any]:
        """What the index is: format, encoder, layout, segments, size on disk."""


@contextlib.contextmanager
def nothing_held() -> Iterator[None]:
    """A ``reading`` for backends that need no lock."""
    yield


__all__ = [
    "ArticleRow",
    "EncoderInfo",
    "Filter",
    "PendingArticle",
    "Store",
    "StoredChunk",
    "StoredSpan",
]
