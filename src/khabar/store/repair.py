"""`khabar repair`: every segment's checksum read and compared; a damaged segment is dropped
and the vectors of its live rows (and of any row without one) embedded again from the text
stored in SQLite, into new segments."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from khabar.errors import IndexFormatError
from khabar.store import catalog
from khabar.store.segments import Segment, SegmentRecord

if TYPE_CHECKING:
    from khabar.store.index import SegmentStore

Ids = npt.NDArray[np.int64]


def live_ids(store: SegmentStore, kind: str) -> Ids:
    """Every row id of ``kind`` (chunks or spans), ascending."""
    db = store.db
    return np.asarray(db.chunk_ids() if kind == "chunks" else db.span_ids(), dtype=np.int64)


def embed_missing(
    store: SegmentStore, kind: str, have: Ids, live: Ids | None = None
) -> tuple[list[SegmentRecord], int]:
    """New flat segments (not yet recorded) with a vector for every live row of ``kind``
    that ``have`` lacks, embedded from the stored text in blocks; and how many."""
    db = store.db
    missing = np.setdiff1d(live_ids(store, kind) if live is None else live, have)
    texts = db.texts_for_chunks if kind == "chunks" else db.texts_for_spans
    records = []
    for start in range(0, len(missing), 4096):
        block = missing[start : start + 4096]
        records.append(store.writer.flat(kind, block, store.embed(block.tolist(), texts)))
    return records, len(missing)


def repair(store: SegmentStore) -> list[str]:
    """Check and rebuild; returns a line per thing rebuilt (empty when all was well)."""
    db = store.db
    done: list[str] = []
    damaged: list[str] = []
    held: dict[str, list[Ids]] = {"chunks": [], "spans": []}
    for record in catalog.segments(db.conn):
        try:
            codec = catalog.load_codec(db.conn, record.kind)
            segment = Segment(store.folder, record, codec)
            segment.verify()
            held[record.kind].append(np.asarray(segment.ids))
        except (IndexFormatError, OSError, ValueError) as exc:
            damaged.append(record.name)
            done.append(f"segment {record.name} ({record.kind}, {record.count:,} vectors): {exc}")
    records: list[SegmentRecord] = []
    for kind, parts in held.items():
        have = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
        fresh, count = embed_missing(store, kind, have)
        records += fresh
        if count:
            done.append(f"{count:,} {kind[:-1]} vectors embedded again")
    if not damaged and not records:
        return []
    store.commit_segments(records, drop=damaged)
    return done
