"""The bundled model on ONNX Runtime: `--model onnx:DIR`.

DIR holds the bundled weights (dequantised) as an ONNX graph and the tokenizer, built by
khabar on first use (khabar.embed.graph) or by ``khabar export-model DIR --onnx``. No torch
at run time: tokens come
from `tokenizers`, the encoder runs in ONNX Runtime, mean pooling and normalisation in
NumPy. Its vectors are the bundled engine's (same weights, cosine ≥ 0.99; the encoder
benchmark measures retrieval with either engine's vectors on either side), so it takes
the bundled engine's name and fingerprint and serves the same indexes.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from khabar.embed.base import Vectors
from khabar.embed.turns import Turns
from khabar.errors import BackendMissingError, ConfigError

ONNX_FILE = "onnx/model.onnx"
# Passages go in batches of at most this many tokens (padding included): on 2 cores
# that is faster per token than bigger batches (bench/encoders.py), and a question
# arriving meanwhile waits at most one such batch (about 0.1 s).
BATCH_TOKENS = 512
MAX_TOKENS = 512
PAD_ID = 1

Turn = Callable[[], contextlib.AbstractContextManager[None]]


class OnnxEncoder:
    """multilingual-e5-small (the bundled weights) on ONNX Runtime."""

    def __init__(self, folder: Path, threads: int | None = None, graph: str = ONNX_FILE) -> None:
        """``folder`` from ``khabar export-model --onnx``; ``graph`` another ONNX file of
        the same model in it (the encoder benchmark compares several)."""
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise BackendMissingError(
                f"model onnx:{folder} needs onnxruntime and tokenizers: "
                "pip install onnxruntime tokenizers"
            ) from exc
        model = folder / graph
        about = folder / "khabar-export.json"
        if not model.exists() or not about.exists():
            raise ConfigError(
                f"model onnx:{folder}: no {graph}; write it with "
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
        # One run at a time (ONNX Runtime already uses every core for one batch), questions
        # first.
        self._turns = Turns()

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Vectors for questions ("query: " prompt); questions that arrive together are
        embedded together (see khabar.embed.turns)."""
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        prompted = ["query: " + t for t in texts]
        return self._turns.questions(prompted, lambda batch: self._embed(batch, None))

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Vectors for passages ("passage: " prompt), in length-sorted batches of at most
        BATCH_TOKENS tokens; waiting questions go before each next batch."""
        return self._embed(["passage: " + t for t in texts], self._turns.batch)

    def _embed(self, texts: list[str], turn: Turn | None) -> Vectors:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(texts)
        lengths = [len(e.ids) for e in encodings]
        for rows in token_batches(lengths, BATCH_TOKENS):
            width = max(lengths[i] for i in rows)
            ids = np.full((len(rows), width), PAD_ID, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                ids[r, : lengths[i]] = encodings[i].ids
                mask[r, : lengths[i]] = 1
            with turn() if turn else contextlib.nullcontext():
                (hidden,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
            pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[rows] = pooled / np.maximum(norms, 1e-12)
        return out


def token_batches(lengths: Sequence[int], max_tokens: int) -> list[list[int]]:
    """Indexes of texts grouped into batches, shortest first, each padded batch holding at
    most ``max_tokens`` tokens (a longer text goes alone)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    for i in order:
        # sorted ascending, so the padded width of a batch is its newest text's length
        if batches and (len(batches[-1]) + 1) * lengths[i] <= max_tokens:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches
