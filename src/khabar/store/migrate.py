"""Format 1 → 2, once, on open: the two whole FAISS files become segments and the bm25s
folder gives way to FTS5 (already built from the stored terms when the database's schema
was upgraded). Nothing is embedded again unless a row had no vector."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import numpy as np

from khabar.errors import IndexFormatError
from khabar.store import catalog

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
            live = np.asarray(db.chunk_ids() if kind == "chunks" else db.span_ids(), np.int64)
            have = np.empty(0, dtype=np.int64)
            vectors = np.empty((0, store.manifest.dim), dtype=np.float32)
            path = store.folder / name
            if path.exists():
                try:
                    old = VectorIndex.load(path, store.manifest.dim)
                    have = old.ids()[np.isin(old.ids(), live)]
                    vectors = old.vectors(have)
                except IndexFormatError:
                    pass  # damaged: its rows are embedded again below
            missing = np.setdiff1d(live, have)
            if len(missing):
                texts = db.texts_for_chunks if kind == "chunks" else db.texts_for_spans
                fresh = store.embed([int(i) for i in missing], texts)
                have = np.concatenate([have, missing])
                vectors = np.concatenate([vectors, fresh])
            moved[kind] = len(have) - len(missing)
            embedded[kind] = len(missing)
            if len(have):
                records.append(store.writer.flat(kind, have, vectors))
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
