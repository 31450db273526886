"""The bundled encoder: real vectors, and questions served between indexing batches."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from khabar.embed import load_encoder
from khabar.embed.bundled import PASSAGE_BATCH, BundledEncoder
from khabar.embed.onnx import token_batches
from khabar.embed.turns import Turns


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
    encoder._turns = Turns()
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


def test_token_batches_sort_by_length_and_cap_the_padded_size() -> None:
    lengths = [300, 10, 200, 12, 600, 11, 250]
    batches = token_batches(lengths, 512)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    # shortest first; each batch padded to its longest text stays within the cap,
    # except a text longer than the cap, which goes alone
    assert batches[0] == [1, 5, 3]
    assert [4] in batches
    for batch in batches:
        assert len(batch) == 1 or len(batch) * max(lengths[i] for i in batch) <= 512
    assert token_batches([], 512) == []


def test_a_failed_question_batch_hands_the_others_back() -> None:
    turns = Turns()
    calls: list[list[str]] = []

    def flaky(texts: list[str]) -> Any:
        calls.append(texts)
        if "bad" in texts:
            raise RuntimeError("engine failed")
        return np.ones((len(texts), 2), dtype=np.float32)

    with pytest.raises(RuntimeError):
        turns.questions(["bad"], flaky)
    assert turns.questions(["good"], flaky).shape == (1, 2)
    with turns.batch():  # the engine is free again
        pass
