"""The bundled model on ONNX Runtime: `--model onnx:DIR`.

DIR holds the bundled weights (dequantised) as an ONNX graph and the tokenizer, built by
khabar on first use (khabar.embed.graph) or by ``khabar export-model DIR --onnx``. No torch
at run time: tokens come from `tokenizers`, the encoder runs in ONNX Runtime (two sessions
side by side), mean pooling and normalisation in NumPy. Its vectors are the bundled
engine's (same weights; int8, cosine ≥ 0.989 on every XQuAD passage; the encoder
benchmark measures retrieval with either engine's vectors on either side), so it takes
the bundled engine's name and fingerprint and serves the same indexes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from khabar.embed.base import Vectors
from khabar.embed.turns import Turns
from khabar.errors import BackendMissingError, ConfigError

ONNX_FILE = "onnx/model.onnx"
# Passages go in batches of at most this many tokens (padding included). With two sessions
# on one core each, 256 to 768 tokens give the same throughput within 1.5%
# (bench/encoders.py), and at 256 a question arriving meanwhile waits at most about 0.07 s
# for a session to free.
BATCH_TOKENS = 256
# Sessions run side by side, each with its share of the cores: two batches at once on one
# core each index about 11% faster than one batch at a time on both (bench/encoders.py), and
# a question waits for the first of two sessions to free (bench/load.py).
SESSIONS = 2
MAX_TOKENS = 512
PAD_ID = 1
CPU = "CPUExecutionProvider"
# With a CUDA device, ONNX Runtime's CUDA provider runs the graph (CPU for what it cannot),
# in one session and in batches of this many tokens. Not measured here (no GPU): the CPU
# path is the default and the one the README's figures are of.
CUDA = "CUDAExecutionProvider"
GPU_BATCH_TOKENS = 16_384


class OnnxEncoder:
    """multilingual-e5-small (the bundled weights) on ONNX Runtime."""

    def __init__(
        self,
        folder: Path,
        threads: int | None = None,
        graph: str = ONNX_FILE,
        sessions: int = SESSIONS,
    ) -> None:
        """``folder`` from ``khabar export-model --onnx``; ``graph`` another ONNX file of
        the same model in it (the encoder benchmark compares several); ``threads`` the
        cores to use (default: all this process may use), shared by ``sessions`` sessions
        of the graph that run batches side by side."""
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
        cores = threads or usable_cores()
        self.providers = execution_providers(ort.get_available_providers())
        self.batch_tokens = BATCH_TOKENS
        if self.providers[0] != CPU:  # a GPU: one session, batches as large as it takes
            sessions, self.batch_tokens = 1, GPU_BATCH_TOKENS
        sessions = max(1, min(sessions, cores))
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, cores // sessions)
        options.inter_op_num_threads = 1
        self._sessions: list[Any] = [
            ort.InferenceSession(str(model), options, providers=self.providers)
            for _ in range(sessions)
        ]
        self._tokenizer: Any = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        # One run per session at a time, questions first.
        self._turns = Turns(slots=sessions)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Vectors for questions ("query: " prompt); questions that arrive together are
        embedded together (see khabar.embed.turns)."""
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        prompted = ["query: " + t for t in texts]

        def embed(batch: list[str], slot: int) -> Vectors:
            out = np.empty((len(batch), self.dim), dtype=np.float32)
            encodings, lengths = self._tokenize(batch)
            for rows in token_batches(lengths, self.batch_tokens):
                out[rows] = self._run(slot, encodings, lengths, rows)
            return out

        return self._turns.questions(prompted, embed)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Vectors for passages ("passage: " prompt), in length-sorted batches of at most
        BATCH_TOKENS tokens, one per session at a time; waiting questions go before each
        next batch."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings, lengths = self._tokenize(["passage: " + t for t in texts])

        def embed(rows: list[int]) -> None:
            with self._turns.batch() as slot:
                out[rows] = self._run(slot, encodings, lengths, rows)

        batches = token_batches(lengths, self.batch_tokens)
        if len(self._sessions) == 1 or len(batches) == 1:
            for rows in batches:
                embed(rows)
        else:
            with ThreadPoolExecutor(len(self._sessions)) as pool:
                list(pool.map(embed, batches))  # re-raises a batch's error
        return out

    def _tokenize(self, texts: list[str]) -> tuple[Any, list[int]]:
        """The texts' encodings and their lengths in tokens."""
        encodings = self._tokenizer.encode_batch(texts)
        return encodings, [len(e.ids) for e in encodings]

    def _run(self, slot: int, encodings: Any, lengths: list[int], rows: list[int]) -> Vectors:
        """Mean-pooled, normalised vectors of the texts ``rows`` on session ``slot``."""
        width = max(lengths[i] for i in rows)
        ids = np.full((len(rows), width), PAD_ID, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for r, i in enumerate(rows):
            ids[r, : lengths[i]] = encodings[i].ids
            mask[r, : lengths[i]] = 1
        outputs = self._sessions[slot].run(None, {"input_ids": ids, "attention_mask": mask})
        hidden: Vectors = outputs[0]
        pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        vectors: Vectors = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return vectors


def execution_providers(available: Sequence[str]) -> list[str]:
    """The providers to run the graph on: CUDA first when ONNX Runtime has it (the
    ``onnxruntime-gpu`` package and a device), then the CPU."""
    return [CUDA, CPU] if CUDA in available else [CPU]


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


def usable_cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
