"""The bundled model on ONNX Runtime: `--model onnx:DIR` (the `onnx` extra).

DIR is a folder written by ``khabar export-model DIR --onnx``: the bundled weights
(dequantised) as an ONNX graph, and the tokenizer. No torch at run time: tokens come
from `tokenizers`, the encoder runs in ONNX Runtime, mean pooling and normalisation in
NumPy. Its vectors are the bundled engine's (same weights, cosine ≥ 0.99; the encoder
benchmark measures retrieval with either engine's vectors on either side), so it takes
the bundled engine's name and fingerprint and serves the same indexes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from khabar.embed.base import Vectors
from khabar.errors import BackendMissingError, ConfigError

ONNX_FILE = "onnx/model.onnx"
BATCH = 16
MAX_TOKENS = 512
PAD_ID = 1


class OnnxEncoder:
    """multilingual-e5-small (the bundled weights) on ONNX Runtime."""

    def __init__(self, folder: Path, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise BackendMissingError(
                f'model onnx:{folder} needs the onnx extra: pip install -e ".[onnx]"'
            ) from exc
        model = folder / ONNX_FILE
        about = folder / "khabar-export.json"
        if not model.exists() or not about.exists():
            raise ConfigError(
                f"model onnx:{folder}: no {ONNX_FILE}; write it with "
                f"`khabar export-model {folder} --onnx`"
            )
        identity = json.loads(about.read_text(encoding="utf-8")).get("encoder")
        if not isinstance(identity, dict):
            raise ConfigError(
                f"model onnx:{folder}: written by an older khabar; export it again with "
                f"`khabar export-model {folder} --onnx --force`"
            )
        self.name = str(identity["name"])
        self.fingerprint = str(identity["fingerprint"])
        self.dim = int(identity["dim"])
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session: Any = ort.InferenceSession(
            str(model), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer: Any = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        # One run at a time: ONNX Runtime already uses every core for one batch.
        self._lock = threading.Lock()

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Vectors for questions ("query: " prompt)."""
        return self._embed(["query: " + t for t in texts])

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Vectors for passages ("passage: " prompt), in length-sorted batches."""
        return self._embed(["passage: " + t for t in texts])

    def _embed(self, texts: list[str]) -> Vectors:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(texts)
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        for start in range(0, len(texts), BATCH):
            rows = order[start : start + BATCH]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.full((len(rows), width), PAD_ID, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[r, :n] = encodings[i].ids
                mask[r, :n] = 1
            with self._lock:
                (hidden,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
            pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[rows] = pooled / np.maximum(norms, 1e-12)
        return out
