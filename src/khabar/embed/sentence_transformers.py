"""Any sentence-transformers model as a khabar encoder (the `st` extra).

The model's own prompts are used where it defines them (``encode_query`` /
``encode_document``: "query: " / "passage: " for E5 models), vectors are
normalised, and the GPU is used when one is present. The fingerprint hashes the
model's weights, so an index is never searched with a different model of the
same name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from khabar.embed.base import Vectors
from khabar.embed.turns import Turns
from khabar.errors import BackendMissingError, ConfigError

INSTALL_HINT = (
    'pip install -e ".[st]" (on a machine without a GPU, first `pip install torch==2.13.0` '
    "or another CPU build of torch)"
)
BATCH_SIZE = 32


class SentenceTransformerEncoder:
    """A sentence-transformers model, by hub id (already on this machine) or local path."""

    def __init__(self, name_or_path: str, device: str | None = None) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise BackendMissingError(
                f"model {name_or_path!r} needs the sentence-transformers backend: {INSTALL_HINT}"
            ) from exc
        try:
            self._model: Any = SentenceTransformer(name_or_path, device=device)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"model {name_or_path!r}: cannot load it ({exc})") from exc
        self.name = f"sentence-transformers:{name_or_path}"
        # renamed get_embedding_dimension in sentence-transformers 6; older releases lack it
        dimension = getattr(self._model, "get_embedding_dimension", None)
        dim = dimension() if dimension else self._model.get_sentence_embedding_dimension()
        if not dim:
            raise ConfigError(f"model {name_or_path!r}: its embedding dimension is unknown")
        self.dim = int(dim)
        self.fingerprint = _weights_fingerprint(self._model)
        self._turns = Turns()

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Embed questions with the model's query prompt, if it has one; questions that
        arrive together are embedded together (see khabar.embed.turns)."""
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        return self._turns.questions(
            list(texts), lambda batch, _slot: self._encode(self._model.encode_query, batch)
        )

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Embed passages with the model's document prompt, if it has one, a batch at a
        time; waiting questions go before each next batch."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), BATCH_SIZE):
            with self._turns.batch():
                batch = list(texts[start : start + BATCH_SIZE])
                out[start : start + len(batch)] = self._encode(self._model.encode_document, batch)
        return out

    def _encode(self, method: Any, texts: list[str]) -> Vectors:
        vectors = method(
            texts,
            batch_size=BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)


def _weights_fingerprint(model: Any) -> str:
    """Hash the parameter names, shapes and a sample of the values of every tensor."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        flat = tensor.detach().flatten()
        sample = flat[:: max(1, flat.numel() // 64)][:64].float().cpu().numpy()
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(np.ascontiguousarray(sample).tobytes())
    return digest.hexdigest()[:16]
