"""The lexical leg: BM25 from SQLite's FTS5 over the chunks' terms.

The terms are khabar's own (Arabic-normalised, lightly stemmed: ``text/tokenize.py``),
stored per chunk in ``chunk_terms``; the FTS5 table indexes them (its tokenizer only splits
them on white space again), triggers keep it in step with every insert and delete, and it
is written in the same transaction as the rows, so it is never stale or half-written. A
write costs the postings it adds; ``bm25()`` ranks only the rows that match.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Ids = npt.NDArray[np.int64]
Scores = npt.NDArray[np.float64]

# FTS5's bm25() with Lucene's defaults, the same as the bm25s index it replaced.
K1 = 1.2
B = 0.75
# How many chunks of each query term are read (the best, by that term's BM25).
TERM_DEPTH = 1000


def match_expression(term: str) -> str:
    """An FTS5 query for one term (quoted, so that no term is an operator)."""
    return '"' + term.replace('"', '""') + '"'


def top(
    conn: sqlite3.Connection,
    query_terms: Sequence[str],
    k: int,
    total: int,
    condition: str = "1",
    args: Sequence[str] = (),
) -> tuple[Ids, Scores]:
    """The ``k`` chunks with the highest BM25 for the terms, among the articles meeting
    ``condition`` (on ``articles a``), best first; scores are positive. ``total`` is the
    number of chunks (N).

    The score is Lucene's BM25 (k1 1.2, b 0.75, IDF log(1 + (N − n + ½)/(n + ½))), as the
    bm25s index this replaced computed it: FTS5's own ``bm25()`` takes IDF as
    log((N − n + ½)/(n + ½)), which vanishes for a term in half the chunks, and so ranks
    a small index badly (measured on the sample article). FTS5 finds the matching chunks
    and scores one term at a time; its IDF is divided out and Lucene's put in."""
    unique = [t for t in dict.fromkeys(query_terms) if t]
    if not unique or k <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    frequencies = dict(
        conn.execute(
            f"SELECT term, doc FROM chunks_vocab WHERE term IN ({','.join('?' * len(unique))})",
            unique,
        ).fetchall()
    )
    # Each term's best TERM_DEPTH (or ``k``) chunks, ranked by FTS5 in C, are summed here:
    # exact wherever a term matches at most that many chunks (every term of a small index);
    # otherwise a chunk below a common term's best misses only that term's share.
    if condition == "1":
        sql = (
            f"SELECT rowid, -bm25(chunks_fts, {K1}, {B}) AS s FROM chunks_fts "
            "WHERE chunks_fts MATCH ? ORDER BY s DESC LIMIT ?"
        )
    else:
        sql = (
            f"SELECT f.rowid, -bm25(chunks_fts, {K1}, {B}) AS s FROM chunks_fts f "
            "JOIN chunks c ON c.id = f.rowid JOIN articles a ON a.id = c.article_id "
            f"WHERE chunks_fts MATCH ? AND {condition} ORDER BY s DESC LIMIT ?"
        )
    summed: dict[int, float] = {}
    for term in unique:
        n = int(frequencies.get(term, 0))
        if not n:
            continue
        fts_idf = max(math.log((total - n + 0.5) / (n + 0.5)), 1e-6)
        lucene_idf = math.log(1.0 + (total - n + 0.5) / (n + 0.5))
        scale = lucene_idf / fts_idf
        for rowid, score in conn.execute(sql, [match_expression(term), *args, max(k, TERM_DEPTH)]):
            summed[int(rowid)] = summed.get(int(rowid), 0.0) + float(score) * scale
    if not summed:
        return np.empty(0, dtype=np.int64), np.empty(0)
    ids = np.fromiter(summed.keys(), dtype=np.int64, count=len(summed))
    scores = np.fromiter(summed.values(), dtype=np.float64, count=len(summed))
    order = np.lexsort((ids, -scores))[:k]
    return ids[order], scores[order]


def scores_of(conn: sqlite3.Connection, query_terms: Sequence[str], ids: Ids, total: int) -> Scores:
    """BM25 (as ``top`` scores it) of each chunk of ``ids`` (0 where no term occurs)."""
    found_ids, found = top(conn, query_terms, 1 << 62, total)
    lookup = dict(zip(found_ids.tolist(), found.tolist(), strict=True))
    return np.asarray([lookup.get(int(i), 0.0) for i in ids], dtype=np.float64)
