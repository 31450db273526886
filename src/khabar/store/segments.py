"""Vector segments: immutable files of ids and vectors, for one kind (chunks or spans).

A write adds a small *flat* segment (its vectors as float32, searched exactly); a merge
joins segments of the same size tier into one. Once a merge holds ``seal_vectors`` or more,
its output is *sealed*: its vectors are stored as 8-bit codes (one byte a dimension, a
scale per dimension: ``Codec``) and searched through an IVF-PQ index (``ann.py``) whose
candidates are re-scored from those codes. Every file is memory-mapped on open, never read
whole, and its size and SHA-256 are recorded with the segment, so that a cold open only
compares sizes and ``verify`` (on merge and in ``khabar repair``) reads everything.

Vectors of removed rows stay in their segment until a merge drops them: the database is
the truth about which ids are live, and the search over-fetches by the dead share.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import math
import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from khabar.errors import IndexFormatError
from khabar.store import ann
from khabar.store.allowed import Allowed
from khabar.store.atomic import fsync_dir

Ids = npt.NDArray[np.int64]
Matrix = npt.NDArray[np.float32]
Scores = npt.NDArray[np.float32]

SEGMENTS_DIR = "segments"
FLAT = "flat"
SEALED = "ivfpq-sq8"
# Segments of one size tier (counts within a factor MERGE_FACTOR) merge MERGE_FACTOR at a time.
MERGE_FACTOR = 8
# A merge whose output holds this many vectors or more is sealed (compressed, IVF-PQ), once
# the kind holds TRAIN_FACTOR times as many to train the shared codec and IVF-PQ index on:
# small sealed segments keep the exact flat part of every search small.
SEAL_VECTORS = 8_192
TRAIN_FACTOR = 8
# How many more candidates than asked the sealed segments' IVF-PQ search returns (over all
# of them), to be re-scored from the 8-bit codes: REFINE_FACTOR times as many, at most
# REFINE_EXTRA more (a deep search re-scores relatively fewer).
REFINE_FACTOR = 16
REFINE_EXTRA = 2048


@dataclass(frozen=True)
class SegmentRecord:
    """What the database records of a segment: enough to open it and to check its files."""

    name: str
    kind: str
    layout: str
    count: int
    id_min: int
    id_max: int
    files: dict[str, tuple[int, str]] = field(default_factory=dict)  # suffix → (size, sha256)

    def to_json(self) -> str:
        """The files' sizes and checksums, as stored in the database."""
        return json.dumps({k: list(v) for k, v in self.files.items()}, sort_keys=True)

    @staticmethod
    def files_from_json(raw: str) -> dict[str, tuple[int, str]]:
        """The inverse of ``to_json``."""
        return {k: (int(v[0]), str(v[1])) for k, v in json.loads(raw).items()}


def _path(folder: Path, name: str, suffix: str) -> Path:
    return folder / SEGMENTS_DIR / f"{name}.{suffix}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_npy(path: Path, array: npt.NDArray[Any]) -> None:
    """Write an array durably (no pickle).

    The file is read back as an array: NumPy writes through C stdio and can miss the
    error of a last short write on a full disk."""
    array = np.ascontiguousarray(array)
    with path.open("wb") as handle:
        np.save(handle, array, allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())
    check_written(path, array.shape, array.dtype)


def check_written(path: Path, shape: tuple[int, ...], dtype: Any) -> None:
    """Raise OSError (as a full disk would) unless ``path`` holds a whole array of ``shape``."""
    try:
        back = np.load(path, mmap_mode="r")
        whole = back.shape == shape and back.dtype == dtype
    except (OSError, ValueError):
        whole = False
    if not whole:
        raise OSError(errno.ENOSPC, f"{path.name} was written short (is the disk full?)")


def reserve(path: Path) -> None:
    """Allocate a memory-mapped output file's blocks now, so that a full disk is an error
    here and not a SIGBUS while writing through the map."""
    fd = os.open(path, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, os.fstat(fd).st_size)
    finally:
        os.close(fd)


class Codec:
    """8-bit scalar codes, one byte a dimension: x ≈ low + code × step (per dimension).

    Trained once for an index kind (from the first sealed segment's vectors, widened by a
    margin, out-of-range values clipped), so that sealed segments share one code space and
    a merge of sealed segments copies codes instead of re-encoding them.

    It also records the *space* of the kind's IVF index: a scale per dimension that the
    vectors are multiplied by before the IVF index clusters and encodes them, and that a
    question is divided by before it is searched there, so that inner products are those
    of the unscaled vectors. A question that weighs part of its vector (a second model's
    cosine counts 0.15: ``embed/paired.py``) is best served by lists clustered with that
    part weighed the same (bench/real_archive_space.py); all ones for an index sealed
    before the space was kept.
    """

    def __init__(self, low: Matrix, step: Matrix, space: Matrix | None = None) -> None:
        self.low = np.asarray(low, dtype=np.float32).reshape(-1)
        self.step = np.asarray(step, dtype=np.float32).reshape(-1)
        self.space = (
            np.ones_like(self.low)
            if space is None
            else np.asarray(space, dtype=np.float32).reshape(-1)
        )

    @classmethod
    def train(cls, vectors: Matrix, margin: float = 0.1, space: Matrix | None = None) -> Codec:
        """Per-dimension ranges of ``vectors``, ``margin`` of the range wider on each side;
        ``space``: the IVF index's scale per dimension (None: ones)."""
        low = vectors.min(axis=0)
        high = vectors.max(axis=0)
        width = np.maximum(high - low, 1e-6)
        low = low - margin * width
        return cls(low, width * (1 + 2 * margin) / 255.0, space)

    def encode(self, vectors: Matrix) -> npt.NDArray[np.uint8]:
        """Codes of ``vectors``."""
        scaled = np.rint((np.asarray(vectors, dtype=np.float32) - self.low) / self.step)
        codes: npt.NDArray[np.uint8] = np.clip(scaled, 0, 255).astype(np.uint8)
        return codes

    def decode(self, codes: npt.NDArray[np.uint8]) -> Matrix:
        """Approximate vectors of ``codes``."""
        return (codes.astype(np.float32) * self.step + self.low).astype(np.float32)

    def to_space(self, vectors: Matrix) -> Matrix:
        """``vectors`` as the IVF index holds them (scaled by ``space``)."""
        return np.ascontiguousarray(np.asarray(vectors, dtype=np.float32) * self.space)

    def question_to_space(self, query: Matrix) -> Matrix:
        """A question as the IVF index is searched with it (divided by ``space``)."""
        return np.ascontiguousarray(np.asarray(query, dtype=np.float32) / self.space)

    def to_bytes(self) -> bytes:
        """The codec as one .npy array of three rows (kept in the database)."""
        buffer = io.BytesIO()
        np.save(buffer, np.stack([self.low, self.step, self.space]), allow_pickle=False)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Codec:
        """The inverse of ``to_bytes`` (two rows, no space: a codec from before it)."""
        rows = np.load(io.BytesIO(raw), allow_pickle=False)
        return cls(rows[0], rows[1], rows[2] if len(rows) > 2 else None)


class Segment:
    """One open segment: its ids (sorted), its vectors (memory-mapped), its IVF index."""

    def __init__(self, folder: Path, record: SegmentRecord, codec: Codec | None) -> None:
        self.record = record
        self.folder = folder
        self._check_sizes()
        try:
            self.ids: Ids = np.load(_path(folder, record.name, "ids.npy"), mmap_mode="r")
            if record.layout == FLAT:
                self._f32: Matrix | None = np.load(
                    _path(folder, record.name, "f32.npy"), mmap_mode="r"
                )
                self._codes: npt.NDArray[np.uint8] | None = None
                self._ivf: Any = None
            else:
                if codec is None:
                    raise IndexFormatError(f"{folder}: sealed segment {record.name} has no codec")
                self._f32 = None
                self._codes = np.load(_path(folder, record.name, "sq8.npy"), mmap_mode="r")
                self._ivf = ann.load(_path(folder, record.name, "ivf.faiss"))
        except (OSError, ValueError) as exc:
            raise self._damaged(f"cannot read it ({exc})") from exc
        self.codec = codec
        if len(self.ids) != record.count:
            raise self._damaged(f"it holds {len(self.ids)} ids, the index recorded {record.count}")

    def _damaged(self, why: str) -> IndexFormatError:
        return IndexFormatError(
            f"{self.folder / SEGMENTS_DIR}: segment {self.record.name} ({self.record.kind}) is "
            f"damaged: {why}"
        )

    def _check_sizes(self) -> None:
        for suffix, (size, _) in self.record.files.items():
            path = _path(self.folder, self.record.name, suffix)
            try:
                actual = path.stat().st_size
            except OSError as exc:
                raise self._damaged(f"{path.name} is missing ({exc.strerror})") from exc
            if actual != size:
                raise self._damaged(f"{path.name} has {actual} bytes, {size} were written")

    def verify(self) -> None:
        """Read every file of the segment and compare its SHA-256 with the recorded one."""
        for suffix, (_, digest) in self.record.files.items():
            path = _path(self.folder, self.record.name, suffix)
            if _sha256(path) != digest:
                raise self._damaged(f"{path.name} does not match its checksum")

    @property
    def count(self) -> int:
        """How many vectors (live or not) the segment holds."""
        return self.record.count

    def rows(self, rows: npt.NDArray[np.intp]) -> Matrix:
        """The vectors at these row positions (decoded, for a sealed segment)."""
        if self._f32 is not None:
            return np.asarray(self._f32[rows], dtype=np.float32)
        assert self._codes is not None and self.codec is not None
        return self.codec.decode(np.asarray(self._codes[rows]))

    def code_rows(self, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.uint8]:
        """The 8-bit codes at these row positions of a sealed segment."""
        assert self._codes is not None
        return np.asarray(self._codes[rows])

    def assign(self, query: Matrix, nprobe: int) -> tuple[Any, Any]:
        """The IVF lists to probe for ``query`` (a sealed segment; shared by its kind),
        ``query`` already in the IVF index's space (``Codec.question_to_space``)."""
        return ann.assign(self._ivf, query, nprobe)

    def ivf_path(self) -> Path:
        """The IVF-PQ file of a sealed segment."""
        return _path(self.folder, self.record.name, "ivf.faiss")

    def lookup(self, ids: Ids) -> tuple[npt.NDArray[np.bool_], Matrix]:
        """Which of ``ids`` this segment holds, and their vectors (in ``ids`` order)."""
        if not len(ids) or not self.count:
            return np.zeros(len(ids), dtype=bool), np.empty((0, 0), dtype=np.float32)
        pos = np.searchsorted(self.ids, ids)
        inside = pos < self.count
        found = np.zeros(len(ids), dtype=bool)
        found[inside] = self.ids[pos[inside]] == ids[inside]
        return found, self.rows(pos[found])

    def search(
        self,
        query: Matrix,
        k: int,
        assigned: tuple[Any, Any] | None = None,
        allowed: Allowed | None = None,
    ) -> tuple[Ids, Scores]:
        """The ``k`` best ids (unsorted), of the ``allowed`` ones when given: a flat
        segment's with their exact inner products, a sealed one's, in the ``assigned`` IVF
        lists, with their PQ scores (to be re-scored: ``Collection.search``; ``query`` in
        the IVF index's space)."""
        k = min(k, self.count)
        if k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        if self._f32 is None:
            assert assigned is not None
            selector = None if allowed is None else allowed.selector()
            return ann.search(self._ivf, query, k, assigned, selector)
        ids = np.asarray(self.ids, dtype=np.int64)
        if allowed is None:
            scores = np.asarray(self._f32 @ query, dtype=np.float32)
        else:
            rows = np.flatnonzero(allowed.contains(ids))
            ids = ids[rows]
            scores = np.asarray(self._f32[rows] @ query, dtype=np.float32)
        if k < len(ids):
            top = np.argpartition(-scores, k - 1)[:k]
            return ids[top], scores[top]
        return ids, scores


class SegmentWriter:
    """Writes new segment files into ``folder``/segments (not yet part of the index)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def new_name(self, kind: str) -> str:
        """A fresh segment name for ``kind`` (the segments folder made if need be)."""
        (self.folder / SEGMENTS_DIR).mkdir(parents=True, exist_ok=True)
        return f"{kind[0]}-{uuid.uuid4().hex[:16]}"

    def path(self, name: str, suffix: str) -> Path:
        """Where a segment's file goes."""
        return _path(self.folder, name, suffix)

    def flat(self, kind: str, ids: Ids, vectors: Matrix) -> SegmentRecord:
        """A flat segment of ``vectors`` under ``ids`` (sorted here)."""
        order = np.argsort(ids, kind="stable")
        ids = np.asarray(ids, dtype=np.int64)[order]
        name = self.new_name(kind)
        save_npy(self.path(name, "ids.npy"), ids)
        save_npy(self.path(name, "f32.npy"), np.asarray(vectors, np.float32)[order])
        return self.finish(name, kind, FLAT, ids, ["ids.npy", "f32.npy"])

    def finish(
        self, name: str, kind: str, layout: str, ids: Ids, suffixes: list[str]
    ) -> SegmentRecord:
        """The record of a segment whose files are written and synced: their sizes and
        checksums, the folder entry made durable."""
        files = {}
        for suffix in suffixes:
            path = self.path(name, suffix)
            files[suffix] = (path.stat().st_size, _sha256(path))
        fsync_dir(self.folder / SEGMENTS_DIR)
        return SegmentRecord(name, kind, layout, len(ids), *_range(ids), files)

    def discard(self, record: SegmentRecord) -> None:
        """Delete a segment's files (after it left the index, or when its write failed)."""
        for suffix in record.files:
            with contextlib.suppress(FileNotFoundError):
                _path(self.folder, record.name, suffix).unlink()


def _range(ids: Ids) -> tuple[int, int]:
    return (int(ids[0]), int(ids[-1])) if len(ids) else (0, -1)


def tier(count: int) -> int:
    """The size tier of a segment of ``count`` vectors (a factor MERGE_FACTOR apart)."""
    return int(math.log(max(count, 1), MERGE_FACTOR))


def plan_merge(records: Sequence[SegmentRecord]) -> list[SegmentRecord] | None:
    """The segments to merge next, or None: the MERGE_FACTOR oldest (by id) of the lowest
    tier that holds MERGE_FACTOR, so that merged segments cover runs of ids."""
    by_tier: dict[int, list[SegmentRecord]] = {}
    for record in records:
        by_tier.setdefault(tier(record.count), []).append(record)
    for level in sorted(by_tier):
        group = by_tier[level]
        if len(group) >= MERGE_FACTOR:
            return sorted(group, key=lambda r: r.id_min)[:MERGE_FACTOR]
    return None


class Collection:
    """Every open segment of one kind, searched as one."""

    def __init__(self, kind: str, dim: int) -> None:
        self.kind = kind
        self.dim = dim
        self.segments: list[Segment] = []
        self.nprobe = ann.NPROBE

    def open(
        self, folder: Path, records: Iterable[SegmentRecord], codec: Callable[[], Codec | None]
    ) -> None:
        """Open ``records``, keeping segments already open (their files never change)."""
        have = {s.record.name: s for s in self.segments}
        opened = []
        for record in records:
            segment = have.get(record.name)
            if segment is None:
                segment = Segment(folder, record, codec() if record.layout != FLAT else None)
            opened.append(segment)
        self.segments = sorted(opened, key=lambda s: s.record.id_min)

    @property
    def size(self) -> int:
        """Vectors held, live or not."""
        return sum(s.count for s in self.segments)

    def search(self, query: Matrix, k: int, allowed: Allowed | None = None) -> tuple[Ids, Scores]:
        """The ``k`` best ids over every segment (of the ``allowed`` ones when given), best
        first: the flat segments searched exactly; the sealed ones through IVF-PQ, their
        best ``refine`` candidates together re-scored from the 8-bit codes."""
        refine = min(k * REFINE_FACTOR, k + REFINE_EXTRA)
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
        flat = [s.search(q, k, None, allowed) for s in self.segments if s.record.layout == FLAT]
        sealed_segments = [s for s in self.segments if s.record.layout != FLAT]
        parts = flat
        if sealed_segments:
            codec = sealed_segments[0].codec
            assert codec is not None
            in_space = codec.question_to_space(q)
            assigned = sealed_segments[0].assign(in_space, self.nprobe)
            sealed = [s.search(in_space, refine, assigned, allowed) for s in sealed_segments]
            ids = np.concatenate([p[0] for p in sealed])
            approx = np.concatenate([p[1] for p in sealed])
            best = ids[np.argsort(-approx, kind="stable")[:refine]]
            found, vectors = self.vectors(best)
            parts = [*flat, (found, (vectors @ q).astype(np.float32))]
        if not parts:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        ids = np.concatenate([p[0] for p in parts])
        scores = np.concatenate([p[1] for p in parts])
        order = np.lexsort((ids, -scores))[:k]
        return ids[order], scores[order]

    def vectors(self, ids: Ids) -> tuple[Ids, Matrix]:
        """The ids of ``ids`` that have vectors, and those vectors (in the same order).

        Each id is looked up first in the segment whose range starts last at or before
        it (the one that holds it when ranges do not overlap, as merges of runs of ids
        keep them), and only ids not found there in the other segments that cover them."""
        ids = np.asarray(ids, dtype=np.int64)
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        have = np.zeros(len(ids), dtype=bool)
        if not len(ids) or not self.segments:
            return ids[have], out[have]
        starts = np.asarray([s.record.id_min for s in self.segments], dtype=np.int64)
        first = np.searchsorted(starts, ids, side="right") - 1
        for index in np.unique(first[first >= 0]).tolist():
            near = np.flatnonzero(first == index)
            self._lookup(self.segments[index], ids, near, out, have)
        if not have.all():
            for segment in self.segments:
                rec = segment.record
                near = np.flatnonzero((ids >= rec.id_min) & (ids <= rec.id_max) & ~have)
                if len(near):
                    self._lookup(segment, ids, near, out, have)
        return ids[have], out[have]

    @staticmethod
    def _lookup(
        segment: Segment,
        ids: Ids,
        near: npt.NDArray[np.intp],
        out: Matrix,
        have: npt.NDArray[np.bool_],
    ) -> None:
        found, vectors = segment.lookup(ids[near])
        out[near[found]] = vectors
        have[near[found]] = True
