"""The database's record of the vector segments, their shared codecs, and the generation
counter that tells other processes the segments changed (one small query a question)."""

from __future__ import annotations

import sqlite3

from khabar.store.segments import Codec, SegmentRecord

GENERATION = "generation"


def segments(conn: sqlite3.Connection) -> list[SegmentRecord]:
    """Every recorded segment."""
    return [
        SegmentRecord(
            str(name),
            str(kind),
            str(layout),
            int(count),
            int(low),
            int(high),
            SegmentRecord.files_from_json(str(files)),
        )
        for name, kind, layout, count, low, high, files in conn.execute(
            "SELECT name, kind, layout, count, id_min, id_max, files FROM segments ORDER BY id_min"
        )
    ]


def add_segment(conn: sqlite3.Connection, record: SegmentRecord) -> None:
    """Record a segment (inside the write's transaction)."""
    conn.execute(
        "INSERT INTO segments(name, kind, layout, count, id_min, id_max, files) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            record.name,
            record.kind,
            record.layout,
            record.count,
            record.id_min,
            record.id_max,
            record.to_json(),
        ),
    )


def replace_segments(conn: sqlite3.Connection, old: list[str], new: SegmentRecord | None) -> None:
    """Forget the ``old`` segments and record ``new`` (None: they held nothing live)."""
    conn.executemany("DELETE FROM segments WHERE name = ?", [(name,) for name in old])
    if new is not None:
        add_segment(conn, new)


def generation(conn: sqlite3.Connection) -> str:
    """The counter every change of segments (and every write) increments."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (GENERATION,)).fetchone()
    return "0" if row is None else str(row[0])


def bump(conn: sqlite3.Connection) -> None:
    """Increment the generation (inside the write's transaction)."""
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?, '1') ON CONFLICT(key) DO UPDATE SET "
        "value = CAST(value AS INTEGER) + 1",
        (GENERATION,),
    )


def save_codec(conn: sqlite3.Connection, kind: str, codec: Codec, trained: bytes) -> None:
    """Record the kind's codec and trained IVF-PQ index (inside a transaction)."""
    conn.execute(
        "INSERT OR REPLACE INTO codecs(kind, codec, trained) VALUES (?, ?, ?)",
        (kind, codec.to_bytes(), trained),
    )


def load_codec(conn: sqlite3.Connection, kind: str) -> Codec | None:
    """The kind's codec, or None before its first sealed segment."""
    row = conn.execute("SELECT codec FROM codecs WHERE kind = ?", (kind,)).fetchone()
    return None if row is None else Codec.from_bytes(bytes(row[0]))


def load_trained(conn: sqlite3.Connection, kind: str) -> bytes | None:
    """The kind's trained (empty) IVF-PQ index, serialised, or None."""
    row = conn.execute("SELECT trained FROM codecs WHERE kind = ?", (kind,)).fetchone()
    return None if row is None else bytes(row[0])
