"""khabar.sqlite: articles, chunks (paragraphs) and spans (sentences, clauses).

The row ids of chunks and spans are the ids of their vectors in FAISS. AUTOINCREMENT
keeps a removed row's id from ever being reused for another text.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from khabar.errors import IndexFormatError
from khabar.records import Article, Chunk, Quote, embed_text
from khabar.store import quote_rows
from khabar.text.tokenize import terms

SCHEMA_VERSION = 2
DB_NAME = "khabar.sqlite"
# The row counts, kept in the meta table by every insert and delete (in their transaction),
# so that nothing per question or per write counts a table of millions of rows.
COUNT_KEYS = ("count_articles", "count_chunks", "count_spans")
# ... and the number of BM25 terms over all chunks (for BM25's average chunk length).
TERMS_KEY = "count_terms"
RANGE_COLUMNS = ("chunk_lo", "chunk_hi", "span_lo", "span_hi")
RUN_GAP = 4096  # ids further apart than this are looked up as separate runs (live_ids)
_TERMS_OF = (
    "CASE WHEN terms = '' THEN 0 ELSE length(terms) - length(replace(terms, ' ', '')) + 1 END"
)

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
    added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    chunk_lo INTEGER, chunk_hi INTEGER, span_lo INTEGER, span_hi INTEGER
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

# A filter reads its articles' id ranges from an index alone (a source, or a span of days).
_FILTER_INDEXES = """
CREATE INDEX IF NOT EXISTS articles_by_source
    ON articles(source, chunk_lo, chunk_hi, span_lo, span_hi);
CREATE INDEX IF NOT EXISTS articles_by_day
    ON articles(published, chunk_lo, chunk_hi, span_lo, span_hi);
"""

# Schema 2: the vector segments that hold the index's vectors (written in the same
# transaction as the rows they embed, so that the two never disagree), the codecs that
# sealed segments share, and the lexical leg as an FTS5 index over chunk_terms, kept in
# step by triggers (a chunk's cascade delete removes its terms, and so its postings).
_SCHEMA_2 = """
CREATE TABLE IF NOT EXISTS segments (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    layout TEXT NOT NULL,
    count INTEGER NOT NULL,
    id_min INTEGER NOT NULL,
    id_max INTEGER NOT NULL,
    files TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS codecs (
    kind TEXT PRIMARY KEY,
    codec BLOB NOT NULL,
    trained BLOB NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    terms, content='chunk_terms', content_rowid='chunk_id',
    tokenize="unicode61 remove_diacritics 0 tokenchars '.'"
);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_vocab USING fts5vocab(chunks_fts, 'row');
CREATE TRIGGER IF NOT EXISTS chunk_terms_in AFTER INSERT ON chunk_terms BEGIN
    INSERT INTO chunks_fts(rowid, terms) VALUES (new.chunk_id, new.terms);
END;
CREATE TRIGGER IF NOT EXISTS chunk_terms_out AFTER DELETE ON chunk_terms BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, terms) VALUES ('delete', old.chunk_id, old.terms);
END;
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
    quotes: tuple[Quote, ...] = ()

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

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self._counted_terms: int | None = None
        self._ranges: bool | None = None  # whether articles hold their id ranges
        self.notes: list[str] = []  # what opening changed (a migration)
        # One connection per thread: SQLite's WAL then lets questions read while a
        # writer in another thread holds its transaction.
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        if read_only:
            self._check_readable()
            return
        try:
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(articles)")}
            if "origin" not in columns:  # databases written before `sync` existed
                self._db.execute("ALTER TABLE articles ADD COLUMN origin TEXT NOT NULL DEFAULT ''")
            if "author" not in columns:  # databases written before authors were kept
                self._db.execute("ALTER TABLE articles ADD COLUMN author TEXT")
            if "chunk_lo" not in columns:  # before filters were searched inside FAISS
                self._add_id_ranges()
                self.notes.append(
                    f"{path.parent}: recorded each article's chunk and span ids (once), "
                    "so that filters are applied inside the vector search"
                )
            self._db.executescript(quote_rows.SCHEMA)
            if self.get_meta(quote_rows.FILLED_KEY) is None:  # before quotes were kept
                with self.transaction():
                    added = quote_rows.fill(self._db)
                    self.set_meta(quote_rows.FILLED_KEY, "1")
                if added:
                    self.notes.append(
                        f"{path.parent}: found who said what in the articles indexed before "
                        f"quotes were kept ({added} quotes, once)"
                    )
            self._db.executescript(_FILTER_INDEXES)
            version = self.get_meta("schema_version")
            if version is not None and int(version) > SCHEMA_VERSION:
                raise IndexFormatError(
                    f"{path}: database schema {version} is newer than this khabar reads "
                    f"({SCHEMA_VERSION}); upgrade khabar"
                )
            older = version is not None and int(version) < SCHEMA_VERSION
            if version is None or older:
                if older:  # schema 1: every chunk gets its terms, for FTS5 to index
                    self.fill_missing_terms()
                counted = ", ".join(
                    f"('{key}', (SELECT COUNT(*) FROM {table}))"
                    for key, table in zip(COUNT_KEYS, ("articles", "chunks", "spans"), strict=True)
                )
                # executescript commits first, so the transaction is part of the script
                self._db.executescript(
                    f"BEGIN IMMEDIATE;\n{_SCHEMA_2}\n"
                    "INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild');\n"
                    f"INSERT OR REPLACE INTO meta(key, value) VALUES {counted}, ('{TERMS_KEY}', "
                    f"(SELECT COALESCE(SUM({_TERMS_OF}), 0) FROM chunk_terms));\n"
                    "INSERT OR REPLACE INTO meta(key, value) VALUES "
                    f"('schema_version', '{SCHEMA_VERSION}');\nCOMMIT;"
                )
            if self.get_meta(TERMS_KEY) is None:  # schema 2 before the term count was kept
                self._db.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                    (TERMS_KEY, str(self.recount_terms())),
                )
        except sqlite3.DatabaseError as exc:
            raise IndexFormatError(f"{path}: not a usable SQLite database ({exc})") from exc

    def _add_id_ranges(self) -> None:
        """Give every article the range of its chunk ids and of its span ids (one
        transaction; an article's rows are written together, so each is one run of ids)."""
        with self.transaction():
            for column in RANGE_COLUMNS:
                self._db.execute(f"ALTER TABLE articles ADD COLUMN {column} INTEGER")
            self._db.execute(
                "UPDATE articles SET (chunk_lo, chunk_hi) = (SELECT MIN(id), MAX(id) FROM chunks "
                "WHERE article_id = articles.id)"
            )
            self._db.execute(
                "UPDATE articles SET (span_lo, span_hi) = (SELECT MIN(s.id), MAX(s.id) "
                "FROM spans s WHERE s.chunk_id BETWEEN articles.chunk_lo AND articles.chunk_hi)"
            )

    def _check_readable(self) -> None:
        """A read-only database must already be of this khabar's schema (nothing can be
        migrated without writing)."""
        try:
            version = self.get_meta("schema_version")
        except sqlite3.DatabaseError as exc:
            raise IndexFormatError(f"{self.path}: not a usable SQLite database ({exc})") from exc
        if version is None or int(version) != SCHEMA_VERSION:
            raise IndexFormatError(
                f"{self.path}: the database is of schema {version or 1}, and this khabar reads "
                f"{SCHEMA_VERSION}; it is upgraded on the first open with write access, and "
                "this index is read-only (copy it to a writable folder, or open it once as "
                "its owner)"
            )

    def _connect_read_only(self) -> sqlite3.Connection:
        """Open without writing anything: while a writer's WAL file is there, through it
        (``mode=ro``); else as an immutable file, since reading a WAL database otherwise
        needs to create its shared-memory file in the folder."""
        wal = self.path.with_name(self.path.name + "-wal")
        uri = self.path.resolve().as_uri()
        if wal.exists():
            try:
                conn = sqlite3.connect(
                    uri + "?mode=ro", uri=True, check_same_thread=False, isolation_level=None
                )
                conn.execute("SELECT 1 FROM meta LIMIT 1").fetchall()
                return conn
            except sqlite3.OperationalError:
                pass
        return sqlite3.connect(
            uri + "?immutable=1", uri=True, check_same_thread=False, isolation_level=None
        )

    @property
    def _db(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = self._connect_read_only() if self.read_only else self._connect()
                conn.execute("PRAGMA busy_timeout=30000")
            except sqlite3.DatabaseError as exc:
                raise IndexFormatError(
                    f"{self.path}: not a usable SQLite database ({exc})"
                ) from exc
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
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

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        self.begin()
        try:
            yield
            self.commit()
        except BaseException:
            self.rollback()
            raise

    def _add_counts(self, articles: int, chunks: int, spans: int, terms: int) -> None:
        for key, delta in zip(
            (*COUNT_KEYS, TERMS_KEY), (articles, chunks, spans, terms), strict=True
        ):
            self._db.execute(
                "UPDATE meta SET value = CAST(value AS INTEGER) + ? WHERE key = ?", (delta, key)
            )

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
        self, article: Article, chunks: Sequence[Chunk], content_hash: str = ""
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
                content_hash or article.content_hash,
                article.origin,
                article.author,
            ),
        )
        chunk_ids: list[int] = []
        span_ids: list[list[int]] = []
        term_count = 0
        for ordinal, chunk in enumerate(chunks):
            cur = self._db.execute(
                "INSERT INTO chunks(article_id, ordinal, paragraph, part, section, text) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (article.id, ordinal, chunk.paragraph, chunk.part, chunk.section, chunk.text),
            )
            chunk_id = int(cur.lastrowid or 0)
            chunk_ids.append(chunk_id)
            chunk_terms = terms(chunk.embed_text)
            term_count += len(chunk_terms)
            self._db.execute(
                "INSERT INTO chunk_terms(chunk_id, terms) VALUES (?, ?)",
                (chunk_id, " ".join(chunk_terms)),
            )
            quote_rows.insert(self._db, chunk_id, chunk.quotes)
            ids = []
            for span in chunk.spans:
                cur = self._db.execute(
                    "INSERT INTO spans(chunk_id, start, end, kind) VALUES (?, ?, ?, ?)",
                    (chunk_id, span.start, span.end, span.kind),
                )
                ids.append(int(cur.lastrowid or 0))
            span_ids.append(ids)
        flat = [i for ids in span_ids for i in ids]
        self._db.execute(
            "UPDATE articles SET chunk_lo = ?, chunk_hi = ?, span_lo = ?, span_hi = ? WHERE id = ?",
            (
                min(chunk_ids, default=None),
                max(chunk_ids, default=None),
                min(flat, default=None),
                max(flat, default=None),
                article.id,
            ),
        )
        self._add_counts(1, len(chunk_ids), sum(len(ids) for ids in span_ids), term_count)
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
        term_count = self._db.execute(
            f"SELECT COALESCE(SUM({_TERMS_OF}), 0) FROM chunk_terms WHERE chunk_id IN "
            "(SELECT id FROM chunks WHERE article_id = ?)",
            (article_id,),
        ).fetchone()[0]
        gone = self._db.execute("DELETE FROM articles WHERE id = ?", (article_id,)).rowcount
        self._add_counts(-gone, -len(chunk_ids), -len(span_ids), -int(term_count))
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

    def filter_sql(
        self,
        *,
        article_ids: frozenset[str] | None = None,
        source: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> tuple[str, list[str]]:
        """A condition on the articles table (alias ``a``) and its arguments: source contains
        ``source`` (any case), the publication day within [since, until] (an article
        without a date never matches a date filter), the id among ``article_ids``."""
        clauses: list[str] = []
        args: list[str] = []
        if source:  # the sources that contain it, so that the index finds their articles
            needle = source.lower()
            named = [s for s in self.sources() if needle in s.lower()]
            clauses.append("a.source IN (SELECT value FROM json_each(?))")
            args.append(json.dumps(named))
        # An ISO day compares as the start of a published string: a publication day is at
        # least `since` when the string is, and at most `until` when the string sorts
        # before `until` + "~" (after every character of an ISO date and time).
        if since:
            clauses.append("a.published >= ?")
            args.append(since)
        if until:
            clauses.append("a.published < ?")
            args.append(until + "~")
        if article_ids is not None:
            wanted = sorted(article_ids)
            clauses.append("a.id IN (SELECT value FROM json_each(?))" if wanted else "0")
            if wanted:
                args.append(json.dumps(wanted))
        return (" AND ".join(clauses) or "1"), args

    def id_ranges(self, condition: str, args: Sequence[str]) -> npt.NDArray[np.int64]:
        """One row (chunk_lo, chunk_hi, span_lo, span_hi) per article meeting ``condition``
        (inclusive ranges; -1 where an article has no rows of that kind)."""
        spans = "(SELECT {}(s.id) FROM spans s JOIN chunks c ON c.id = s.chunk_id "
        spans += "WHERE c.article_id = a.id)"
        found = [  # through the indexes: a read-only older index, or a row an older khabar wrote
            "(SELECT MIN(id) FROM chunks WHERE article_id = a.id)",
            "(SELECT MAX(id) FROM chunks WHERE article_id = a.id)",
            spans.format("MIN"),
            spans.format("MAX"),
        ]
        columns = found
        if self._has_ranges():
            columns = [f"a.{c}, {f}" for c, f in zip(RANGE_COLUMNS, found, strict=True)]
        listed = ", ".join(f"COALESCE({column}, -1)" for column in columns)
        rows = self._db.execute(
            f"SELECT {listed} FROM articles a WHERE {condition}", list(args)
        ).fetchall()
        return np.asarray(rows, dtype=np.int64).reshape(-1, 4)

    def _has_ranges(self) -> bool:
        if self._ranges is None:
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(articles)")}
            self._ranges = "chunk_lo" in columns
        return self._ranges

    def keep_chunks_where(
        self, ids: Iterable[int], condition: str, args: Sequence[str]
    ) -> set[int]:
        """Which of ``ids`` are chunks of articles meeting ``condition``."""
        wanted = [int(i) for i in ids]
        found: set[int] = set()
        for batch in _batches(wanted, 400):
            marks = ",".join("?" * len(batch))
            found.update(
                int(r[0])
                for r in self._db.execute(
                    f"SELECT c.id FROM chunks c JOIN articles a ON a.id = c.article_id "
                    f"WHERE c.id IN ({marks}) AND {condition}",
                    [*batch, *args],
                )
            )
        return found

    def live_ids(self, table: str, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Which of ``ids`` are rows of ``table`` (chunks or spans) now, ascending.

        Read a run of ids at a time (ids at most RUN_GAP apart: one range query), so that
        segments whose ids lie far apart cost what they hold, not the range between them:
        at a million paragraphs, a merge with one such segment read 5.5 million span ids."""
        assert table in ("chunks", "spans")
        ids = np.unique(np.asarray(ids, dtype=np.int64))
        if not len(ids):
            return ids
        breaks = np.flatnonzero(np.diff(ids) > RUN_GAP)
        lows = ids[np.r_[0, breaks + 1]].tolist()
        highs = ids[np.r_[breaks, len(ids) - 1]].tolist()
        found: list[int] = []
        sql = f"SELECT id FROM {table} WHERE id BETWEEN ? AND ? ORDER BY id"
        for low, high in zip(lows, highs, strict=True):
            found.extend(r[0] for r in self._db.execute(sql, (low, high)))
        rows = np.asarray(found, dtype=np.int64)
        return rows[np.isin(rows, ids)]

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (for the store's own tables: segments, lexical)."""
        return self._db

    def sources(self) -> list[str]:
        """The distinct sources of the articles, sorted."""
        return [
            str(r[0])
            for r in self._db.execute(
                "SELECT DISTINCT source FROM articles WHERE source != '' ORDER BY source"
            )
        ]

    def counts(self) -> tuple[int, int, int]:
        """(articles, chunks, spans), as the writes kept count of them (one small query)."""
        marks = ",".join("?" * len(COUNT_KEYS))
        found = dict(
            self._db.execute(f"SELECT key, value FROM meta WHERE key IN ({marks})", COUNT_KEYS)
        )
        articles, chunks, spans = (int(found.get(key, 0)) for key in COUNT_KEYS)
        return articles, chunks, spans

    def term_count(self) -> int:
        """The number of BM25 terms over all chunks, as the writes kept count of it (a
        read-only database written before the count was kept counts it once)."""
        kept = self.get_meta(TERMS_KEY)
        if kept is not None:
            return int(kept)
        if self._counted_terms is None:
            self._counted_terms = self.recount_terms()
        return self._counted_terms

    def recount_terms(self) -> int:
        """The same, counted row by row (for checks)."""
        row = self._db.execute(f"SELECT COALESCE(SUM({_TERMS_OF}), 0) FROM chunk_terms")
        return int(row.fetchone()[0])

    def recount(self) -> tuple[int, int, int]:
        """(articles, chunks, spans), counted row by row (for checks: reads every row)."""
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

    def fill_missing_terms(self) -> None:
        """Give every chunk without BM25 terms its terms (indexes of schema 1)."""
        missing = self._db.execute(
            "SELECT c.id, c.section, c.text FROM chunks c "
            "LEFT JOIN chunk_terms t ON t.chunk_id = c.id WHERE t.chunk_id IS NULL"
        ).fetchall()
        for chunk_id, section, text in missing:
            self._db.execute(
                "INSERT INTO chunk_terms(chunk_id, terms) VALUES (?, ?)",
                (chunk_id, " ".join(terms(embed_text(section, text)))),
            )

    def all_terms(self) -> tuple[list[int], list[list[str]]]:
        """Every chunk id with its BM25 terms (for benchmarks of other lexical indexes)."""
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
        quotes = quote_rows.of_chunks(self._db, list(found))
        if quotes:
            for chunk_id, held in quotes.items():
                found[chunk_id] = replace(found[chunk_id], quotes=held)
        return found

    def quote_names(self) -> list[tuple[str, str]]:
        """Every distinct (speaker, name) quoted in the index."""
        return quote_rows.names(self._db)

    def quotes(
        self, speakers: Sequence[str] | None, since: str | None, limit: int
    ) -> list[quote_rows.QuoteRow]:
        """Quotes newest first, of ``speakers`` (as recorded) if given (see quote_rows)."""
        return quote_rows.listing(self._db, speakers, since, limit)

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

    def span_table(
        self, chunk_ids: Iterable[int], sentences_only: bool = False
    ) -> npt.NDArray[np.int64]:
        """Rows (span id, chunk id) of every span of the given chunks (of their sentences
        alone, with ``sentences_only``), as an array. Without the kinds the rows come from
        the ``spans_by_chunk`` index alone: 2.4 times faster at a million paragraphs."""
        wanted = [int(i) for i in chunk_ids]
        kind = " AND kind = 'sentence'" if sentences_only else ""
        rows: list[tuple[int, int]] = []
        for batch in _batches(wanted):
            marks = ",".join("?" * len(batch))
            rows.extend(
                self._db.execute(
                    f"SELECT id, chunk_id FROM spans WHERE chunk_id IN ({marks}){kind}", batch
                ).fetchall()
            )
        return np.asarray(rows, dtype=np.int64).reshape(-1, 2)

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
