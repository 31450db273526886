"""Two encoders as one: each vector is the first model's followed by the second's.

A passage's vector is ``[first; second]``; a question's is ``[first; w × second]``,
so one inner product, the one FAISS computes, is ``first cosine + w × second
cosine``. The index, the candidate search, the best-sentence choice and the fusion
with BM25 all work on that sum unchanged. ``w`` lives only in the question's vector:
changing it needs no re-indexing. A second model that names the languages it was trained
on (``languages``) gets its ``w`` only for questions in them, and 0 for the others, whose
cosine would be noise (bench/languages.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from khabar.embed.base import Encoder, Vectors
from khabar.text import language

# Between the two models' names and fingerprints in the manifest.
JOIN = " + "


class PairedEncoder:
    """``first`` and ``second`` side by side; ``second_weight`` scales the second's cosine."""

    def __init__(self, first: Encoder, second: Encoder, second_weight: float) -> None:
        self.first = first
        self.second = second
        self.second_weight = float(second_weight)
        self.name = f"{first.name}{JOIN}{second.name}"
        self.fingerprint = f"{first.fingerprint}{JOIN}{second.fingerprint}"
        self.dim = first.dim + second.dim
        # Runs the second model's part of each question beside the first's. One thread:
        # questions that arrive together queue here for the 2 ms each takes. (Embedding
        # queued questions together measured no better under load: bench/load.py.)
        self._beside = ThreadPoolExecutor(max_workers=1, thread_name_prefix="khabar-second")
        self._languages: frozenset[str] | None = getattr(second, "languages", None)
        if self._languages is not None:
            language.preload()

    @property
    def question_weights(self) -> tuple[tuple[int, float], ...]:
        """How a question's vector weighs its two parts, as (width, weight) pairs: what the
        index's approximate search clusters by (``store.base.EncoderInfo``)."""
        return ((self.first.dim, 1.0), (self.second.dim, self.second_weight))

    def weight_for(self, question: str) -> float:
        """The second model's weight for this question: ``second_weight``, or 0 when the
        question is in a language the second model was not trained on."""
        if self._languages is None or language.known(question, self._languages):
            return self.second_weight
        return 0.0

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """``[first; w × second]`` for each question; the two models run at the same time
        (a question takes one core of the first model's engine, leaving one free)."""
        second_future = self._beside.submit(self.second.embed_queries, texts)
        first = self.first.embed_queries(texts)
        second = second_future.result()
        weights = np.asarray([self.weight_for(t) for t in texts], dtype=np.float32)
        second *= weights[:, None]
        return np.hstack([first, second])

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """``[first; second]`` for each passage."""
        return np.hstack([self.first.embed_passages(texts), self.second.embed_passages(texts)])


def split_name(name: str) -> tuple[str, str | None]:
    """A manifest's encoder name → (the first model's name, the second's or None)."""
    first, sep, second = name.partition(JOIN)
    return (first, second) if sep else (name, None)
