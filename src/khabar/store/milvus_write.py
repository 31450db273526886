"""Writing a Milvus store: adds, removes, repair's sweep and compaction.

An article is written as: any old rows of its id deleted (its article row first), its
chunks, spans and postings inserted, then its article row, the mark that makes it
searchable. A write takes its articles in batches of WRITE_BATCH: first every read the
batch needs (which of them exist, free keys, the term count), then the rows of all of
them, then all their marks; a write killed midway leaves no article of the batch visible,
and the next add of them replaces what it left.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from khabar.errors import IndexWriteError, ReadOnlyIndexError, StoreUnavailableError
from khabar.store.base import PendingArticle
from khabar.store.metadata import ArticleRow
from khabar.store.milvus_client import BATCH, KINDS
from khabar.store.milvus_expr import (
    CHUNK_BITS,
    article_row_json,
    article_rows,
    check_sizes,
    chunk_id,
    literal,
    new_key,
)
from khabar.store.milvus_rows import STRONG_SECONDS, MilvusRows
from khabar.text.tokenize import terms as terms_of

WRITE_BATCH = 64  # articles written together: their reads first, then their rows, then marks


class MilvusWriting(MilvusRows):
    """The writes of a Milvus store."""

    def check_writable(self, what: str = "changed") -> None:
        """A ReadOnlyIndexError when this store was opened for questions only."""
        if self.read_only:
            raise ReadOnlyIndexError(
                f"{self.location}: opened read-only; it cannot be {what} from this process"
            )

    def write(self, add: Sequence[PendingArticle], remove: Sequence[str] = ()) -> None:
        """Remove articles and add others; each article lands whole or not at all (Milvus
        has no transaction over several rows, so a batch is not one step)."""
        self.check_writable()
        with self._lock:
            self._writing = True
            try:
                for article_id in remove:
                    self._delete(article_id)
                latest = {p.article.id: p for p in add}  # an article named twice: its last
                batch = list(latest.values())
                for start in range(0, len(batch), WRITE_BATCH):
                    self._insert(batch[start : start + WRITE_BATCH])
            finally:
                self._writing = False
                self.refresh()
                self._strong_until = time.monotonic() + STRONG_SECONDS

    def _delete(self, article_id: str, known: bool = False) -> None:
        """Remove an article's row (it stops being searchable), then its other rows, by
        primary key (Milvus deletes by another field only after a query of its own, some
        250 ms on Milvus 2.3). Rows are inserted chunks first and deleted chunks last, so
        an article with no chunk row has no other rows either. ``known``: the caller found
        rows of it (no need to look for them)."""
        old = self.article(article_id)
        if old is not None:
            self.client.delete(self.names["articles"], ids=[article_id])
            self._cache.rows.pop(article_id, None)
        condition = f"article_id == {literal(article_id)}"
        if known or old is not None or self._all("chunks", condition, ["id"], 1):
            for kind in ("postings", "spans", "chunks"):
                ids = [int(r["id"]) for r in self._all(kind, condition, ["id"])]
                for first in range(0, len(ids), BATCH):
                    self.client.delete(self.names[kind], ids=ids[first : first + BATCH])
        if old is not None:
            self._forget_source(old.source)

    def _insert(self, batch: Sequence[PendingArticle]) -> None:
        """Write the articles of ``batch``: what each replaces removed, then every row of
        every one of them, then their article rows (the marks that make them searchable),
        in as few calls as the rows allow. Each of Milvus's reads waits for this session's
        last write to be visible (some 170 ms on Milvus 2.3), so the batch reads what it
        needs (which articles exist, free keys, the term count) before it writes."""
        for pending in batch:
            check_sizes(pending.article.id, len(pending.chunks), len(pending.span_vectors))
        ids = [p.article.id for p in batch]
        try:
            existing = self._keyed(ids)
            with_rows = {
                str(r["article_id"])
                for r in self._rows_in("chunks", "article_id", ids, ["article_id"])
            }
            for article_id in ids:
                if existing.get(article_id) is not None or article_id in with_rows:
                    self._delete(article_id, known=article_id in with_rows)
            keys = self._free_keys(len(batch))
            terms = int(self._meta("terms") or 0)
            rows: dict[str, list[dict[str, Any]]] = {"chunks": [], "spans": [], "postings": []}
            marks = []
            for pending, key in zip(batch, keys, strict=True):
                chunk_terms = [terms_of(c.embed_text) for c in pending.chunks]
                adding = sum(map(len, chunk_terms))
                average = self._average_terms(adding, len(chunk_terms))
                chunk_rows, span_rows, posting_rows = article_rows(
                    pending, key, chunk_terms, average
                )
                rows["chunks"] += chunk_rows
                rows["spans"] += span_rows
                rows["postings"] += posting_rows
                terms += adding
                marks.append(self._mark(pending, key))
            for kind, kind_rows in rows.items():
                for start in range(0, len(kind_rows), BATCH):
                    self.client.insert(self.names[kind], kind_rows[start : start + BATCH])
            # Read, add, write: two servers adding at once may lose one count; that changes
            # BM25's average chunk length a little, never which chunks match.
            meta = {"terms": str(terms)} | {"source:" + p.article.source: "1" for p in batch}
            self._set_meta(meta)
            self.client.insert(self.names["articles"], marks)  # from here on, searchable
        except StoreUnavailableError as exc:
            named = ids[0] if len(ids) == 1 else f"{ids[0]} and {len(ids) - 1} others"
            raise IndexWriteError(
                f"{named}: not added ({exc}); none of them is searchable, and the next add of "
                "them replaces what was written"
            ) from exc

    @staticmethod
    def _mark(pending: PendingArticle, key: int) -> dict[str, Any]:
        """An article's row in the articles collection: written last, it makes the article
        searchable."""
        article = pending.article
        row = ArticleRow(
            article.id,
            article.title,
            article.source,
            article.url,
            article.published,
            pending.content_hash,
            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            len({c.paragraph for c in pending.chunks}),
            article.origin,
            article.author,
        )
        return {
            "id": article.id,
            "source": article.source,
            "published": article.published or "",
            "url": article.url or "",
            "seq": time.time_ns(),
            "key": key,
            "row": article_row_json(row, pending.chunks),
            "vector": [0.0, 0.0],
        }

    def _free_keys(self, n: int) -> list[int]:
        """``n`` distinct article keys that no chunk row has yet (one query for all)."""
        keys: list[int] = []
        while len(keys) < n:
            fresh = list({new_key() for _ in range(n - len(keys))} - set(keys))
            ranges = [f"(id >= {chunk_id(k, 0)} and id < {chunk_id(k + 1, 0)})" for k in fresh]
            taken = self._all("chunks", " or ".join(ranges), ["id"])
            used = {int(r["id"]) >> CHUNK_BITS for r in taken}
            keys += [k for k in fresh if k not in used]
        return keys

    def _average_terms(self, adding: int, chunks: int) -> float:
        total, count = self._term_totals()
        return max((total + adding) / max(count + chunks, 1), 1.0)

    def _term_totals(self) -> tuple[int, int]:
        cache = self._cache
        if cache.totals is None:
            cache.totals = int(self._meta("terms") or 0), self._count("chunks")
        return cache.totals

    def _forget_source(self, source: str) -> None:
        if not self._all("articles", f"source == {literal(source)}", ["id"], 1):
            self.client.delete(self.names["meta"], ids=["source:" + source])

    def sweep(self) -> None:
        """Remove the rows of articles that have no article row (adds cut short), noting
        in ``rebuilt`` what was removed (`khabar repair`)."""
        self.check_writable("repaired")
        with self._lock:
            owners = {str(r["article_id"]) for r in self._all("chunks", "", ["article_id"])}
            left = sorted(owners - self._whole(owners))
            for article_id in left:
                self._delete(article_id)
        if left:
            self.rebuilt.append(
                f"removed the rows of {len(left)} articles whose add was cut short "
                f"({', '.join(left[:5])}{', …' if len(left) > 5 else ''}); add them again"
            )

    def compact(self) -> dict[str, Any]:
        """Ask Milvus to compact every collection (drop deleted rows, merge segments)."""
        self.check_writable("compacted")
        for kind in KINDS:
            self.client.compact(self.names[kind])
        return {"milvus": "compaction requested for " + ", ".join(self.names.values())}
