"""The lexical leg: BM25 over the chunks' terms, found through SQLite's FTS5.

The terms are khabar's own (Arabic-normalised, lightly stemmed: ``text/tokenize.py``),
stored per chunk in ``chunk_terms``; the FTS5 table indexes them (its tokenizer only splits
them on white space again), triggers keep it in step with every insert and delete, and it
is written in the same transaction as the rows, so it is never stale or half-written. A
write costs the postings it adds.

The score is Lucene's BM25 (k1 1.2, b 0.75, IDF log(1 + (N − n + ½)/(n + ½))), as the
bm25s index this replaced computed it. FTS5's own ``bm25()`` takes IDF as
log((N − n + ½)/(n + ½)), which vanishes for a term in half the chunks and so ranks a small
index badly (measured on the sample article), and it scores every chunk a term occurs in.
So FTS5 only *finds* candidates, each term its best TERM_DEPTH chunks (one term's ranking is
the same under either IDF), and only terms in at most DF_LIMIT chunks propose them (their
share of a score is small, and scoring all their postings would cost every question what
the index holds); the candidates are then scored here, from their stored terms, with every
query term. On an index where no term is in more than TERM_DEPTH chunks this is exact.
"""

from __future__ import annotations

import math
import sqlite3
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Ids = npt.NDArray[np.int64]
Scores = npt.NDArray[np.float64]

K1 = 1.2
B = 0.75
TERM_DEPTH = 256
DF_LIMIT = 20_000


def match_expression(term: str) -> str:
    """An FTS5 query for one term (quoted, so that no term is an operator)."""
    return '"' + term.replace('"', '""') + '"'


def _frequencies(conn: sqlite3.Connection, query_terms: Sequence[str]) -> dict[str, int]:
    """How many chunks each query term occurs in (terms in none left out)."""
    unique = list(dict.fromkeys(t for t in query_terms if t))
    if not unique:
        return {}
    marks = ",".join("?" * len(unique))
    rows = conn.execute(f"SELECT term, doc FROM chunks_vocab WHERE term IN ({marks})", unique)
    return {str(term): int(n) for term, n in rows if n}


def top(
    conn: sqlite3.Connection,
    query_terms: Sequence[str],
    k: int,
    counts: tuple[int, int],
    condition: str = "1",
    args: Sequence[str] = (),
) -> tuple[Ids, Scores]:
    """The ``k`` chunks with the highest BM25 for the terms, among the articles meeting
    ``condition`` (on ``articles a``), best first, with positive scores. ``counts`` is
    (chunks, terms over all chunks) of the index."""
    frequencies = _frequencies(conn, query_terms)
    if not frequencies or k <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    proposing = [t for t, n in frequencies.items() if n <= DF_LIMIT] or [
        min(frequencies, key=frequencies.__getitem__)
    ]
    if condition == "1":
        sql = (
            f"SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? "
            f"ORDER BY bm25(chunks_fts, {K1}, {B}) LIMIT ?"
        )
    else:
        sql = (
            "SELECT f.rowid FROM chunks_fts f "
            "JOIN chunks c ON c.id = f.rowid JOIN articles a ON a.id = c.article_id "
            f"WHERE chunks_fts MATCH ? AND {condition} "
            f"ORDER BY bm25(chunks_fts, {K1}, {B}) LIMIT ?"
        )
    found: set[int] = set()
    for term in proposing:
        found.update(
            int(r[0])
            for r in conn.execute(sql, [match_expression(term), *args, max(k, TERM_DEPTH)])
        )
    ids = np.fromiter(sorted(found), dtype=np.int64, count=len(found))
    scores = _bm25(conn, frequencies, ids, counts)
    order = np.lexsort((ids, -scores))[:k]
    order = order[scores[order] > 0]
    return ids[order], scores[order]


def scores_of(
    conn: sqlite3.Connection, query_terms: Sequence[str], ids: Ids, counts: tuple[int, int]
) -> Scores:
    """BM25 of each chunk of ``ids`` for the terms (0 where none of them occurs)."""
    return _bm25(conn, _frequencies(conn, query_terms), ids, counts)


def _bm25(
    conn: sqlite3.Connection, frequencies: dict[str, int], ids: Ids, counts: tuple[int, int]
) -> Scores:
    out = np.zeros(len(ids))
    chunks, terms = counts
    if not frequencies or not len(ids) or not chunks:
        return out
    average = max(terms / chunks, 1e-9)
    idf = {t: math.log(1.0 + (chunks - n + 0.5) / (n + 0.5)) for t, n in frequencies.items()}
    stored: dict[int, list[str]] = {}
    wanted = [int(i) for i in ids]
    for start in range(0, len(wanted), 900):
        batch = wanted[start : start + 900]
        marks = ",".join("?" * len(batch))
        for chunk_id, joined in conn.execute(
            f"SELECT chunk_id, terms FROM chunk_terms WHERE chunk_id IN ({marks})", batch
        ):
            stored[int(chunk_id)] = str(joined).split()
    for i, chunk_id in enumerate(wanted):
        words = stored.get(chunk_id)
        if not words:
            continue
        norm = K1 * (1.0 - B + B * len(words) / average)
        tf = Counter(w for w in words if w in idf)
        out[i] = sum(idf[t] * n * (K1 + 1.0) / (n + norm) for t, n in tf.items())
    return out
