"""Format 1's vector files: a FAISS ``IndexIDMap2(IndexFlatIP)`` with a SHA-256 trailer.

Read once, when an index of format 1 is migrated to segments (``migrate.py``); written by
the tests that make such an index. Ids are the SQLite row ids of the chunks or spans.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from khabar.errors import IndexFormatError
from khabar.store.atomic import write_atomic

# The last 40 bytes of a vector file: SHA-256 of what comes before, then this marker.
MARKER = b"KHABSUM1"
TRAILER = 32 + len(MARKER)

Ids = npt.NDArray[np.int64]
Matrix = npt.NDArray[np.float32]


def _faiss() -> Any:
    from khabar.store.ann import faiss

    return faiss()


class VectorIndex:
    """An id-addressed set of vectors (format 1)."""

    def __init__(self, index: Any) -> None:
        self._index = index
        self._ids: Ids | None = None

    @classmethod
    def create(cls, dim: int) -> VectorIndex:
        """An empty index for ``dim``-dimensional vectors."""
        faiss = _faiss()
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)))

    @classmethod
    def load(cls, path: Path, dim: int) -> VectorIndex:
        """Read a vector file; a damaged, truncated or wrong-shaped file is an IndexFormatError.

        The file is FAISS's serialisation followed by its SHA-256 and a marker, so that
        damage anywhere in it (not only in FAISS's header) is caught before it is used.
        """
        faiss = _faiss()
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise IndexFormatError(f"{path}: cannot read the vector file ({exc})") from exc
        body, digest, marker = raw[:-TRAILER], raw[-TRAILER:-8], raw[-8:]
        if marker != MARKER:
            raise IndexFormatError(f"{path}: the vector file is truncated or not khabar's")
        if hashlib.sha256(body).digest() != digest:
            raise IndexFormatError(f"{path}: the vector file is damaged (checksum mismatch)")
        try:
            index = faiss.deserialize_index(np.frombuffer(body, dtype=np.uint8))
        except (RuntimeError, ValueError) as exc:
            raise IndexFormatError(f"{path}: cannot read the vector file ({exc})") from exc
        if index.d != dim:
            raise IndexFormatError(f"{path}: vectors have dimension {index.d}, expected {dim}")
        if not isinstance(index, faiss.IndexIDMap2):
            index = faiss.IndexIDMap2(index) if index.ntotal == 0 else None
            if index is None:
                raise IndexFormatError(f"{path}: vectors are not id-addressed")
        return cls(index)

    def save(self, path: Path) -> None:
        """Write atomically, with the checksum trailer."""
        body = _faiss().serialize_index(self._index).tobytes()
        write_atomic(path, body + hashlib.sha256(body).digest() + MARKER)

    def ids(self) -> Ids:
        """Every id in the index."""
        if self._ids is None:
            faiss = _faiss()
            self._ids = np.sort(
                np.asarray(faiss.vector_to_array(self._index.id_map), dtype=np.int64)
            )
        return self._ids

    def add(self, ids: Ids, vectors: Matrix) -> None:
        """Add vectors under the given ids."""
        if len(ids):
            self._ids = None
            self._index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32),
                np.ascontiguousarray(ids, dtype=np.int64),
            )

    def vectors(self, ids: Ids) -> Matrix:
        """The stored vectors of ``ids`` (each must be present)."""
        if not len(ids):
            return np.empty((0, self._index.d), dtype=np.float32)
        return np.asarray(
            self._index.reconstruct_batch(np.ascontiguousarray(ids, dtype=np.int64)),
            dtype=np.float32,
        )
