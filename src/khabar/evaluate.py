"""`khabar eval`: retrieval quality on SQuAD-format data (XQuAD), with the product's own ranking.

Every ``context`` becomes a passage (an article of its own, titled with its
SQuAD article's title); a question's gold answer is the passage it belongs to.
With a second file, the question texts are taken from it by ``id``: that is how
cross-lingual retrieval (English question → Arabic passage) is measured.

Beside recall, ``sentence@1``: of the questions whose top passage is the gold one, the
share whose marked sentence (the one the UI, the CLI and the API mark as the answer) holds
the start of a gold answer (SQuAD's ``answer_start``, in the passages' file).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from khabar.answer import marked_sentence
from khabar.embed.base import SECOND_WEIGHT
from khabar.errors import InputError
from khabar.records import Article
from khabar.search import SearchSettings
from khabar.service import Khabar, Progress, best_articles, chunks_for_articles, store_options
from khabar.store.opening import Place, drop_collections


@dataclass(frozen=True)
class GoldAnswer:
    """A gold answer: where it starts in its passage (as indexed) and its text."""

    start: int
    text: str


@dataclass(frozen=True)
class EvalQuestion:
    """A question, the id of the passage that answers it, and where in it the answer is."""

    id: str
    text: str
    passage_id: str
    answers: tuple[GoldAnswer, ...] = ()
    passage: str = ""  # the passage's text, as indexed


def marks_answer(passage: str, sentence: str, answers: Sequence[GoldAnswer]) -> bool:
    """Whether ``sentence``, marked in ``passage``, holds the start of one of ``answers``.

    The sentence is found in the passage by its text (every place it occurs); one that is
    not there verbatim (a long paragraph cut in parts and joined again) counts when it
    holds a gold answer's text."""
    if not sentence:
        return False
    places = []
    at = passage.find(sentence)
    while at >= 0:
        places.append(at)
        at = passage.find(sentence, at + 1)
    if not places:
        return any(a.text and a.text in sentence for a in answers)
    return any(o <= a.start < o + len(sentence) for o in places for a in answers)


@dataclass(frozen=True)
class EvalSet:
    """Passages (as Articles) and questions of one evaluation."""

    passages: tuple[Article, ...]
    questions: tuple[EvalQuestion, ...]


def _read_squad(path: Path) -> list[dict[str, Any]]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        data = raw["data"]
        if not isinstance(data, list):
            raise TypeError("'data' is not a list")
        return data
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a SQuAD-format JSON file ({exc})") from exc


def parse_range(text: str | None) -> slice:
    """'START:END' (either may be empty) → a slice of SQuAD articles."""
    if not text:
        return slice(None)
    try:
        start, _, end = text.partition(":")
        return slice(int(start) if start else None, int(end) if end else None)
    except ValueError as exc:
        raise InputError(f"--articles {text!r}: expected START:END, e.g. 0:24") from exc


def load_eval_set(
    passages_path: Path, questions_path: Path | None = None, articles: slice = slice(None)
) -> EvalSet:
    """Read SQuAD files into passages and questions (questions by id from the second file)."""
    data = _read_squad(passages_path)[articles]
    other: dict[str, str] = {}
    if questions_path is not None:
        for article in _read_squad(questions_path):
            for paragraph in article.get("paragraphs", []):
                for qa in paragraph.get("qas", []):
                    other[str(qa["id"])] = str(qa["question"])
    passages: list[Article] = []
    questions: list[EvalQuestion] = []
    for a_index, article in enumerate(data):
        title = str(article.get("title", f"article {a_index}")).replace("_", " ")
        for p_index, paragraph in enumerate(article.get("paragraphs", [])):
            passage_id = f"p{a_index:03d}-{p_index:02d}"
            raw = str(paragraph.get("context", ""))
            context = raw.strip()
            if not context:
                continue
            lead = len(raw) - len(raw.lstrip())
            passages.append(
                Article(id=passage_id, title=title, text=context, source=str(passages_path))
            )
            for qa in paragraph.get("qas", []):
                qid = str(qa["id"])
                text = other.get(qid) if questions_path is not None else str(qa["question"])
                answers = tuple(
                    GoldAnswer(int(a["answer_start"]) - lead, str(a.get("text", "")))
                    for a in qa.get("answers", [])
                    if isinstance(a, dict) and isinstance(a.get("answer_start"), int)
                )
                if text:
                    questions.append(EvalQuestion(qid, text, passage_id, answers, context))
    if not passages or not questions:
        raise InputError(f"{passages_path}: no passages with questions in the chosen articles")
    asked = sum(len(p.get("qas", [])) for a in data for p in a.get("paragraphs", []))
    if questions_path is not None and len(questions) < asked:
        missing = asked - len(questions)
        raise InputError(f"{questions_path}: {missing} question ids of {passages_path} are missing")
    return EvalSet(tuple(passages), tuple(questions))


@dataclass
class EvalRun:
    """Ranks (1-based; 0 = not in the top k) and timings of one run over the questions."""

    ranks: list[int]
    top_scores: list[float]
    query_ms: list[float]
    k: int
    n_passages: int
    passages_per_s: float
    extra: dict[str, Any] = field(default_factory=dict)
    marked: list[bool | None] = field(default_factory=list)  # Asked.marked

    def metrics(self) -> dict[str, Any]:
        """The report of `khabar eval --json`."""
        ranks = np.asarray(self.ranks)
        found = ranks > 0

        def recall(n: int) -> float:
            return round(float(np.mean(found & (ranks <= n))), 4)

        mrr = np.where(found & (ranks <= 10), 1.0 / np.maximum(ranks, 1), 0.0)
        judged = [m for m in self.marked if m is not None]
        sentence = {
            "sentence@1": round(float(np.mean(judged)), 4) if judged else None,
            "sentence_questions": len(judged),
        }
        return {
            "n_questions": len(self.ranks),
            "n_passages": self.n_passages,
            "recall@1": recall(1),
            "recall@5": recall(5),
            "recall@10": recall(10),
            "mrr@10": round(float(mrr.mean()), 4),
            **sentence,
            "passages_per_s": round(self.passages_per_s, 2),
            "query_ms_p50": round(statistics.median(self.query_ms), 1),
            "query_ms_p95": round(float(np.percentile(self.query_ms, 95)), 1),
            **self.extra,
        }


def build_index(
    eval_set: EvalSet,
    folder: Path,
    progress: Progress | None = None,
    model: str | None = None,
    second_model: str | None = None,
    second_weight: float = SECOND_WEIGHT,
    cache_dir: str | None = None,
    place: Place | None = None,
) -> tuple[Khabar, float]:
    """Index the passages into ``folder`` (or the Milvus ``place`` names: ``store``,
    ``token``, ``prefix``); returns the service and passages per second."""
    service = Khabar.open(
        folder,
        **(place or store_options({})),
        model=model,
        second_model=second_model,
        second_weight=second_weight,
        cache_dir=cache_dir,
    )
    started = time.perf_counter()
    report = service.add_articles(eval_set.passages, progress=progress)
    seconds = time.perf_counter() - started
    if report.failed:
        raise InputError(f"could not index {len(report.failed)} passages: {report.failed[0][1]}")
    return service, len(eval_set.passages) / max(seconds, 1e-9)


@dataclass
class Asked:
    """What asking every question gave: the gold passage's rank (1-based; 0 = not in the
    top k), the top score, the milliseconds, and whether the marked sentence of a gold top
    passage holds the answer (None where the top passage is another, or no answer is
    known)."""

    ranks: list[int] = field(default_factory=list)
    tops: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    marked: list[bool | None] = field(default_factory=list)


def run_questions(
    service: Khabar,
    questions: Sequence[EvalQuestion],
    k: int = 10,
    settings: SearchSettings | None = None,
    query_vectors: np.ndarray[Any, Any] | None = None,
    leave_out: bool = False,
    on_question: Callable[[], None] | None = None,
) -> Asked:
    """Ask every question as the product does and see where its passage and answer are.

    With ``leave_out``, each question is asked with its own passage left out (rank is
    then always 0): the top scores show how sure the ranking is when the answer is absent.
    """
    out = Asked()
    for i, question in enumerate(questions):
        started = time.perf_counter()
        scored = service.rank_chunks(
            question.text,
            chunks_for_articles(k),
            query_vector=None if query_vectors is None else query_vectors[i],
            settings=settings,
            exclude=frozenset({question.passage_id}) if leave_out else frozenset(),
        )
        out.times.append((time.perf_counter() - started) * 1000)
        ids = [article_id for article_id, _ in best_articles(scored, k)]
        rank = ids.index(question.passage_id) + 1 if question.passage_id in ids else 0
        out.ranks.append(rank)
        out.tops.append(scored[0].score if scored else 0.0)
        marked = None
        if rank == 1 and question.answers:
            top = scored[0]
            start, end = marked_sentence(question.text, top)
            sentence = top.chunk.text[start:end]
            marked = marks_answer(question.passage, sentence, question.answers)
        out.marked.append(marked)
        if on_question:
            on_question()
    return out


def evaluate(eval_set: EvalSet, **options: Any) -> EvalRun:
    """Build a temporary index with the current settings, ask every question, measure
    (``evaluate_sets``' options)."""
    return evaluate_sets([eval_set], **options)[0]


@contextlib.contextmanager
def _dropped(place: Place) -> Iterator[None]:
    """Remove a Milvus store's temporary collections afterwards (a folder: nothing to do)."""
    try:
        yield
    finally:
        drop_collections(**place)


def evaluate_sets(
    eval_sets: Sequence[EvalSet],
    k: int = 10,
    progress: Progress | None = None,
    on_question: Callable[[], None] | None = None,
    model: str | None = None,
    second_model: str | None = None,
    second_weight: float = SECOND_WEIGHT,
    cache_dir: str | None = None,
    store: str = "faiss",
    token: str = "",
) -> list[EvalRun]:
    """``evaluate`` for several sets of questions over the same passages (the first set's):
    one temporary index, built once (building dominates the run), a run for each set. With
    a Milvus ``store`` the index is collections of their own there, dropped afterwards."""
    passages = eval_sets[0]
    runs = []
    place = Place(store=store, token=token, prefix=f"khabar_eval_{secrets.token_hex(4)}_")
    with tempfile.TemporaryDirectory(prefix="khabar-eval-") as tmp, _dropped(place):
        service, rate = build_index(
            passages,
            Path(tmp) / "index",
            progress,
            model,
            second_model,
            second_weight,
            cache_dir,
            place,
        )
        try:
            for eval_set in eval_sets:
                asked = run_questions(service, eval_set.questions, k, on_question=on_question)
                runs.append(
                    EvalRun(
                        asked.ranks,
                        asked.tops,
                        asked.times,
                        k,
                        len(passages.passages),
                        rate,
                        marked=asked.marked,
                    )
                )
        finally:
            service.close()
    return runs
