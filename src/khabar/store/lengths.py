"""Each chunk's length in FTS5 tokens, by chunk id, kept in memory for the lexical leg.

FTS5 ranks a term's postings with ``bm25()``, which looks up each posting's length in its
``docsize`` table, one SQL lookup a posting (about 2 µs): at a million paragraphs a
question's 30,000 postings cost 60 of its lexical leg's 80 ms that way. With every chunk's
length in an array, ``lexical.top`` ranks the postings itself (numpy, the same order).

The lengths are FTS5's own (its ``docsize`` table holds one varint a column, and the FTS5
table has one column), read once (about 1 s at a million paragraphs: on a large index in a
thread of its own from the second question on, while questions use ``bm25()``), then only
the ids added since: chunk ids are never reused (``AUTOINCREMENT``), so a length once read
stays right, and a deleted chunk's length stays behind unread (it has no postings).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

Ids = npt.NDArray[np.int64]
Lengths = npt.NDArray[np.int32]

BACKGROUND_FROM = 50_000  # chunks: from here on the first read runs in a thread
_READ = "SELECT id, sz FROM chunks_fts_docsize WHERE id > ? ORDER BY id"
_BATCH = 65_536


def varint(blob: bytes) -> int:
    """The first SQLite varint of ``blob`` (FTS5's docsize record: one a column)."""
    value = 0
    for byte in blob[:9]:
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value
    raise ValueError("not a varint")


class ChunkLengths:
    """The lengths of one index's chunks, read lazily; thread-safe."""

    def __init__(self) -> None:
        self._array: Lengths | None = None
        self._lock = threading.Lock()
        self._started = False
        self._asked = 0
        self._done = threading.Event()

    def ready(self, connect: Callable[[], sqlite3.Connection], chunks: int) -> bool:
        """Whether the lengths are in memory. On a small index the first call reads them
        (a few milliseconds); on one of ``BACKGROUND_FROM`` chunks or more the second call
        starts reading them in a thread of its own, so that no question waits for them and
        a one-question process (``khabar ask``) spends nothing on them."""
        if self._array is not None:
            return True
        with self._lock:
            self._asked += 1
            due = chunks < BACKGROUND_FROM or self._asked >= 2
        if due:
            self.start(connect, chunks)
        return self._array is not None

    def start(self, connect: Callable[[], sqlite3.Connection], chunks: int) -> None:
        """Start the first read, if not started: here, or in a thread of its own from
        ``BACKGROUND_FROM`` chunks on."""
        with self._lock:
            if self._started:
                return
            self._started = True
        if chunks < BACKGROUND_FROM:
            self._first_read(connect)
            return
        threading.Thread(
            target=self._first_read, args=(connect,), name="chunk-lengths", daemon=True
        ).start()

    def _first_read(self, connect: Callable[[], sqlite3.Connection]) -> None:
        try:
            array = _read(connect(), np.zeros(1, dtype=np.int32))
            with self._lock:
                self._array = array
        except (sqlite3.Error, ValueError, IndexError):
            pass  # never read: the lexical leg keeps ranking with bm25()
        finally:
            self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a first read that has started; whether the lengths are in."""
        if self._started:
            self._done.wait(timeout)
        return self._array is not None

    def of(self, conn: sqlite3.Connection, ids: Ids) -> Lengths:
        """The lengths of ``ids`` (postings of the index: read first if added since)."""
        array = self._array
        assert array is not None, "ready() first"
        highest = int(ids.max()) if len(ids) else -1
        if highest >= len(array):
            with self._lock:
                array = self._array
                assert array is not None
                if highest >= len(array):
                    array = self._array = _read(conn, array, highest + 1)
        return array[ids]


def _read(conn: sqlite3.Connection, known: Lengths, size: int = 0) -> Lengths:
    """``known`` (the lengths of the ids below its size) with every later id's added, at
    least ``size`` long (0 for an id without a row: deleted since its postings were read,
    it scores nothing when the candidates are scored)."""
    cursor = conn.execute(_READ, (len(known) - 1,))
    parts: list[tuple[Ids, Lengths]] = []
    while rows := cursor.fetchmany(_BATCH):  # a batch at a time: no million tuples at once
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        parts.append((ids, np.fromiter((varint(r[1]) for r in rows), np.int32, len(rows))))
    highest = int(parts[-1][0][-1]) + 1 if parts else 0
    array = np.zeros(max(size, len(known), highest), np.int32)
    array[: len(known)] = known
    for ids, sizes in parts:
        array[ids] = sizes
    return array
