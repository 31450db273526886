"""Format 1 → 2, once, on open: the two whole FAISS files become segments and the bm25s
folder gives way to FTS5 (already built from the stored terms when the database's schema
was upgraded). Nothing is embedded again unless a row had no vector."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import numpy as np

from khabar.errors import IndexFormatError
from khabar.store import catalog
from khabar.store.repair import embed_missing, live_ids

if TYPE_CHECKING:
    from khabar.store.index import SegmentStore

OLD_FILES = {"chunks": "chunks.faiss", "spans": "spans.faiss"}
OLD_LEXICAL = "lexical"


def migrate_v1(store: SegmentStore) -> str:
    """Move a format-1 index's vectors into segments; returns a line that says what it did."""
    from khabar.store.vectors import VectorIndex

    db = store.db
    moved: dict[str, int] = {}
    embedded: dict[str, int] = {}
    if not catalog.segments(db.conn):  # not already half-migrated by a run that crashed
        records = []
        for kind, name in OLD_FILES.items():
            live = live_ids(store, kind)
            have = np.empty(0, dtype=np.int64)
            path = store.folder / name
            if path.exists():
                try:
                    old = VectorIndex.load(path, store.manifest.dim)
                    have = old.ids()[np.isin(old.ids(), live)]
                    if len(have):
                        records.append(store.writer.flat(kind, have, old.vectors(have)))
                except IndexFormatError:
                    pass  # damaged: its rows are embedded again below
            fresh, embedded[kind] = embed_missing(store, kind, have, live)
            records += fresh
            moved[kind] = len(have)
        store.commit_segments(records)
        store.load_segments()
        for kind, collection in store.collections.items():
            big = [s.record for s in collection.segments if s.count >= store.seal_vectors]
            if big:
                store.merge(kind, big)  # seal it: compressed, searched through IVF-PQ
    for name in OLD_FILES.values():
        (store.folder / name).unlink(missing_ok=True)
    shutil.rmtree(store.folder / OLD_LEXICAL, ignore_errors=True)
    again = sum(embedded.values())
    return (
        f"{store.folder}: migrated the index from format 1 to 2 once: "
        f"{moved.get('chunks', 0):,} paragraph and {moved.get('spans', 0):,} span vectors "
        "moved into segments, the lexical index into SQLite FTS5"
        + (f"; {again:,} vectors that were missing embedded again" if again else "")
    )
