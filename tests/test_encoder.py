"""The bundled encoder: real vectors, and questions served between indexing batches."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from khabar.embed import load_encoder
from khabar.embed.bundled import PASSAGE_BATCH, BundledEncoder
from khabar.embed.onnx import execution_providers, token_batches
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

    def flaky(texts: list[str], slot: int) -> Any:
        calls.append(texts)
        if "bad" in texts:
            raise RuntimeError("engine failed")
        return np.ones((len(texts), 2), dtype=np.float32)

    with pytest.raises(RuntimeError):
        turns.questions(["bad"], flaky)
    assert turns.questions(["good"], flaky).shape == (1, 2)
    with turns.batch():  # the engine is free again
        pass


def test_two_slots_run_two_batches_at_once_and_questions_take_the_first_free_one() -> None:
    turns = Turns(slots=2)
    running: list[int] = []
    most = [0]
    lock = threading.Lock()
    question_slot: list[int] = []
    started = threading.Event()

    def indexing_batch() -> None:
        with turns.batch() as slot:
            with lock:
                running.append(slot)
                most[0] = max(most[0], len(running))
            started.set()
            time.sleep(0.1)
            with lock:
                running.remove(slot)

    def embed(texts: list[str], slot: int) -> Any:
        question_slot.append(slot)
        return np.zeros((len(texts), 2), dtype=np.float32)

    jobs = [threading.Thread(target=indexing_batch) for _ in range(6)]
    for job in jobs:
        job.start()
    started.wait(5)
    turns.questions(["q"], embed)
    for job in jobs:
        job.join()
    assert most[0] == 2  # two batches ran side by side, never more
    assert question_slot and question_slot[0] in (0, 1)


def test_a_question_another_caller_is_embedding_waits_for_it_even_when_a_slot_frees() -> None:
    """Two slots, both indexing; two questions wait. The first slot to free takes both
    questions; when the second frees, the other asker must wait for that call, not take
    the slot for nothing."""
    turns = Turns(slots=2)
    release = [threading.Event(), threading.Event()]
    holding = threading.Barrier(3)
    calls: list[list[str]] = []

    def indexing_batch(n: int) -> None:
        with turns.batch():
            holding.wait(5)
            release[n].wait(5)

    def embed(texts: list[str], slot: int) -> Any:
        calls.append(texts)
        release[1].set()  # the other slot frees while this call runs
        time.sleep(0.1)
        return np.arange(len(texts), dtype=np.float32).reshape(-1, 1) + 1

    jobs = [threading.Thread(target=indexing_batch, args=(n,)) for n in (0, 1)]
    for job in jobs:
        job.start()
    holding.wait(5)
    results: dict[str, Any] = {}
    askers = [
        threading.Thread(target=lambda t=t: results.update({t: turns.questions([t], embed)}))
        for t in ("a", "b")
    ]
    for asker in askers:
        asker.start()
    time.sleep(0.1)  # both questions are waiting
    release[0].set()
    for thread in [*jobs, *askers]:
        thread.join(5)
    assert calls == [["a", "b"]] or calls == [["b", "a"]]
    assert sorted(float(r[0, 0]) for r in results.values()) == [1.0, 2.0]


def test_the_onnx_engine_runs_on_cuda_when_onnx_runtime_has_it() -> None:
    assert execution_providers(["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    with_gpu = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert execution_providers(with_gpu) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
