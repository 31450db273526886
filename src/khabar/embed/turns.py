"""Turn-taking for one embedding engine shared by questions and indexing.

An engine runs one call at a time (it already uses every core for that call). Questions
go first: a question that arrives while an indexing job is running waits only for the
job's current small batch, never for the whole job, and the questions that gathered
meanwhile are embedded together, in one call, as soon as the engine is free. Each engine
keeps its batches small enough for that wait to stay short (measured in bench/load.py).
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
    done: bool = False
    result: Vectors = field(default_factory=lambda: np.empty((0, 0), dtype=np.float32))


class Turns:
    """Who uses the engine next: waiting questions before the next indexing batch."""

    def __init__(self) -> None:
        self._turn = threading.Condition()
        self._busy = False
        self._waiting: list[_Questions] = []

    def questions(self, texts: list[str], embed: Callable[[list[str]], Vectors]) -> Vectors:
        """Embed ``texts`` with ``embed`` (questions), together with every question waiting
        when the engine frees up; returns the vectors of ``texts`` only."""
        request = _Questions(texts)
        with self._turn:
            self._waiting.append(request)
            while not request.done and self._busy:
                self._turn.wait()
            if request.done:  # another caller embedded it along with its own
                return request.result
            batch, self._waiting = self._waiting, []
            self._busy = True
        try:
            vectors = embed([text for item in batch for text in item.texts])
        except BaseException:
            with self._turn:
                self._busy = False
                # the others get their turn back; only this caller sees the error
                self._waiting = [item for item in batch if item is not request] + self._waiting
                self._turn.notify_all()
            raise
        with self._turn:
            start = 0
            for item in batch:
                item.result = vectors[start : start + len(item.texts)]
                item.done = True
                start += len(item.texts)
            self._busy = False
            self._turn.notify_all()
        return request.result

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the engine for one indexing batch, once no question is waiting."""
        with self._turn:
            while self._busy or self._waiting:
                self._turn.wait()
            self._busy = True
        try:
            yield
        finally:
            with self._turn:
                self._busy = False
                self._turn.notify_all()
