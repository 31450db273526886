"""The Encoder protocol every embedding backend implements, and the names of the models.

Backends import this module; ``factory.py`` imports the backends (one way only)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]

BUNDLED = "bundled"
# The ``second_model`` setting's values: USE multilingual v3 beside the first model, or none.
SECOND_USE = "use"
SECOND_NONE = "none"
# The second model's share of a question's vector: tuned on XQuAD articles 0-23
# (bench/quality.py); the index does not depend on it.
SECOND_WEIGHT = 0.15


@runtime_checkable
class Encoder(Protocol):
    """Turns questions and passages into float32 vectors whose inner product is their
    similarity (one model's are L2-normalised: the product is the cosine).

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


def weights_fingerprint(path: Path) -> str:
    """A cheap, stable fingerprint of a weights file: its size and the hash of its ends."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as handle:
        digest.update(handle.read(1 << 20))
        handle.seek(max(0, size - (1 << 20)))
        digest.update(handle.read(1 << 20))
    return digest.hexdigest()[:16]
