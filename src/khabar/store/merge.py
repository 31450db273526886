"""Merging segments of one kind into one: removed vectors dropped, the output sealed
(8-bit codes + IVF-PQ) once it is large. Streams row blocks, so that merging segments of
millions of vectors needs memory for a block, not for the segments."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from khabar.store import ann
from khabar.store.segments import FLAT, SEALED, Segment, SegmentRecord, reserve, save_npy

if TYPE_CHECKING:
    from khabar.store.index import SegmentStore

BLOCK = 32_768

Keeps = list[npt.NDArray[np.bool_]]
Fetch = Callable[[Segment, npt.NDArray[np.intp]], npt.NDArray[Any]]


def merge_segments(
    store: SegmentStore, kind: str, inputs: list[Segment], live: npt.NDArray[np.int64]
) -> SegmentRecord | None:
    """One new segment holding the live vectors of ``inputs`` (None if none is live)."""
    inputs = sorted(inputs, key=lambda s: s.record.id_min)
    keeps = [np.isin(np.asarray(s.ids), live) for s in inputs]
    ids = np.concatenate([np.asarray(s.ids)[keep] for s, keep in zip(inputs, keeps, strict=True)])
    if not len(ids):
        return None
    order: npt.NDArray[np.intp] | None = None
    if len(ids) > 1 and not bool(np.all(np.diff(ids) > 0)):
        order = np.argsort(ids, kind="stable")  # overlapping ranges: sort (in memory)
        ids = ids[order]
    sealed = any(s.record.layout != FLAT for s in inputs) or (
        len(ids) >= store.seal_vectors and store.can_seal(kind)
    )
    writer = store.writer
    name = writer.new_name(kind)
    dim = store.collections[kind].dim
    save_npy(writer.path(name, "ids.npy"), ids)
    if not sealed:
        _write_rows(
            writer.path(name, "f32.npy"), np.float32, dim, inputs, keeps, order, Segment.rows
        )
        return writer.finish(name, kind, FLAT, ids, ["ids.npy", "f32.npy"])
    everything = store.collections[kind].segments  # the codec learns from the whole kind
    codec, trained = store.codec_for(
        kind, lambda: _sample(everything, [np.ones(s.count, dtype=bool) for s in everything])
    )

    def code_block(segment: Segment, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.uint8]:
        if segment.record.layout == FLAT:
            return codec.encode(segment.rows(rows))
        return segment.code_rows(rows)

    _write_rows(writer.path(name, "sq8.npy"), np.uint8, dim, inputs, keeps, order, code_block)
    # The IVF lists: sealed inputs' lists moved over (less their removed ids), flat
    # inputs' vectors encoded and added.
    was_sealed = [
        (s, keep) for s, keep in zip(inputs, keeps, strict=True) if s.record.layout != FLAT
    ]
    dead = [np.asarray(s.ids)[~keep] for s, keep in was_sealed]
    index = ann.merged(
        trained,
        [s.ivf_path() for s, _ in was_sealed],
        np.concatenate(dead) if dead else np.empty(0, dtype=np.int64),
    )
    flat = [(s, keep) for s, keep in zip(inputs, keeps, strict=True) if s.record.layout == FLAT]
    for segment, block in _blocks([s for s, _ in flat], [k for _, k in flat]):
        ann.add(index, np.asarray(segment.ids)[block], codec.to_space(segment.rows(block)))
    ann.save(index, writer.path(name, "ivf.faiss"))
    return writer.finish(name, kind, SEALED, ids, ["ids.npy", "sq8.npy", "ivf.faiss"])


def _blocks(inputs: list[Segment], keeps: Keeps) -> Iterator[tuple[Segment, npt.NDArray[np.intp]]]:
    """The kept row positions of each input, in blocks of at most BLOCK rows."""
    for segment, keep in zip(inputs, keeps, strict=True):
        rows = np.flatnonzero(keep)
        for start in range(0, len(rows), BLOCK):
            yield segment, rows[start : start + BLOCK]


def _write_rows(
    path: Path,
    dtype: type[np.generic],
    dim: int,
    inputs: list[Segment],
    keeps: Keeps,
    order: npt.NDArray[np.intp] | None,
    fetch: Fetch,
) -> None:
    """Write the kept rows of ``inputs`` (as ``fetch`` gives them) into a new .npy file
    through a memory map, in id order, a block at a time; its blocks are reserved first,
    so that a full disk is an OSError here and not a SIGBUS while writing."""
    count = sum(int(k.sum()) for k in keeps)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(count, dim))
    reserve(path)
    if order is not None:  # small, overlapping: gather in memory
        parts = [fetch(s, np.flatnonzero(k)) for s, k in zip(inputs, keeps, strict=True)]
        out[:] = np.concatenate(parts)[order]
    else:
        position = 0
        for segment, block in _blocks(inputs, keeps):
            out[position : position + len(block)] = fetch(segment, block)
            position += len(block)
    out.flush()  # msync: on disk before the segment is recorded
    del out


def _sample(
    inputs: list[Segment], keeps: Keeps, size: int = ann.TRAIN_SAMPLE
) -> npt.NDArray[np.float32]:
    """Up to ``size`` live vectors drawn evenly from the inputs (to train a codec)."""
    total = sum(int(k.sum()) for k in keeps)
    share = min(1.0, size / max(total, 1))
    rng = np.random.default_rng(1234)
    parts = []
    for segment, keep in zip(inputs, keeps, strict=True):
        rows = np.flatnonzero(keep)
        if share < 1.0:
            rows = np.sort(rng.choice(rows, max(1, int(len(rows) * share)), replace=False))
        parts.append(segment.rows(rows))
    return np.concatenate(parts)
