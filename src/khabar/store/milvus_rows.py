"""The rows of a Milvus store: what a store holds (its client, its collections' names, what
one question has read) and the reads everything else is made of.

Every read goes through ``_all`` (one query while the rows fit Milvus's window, an
iterator beyond it) at the consistency ``_level`` gives: Session, which makes a read wait
until this client's last write is visible (some 170 ms on Milvus 2.3, so a write reads all
it needs before it writes), and Strong for a moment after a delete. Vectors are read as
slices of one float32 array (``strict_float32``), not as Python lists of floats.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from khabar.store.base import EncoderInfo, Ids, Matrix
from khabar.store.metadata import ArticleRow
from khabar.store.milvus_client import BATCH, CONSISTENCY, KINDS, WINDOW, Guarded
from khabar.store.milvus_expr import (
    ChunkQuotes,
    both,
    int_list,
    literal,
    read_article_row,
    str_list,
)

STRONG_SECONDS = 1.0  # after a write, how long this store's reads wait for its deletes


@dataclass
class _Cache:
    """What one question reads more than once, kept until the next refresh (the service
    refreshes before every question) or write: articles (whole ones have a row) with their
    keys, chunks read (with their neighbours, for an answer's context), spans by chunk,
    BM25's totals. A refresh makes a new one: questions on other threads keep theirs, and
    each fills it with whole entries only, so that two filling it at once agree."""

    rows: dict[str, tuple[ArticleRow, int] | None] = field(default_factory=dict)
    chunks: dict[int, dict[str, Any]] = field(default_factory=dict)
    spans: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    totals: tuple[int, int] | None = None
    quotes: dict[str, ChunkQuotes] = field(default_factory=dict)  # by article, by ordinal


class MilvusRows:
    """A Milvus store's state and its reads (the Store protocol is ``milvus.MilvusStore``)."""

    def __init__(
        self,
        client: Any,
        address: str,
        version: str,
        prefix: str,
        info: EncoderInfo,
        read_only: bool,
    ) -> None:
        self.location = address
        self.rebuilt: list[str] = []
        self.notes: list[str] = []
        self.read_only = read_only
        self.server_version = version
        self.info = info
        self.prefix = prefix
        self.client = Guarded(client, address)
        self.names = {kind: prefix + kind for kind in KINDS}
        self._cache = _Cache()  # replaced, never emptied, by a refresh
        self._df: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()
        self._strong_until = 0.0
        self._closed = False
        self._writing = False

    def _level(self) -> str:
        """The consistency of a read: Session, but Strong for a moment after this store
        deleted rows (Milvus 2.3 does not make a session wait for its own deletes)."""
        if self._writing or time.monotonic() >= self._strong_until:
            return CONSISTENCY  # a write's own reads need no more (deletes are idempotent)
        return "Strong"

    def refresh(self) -> None:
        """Forget what was cached of the store (other servers write to it too): a new cache,
        so that a question still reading (on another thread) keeps the one it began with."""
        self._cache = _Cache()

    def _all(
        self, kind: str, expression: str, fields: list[str], limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Every row meeting ``expression`` (at most ``limit``), in one query when they fit
        Milvus's window, else through an iterator."""
        window = WINDOW if limit is None else min(limit, WINDOW)
        # vectors as slices of one float32 array, not a list of floats each: pymilvus decodes
        # those one number at a time, two-thirds of a question's time before this
        vectors = {"strict_float32": True} if "vector" in fields else {}
        rows = list(
            self.client.query(
                self.names[kind],
                filter=expression,
                output_fields=fields,
                limit=window,
                consistency_level=self._level(),
                **vectors,
            )
        )
        if len(rows) < window or len(rows) == limit:
            return rows
        iterator = self.client.query_iterator(
            self.names[kind],
            filter=expression,
            output_fields=fields,
            batch_size=4_000,
            limit=-1 if limit is None else limit,
        )
        out: list[dict[str, Any]] = []
        try:
            while batch := iterator.next():
                out.extend(batch)
        finally:
            iterator.close()
        return out

    def _rows_in(
        self,
        kind: str,
        field: str,
        values: Sequence[int] | Sequence[str],
        fields: list[str],
        also: str = "",
    ) -> list[dict[str, Any]]:
        """The rows whose ``field`` is one of ``values`` (and that meet ``also``), asking
        for BATCH values at a time."""
        quoted = str_list if values and isinstance(values[0], str) else int_list
        out: list[dict[str, Any]] = []
        for start in range(0, len(values), BATCH):
            named = f"{field} in {quoted(values[start : start + BATCH])}"  # type: ignore[arg-type]
            out.extend(self._all(kind, both(named, also) or named, fields))
        return out

    def _by_ids(self, kind: str, ids: Sequence[int] | Ids, fields: list[str]) -> list[Any]:
        return self._rows_in(kind, "id", [int(i) for i in ids], fields)

    def _count(self, kind: str, expression: str = "") -> int:
        rows = self.client.query(
            self.names[kind],
            filter=expression,
            output_fields=["count(*)"],
            consistency_level=self._level(),
        )
        return int(rows[0]["count(*)"]) if rows else 0

    def _meta(self, key: str) -> str | None:
        rows = self._all("meta", f"key == {literal(key)}", ["value"], 1)
        return str(rows[0]["value"]) if rows else None

    def _set_meta(self, values: dict[str, str]) -> None:
        self.client.upsert(
            self.names["meta"],
            [{"key": k, "value": v, "vector": [0.0, 0.0]} for k, v in values.items()],
        )

    def _keyed(self, article_ids: Sequence[str]) -> dict[str, tuple[ArticleRow, int] | None]:
        """Articles with their keys, by id (None: no such article), read once per refresh."""
        cache = self._cache
        missing = sorted({a for a in article_ids if a not in cache.rows})
        found: dict[str, tuple[ArticleRow, int] | None] = dict.fromkeys(missing)
        for r in self._rows_in("articles", "id", missing, ["id", "row", "key"]):
            row, quotes = read_article_row(r["row"])
            found[str(r["id"])] = row, int(r["key"])
            cache.quotes[str(r["id"])] = quotes
        cache.rows.update(found)
        return {a: found[a] if a in found else cache.rows.get(a) for a in article_ids}

    def article(self, article_id: str) -> ArticleRow | None:
        """One article, or None."""
        found = self._keyed([article_id]).get(article_id)
        return None if found is None else found[0]

    def _vectors(
        self, kind: str, ids: Ids, known: dict[int, Any] | None = None
    ) -> tuple[Ids, Matrix]:
        """The ids of ``ids`` that exist, in their order, and their vectors: those in ``known``
        (id → vector, filled in here) as they are, the others read."""
        found = {} if known is None else known
        missing = [i for i in (int(x) for x in ids) if i not in found]
        found.update((int(r["id"]), r["vector"]) for r in self._by_ids(kind, missing, ["vector"]))
        order = [i for i in (int(x) for x in ids) if i in found]
        if not order:
            return id_array(order), np.empty((0, self.info.dim), dtype=np.float32)
        vectors = np.stack([np.asarray(found[i], dtype=np.float32) for i in order])
        return id_array(order), vectors.reshape(len(order), self.info.dim)

    def _spans_rows(self, chunk_ids: Sequence[int]) -> list[dict[str, Any]]:
        """The span rows of the given chunks, chunk by chunk, in order (kept until the next
        refresh: a question reads the candidates' spans, then its answer's)."""
        wanted = [int(i) for i in chunk_ids]
        cache = self._cache
        missing = sorted({c for c in wanted if c not in cache.spans})
        found: dict[int, list[dict[str, Any]]] = {c: [] for c in missing}
        fields = ["id", "chunk_id", "start", "end", "kind", "vector"]
        for r in self._rows_in("spans", "chunk_id", missing, fields):
            found[int(r["chunk_id"])].append(r)
        cache.spans.update(found)
        known = {c: found[c] if c in found else cache.spans.get(c, []) for c in wanted}
        return [r for c in known for r in sorted(known[c], key=row_id)]

    def _whole(self, article_ids: set[str]) -> set[str]:
        """Which of ``article_ids`` have their article row (are wholly written)."""
        return {a for a, found in self._keyed(sorted(article_ids)).items() if found}


def row_id(row: dict[str, Any]) -> int:
    return int(row["id"])


def id_array(values: Any) -> Ids:
    return np.fromiter((int(v) for v in values), dtype=np.int64)
