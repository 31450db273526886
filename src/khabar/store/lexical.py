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
the same under either IDF), and only the rarest terms propose them, while their postings
add up to at most POSTING_BUDGET (a common term's share of a score is small, and reading
all its postings would cost every question what the index holds); the candidates are then
scored here, from their stored terms, with every query term. On an index where no term is
in more than TERM_DEPTH chunks and the query's terms fit the budget, this is exact.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

Ids = npt.NDArray[np.int64]
Scores = npt.NDArray[np.float64]

K1 = 1.2
B = 0.75
TERM_DEPTH = 256
POSTING_BUDGET = 40_000
ALLOWED_FUNCTION = "khabar_allowed"  # the filter, as an SQL function of a chunk id


def match_expression(term: str) -> str:
    """An FTS5 query for one term (quoted, so that no term is an operator)."""
    return '"' + term.replace('"', '""') + '"'


def frequencies(
    conn: sqlite3.Connection, query_terms: Sequence[str], known: dict[str, int] | None = None
) -> dict[str, int]:
    """How many chunks each query term occurs in (terms in none left out).

    FTS5's vocabulary table counts a term's chunks by reading its postings (about 3 ms a
    common term at a million paragraphs), so ``known`` keeps the counts already looked up,
    for as long as the index does not change (the caller empties it after a write)."""
    known = {} if known is None else known
    unique = list(dict.fromkeys(t for t in query_terms if t))
    missing = [t for t in unique if t not in known]
    if missing:
        marks = ",".join("?" * len(missing))
        rows = conn.execute(f"SELECT term, doc FROM chunks_vocab WHERE term IN ({marks})", missing)
        found = {str(term): int(n) for term, n in rows}
        known.update({t: found.get(t, 0) for t in missing})
    return {t: known[t] for t in unique if known[t]}


def proposing_terms(frequencies: dict[str, int]) -> list[str]:
    """The terms that propose candidates: the rarest first, while their chunks add up to
    at most POSTING_BUDGET (always the rarest one). FTS5 reads every posting of a term to
    rank its best chunks, about 1.3 ms a thousand at a million paragraphs, so the budget
    bounds a question's lexical work; rarer terms weigh more in BM25 anyway."""
    proposing: list[str] = []
    spent = 0
    for term, n in sorted(frequencies.items(), key=lambda item: (item[1], item[0])):
        if proposing and spent + n > POSTING_BUDGET:
            break
        proposing.append(term)
        spent += n
    return proposing


def top(
    conn: sqlite3.Connection,
    frequencies: dict[str, int],
    k: int,
    counts: tuple[int, int],
    allowed: Callable[[int], bool] | None = None,
) -> tuple[Ids, Scores]:
    """The ``k`` chunks with the highest BM25 for the terms of ``frequencies`` (term → the
    chunks it occurs in, from ``frequencies()``), best first, with positive scores; only
    chunks ``allowed`` lets through (chunk id → bool), when given. ``counts`` is (chunks,
    terms over all chunks) of the index.

    A filter is a function of the postings' rowids inside the FTS5 query, so that FTS5
    computes ``bm25()`` only for the postings it lets through: at a million paragraphs a
    filter to one source in twenty made the leg 2.5 times faster than unfiltered, where
    joining every posting to its article in SQL had made it twice as slow."""
    if not frequencies or k <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    condition = ""
    if allowed is not None:
        conn.create_function(ALLOWED_FUNCTION, 1, allowed, deterministic=True)
        condition = f"AND {ALLOWED_FUNCTION}(rowid) "
    sql = (
        f"SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? {condition}"
        f"ORDER BY bm25(chunks_fts, {K1}, {B}) LIMIT ?"
    )
    found: set[int] = set()
    for term in proposing_terms(frequencies):
        found.update(
            int(r[0]) for r in conn.execute(sql, (match_expression(term), max(k, TERM_DEPTH)))
        )
    ids = np.fromiter(sorted(found), dtype=np.int64, count=len(found))
    scores = scores_of(conn, frequencies, ids, counts)
    order = np.lexsort((ids, -scores))[:k]
    order = order[scores[order] > 0]
    return ids[order], scores[order]


def scores_of(
    conn: sqlite3.Connection, frequencies: dict[str, int], ids: Ids, counts: tuple[int, int]
) -> Scores:
    """BM25 of each chunk of ``ids`` for the terms of ``frequencies`` (0 where none of
    them occurs), from the chunks' stored terms."""
    out = np.zeros(len(ids))
    chunks, terms = counts
    if not frequencies or not len(ids) or not chunks:
        return out
    average = max(terms / chunks, 1e-9)
    weights = idfs(frequencies, chunks)
    row = {int(chunk_id): i for i, chunk_id in enumerate(ids.tolist())}
    wanted = list(row)
    for start in range(0, len(wanted), 900):
        batch = wanted[start : start + 900]
        marks = ",".join("?" * len(batch))
        for chunk_id, joined in conn.execute(
            f"SELECT chunk_id, terms FROM chunk_terms WHERE chunk_id IN ({marks})", batch
        ):
            out[row[int(chunk_id)]] = bm25_of(str(joined), weights, average)
    return out


def idfs(frequencies: dict[str, int], chunks: int) -> dict[str, float]:
    """Lucene's IDF of each term, given the chunks it occurs in and the chunks in all."""
    return {t: math.log(1.0 + (chunks - n + 0.5) / (n + 0.5)) for t, n in frequencies.items()}


def bm25_of(joined: str, idf: dict[str, float], average: float) -> float:
    """Lucene's BM25 of one chunk, given its terms joined by single spaces, each query
    term's IDF (``idfs``) and the average number of terms a chunk.

    Term frequencies are counted in the string itself (``str.count`` of " term " in the
    terms with every space doubled, so that two equal terms in a row both count), not by
    splitting it into a list: at a million paragraphs a question scores some 2,000
    candidates, and counting in Python cost it about 90 ms."""
    if not joined:
        return 0.0
    spaced = " " + joined.replace(" ", "  ") + " "
    norm = K1 * (1.0 - B + B * (joined.count(" ") + 1) / average)
    score = 0.0
    for term, weight in idf.items():
        tf = spaced.count(f" {term} ")
        if tf:
            score += weight * tf * (K1 + 1.0) / (tf + norm)
    return score
