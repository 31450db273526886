"""Merging segments of one kind into one: removed vectors dropped, the output sealed
(8-bit codes + IVF-PQ) once it is large. Streams row blocks, so that merging segments of
millions of vectors needs memory for a block, not for the segments."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from khabar.store import ann
from khabar.store.segments import FLAT, SEALED, Segment, SegmentRecord, check_written, reserve

if TYPE_CHECKING:
    from khabar.store.index import SegmentStore

BLOCK = 32_768


def merge_segments(
    store: SegmentStore, kind: str, inputs: list[Segment], live: npt.NDArray[np.int64]
) -> SegmentRecord | None:
    """One new segment holding the live vectors of ``inputs`` (None if none is live)."""
    inputs = sorted(inputs, key=lambda s: s.record.id_min)
    keeps = [np.isin(np.asarray(s.ids), live) for s in inputs]
    kept = [np.asarray(s.ids)[keep] for s, keep in zip(inputs, keeps, strict=True)]
    ids = np.concatenate(kept) if kept else np.empty(0, dtype=np.int64)
    if not len(ids):
        return None
    order: npt.NDArray[np.intp] | None = None
    if len(ids) > 1 and not bool(np.all(np.diff(ids) > 0)):
        order = np.argsort(ids, kind="stable")  # overlapping ranges: sort (in memory)
    sealed = len(ids) >= store.seal_vectors or any(s.record.layout != FLAT for s in inputs)
    writer = store.writer
    name = writer.new_name(kind)
    dim = store.collections[kind].dim
    out_ids = ids if order is None else ids[order]
    np.save(writer.path(name, "ids.npy"), out_ids, allow_pickle=False)
    check_written(writer.path(name, "ids.npy"), out_ids.shape, out_ids.dtype)
    if not sealed:
        vectors = np.lib.format.open_memmap(
            writer.path(name, "f32.npy"), mode="w+", dtype=np.float32, shape=(len(ids), dim)
        )
        reserve(writer.path(name, "f32.npy"))
        _copy_rows(inputs, keeps, order, vectors, lambda s, rows: s.rows(rows))
        vectors.flush()
        del vectors
        return writer.finish(name, kind, FLAT, out_ids, ["ids.npy", "f32.npy"])
    codec, trained = store.codec_for(kind, _sample(inputs, keeps))
    codes = np.lib.format.open_memmap(
        writer.path(name, "sq8.npy"), mode="w+", dtype=np.uint8, shape=(len(ids), dim)
    )
    reserve(writer.path(name, "sq8.npy"))

    def code_block(segment: Segment, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.uint8]:
        if segment.record.layout == FLAT:
            return codec.encode(segment.rows(rows))
        return segment.code_rows(rows)

    _copy_rows(inputs, keeps, order, codes, code_block)
    codes.flush()
    del codes
    # The IVF lists: sealed inputs' lists moved over (less their removed ids), flat
    # inputs' vectors encoded and added.
    sealed_inputs = [s for s in inputs if s.record.layout != FLAT]
    dead = [
        np.asarray(s.ids)[~keep]
        for s, keep in zip(inputs, keeps, strict=True)
        if s.record.layout != FLAT
    ]
    index = ann.merged(
        trained,
        [s.ivf_path() for s in sealed_inputs],
        np.concatenate(dead) if dead else np.empty(0, dtype=np.int64),
    )
    for segment, keep in zip(inputs, keeps, strict=True):
        if segment.record.layout != FLAT:
            continue
        rows = np.flatnonzero(keep)
        for start in range(0, len(rows), BLOCK):
            block = rows[start : start + BLOCK]
            ann.add(index, np.asarray(segment.ids)[block], segment.rows(block))
    ann.save(index, writer.path(name, "ivf.faiss"))
    return writer.finish(name, kind, SEALED, out_ids, ["ids.npy", "sq8.npy", "ivf.faiss"])


def _copy_rows(
    inputs: list[Segment],
    keeps: list[npt.NDArray[np.bool_]],
    order: npt.NDArray[np.intp] | None,
    out: npt.NDArray[np.generic],
    fetch: object,
) -> None:
    """Write the kept rows of ``inputs`` into ``out`` in id order, a block at a time."""
    from collections.abc import Callable

    get: Callable[[Segment, npt.NDArray[np.intp]], npt.NDArray[np.generic]] = fetch  # type: ignore[assignment]
    if order is not None:  # small, overlapping: gather in memory
        blocks = [get(s, np.flatnonzero(k)) for s, k in zip(inputs, keeps, strict=True)]
        out[:] = np.concatenate(blocks)[order]
        return
    position = 0
    for segment, keep in zip(inputs, keeps, strict=True):
        rows = np.flatnonzero(keep)
        for start in range(0, len(rows), BLOCK):
            block = rows[start : start + BLOCK]
            out[position : position + len(block)] = get(segment, block)
            position += len(block)


def _sample(
    inputs: list[Segment], keeps: list[npt.NDArray[np.bool_]], size: int = ann.TRAIN_SAMPLE
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
