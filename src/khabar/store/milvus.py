"""The Milvus backend of the Store protocol: everything in Milvus, nothing on a server's disk.

One client (``milvus_client.py``, the only module that imports ``pymilvus``, the ``milvus``
extra) talks the same way to a Milvus Lite file (``./archive.db``), a Milvus standalone
server and a cluster (``http://HOST:19530``). Five collections share a prefix (the
``milvus_collection_prefix`` setting):

- ``meta``: the format, the encoder that built the store, the distinct sources and the
  terms counted over all chunks (BM25's average chunk length);
- ``articles``: one row per article, its citation fields as JSON: the row is written
  *last*, so it is the mark that the article is whole;
- ``chunks`` and ``spans``: the paragraphs' and sentences' text, offsets, vectors and the
  fields a filter needs (article id, source, publication date), so that a filter is an
  expression Milvus applies inside the search;
- ``postings``: khabar's own lexical leg, one row per (term, chunk): the terms are
  khabar's (Arabic-normalised, lightly stemmed), as the embedded store indexes them.
  Milvus 2.3 has no BM25 of its own; a posting's 2-dimensional vector holds its term's
  share of the chunk's BM25, so that a search with the filter ``term == t`` gives a term's
  best chunks, which are then scored exactly from their stored terms (``lexical.py``).

Several khabar servers share one Milvus: every row id is an article's random key and the
row's place in it (``milvus_expr.py``), so no counter lives on any server. Reads use
Milvus's Session consistency: a server sees its own writes at once and the others' within
about a second (Strong reads cost some 250 ms each on Milvus 2.3).

Writes are ``milvus_write.py`` (an article's rows first, its article row last), reads of
rows ``milvus_rows.py``; this module is the Store protocol over them. Every search drops
the rows of articles without an article row, so an add killed midway leaves nothing
visible and the next add of the article replaces what it left.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from khabar.config import DEFAULT_PREFIX
from khabar.errors import EncoderMismatchError, IndexFormatError, IndexNotFoundError
from khabar.records import Quote
from khabar.store import lexical
from khabar.store.base import EncoderInfo, Filter, Ids, Matrix, Scores, nothing_held
from khabar.store.metadata import ArticleRow, StoredChunk, StoredSpan
from khabar.store.milvus_client import KINDS, WINDOW, connect, create_collections, release
from khabar.store.milvus_expr import (
    CHUNK_BITS,
    both,
    chunk_id,
    filter_expression,
    literal,
    read_article_row,
    str_list,
    term_key,
)
from khabar.store.milvus_rows import id_array, row_id
from khabar.store.milvus_write import MilvusWriting
from khabar.store.quote_rows import QuoteRow

FORMAT = 1
DF_SECONDS = 60.0  # how long a term's chunk count is kept (news terms recur)
POSTING_FIELDS = ["chunk_id", "article_id"]
COUNT_WINDOW = 2_048  # postings a question's terms are counted from in one query, at most


class MilvusStore(MilvusWriting):
    """The Store protocol over one Milvus (Lite file, standalone server or cluster)."""

    # -- opening ------------------------------------------------------------
    @classmethod
    def open(
        cls,
        address: str,
        info: EncoderInfo,
        *,
        token: str = "",
        prefix: str = DEFAULT_PREFIX,
        read_only: bool = False,
        create: bool = True,
        khabar_version: str = "",
    ) -> MilvusStore:
        """Open (or, with ``create``, make) the khabar collections under ``prefix`` at
        ``address``. The encoder must be the one that built them (EncoderMismatchError), the
        format not newer than this khabar's (IndexFormatError); a missing store without
        ``create`` is an IndexNotFoundError."""
        client, version = connect(address, token)
        store = cls(client, address, version, prefix, info, read_only)
        recorded = store.recorded()
        if recorded is None:
            if not create or read_only:
                raise IndexNotFoundError(
                    f"{address}: no khabar store with the collection prefix {prefix!r} here; "
                    f"check --store (KHABAR_STORE) and milvus_collection_prefix, or create it "
                    f"with `khabar add PATH --store {address}`"
                )
            store._create(khabar_version)
        else:
            store._check(recorded)
            store._load()
        return store

    def recorded(self) -> dict[str, Any] | None:
        """What the meta collection records (format, encoder), or None without one."""
        if not self.client.has_collection(self.names["meta"]):
            return None
        if not self.client.list_indexes(self.names["meta"]):
            return None  # another khabar is making the store this moment (no index yet)
        self.client.load_collection(self.names["meta"])
        rows = self._all("meta", 'key in ["format", "encoder", "khabar"]', ["key", "value"])
        found = {str(r["key"]): str(r["value"]) for r in rows}
        if "format" not in found:
            return None
        return {
            "format": int(found["format"]),
            "encoder": json.loads(found.get("encoder", "{}")),
            "khabar": found.get("khabar", ""),
        }

    def _check(self, recorded: dict[str, Any]) -> None:
        if recorded["format"] > FORMAT:
            raise IndexFormatError(
                f"{self.location}: the store under prefix {self.prefix!r} was written by a "
                f"newer khabar ({recorded['khabar'] or 'format ' + str(recorded['format'])}); "
                "upgrade khabar to use it"
            )
        encoder = recorded["encoder"]
        if (encoder.get("name"), encoder.get("fingerprint"), encoder.get("dim")) != (
            self.info.name,
            self.info.fingerprint,
            self.info.dim,
        ):
            raise EncoderMismatchError(
                f"{self.location}: the store under prefix {self.prefix!r} was built with "
                f"{encoder.get('name')} (dim {encoder.get('dim')}), not {self.info.name} "
                f"(dim {self.info.dim}); open it with the model that built it, or choose "
                "another milvus_collection_prefix for a new store"
            )

    def _create(self, khabar_version: str) -> None:
        create_collections(self.client, self.names, self.info.dim, self.server_version)
        encoder: dict[str, Any] = {"name": self.info.name, "fingerprint": self.info.fingerprint}
        encoder["dim"] = self.info.dim
        encoder["question_weights"] = self.info.weights_record()
        self._set_meta({"encoder": json.dumps(encoder), "khabar": khabar_version, "terms": "0"})
        self._set_meta({"format": str(FORMAT)})  # the mark that the store is whole

    def _load(self) -> None:
        for kind in KINDS:
            self.client.load_collection(self.names[kind])

    # -- writing ------------------------------------------------------------

    # -- freshness and life -------------------------------------------------

    def reading(self) -> contextlib.AbstractContextManager[None]:
        """Nothing to hold: Milvus serves reads beside writes."""
        return nothing_held()

    def close(self) -> None:
        """Close the client (and, for the last store of a Milvus Lite file in this process,
        its server thread and lock)."""
        if not self._closed:
            self._closed = True
            release(self.client._client, self.location)

    # -- dense legs ---------------------------------------------------------
    def _where(self, where: Filter | None, id_field: str = "article_id") -> str | None:
        if where is None or where.empty:
            return ""
        return filter_expression(where, self.sources() if where.source else (), id_field=id_field)

    def _search(
        self, kind: str, query: Matrix, k: int, where: Filter | None, fields: list[str]
    ) -> list[dict[str, Any]]:
        expression = self._where(where)
        if expression is None or k <= 0:
            return []
        vector = np.asarray(query, dtype=np.float32).reshape(-1).tolist()
        limit = min(k, WINDOW)
        hits = self.client.search(
            self.names[kind],
            [vector],
            limit=limit,
            filter=expression,
            output_fields=["article_id", *fields],
            search_params={"metric_type": "IP", "params": {"ef": max(limit, 128)}},
            consistency_level=self._level(),
        )[0]
        rows = [{"id": int(h["id"]), "score": float(h["distance"]), **h["entity"]} for h in hits]
        whole = self._whole({str(r["article_id"]) for r in rows})
        return [r for r in rows if r["article_id"] in whole]

    def search_chunks(
        self, query: Matrix, k: int, where: Filter | None = None
    ) -> tuple[Ids, Scores]:
        """The best chunks by inner product, within ``where`` (a Milvus expression)."""
        rows = self._search("chunks", query, k, where, [])
        return id_array(r["id"] for r in rows), np.asarray(
            [r["score"] for r in rows], dtype=np.float64
        )

    def search_spans(self, query: Matrix, k: int, where: Filter | None = None) -> tuple[Ids, Ids]:
        """The best spans and their chunks, within ``where``."""
        rows = self._search("spans", query, k, where, ["chunk_id"])
        return id_array(r["id"] for r in rows), id_array(r["chunk_id"] for r in rows)

    def chunk_vectors(self, ids: Ids) -> tuple[Ids, Matrix]:
        """The chunk ids of ``ids`` that exist, in their order, and their vectors."""
        return self._vectors("chunks", ids)

    def span_vectors(self, ids: Ids) -> tuple[Ids, Matrix]:
        """The same for span ids (those of chunks whose spans this question read already
        come with their rows: a question reads its candidates' spans, then their vectors)."""
        known = {int(r["id"]): r["vector"] for rows in self._cache.spans.values() for r in rows}
        return self._vectors("spans", ids, known)

    # -- lexical leg --------------------------------------------------------
    def lexical_top(self, terms: Sequence[str], k: int, where: Filter) -> tuple[Ids, Scores]:
        """The ``k`` chunks with the best BM25 for ``terms`` within ``where``: each rare term
        proposes its best chunks, all are scored exactly. The terms with no more postings
        than a term proposes give all of theirs in one query; each other term's best come
        from a search of its postings (by their BM25 share)."""
        expression = self._where(where)
        frequencies = self._frequencies(terms)
        if expression is None or not frequencies or k <= 0:
            return id_array([]), np.empty(0)
        depth = min(max(k, lexical.TERM_DEPTH), WINDOW)
        proposing = lexical.proposing_terms(frequencies)
        few = [t for t in proposing if frequencies[t] <= depth]
        rows: list[dict[str, Any]] = []
        if few and sum(frequencies[t] for t in few) < WINDOW:
            named = f"term in {str_list(term_key(t) for t in few)}"
            rows = self._all("postings", both(named, expression) or "", POSTING_FIELDS, WINDOW)
        if len(rows) >= WINDOW:  # more postings than counted a minute ago: term by term
            rows, few = [], []
        for term in (t for t in proposing if t not in few):
            hits = self.client.search(
                self.names["postings"],
                [[1.0, 0.0]],
                limit=depth,
                filter=both(f"term == {literal(term_key(term))}", expression),
                output_fields=POSTING_FIELDS,
                consistency_level=self._level(),
            )[0]
            rows.extend(h["entity"] for h in hits)
        whole = self._whole({str(r["article_id"]) for r in rows})
        ids = id_array(sorted({int(r["chunk_id"]) for r in rows if r["article_id"] in whole}))
        scores = self._bm25(frequencies, ids)
        order = np.lexsort((ids, -scores))[:k]
        order = order[scores[order] > 0]
        return ids[order], scores[order]

    def lexical_scores(self, terms: Sequence[str], ids: Ids) -> Scores:
        """BM25 of each of ``ids`` for ``terms`` (0 where none occurs)."""
        return self._bm25(self._frequencies(terms), ids)

    def _bm25(self, frequencies: dict[str, int], ids: Ids) -> Scores:
        out = np.zeros(len(ids))
        total, chunks = self._term_totals()
        if not frequencies or not len(ids) or not chunks:
            return out
        weights = lexical.idfs(frequencies, chunks)
        average = max(total / chunks, 1e-9)
        joined = {int(r["id"]): str(r["terms"]) for r in self._by_ids("chunks", ids, ["terms"])}
        for i, cid in enumerate(ids.tolist()):
            if cid in joined:
                out[i] = lexical.bm25_of(joined[cid], weights, average)
        return out

    def _frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        """Each term's chunk count (its postings), kept for DF_SECONDS: counted in one query
        of the terms' postings when there are fewer than COUNT_WINDOW, else term by term
        (Milvus counts; reading a large archive's postings of common words would not pay)."""
        now = time.monotonic()
        unique = list(dict.fromkeys(t for t in terms if t))
        stale = [t for t in unique if t not in self._df or now - self._df[t][0] > DF_SECONDS]
        if stale:
            keys = [term_key(t) for t in stale]
            rows = self._all("postings", f"term in {str_list(keys)}", ["term"], COUNT_WINDOW)
            if len(rows) < COUNT_WINDOW:
                counted = Counter(str(r["term"]) for r in rows)
                found = {t: counted[term_key(t)] for t in stale}
            else:
                pairs = zip(stale, keys, strict=True)
                found = {t: self._count("postings", f"term == {literal(k)}") for t, k in pairs}
            self._df.update({t: (now, n) for t, n in found.items()})
        return {t: self._df[t][1] for t in unique if self._df[t][1]}

    # -- metadata -----------------------------------------------------------
    def _articles_where(self, expression: str, limit: int | None = None) -> list[ArticleRow]:
        rows = self._all("articles", expression, ["row", "seq"], limit)
        rows.sort(key=lambda r: int(r["seq"]))
        return [read_article_row(r["row"])[0] for r in rows]

    def article_by_url(self, url: str) -> ArticleRow | None:
        """The article with this URL, or None."""
        rows = self._articles_where(f"url == {literal(url)}", 1)
        return rows[0] if rows else None

    def articles(self) -> list[ArticleRow]:
        """Every article, in the order they were added."""
        return self._articles_where("")

    def sources(self) -> list[str]:
        """The distinct sources, sorted."""
        rows = self._all("meta", 'key like "source:%"', ["key"])
        return sorted(str(r["key"])[len("source:") :] for r in rows)

    def counts(self) -> tuple[int, int, int]:
        """(articles, chunks, spans), as Milvus counts them."""
        return self._count("articles"), self._count("chunks"), self._count("spans")

    def count_matching(self, where: Filter) -> int:
        """How many articles ``where`` lets through."""
        expression = self._where(where, id_field="id")
        return 0 if expression is None else self._count("articles", expression)

    def chunk_ids_matching(self, where: Filter, limit: int) -> Ids | None:
        """Every chunk id ``where`` lets through, or None when there are more than ``limit``."""
        expression = self._where(where)
        if expression is None:
            return id_array([])
        rows = self._all("chunks", expression, ["id", "article_id"], limit + 1)
        if len(rows) > limit:
            return None
        whole = self._whole({str(r["article_id"]) for r in rows})
        return id_array(sorted(int(r["id"]) for r in rows if r["article_id"] in whole))

    def keep_matching(self, ids: Ids, where: Filter) -> Ids:
        """The chunk ids of ``ids`` that exist and ``where`` lets through, in order."""
        expression = self._where(where)
        if expression is None:
            return id_array([])
        wanted = [int(i) for i in ids]
        kept = {row_id(r) for r in self._rows_in("chunks", "id", wanted, ["id"], expression)}
        return id_array(i for i in wanted if i in kept)

    def chunk_ids_of(self, article_ids: Sequence[str]) -> Ids:
        """The chunk ids of the given articles, article by article, in order."""
        wanted = list(article_ids)
        place = {a: i for i, a in enumerate(wanted)}
        rows = self._rows_in("chunks", "article_id", wanted, ["id", "article_id"])
        rows.sort(key=lambda r: (place[str(r["article_id"])], row_id(r)))
        return id_array(row_id(r) for r in rows)

    def chunks(self, ids: Sequence[int]) -> dict[int, StoredChunk]:
        """Chunks by id, with their article's citation fields (unknown ids left out). The
        chunks beside them are read in the same query and kept until the next refresh: an
        answer shows each passage's neighbours (``chunk_at``)."""
        wanted = [int(i) for i in ids]
        cache = self._cache
        missing = [i for i in wanted if i not in cache.chunks]
        read: dict[int, dict[str, Any]] = {}
        if missing:
            around = sorted({n for i in missing for n in (i - 1, i, i + 1) if n >= 0})
            fields = ["id", "article_id", "ordinal", "paragraph", "section", "text"]
            read = {i: {} for i in around}  # {}: no such chunk
            read.update({int(r["id"]): r for r in self._by_ids("chunks", around, fields)})
            cache.chunks.update(read)
        rows = [r for i in wanted if (r := read.get(i) or cache.chunks.get(i))]
        articles = self._keyed(sorted({str(r["article_id"]) for r in rows}))
        found: dict[int, StoredChunk] = {}
        for r in rows:
            owner = articles.get(str(r["article_id"]))
            if owner is None:
                continue  # an article being written or removed
            found[int(r["id"])] = StoredChunk(
                int(r["id"]),
                owner[0].id,
                int(r["ordinal"]),
                int(r["paragraph"]),
                str(r["section"]) or None,
                str(r["text"]),
                owner[0].title,
                owner[0].source,
                owner[0].url,
                owner[0].published,
                owner[0].author,
                cache.quotes.get(owner[0].id, {}).get(int(r["ordinal"]), ()),
            )
        return found

    def quote_names(self) -> list[tuple[str, str]]:
        """Every distinct (speaker, name) quoted in the index (reads every article row)."""
        seen: dict[tuple[str, str], None] = {}
        for r in self._all("articles", "", ["row"]):
            for quotes in read_article_row(r["row"])[1].values():
                for q in quotes:
                    seen.setdefault((q.speaker, q.name), None)
        return list(seen)

    def quotes(
        self, speakers: Sequence[str] | None, since: str | None, limit: int
    ) -> list[QuoteRow]:
        """Quotes newest first (undated last), of ``speakers`` if given, from articles
        published on or after ``since`` if given (reads every article row: Milvus keeps an
        article's quotes in its row)."""
        wanted = None if speakers is None else set(speakers)
        expression = f"published >= {literal(since)}" if since else ""
        picked: list[tuple[ArticleRow, int, int, Quote]] = []
        for r in self._all("articles", expression, ["row", "key"]):
            row, quotes = read_article_row(r["row"])
            for ordinal, held in quotes.items():
                for q in held:
                    if wanted is None or q.speaker in wanted:
                        picked.append((row, int(r["key"]), ordinal, q))
        picked.sort(key=lambda p: (p[2], p[3].start))
        picked.sort(key=lambda p: p[0].published or "", reverse=True)  # undated last
        picked = picked[:limit]
        texts = self.chunks([chunk_id(key, ordinal) for _, key, ordinal, _ in picked])
        out = []
        for row, key, ordinal, q in picked:
            stored = texts.get(chunk_id(key, ordinal))
            if stored is not None:
                out.append(
                    QuoteRow(
                        q,
                        stored.id,
                        row.id,
                        row.title,
                        row.published,
                        stored.paragraph,
                        stored.text,
                        row.source,
                    )
                )
        return out

    def chunk_at(self, article_id: str, ordinal: int) -> StoredChunk | None:
        """The chunk of ``article_id`` at position ``ordinal``, or None (found by its id:
        the article's key and the ordinal)."""
        owner = self._keyed([article_id]).get(article_id)
        if owner is None or not 0 <= ordinal < 1 << CHUNK_BITS:
            return None
        wanted = chunk_id(owner[1], ordinal)
        return self.chunks([wanted]).get(wanted)

    def spans_of_chunks(self, ids: Sequence[int]) -> list[StoredSpan]:
        """Every span of the given chunks, chunk by chunk, in order."""
        return [
            StoredSpan(int(r["id"]), int(r["chunk_id"]), int(r["start"]), int(r["end"]), r["kind"])
            for r in self._spans_rows(ids)
        ]

    def span_table(self, chunk_ids: Sequence[int], sentences_only: bool = False) -> Ids:
        """Rows (span id, chunk id) of every span of the given chunks (of their sentences
        alone, with ``sentences_only``)."""
        rows = [
            (int(r["id"]), int(r["chunk_id"]))
            for r in self._spans_rows(chunk_ids)
            if not sentences_only or r["kind"] == "sentence"
        ]
        return np.asarray(rows, dtype=np.int64).reshape(-1, 2)

    def describe(self) -> dict[str, Any]:
        """What the store is: Milvus's address and version, its collections and index."""
        lite = self.server_version.startswith("milvus_lite")
        size = 0
        if lite:  # a Milvus Lite "file" is a folder
            with contextlib.suppress(OSError):
                size = sum(p.stat().st_size for p in Path(self.location).rglob("*") if p.is_file())
        return {
            "store": "milvus",
            "milvus_version": self.server_version,
            "collections": dict(self.names),
            "encoder": self.info.name,
            "encoder_fingerprint": self.info.fingerprint,
            "dim": self.info.dim,
            "format_version": FORMAT,
            "index_type": "FLAT (Milvus Lite)" if lite else "HNSW (M 16, efConstruction 200)",
            "segments": [],
            "size_bytes": size,
            "read_only": self.read_only,
        }


def recorded_encoder_info(
    address: str, token: str = "", prefix: str = DEFAULT_PREFIX
) -> EncoderInfo | None:
    """The encoder a khabar store under ``prefix`` at ``address`` records (None: no store
    there)."""
    client, version = connect(address, token)
    try:
        unknown = EncoderInfo("", "", 0)
        recorded = MilvusStore(client, address, version, prefix, unknown, True).recorded()
    finally:
        release(client, address)
    if recorded is None:
        return None
    encoder = recorded["encoder"]
    weights = EncoderInfo.weights_from_record(encoder.get("question_weights", ()))
    name, fingerprint, dim = str(encoder["name"]), str(encoder["fingerprint"]), int(encoder["dim"])
    return EncoderInfo(name, fingerprint, dim, weights)
