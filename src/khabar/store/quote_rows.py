"""Reported speech in SQLite: one row per quote, beside its chunk (offsets into its text).

Written with the chunk in the same transaction, deleted with it (cascade). An index written
before quotes were kept gets them on its first open with write access (``fill``), found by
the same rules from the stored paragraphs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from khabar.records import Quote
from khabar.text.quotes import find_quotes

FILLED_KEY = "quotes_filled"

SCHEMA = """
CREATE TABLE IF NOT EXISTS quotes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chunk_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
    speaker TEXT NOT NULL,
    name TEXT NOT NULL,
    verb TEXT NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS quotes_by_chunk ON quotes(chunk_id);
CREATE INDEX IF NOT EXISTS quotes_by_name ON quotes(name);
"""


@dataclass(frozen=True)
class QuoteRow:
    """A quote with where it stands: the article, its date and the paragraph's text."""

    quote: Quote
    chunk_id: int
    article_id: str
    title: str
    published: str | None
    paragraph: int
    text: str
    source: str = ""

    @property
    def said(self) -> str:
        """What was said: the quote's words."""
        return self.text[self.quote.start : self.quote.end]

    def to_json(self) -> dict[str, object]:
        """The quote and its citation, as ``khabar quotes --json`` prints it."""
        return {
            **self.quote.to_json(self.text),
            "article_id": self.article_id,
            "title": self.title,
            "published": self.published,
            "paragraph": self.paragraph,
            "source": self.source,
        }


def insert(conn: sqlite3.Connection, chunk_id: int, quotes: Iterable[Quote]) -> None:
    """Record a chunk's quotes."""
    conn.executemany(
        "INSERT INTO quotes(chunk_id, speaker, name, verb, start, end) VALUES (?, ?, ?, ?, ?, ?)",
        [(chunk_id, q.speaker, q.name, q.verb, q.start, q.end) for q in quotes],
    )


def of_chunks(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, tuple[Quote, ...]]:
    """The quotes of the given chunks, in text order (an index without the table: none)."""
    found: dict[int, list[Quote]] = {}
    for first in range(0, len(ids), 900):
        batch = list(ids[first : first + 900])
        marks = ",".join("?" * len(batch))
        try:
            rows = conn.execute(
                "SELECT chunk_id, speaker, verb, start, end, name FROM quotes "
                f"WHERE chunk_id IN ({marks}) ORDER BY chunk_id, start",
                batch,
            ).fetchall()
        except sqlite3.OperationalError:  # read-only, written before quotes were kept
            return {}
        for chunk_id, speaker, verb, start, end, name in rows:
            found.setdefault(int(chunk_id), []).append(Quote(speaker, verb, start, end, name))
    return {k: tuple(v) for k, v in found.items()}


def names(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """Every distinct (speaker, name) quoted in the index."""
    try:
        return [
            (str(a), str(b)) for a, b in conn.execute("SELECT DISTINCT speaker, name FROM quotes")
        ]
    except sqlite3.OperationalError:
        return []


def listing(
    conn: sqlite3.Connection,
    speakers: Sequence[str] | None,
    since: str | None,
    limit: int,
) -> list[QuoteRow]:
    """Quotes newest first (by the article's date, undated last), of ``speakers`` (as
    recorded) if given, from articles published on or after ``since`` if given."""
    where: list[str] = []
    args: list[object] = []
    if speakers is not None:
        if not speakers:
            return []
        where.append(f"q.speaker IN ({','.join('?' * len(speakers))})")
        args.extend(speakers)
    if since:
        where.append("substr(a.published, 1, 10) >= ?")
        args.append(since)
    condition = f"WHERE {' AND '.join(where)}" if where else ""
    try:
        rows = conn.execute(
            "SELECT q.speaker, q.verb, q.start, q.end, q.name, q.chunk_id, a.id, a.title, "
            "a.published, c.paragraph, c.text, a.source FROM quotes q "
            "JOIN chunks c ON c.id = q.chunk_id JOIN articles a ON a.id = c.article_id "
            f"{condition} ORDER BY a.published IS NULL, a.published DESC, c.id, q.start "
            "LIMIT ?",
            [*args, limit],
        ).fetchall()
    except sqlite3.OperationalError:
        return []
    return [
        QuoteRow(Quote(r[0], r[1], r[2], r[3], r[4]), r[5], r[6], r[7], r[8], r[9], r[10], r[11])
        for r in rows
    ]


def fill(conn: sqlite3.Connection) -> int:
    """Find the quotes of every article that has none recorded (an index written before
    quotes were kept); returns the quotes recorded. The caller holds the transaction."""
    added = 0
    articles = [r[0] for r in conn.execute("SELECT id FROM articles")]
    for article_id in articles:
        rows = conn.execute(
            "SELECT id, text FROM chunks WHERE article_id = ? ORDER BY ordinal", (article_id,)
        ).fetchall()
        ids = [int(r[0]) for r in rows]
        if not ids:
            continue
        for chunk_id, quotes in zip(ids, find_quotes([r[1] for r in rows]), strict=True):
            insert(conn, chunk_id, quotes)
            added += len(quotes)
    return added
