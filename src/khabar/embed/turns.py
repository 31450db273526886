"""Turn-taking for one embedding engine shared by questions and indexing.

An engine has a fixed number of slots (most run one call at a time, which already uses
every core; the ONNX engine runs one call per session, see khabar.embed.onnx). Questions
go first: a question that arrives while an indexing job is running waits only for the
first slot to finish its current small batch, never for the whole job, and the questions
that gathered meanwhile are embedded together, in one call, as soon as a slot is free.
Each engine keeps its batches small enough for that wait to stay short (measured in
bench/load.py).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from khabar.embed.base import Vectors


@dataclass
class _Questions:
    """Questions waiting for the engine, and their vectors once embedded."""

    texts: list[str]
    taken: bool = False  # a caller is embedding it (its own or another's)
    done: bool = False
    result: Vectors = field(default_factory=lambda: np.empty((0, 0), dtype=np.float32))


class Turns:
    """Who uses the engine's slots next: waiting questions before indexing batches."""

    def __init__(self, slots: int = 1) -> None:
        self._turn = threading.Condition()
        self._free = list(range(slots))[::-1]  # slot 0 first
        self._waiting: list[_Questions] = []

    def questions(self, texts: list[str], embed: Callable[[list[str], int], Vectors]) -> Vectors:
        """Embed ``texts`` with ``embed(texts, slot)`` (questions), together with every
        question waiting when a slot frees up; returns the vectors of ``texts`` only."""
        request = _Questions(texts)
        with self._turn:
            self._waiting.append(request)
            while not request.done and (request.taken or not self._free):
                self._turn.wait()
            if request.done:  # another caller embedded it along with its own
                return request.result
            batch, self._waiting = self._waiting, []
            for item in batch:
                item.taken = True
            slot = self._free.pop()
        try:
            vectors = embed([text for item in batch for text in item.texts], slot)
        except BaseException:
            with self._turn:
                self._free.append(slot)
                # the others get their turn back; only this caller sees the error
                others = [item for item in batch if item is not request]
                for item in others:
                    item.taken = False
                self._waiting = others + self._waiting
                self._turn.notify_all()
            raise
        with self._turn:
            start = 0
            for item in batch:
                item.result = vectors[start : start + len(item.texts)]
                item.done = True
                start += len(item.texts)
            self._free.append(slot)
            self._turn.notify_all()
        return request.result

    @contextlib.contextmanager
    def batch(self) -> Iterator[int]:
        """Hold a slot (yielded) for one indexing batch, once no question is waiting."""
        with self._turn:
            while not self._free or self._waiting:
                self._turn.wait()
            slot = self._free.pop()
        try:
            yield slot
        finally:
            with self._turn:
                self._free.append(slot)
                self._turn.notify_all()
