"""The lexical leg: BM25 over the chunks' terms, found through SQLite's FTS5.

The terms are khabar's own (Arabic-normalised, lightly stemmed: ``text/tokenize.py``),
stored per chunk in ``chunk_terms``; the FTS5 table indexes them (its tokenizer splits
them again, on white space and on punctuation other than '.'), triggers keep it in step
with every insert and delete, and it is written in the same transaction as the rows, so it
is never stale or half-written. A write costs the postings it adds.

The score is Lucene's BM25 (k1 1.2, b 0.75, IDF log(1 + (N − n + ½)/(n + ½))), as the
bm25s index this replaced computed it. FTS5's own ``bm25()`` takes IDF as
log((N − n + ½)/(n + ½)), which vanishes for a term in half the chunks and so ranks a small
index badly (measured on the sample article), and it scores every chunk a term occurs in.
So FTS5 only *finds* candidates, each term its best TERM_DEPTH chunks (one term's ranking
is the same under either IDF; the postings are ranked here, from their term frequencies
and the chunks' lengths, ``lengths.py``, or by ``bm25()`` until those are read), and only
the rarest terms propose them, while their postings add up to at most POSTING_BUDGET (a
common term's share of a score is small, and reading all its postings would cost every
question what the index holds); the candidates are then scored here, from their stored
terms, with every query term. On an index where no term is in more than TERM_DEPTH chunks
and the query's terms fit the budget, this is exact.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import AnyStr, Protocol

import numpy as np
import numpy.typing as npt

Ids = npt.NDArray[np.int64]
Scores = npt.NDArray[np.float64]

K1 = 1.2
B = 0.75
TERM_DEPTH = 256
POSTING_BUDGET = 40_000
ALLOWED_FUNCTION = "khabar_allowed"  # the filter, as an SQL function of a chunk id
INSTANCES = "temp.khabar_instances"  # FTS5's instance vocabulary (made once a connection)


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


class Membership(Protocol):
    """The chunk ids a filter lets through (``allowed.Allowed``)."""

    def member(self, id_: int) -> bool:
        """Whether one id is let through."""

    def contains(self, ids: Ids) -> npt.NDArray[np.bool_]:
        """Which of ``ids`` are."""


def top(
    conn: sqlite3.Connection,
    frequencies: dict[str, int],
    k: int,
    counts: tuple[int, int],
    allowed: Membership | None = None,
    lengths: Callable[[Ids], npt.NDArray[np.int32]] | None = None,
) -> tuple[Ids, Scores]:
    """The ``k`` chunks with the highest BM25 for the terms of ``frequencies`` (term → the
    chunks it occurs in, from ``frequencies()``), best first, with positive scores; only
    chunks ``allowed`` lets through, when given. ``counts`` is (chunks, terms over all
    chunks) of the index.

    With ``lengths`` (chunk ids → their lengths in FTS5 tokens: ``lengths.ChunkLengths``),
    a term's postings are ranked here (``ranked_postings``), else by FTS5's ``bm25()``,
    which gives the same order at about three times the cost. Either way a filter is
    applied to the postings before they are ranked: at a million paragraphs a filter to
    one source in twenty made the leg 2.5 times faster than unfiltered, where joining every
    posting to its article in SQL had made it twice as slow."""
    if not frequencies or k <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    depth = max(k, TERM_DEPTH)
    found: list[Ids] = []
    for term in proposing_terms(frequencies):
        if frequencies[term] <= depth:  # every posting: nothing to rank
            found.append(_postings(conn, term, allowed))
        elif lengths is not None:
            average = counts[1] / max(counts[0], 1)
            found.append(ranked_postings(conn, term, depth, lengths, average, allowed))
        else:
            found.append(_bm25_postings(conn, term, depth, allowed))
    ids = np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)
    scores = scores_of(conn, frequencies, ids, counts)
    order = np.lexsort((ids, -scores))[:k]
    order = order[scores[order] > 0]
    return ids[order], scores[order]


def ranked_postings(
    conn: sqlite3.Connection,
    term: str,
    depth: int,
    lengths: Callable[[Ids], npt.NDArray[np.int32]],
    average: float,
    allowed: Membership | None = None,
) -> Ids:
    """The ``depth`` chunks (of the ``allowed`` ones) where ``term`` weighs most in BM25:
    its postings, with their term frequencies from FTS5's instance vocabulary (one row an
    occurrence), ranked by tf·(k1 + 1)/(tf + k1·(1 − b + b·length/average)), the term's
    share of BM25 without its IDF, which orders one term's chunks as ``bm25()`` does."""
    _instances_table(conn)
    docs = _id_list(conn, f"SELECT group_concat(doc) FROM {INSTANCES} WHERE term = ?", term)
    ids, tf = np.unique(docs, return_counts=True)
    if allowed is not None:
        keep = allowed.contains(ids)
        ids, tf = ids[keep], tf[keep]
    if len(ids) <= depth:
        return ids
    norm = K1 * (1.0 - B + B * lengths(ids) / max(average, 1e-9))
    weight = tf / (tf + norm)
    return ids[np.lexsort((ids, -weight))[:depth]]


def _postings(conn: sqlite3.Connection, term: str, allowed: Membership | None) -> Ids:
    """Every chunk ``term`` occurs in (of the ``allowed`` ones)."""
    sql = "SELECT group_concat(rowid) FROM chunks_fts WHERE chunks_fts MATCH ?"
    ids = _id_list(conn, sql, match_expression(term))
    return ids if allowed is None else ids[allowed.contains(ids)]


def _id_list(conn: sqlite3.Connection, sql: str, parameter: str) -> Ids:
    """The ids a ``group_concat`` query gives, as one array: SQLite joins them into one
    string, so that Python does not handle a row per posting (half the time at 30,000)."""
    joined = conn.execute(sql, (parameter,)).fetchone()[0]
    return np.asarray(joined.split(","), dtype=np.int64) if joined else np.empty(0, np.int64)


def _instances_table(conn: sqlite3.Connection) -> None:
    """FTS5's instance vocabulary of the chunks, made once a connection (in its ``temp``
    schema, so that a read-only database can have it too)."""
    conn.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {INSTANCES} "
        "USING fts5vocab(main, 'chunks_fts', 'instance')"
    )


def _bm25_postings(
    conn: sqlite3.Connection, term: str, depth: int, allowed: Membership | None
) -> Ids:
    """The same as ``ranked_postings``, ranked by FTS5's ``bm25()`` (the filter a function
    of the postings' rowids inside the query, so that ``bm25()`` runs only for the
    postings it lets through)."""
    condition = ""
    if allowed is not None:
        conn.create_function(ALLOWED_FUNCTION, 1, allowed.member, deterministic=True)
        condition = f"AND {ALLOWED_FUNCTION}(rowid) "
    sql = (
        f"SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? {condition}"
        f"ORDER BY bm25(chunks_fts, {K1}, {B}) LIMIT ?"
    )
    rows = conn.execute(sql, (match_expression(term), depth))
    return np.fromiter((int(r[0]) for r in rows), dtype=np.int64)


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
    # UTF-8 bytes, as stored: decoding the candidates' terms to str took two thirds of this
    weights = {t.encode(): w for t, w in idfs(frequencies, chunks).items()}
    row = {int(chunk_id): i for i, chunk_id in enumerate(ids.tolist())}
    wanted = list(row)
    for start in range(0, len(wanted), 900):
        batch = wanted[start : start + 900]
        marks = ",".join("?" * len(batch))
        for chunk_id, joined in conn.execute(
            f"SELECT chunk_id, CAST(terms AS BLOB) FROM chunk_terms WHERE chunk_id IN ({marks})",
            batch,
        ):
            out[row[int(chunk_id)]] = bm25_of(bytes(joined), weights, average)
    return out


def idfs(frequencies: dict[str, int], chunks: int) -> dict[str, float]:
    """Lucene's IDF of each term, given the chunks it occurs in and the chunks in all."""
    return {t: math.log(1.0 + (chunks - n + 0.5) / (n + 0.5)) for t, n in frequencies.items()}


def bm25_of(joined: AnyStr, idf: Mapping[AnyStr, float], average: float) -> float:
    """Lucene's BM25 of one chunk, given its terms joined by single spaces, each query
    term's IDF (``idfs``) and the average number of terms a chunk (all str, or all UTF-8
    bytes).

    Term frequencies are counted in the string itself (``str.count`` of " term " in the
    terms with every space doubled, so that two equal terms in a row both count), not by
    splitting it into a list: at a million paragraphs a question scores some 2,000
    candidates, and counting in Python cost it about 90 ms."""
    if not joined:
        return 0.0
    space = b" " if isinstance(joined, bytes) else " "
    spaced = space + joined.replace(space, space + space) + space
    norm = K1 * (1.0 - B + B * (joined.count(space) + 1) / average)
    score = 0.0
    for term, weight in idf.items():
        tf = spaced.count(space + term + space)
        if tf:
            score += weight * tf * (K1 + 1.0) / (tf + norm)
    return score
