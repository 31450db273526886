"""`khabar repair`: every segment's checksum read and compared; a damaged segment is dropped
and the vectors of its live rows (and of any row without one) embedded again from the text
stored in SQLite, into new segments."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from khabar.errors import IndexFormatError
from khabar.store import catalog
from khabar.store.segments import Segment

if TYPE_CHECKING:
    from khabar.store.index import SegmentStore


def repair(store: SegmentStore) -> list[str]:
    """Check and rebuild; returns a line per thing rebuilt (empty when all was well)."""
    db = store.db
    done: list[str] = []
    damaged: list[str] = []
    held: dict[str, list[np.ndarray]] = {"chunks": [], "spans": []}
    for record in catalog.segments(db.conn):
        try:
            codec = catalog.load_codec(db.conn, record.kind)
            segment = Segment(store.folder, record, codec)
            segment.verify()
            held[record.kind].append(np.asarray(segment.ids))
        except (IndexFormatError, OSError, ValueError) as exc:
            damaged.append(record.name)
            done.append(f"segment {record.name} ({record.kind}, {record.count:,} vectors): {exc}")
    records = []
    for kind in ("chunks", "spans"):
        live = np.asarray(db.chunk_ids() if kind == "chunks" else db.span_ids(), np.int64)
        have = np.concatenate(held[kind]) if held[kind] else np.empty(0, dtype=np.int64)
        missing = np.setdiff1d(live, have)
        if not len(missing):
            continue
        texts = db.texts_for_chunks if kind == "chunks" else db.texts_for_spans
        for start in range(0, len(missing), 4096):
            block = missing[start : start + 4096]
            vectors = store.embed([int(i) for i in block], texts)
            records.append(store.writer.flat(kind, block, vectors))
        done.append(f"{len(missing):,} {kind[:-1]} vectors embedded again")
    if not damaged and not records:
        return []
    store.commit_segments(records, drop=damaged)
    return done
