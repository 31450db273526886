"""The Milvus store's pure parts: its row ids, an article's rows and filter expressions.

No pymilvus here, so that these are unit-tested without a server (``store/milvus.py``
holds the client).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import Any

from khabar.errors import InputError
from khabar.records import Chunk, Quote
from khabar.store import lexical
from khabar.store.base import Filter, PendingArticle
from khabar.store.metadata import ArticleRow

ROW_LIMIT = 65_535  # characters of an article row (a VARCHAR)
ChunkQuotes = dict[int, tuple[Quote, ...]]

# A row id is an article's random key followed by the row's place in the article: chunk ids
# keep CHUNK_BITS for the chunk's ordinal, span ids SPAN_BITS for the span's place among the
# article's spans. Ids so made need no counter that every server would have to share, and
# an article's chunks sort by id in their order.
KEY_BITS = 47
CHUNK_BITS = 12
SPAN_BITS = 16
MAX_TERM = 200  # characters of a term a posting keeps (Milvus strings have a length)


def article_row_json(row: ArticleRow, chunks: Sequence[Chunk]) -> str:
    """An article's row as Milvus keeps it: its fields, and its chunks' quotes by ordinal
    (as many as the row has room for)."""
    quotes = {
        str(n): [[q.speaker, q.verb, q.start, q.end, q.name] for q in c.quotes]
        for n, c in enumerate(chunks)
        if c.quotes
    }
    while True:
        text = json.dumps({**asdict(row), "quotes": quotes}, ensure_ascii=False)
        if len(text) <= ROW_LIMIT or not quotes:
            return text
        quotes.pop(max(quotes, key=int))


def read_article_row(text: str) -> tuple[ArticleRow, ChunkQuotes]:
    """An article row and its chunks' quotes (none in rows written before quotes were kept)."""
    data = json.loads(text)
    held = data.pop("quotes", None) or {}
    quotes = {
        int(n): tuple(Quote(str(s), str(v), int(a), int(b), str(m)) for s, v, a, b, m in rows)
        for n, rows in held.items()
    }
    return ArticleRow(**data), quotes


def new_key() -> int:
    """A random article key (the caller checks that no row has it yet)."""
    return secrets.randbits(KEY_BITS) or 1


def chunk_id(key: int, ordinal: int) -> int:
    """The id of an article's chunk at ``ordinal``."""
    return (key << CHUNK_BITS) | ordinal


def span_id(key: int, place: int) -> int:
    """The id of an article's span at ``place`` (counted over the whole article)."""
    return (key << SPAN_BITS) | place


def check_sizes(article_id: str, chunks: int, spans: int) -> None:
    """An InputError for an article with more chunks or spans than its ids can number."""
    if chunks >= 1 << CHUNK_BITS or spans >= 1 << SPAN_BITS:
        raise InputError(
            f"{article_id}: {chunks} paragraphs and {spans} sentences are more than a Milvus "
            f"store takes of one article ({(1 << CHUNK_BITS) - 1} and {(1 << SPAN_BITS) - 1}); "
            "split the article"
        )


def literal(value: str) -> str:
    """A string as a Milvus expression literal (quoted; quotes and backslashes escaped).
    Non-ASCII characters stay as they are: Milvus Lite rejects ``\\u`` escapes."""
    return json.dumps(value, ensure_ascii=False)


def int_list(ids: Iterable[int]) -> str:
    """Integers as a Milvus list literal."""
    return "[" + ",".join(str(int(i)) for i in ids) + "]"


def str_list(values: Iterable[str]) -> str:
    """Strings as a Milvus list literal."""
    return "[" + ",".join(literal(v) for v in values) + "]"


def term_key(term: str) -> str:
    """The part of a term that a posting stores and a question looks up."""
    return term[:MAX_TERM]


def filter_expression(
    where: Filter | None, sources: Sequence[str], *, id_field: str = "article_id"
) -> str | None:
    """A Milvus boolean expression for ``where`` over a row's ``source``, ``published`` and
    article id (``id_field``): "" for no condition, None when nothing can match.

    As the embedded store does: the source matches when it contains ``where.source`` in any
    case, found among ``sources`` (every source in the index) so that Milvus compares whole
    strings; a day condition compares the ISO publication string (``published >= since``,
    ``published < until + "~"``) and never matches an article without a date."""
    if where is None or where.empty:
        return ""
    clauses: list[str] = []
    if where.source:
        needle = where.source.lower()
        named = [s for s in sources if needle in s.lower()]
        if not named:
            return None
        clauses.append(f"source in {str_list(named)}")
    if where.since or where.until:
        clauses.append('published != ""')
    if where.since:
        clauses.append(f"published >= {literal(where.since)}")
    if where.until:
        clauses.append(f"published < {literal(where.until + '~')}")
    if where.article_ids is not None:
        if not where.article_ids:
            return None
        clauses.append(f"{id_field} in {str_list(sorted(where.article_ids))}")
    return " and ".join(clauses)


def both(first: str, second: str | None) -> str | None:
    """Two expressions joined by ``and`` (either may be "": no condition; None: no match)."""
    if second is None:
        return None
    if not first or not second:
        return first or second
    return f"({first}) and ({second})"


Rows = list[dict[str, Any]]


def article_rows(
    pending: PendingArticle, key: int, chunk_terms: Sequence[Sequence[str]], average: float
) -> tuple[Rows, Rows, Rows]:
    """An article's chunk, span and posting rows (its article row is written apart, last),
    their ids made from ``key``; ``chunk_terms`` are each chunk's lexical terms and
    ``average`` the terms a chunk has on average (BM25's length norm)."""
    article = pending.article
    shared = {"article_id": article.id, "source": article.source}
    shared["published"] = article.published or ""
    chunks: Rows = []
    spans: Rows = []
    postings: Rows = []
    place = 0
    for ordinal, chunk in enumerate(pending.chunks):
        cid = chunk_id(key, ordinal)
        chunks.append(
            {
                "id": cid,
                **shared,
                "ordinal": ordinal,
                "paragraph": chunk.paragraph,
                "part": chunk.part,
                "section": chunk.section or "",
                "text": chunk.text,
                "terms": " ".join(chunk_terms[ordinal]),
                "vector": pending.chunk_vectors[ordinal].tolist(),
            }
        )
        for span in chunk.spans:
            spans.append(
                {
                    "id": span_id(key, place),
                    **shared,
                    "chunk_id": cid,
                    "start": span.start,
                    "end": span.end,
                    "kind": span.kind,
                    "vector": pending.span_vectors[place].tolist(),
                }
            )
            place += 1
        postings.extend(
            {**shared, "term": term, "chunk_id": cid, "vector": [weight, 0.0]}
            for term, weight in term_weights(chunk_terms[ordinal], average).items()
        )
    return chunks, spans, postings


def term_weights(chunk_terms: Sequence[str], average: float) -> dict[str, float]:
    """Each distinct term of a chunk with its BM25 share (IDF left out: one term's ranking
    of chunks does not depend on it), the value its posting is searched by."""
    counts: dict[str, int] = {}
    for term in chunk_terms:
        key = term_key(term)
        counts[key] = counts.get(key, 0) + 1
    norm = lexical.K1 * (1.0 - lexical.B + lexical.B * len(chunk_terms) / average)
    return {t: tf * (lexical.K1 + 1.0) / (tf + norm) for t, tf in counts.items()}
