"""khabar.sqlite: articles, chunks (paragraphs) and spans (sentences, clauses).

The row ids of chunks and spans are the ids of their vectors in FAISS. AUTOINCREMENT
keeps a removed row's id from ever being reused for another text.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from khabar.errors import IndexFormatError
from khabar.records import Article, Chunk, embed_text
from khabar.text.tokenize import terms

SCHEMA_VERSION = 1
DB_NAME = "khabar.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    url TEXT,
    published TEXT,
    content_hash TEXT NOT NULL,
    origin TEXT NOT NULL DEFAULT '',
    author TEXT,
    added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    paragraph INTEGER NOT NULL,
    part INTEGER NOT NULL,
    section TEXT,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_article ON chunks(article_id, ordinal);
CREATE TABLE IF NOT EXISTS spans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chunk_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    kind TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS spans_by_chunk ON spans(chunk_id);
CREATE TABLE IF NOT EXISTS chunk_terms (
    chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
    terms TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class ArticleRow:
    """An article as stored (without its text, which lives in its chunks)."""

    id: str
    title: str
    source: str
    url: str | None
    published: str | None
    content_hash: str
    added_at: str
    paragraphs: int
    origin: str = ""
    author: str | None = None


@dataclass(frozen=True)
class StoredChunk:
    """A chunk row with its article's citation fields."""

    id: int
    article_id: str
    ordinal: int
    paragraph: int
    section: str | None
    text: str
    title: str
    source: str
    url: str | None
    published: str | None
    author: str | None = None

    @property
    def embed_text(self) -> str:
        """The text the encoder saw: section heading + paragraph."""
        return embed_text(self.section, self.text)


@dataclass(frozen=True)
class StoredSpan:
    """A span row: a sentence or clause of a chunk, by offsets."""

    id: int
    chunk_id: int
    start: int
    end: int
    kind: str


class MetadataStore:
    """Articles, chunks and spans in SQLite (WAL, synchronous=FULL)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # One connection per thread: SQLite's WAL then lets questions read while a
        # writer in another thread holds its transaction.
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        try:
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(articles)")}
            if "origin" not in columns:  # databases written before `sync` existed
                self._db.execute("ALTER TABLE articles ADD COLUMN origin TEXT NOT NULL DEFAULT ''")
            if "author" not in columns:  # databases written before authors were kept
                self._db.execute("ALTER TABLE articles ADD COLUMN author TEXT")
            version = self.get_meta("schema_version")
        except sqlite3.DatabaseError as exc:
            raise IndexFormatError(f"{path}: not a usable SQLite database ({exc})") from exc
        if version is None:
            self.set_meta("schema_version", str(SCHEMA_VERSION))
        elif int(version) != SCHEMA_VERSION:
            raise IndexFormatError(
                f"{path}: database schema {version}, this khabar reads {SCHEMA_VERSION}"
            )

    @property
    def _db(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute("PRAGMA foreign_keys=ON")
                conn.execute("PRAGMA busy_timeout=30000")
            except sqlite3.DatabaseError as exc:
                raise IndexFormatError(
                    f"{self.path}: not a usable SQLite database ({exc})"
                ) from exc
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    # -- transactions -------------------------------------------------------
    def begin(self) -> None:
        """Start a write transaction (taking SQLite's write lock at once)."""
        self._db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        """Commit the write transaction."""
        self._db.execute("COMMIT")

    def rollback(self) -> None:
        """Undo the write transaction."""
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    # -- meta ---------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """A value of the meta table."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Set a value of the meta table."""
        self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # -- writes (inside begin/commit) ----------------------------------------
    def insert_article(
        self, article: Article, chunks: Sequence[Chunk]
    ) -> tuple[list[int], list[list[int]]]:
        """Insert an article with its chunks and spans; returns chunk ids and span ids per chunk."""
        self._db.execute(
            "INSERT INTO articles(id, title, source, url, published, content_hash, origin, author) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                article.id,
                article.title,
                article.source,
                article.url,
                article.published,
                article.content_hash,
                article.origin,
                article.author,
            ),
        )
        chunk_ids: list[int] = []
        span_ids: list[list[int]] = []
        for ordinal, chunk in enumerate(chunks):
            cur = self._db.execute(
                "INSERT INTO chunks(article_id, ordinal, paragraph, part, section, text) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (article.id, ordinal, chunk.paragraph, chunk.part, chunk.section, chunk.text),
            )
            chunk_id = int(cur.lastrowid or 0)
            chunk_ids.append(chunk_id)
            self._db.execute(
                "INSERT INTO chunk_terms(chunk_id, terms) VALUES (?, ?)",
                (chunk_id, " ".join(terms(chunk.embed_text))),
            )
            ids = []
            for span in chunk.spans:
                cur = self._db.execute(
                    "INSERT INTO spans(chunk_id, start, end, kind) VALUES (?, ?, ?, ?)",
                    (chunk_id, span.start, span.end, span.kind),
                )
                ids.append(int(cur.lastrowid or 0))
            span_ids.append(ids)
        return chunk_ids, span_ids

    def delete_article(self, article_id: str) -> tuple[list[int], list[int]]:
        """Delete an article, its chunks and spans; returns the removed chunk and span ids."""
        chunk_ids = [
            int(r[0])
            for r in self._db.execute("SELECT id FROM chunks WHERE article_id = ?", (article_id,))
        ]
        span_ids = [
            int(r[0])
            for r in self._db.execute(
                "SELECT spans.id FROM spans JOIN chunks ON chunks.id = spans.chunk_id "
                "WHERE chunks.article_id = ?",
                (article_id,),
            )
        ]
        self._db.execute("DELETE FROM articles WHERE id = ?", (article_id,))
        return chunk_ids, span_ids

    # -- reads --------------------------------------------------------------
    def article(self, article_id: str) -> ArticleRow | None:
        """One article, or None."""
        rows = self._article_rows("WHERE a.id = ?", (article_id,))
        return rows[0] if rows else None

    def article_by_url(self, url: str) -> ArticleRow | None:
        """The article with this URL, or None."""
        rows = self._article_rows("WHERE a.url = ?", (url,))
        return rows[0] if rows else None

    def articles(self) -> list[ArticleRow]:
        """Every article, in the order they were added."""
        return self._article_rows("", ())

    def _article_rows(self, where: str, args: tuple[str, ...]) -> list[ArticleRow]:
        sql = (
            "SELECT a.id, a.title, a.source, a.url, a.published, a.content_hash, a.added_at, "
            "(SELECT COUNT(DISTINCT paragraph) FROM chunks c WHERE c.article_id = a.id), "
            "a.origin, a.author "
            f"FROM articles a {where} ORDER BY a.rowid"
        )
        return [ArticleRow(*row) for row in self._db.execute(sql, args)]

    def article_ids_where(
        self, *, source: str | None = None, since: str | None = None, until: str | None = None
    ) -> frozenset[str]:
        """Ids of the articles whose source contains ``source`` (any case) and whose
        publication day is within [since, until] (ISO days). An article without a
        date never matches a date filter."""
        clauses: list[str] = []
        args: list[str] = []
        if source:
            clauses.append("instr(lower(source), lower(?)) > 0")
            args.append(source)
        if since:
            clauses.append("published IS NOT NULL AND substr(published, 1, 10) >= ?")
            args.append(since)
        if until:
            clauses.append("published IS NOT NULL AND substr(published, 1, 10) <= ?")
            args.append(until)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return frozenset(
            str(r[0]) for r in self._db.execute(f"SELECT id FROM articles {where}", args)
        )

    def sources(self) -> list[str]:
        """The distinct sources of the articles, sorted."""
        return [
            str(r[0])
            for r in self._db.execute(
                "SELECT DISTINCT source FROM articles WHERE source != '' ORDER BY source"
            )
        ]

    def counts(self) -> tuple[int, int, int]:
        """(articles, chunks, spans)."""
        row = self._db.execute(
            "SELECT (SELECT COUNT(*) FROM articles), (SELECT COUNT(*) FROM chunks), "
            "(SELECT COUNT(*) FROM spans)"
        ).fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def chunk_ids_of(self, article_ids: Iterable[str]) -> list[int]:
        """The chunk ids of the given articles."""
        wanted = list(article_ids)
        found: list[int] = []
        for start in range(0, len(wanted), 900):
            batch = wanted[start : start + 900]
            marks = ",".join("?" * len(batch))
            found.extend(
                int(r[0])
                for r in self._db.execute(
                    f"SELECT id FROM chunks WHERE article_id IN ({marks})", batch
                )
            )
        return found

    def chunk_ids(self) -> list[int]:
        """Every chunk id, ascending."""
        return [int(r[0]) for r in self._db.execute("SELECT id FROM chunks ORDER BY id")]

    def span_ids(self) -> list[int]:
        """Every span id, ascending."""
        return [int(r[0]) for r in self._db.execute("SELECT id FROM spans ORDER BY id")]

    def all_terms(self) -> tuple[list[int], list[list[str]]]:
        """Every chunk id with its BM25 terms (rows missing terms get them first)."""
        missing = self._db.execute(
            "SELECT c.id, c.section, c.text FROM chunks c "
            "LEFT JOIN chunk_terms t ON t.chunk_id = c.id WHERE t.chunk_id IS NULL"
        ).fetchall()
        for chunk_id, section, text in missing:
            self._db.execute(
                "INSERT INTO chunk_terms(chunk_id, terms) VALUES (?, ?)",
                (chunk_id, " ".join(terms(embed_text(section, text)))),
            )
        ids: list[int] = []
        docs: list[list[str]] = []
        for chunk_id, joined in self._db.execute(
            "SELECT chunk_id, terms FROM chunk_terms ORDER BY chunk_id"
        ):
            ids.append(int(chunk_id))
            docs.append(str(joined).split())
        return ids, docs

    def chunks(self, ids: Iterable[int]) -> dict[int, StoredChunk]:
        """Chunks by id, with their article's citation fields; unknown ids are left out."""
        wanted = [int(i) for i in ids]
        found: dict[int, StoredChunk] = {}
        for batch in _batches(wanted):
            marks = ",".join("?" * len(batch))
            for row in self._db.execute(
                "SELECT c.id, c.article_id, c.ordinal, c.paragraph, c.section, c.text, "
                "a.title, a.source, a.url, a.published, a.author FROM chunks c "
                f"JOIN articles a ON a.id = c.article_id WHERE c.id IN ({marks})",
                batch,
            ):
                found[int(row[0])] = StoredChunk(*row)
        return found

    def chunk_at(self, article_id: str, ordinal: int) -> StoredChunk | None:
        """The chunk of ``article_id`` at position ``ordinal``, or None."""
        row = self._db.execute(
            "SELECT id FROM chunks WHERE article_id = ? AND ordinal = ?", (article_id, ordinal)
        ).fetchone()
        return None if row is None else self.chunks([int(row[0])]).get(int(row[0]))

    def spans_of_chunks(self, chunk_ids: Iterable[int]) -> list[StoredSpan]:
        """Every span of the given chunks."""
        wanted = [int(i) for i in chunk_ids]
        spans: list[StoredSpan] = []
        for batch in _batches(wanted):
            marks = ",".join("?" * len(batch))
            spans.extend(
                StoredSpan(*row)
                for row in self._db.execute(
                    f"SELECT id, chunk_id, start, end, kind FROM spans WHERE chunk_id IN ({marks})",
                    batch,
                )
            )
        return spans

    def span_table(self, chunk_ids: Iterable[int]) -> npt.NDArray[np.int64]:
        """Rows (span id, chunk id, is_sentence) of every span of the given chunks, as an array."""
        wanted = [int(i) for i in chunk_ids]
        rows: list[tuple[int, int, int]] = []
        for batch in _batches(wanted):
            marks = ",".join("?" * len(batch))
            rows.extend(
                self._db.execute(
                    "SELECT id, chunk_id, kind = 'sentence' FROM spans "
                    f"WHERE chunk_id IN ({marks})",
                    batch,
                ).fetchall()
            )
        return np.asarray(rows, dtype=np.int64).reshape(-1, 3)

    def existing_chunk_ids(self, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` are chunks in the database now."""
        wanted = [int(i) for i in ids]
        found: set[int] = set()
        for batch in _batches(wanted):
            marks = ",".join("?" * len(batch))
            found.update(
                int(r[0])
                for r in self._db.execute(f"SELECT id FROM chunks WHERE id IN ({marks})", batch)
            )
        return found

    def span_owners(self, span_ids: Iterable[int]) -> dict[int, int]:
        """span id → chunk id, for the spans that exist."""
        wanted = [int(i) for i in span_ids]
        owners: dict[int, int] = {}
        for batch in _batches(wanted):
            marks = ",".join("?" * len(batch))
            for span_id, chunk_id in self._db.execute(
                f"SELECT id, chunk_id FROM spans WHERE id IN ({marks})", batch
            ):
                owners[int(span_id)] = int(chunk_id)
        return owners

    def texts_for_chunks(self, ids: Sequence[int]) -> list[str]:
        """The text the encoder saw for each chunk (section heading + paragraph)."""
        stored = self.chunks(ids)
        return [stored[i].embed_text for i in ids]

    def texts_for_spans(self, ids: Sequence[int]) -> list[str]:
        """The text of each span."""
        texts: dict[int, str] = {}
        for batch in _batches(list(ids)):
            marks = ",".join("?" * len(batch))
            for span_id, text, start, end in self._db.execute(
                "SELECT s.id, c.text, s.start, s.end FROM spans s JOIN chunks c "
                f"ON c.id = s.chunk_id WHERE s.id IN ({marks})",
                batch,
            ):
                texts[int(span_id)] = str(text)[start:end]
        return [texts[i] for i in ids]


def _batches(ids: list[int], size: int = 900) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
