"""The bundled encoder: real vectors, and questions served between indexing batches."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from khabar.embed import load_encoder
from khabar.embed.bundled import PASSAGE_BATCH, BundledEncoder


def test_bundled_vectors_are_normalised_and_prefixed() -> None:
    encoder = load_encoder()
    q = encoder.embed_queries(["What did Putin say about Israel?"])
    p = encoder.embed_passages(["وجدد بوتين موقف موسكو الرافض للانتهاكات الإسرائيلية.", "طقس"])
    assert q.shape == (1, encoder.dim) and p.shape == (2, encoder.dim)
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-3)
    assert float(p[0] @ q[0]) > float(p[1] @ q[0])
    # the same text as question and as passage differs: the prefixes are applied
    same = "Putin and Israel"
    assert not np.allclose(encoder.embed_queries([same]), encoder.embed_passages([same]))
    assert encoder.embed_passages([]).shape == (0, encoder.dim)


class SlowEngine:
    """Stands in for the C engine (pure scheduling logic): records the order of calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.first_passage_batch = threading.Event()

    def encode(self, batch: list[str], is_query: bool) -> Any:
        self.calls.append(f"query x{len(batch)}" if is_query else "passages")
        if not is_query:
            self.first_passage_batch.set()
        time.sleep(0.05)
        return np.zeros((len(batch), 4), dtype=np.float32)


def scheduled_encoder(engine: SlowEngine) -> BundledEncoder:
    encoder = BundledEncoder.__new__(BundledEncoder)
    encoder._engine = engine
    encoder.dim = 4
    encoder._turn = threading.Condition()
    encoder._busy = False
    encoder._waiting = []
    return encoder


def test_a_question_goes_before_the_next_indexing_batch() -> None:
    engine = SlowEngine()
    encoder = scheduled_encoder(engine)
    job = threading.Thread(target=encoder.embed_passages, args=(["text"] * (PASSAGE_BATCH * 10),))
    job.start()
    engine.first_passage_batch.wait(5)
    encoder.embed_queries(["question"])
    job.join()
    assert engine.calls.count("passages") == 10
    # the question ran right after the batch that was running when it arrived
    assert engine.calls.index("query x1") <= 2


def test_questions_waiting_together_are_embedded_in_one_batch() -> None:
    engine = SlowEngine()
    encoder = scheduled_encoder(engine)
    job = threading.Thread(target=encoder.embed_passages, args=(["text"] * PASSAGE_BATCH,))
    job.start()
    engine.first_passage_batch.wait(5)
    results: list[Any] = []
    askers = [
        threading.Thread(target=lambda: results.append(encoder.embed_queries(["q"])))
        for _ in range(5)
    ]
    for thread in askers:
        thread.start()
    for thread in [job, *askers]:
        thread.join()
    assert len(results) == 5 and all(r.shape == (1, 4) for r in results)
    question_calls = [c for c in engine.calls if c.startswith("query")]
    assert len(question_calls) < 5  # some questions shared one engine call
    assert sum(int(c.split("x")[1]) for c in question_calls) == 5
