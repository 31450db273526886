"""The lexical leg: BM25 (bm25s) over the chunks' terms. The only module importing bm25s.

bm25s indexes are immutable, so a write rebuilds the index from the terms stored
in SQLite (no re-tokenising). The files are written to a fresh folder that then
replaces the old one; the chunk ids it covers are saved beside it, so a stale or
half-written lexical folder is detected on open and rebuilt. No pickle is used.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from khabar.errors import BackendMissingError
from khabar.store.atomic import fsync_dir

LEXICAL_DIR = "lexical"
FORMAT = 1


def _bm25s() -> Any:
    try:
        import bm25s
    except ImportError as exc:  # pragma: no cover - bm25s is a hard dependency
        raise BackendMissingError("the lexical leg needs bm25s: pip install bm25s") from exc
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


class LexicalIndex:
    """BM25 scores of chunks for a bag of query terms."""

    def __init__(self, ids: npt.NDArray[np.int64], model: Any | None) -> None:
        self.ids = ids  # position in the BM25 index → chunk id
        self._model = model
        self._vocab: dict[str, int] = dict(model.vocab_dict) if model is not None else {}

    @classmethod
    def build(cls, ids: Sequence[int], documents: Sequence[Sequence[str]]) -> LexicalIndex:
        """Index ``documents`` (lists of terms), one per chunk id."""
        id_array = np.asarray(ids, dtype=np.int64)
        if not len(id_array):
            return cls(id_array, None)
        bm25s = _bm25s()
        model = bm25s.BM25(k1=1.2, b=0.75)
        model.index([list(d) or [""] for d in documents], show_progress=False)
        return cls(id_array, model)

    def save(self, folder: Path) -> None:
        """Write into ``folder``/lexical, replacing what was there."""
        target = folder / LEXICAL_DIR
        tmp = Path(tempfile.mkdtemp(prefix=".lexical.", dir=folder))
        try:
            np.save(tmp / "ids.npy", self.ids, allow_pickle=False)
            if self._model is not None:
                self._model.save(str(tmp), show_progress=False)
            (tmp / "khabar-lexical.json").write_text(
                json.dumps({"format": FORMAT, "count": len(self.ids)}), encoding="utf-8"
            )
            for path in tmp.iterdir():
                with path.open("rb") as handle:
                    os.fsync(handle.fileno())
            old = folder / f".lexical.old.{os.getpid()}"
            if target.exists():
                os.replace(target, old)
            os.replace(tmp, target)
            fsync_dir(folder)
            shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex | None:
        """Read ``folder``/lexical; None when it is missing or unreadable (then rebuild it)."""
        target = folder / LEXICAL_DIR
        try:
            meta = json.loads((target / "khabar-lexical.json").read_text(encoding="utf-8"))
            if meta.get("format") != FORMAT:
                return None
            ids = np.load(target / "ids.npy", allow_pickle=False).astype(np.int64)
            if len(ids) != meta.get("count"):
                return None
            model = _bm25s().BM25.load(str(target), allow_pickle=False) if len(ids) else None
        except (OSError, ValueError, KeyError, json.JSONDecodeError):
            return None
        return cls(ids, model)

    def scores(self, query_terms: Sequence[str]) -> npt.NDArray[np.float32]:
        """BM25 score of every chunk (in ``ids`` order) for the query terms."""
        known = [self._vocab[t] for t in dict.fromkeys(query_terms) if t in self._vocab]
        if self._model is None or not known:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._model.get_scores(known), dtype=np.float32)


def remove_stale(folder: Path) -> None:
    """Remove leftovers of an interrupted save."""
    for path in folder.glob(".lexical.*"):
        with contextlib.suppress(OSError):
            shutil.rmtree(path)
