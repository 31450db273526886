"""The ids a filtered search may return: a bitmap over one kind's ids, built from the id
ranges of the articles the filter lets through (an article's chunks, and its spans, are
each one run of ids: they are written together).

The vector search applies it inside FAISS (an ``IDSelectorBitmap`` over the same bytes, so
that the IVF lists skip what the filter leaves out) and to the flat segments' ids, so that
a filtered question costs what an unfiltered one does instead of searching deeper.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from khabar.store import ann

Ids = npt.NDArray[np.int64]


@dataclass
class Allowed:
    """Bit ``i % 8`` of byte ``i // 8`` is set when id ``i`` may be returned."""

    bits: npt.NDArray[np.uint8]
    count: int  # ids allowed (an upper bound of the live ones)
    _selector: Any = field(default=None, repr=False)
    _bytes: bytes | None = field(default=None, repr=False)

    @classmethod
    def from_ranges(cls, low: Ids, high: Ids) -> Allowed:
        """The ids within any of the inclusive ranges [low[i], high[i]] (empty ranges, where
        high < low, allow nothing)."""
        keep = (high >= low) & (low >= 0)
        low, high = low[keep], high[keep]
        if not len(low):
            return cls(np.zeros(1, dtype=np.uint8), 0)
        lengths = high - low + 1
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        ids = np.repeat(low - starts, lengths) + np.arange(int(lengths.sum()))
        mask = np.zeros(int(high.max()) + 1, dtype=bool)
        mask[ids] = True
        return cls(np.packbits(mask, bitorder="little"), int(np.count_nonzero(mask)))

    def contains(self, ids: Ids) -> npt.NDArray[np.bool_]:
        """Which of ``ids`` are allowed."""
        ids = np.asarray(ids, dtype=np.int64)
        byte = ids >> 3
        inside = (ids >= 0) & (byte < len(self.bits))
        out = np.zeros(len(ids), dtype=bool)
        out[inside] = (self.bits[byte[inside]] >> (ids[inside] & 7)) & 1 == 1
        return out

    def member(self, id_: int) -> bool:
        """Whether one id is allowed (for a check inside SQL: a Python int, no array)."""
        if self._bytes is None:
            self._bytes = self.bits.tobytes()
        byte = id_ >> 3
        return 0 <= byte < len(self._bytes) and bool((self._bytes[byte] >> (id_ & 7)) & 1)

    def selector(self) -> Any:
        """FAISS's selector over these bits (made once; it reads this object's array)."""
        if self._selector is None:
            self._selector = ann.bitmap_selector(self.bits)
        return self._selector


@dataclass(frozen=True)
class FilterIds:
    """What one filter lets through: how many articles, the chunk and span ids, and the
    SQL condition on the articles that says it (``MetadataStore.filter_sql``)."""

    articles: int
    chunks: Allowed
    spans: Allowed
    condition: tuple[str, list[str]] = ("1", [])

    @classmethod
    def from_ranges(cls, ranges: Ids, condition: tuple[str, list[str]] = ("1", [])) -> FilterIds:
        """From rows (chunk_lo, chunk_hi, span_lo, span_hi), one an article."""
        ranges = np.asarray(ranges, dtype=np.int64).reshape(-1, 4)
        return cls(
            len(ranges),
            Allowed.from_ranges(ranges[:, 0], ranges[:, 1]),
            Allowed.from_ranges(ranges[:, 2], ranges[:, 3]),
            condition,
        )

    def chunk_ids(self) -> Ids:
        """Every chunk id let through, ascending."""
        mask = np.unpackbits(self.chunks.bits, bitorder="little").astype(bool)
        return np.flatnonzero(mask).astype(np.int64)
