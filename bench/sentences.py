"""Which sentence to mark: sentence@1 of marking rules on XQuAD, with the product's ranking.

For every question whose top passage (default settings, default engine and second model)
is the gold one, each rule picks a sentence of that passage, and the pick counts when it
holds the start of a gold answer (``khabar.evaluate.marks_answer``, as ``khabar eval``
counts it). Rules are tuned on the questions of articles 0–23 and reported on 24–47 and on
all 48; the index and the question vectors are cached in bench/.cache (bench/quality.py).

Run: python bench/sentences.py [--show N]; writes bench/results/sentences.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from quality import CACHE, DATA, TUNE, open_index, query_vectors

from khabar.embed.base import SECOND_USE
from khabar.evaluate import EvalQuestion, load_eval_set, marks_answer
from khabar.search import ScoredChunk
from khabar.service import Khabar
from khabar.text.tokenize import terms

RESULTS = Path(__file__).parent / "results" / "sentences.json"
LANGUAGES = {"en": "xquad.en.json", "ar": None, "de": "xquad.de.json", "hi": "xquad.hi.json"}


@dataclass
class Case:
    """A question whose top passage is the gold one, with what a rule may use."""

    question: EvalQuestion
    language: str
    text: str  # the top chunk's text
    sentences: list[tuple[int, int]]  # sentence offsets in ``text``
    sentence_cos: np.ndarray[Any, Any]  # the question's cosine with each sentence
    clause_best: np.ndarray[Any, Any]  # its best cosine with a clause of each (or the sentence's)
    best_span_sentence: int  # the sentence holding the best span (the rule before 2026-12-01)
    overlap: np.ndarray[Any, Any]  # the share of the question's terms in each sentence


def cases_of(
    service: Khabar, language: str, questions: tuple[EvalQuestion, ...], vectors: Any
) -> list[Case]:
    out = []
    store = service.store
    for i, q in enumerate(questions):
        scored = service.rank_chunks(q.text, 30, query_vector=vectors[i])
        if not scored or scored[0].chunk.article_id != q.passage_id:
            continue
        out.append(case_of(store, language, q, vectors[i], scored[0]))
    return out


def case_of(store: Any, language: str, q: EvalQuestion, vector: Any, top: ScoredChunk) -> Case:
    spans = list(top.spans)
    _, span_vectors = store.span_vectors(np.asarray([s.id for s in spans], dtype=np.int64))
    cos = span_vectors @ np.asarray(vector, dtype=np.float32)
    sentences = [(s.start, s.end) for s in spans if s.kind == "sentence"]
    sentence_cos = np.asarray([cos[j] for j, s in enumerate(spans) if s.kind == "sentence"])
    clause_best = sentence_cos.copy()
    for j, span in enumerate(spans):
        if span.kind == "clause":
            for n, (a, b) in enumerate(sentences):
                if a <= span.start and span.end <= b:
                    clause_best[n] = max(clause_best[n], cos[j])
    best = int(np.argmax(cos))
    holder = 0
    for n, (a, b) in enumerate(sentences):
        if a <= spans[best].start and spans[best].end <= b:
            holder = n
    wanted = set(terms(q.text))
    overlap = np.asarray(
        [len(wanted & set(terms(top.chunk.text[a:b]))) / max(len(wanted), 1) for a, b in sentences]
    )
    return Case(q, language, top.chunk.text, sentences, sentence_cos, clause_best, holder, overlap)


Rule = Callable[[Case], int]


def hit(case: Case, pick: int) -> bool:
    a, b = case.sentences[pick]
    return marks_answer(case.question.passage, case.text[a:b], case.question.answers)


def rules(lexical: float, neighbour: float, clause: float) -> dict[str, Rule]:
    def combined(case: Case) -> int:
        own = (1 - clause) * case.sentence_cos + clause * case.clause_best
        padded = np.pad(case.sentence_cos, 1, mode="edge")
        near = (padded[:-2] + padded[2:]) / 2
        score = own + lexical * case.overlap + neighbour * near
        return int(np.argmax(score))

    return {
        "best span's sentence (the rule before 2026-12-01)": lambda c: c.best_span_sentence,
        "best sentence": lambda c: int(np.argmax(c.sentence_cos)),
        "first sentence": lambda c: 0,
        # khabar's rule since 2026-12-01 at the chosen values (answer.py)
        f"combined (lexical {lexical}, neighbours {neighbour}, clauses {clause})": combined,
    }


def report(cases: list[Case], rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for language in LANGUAGES:
        mine = [c for c in cases if c.language == language]
        for name, keep in (("tune", TUNE), ("test", set(range(24, 48))), ("all", set(range(48)))):
            chosen = [c for c in mine if int(c.question.passage_id[1:4]) in keep]
            if chosen:
                out[f"{language}/{name}"] = round(
                    float(np.mean([hit(c, rule(c)) for c in chosen])), 4
                )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--show", type=int, default=0, help="print N missed English cases")
    args = parser.parse_args()
    CACHE.mkdir(exist_ok=True)
    service = open_index(SECOND_USE)
    cases: list[Case] = []
    for language, file in LANGUAGES.items():
        path = DATA / file if file else None
        if path is not None and not path.exists():
            continue
        questions = load_eval_set(DATA / "xquad.ar.json", path).questions
        vectors = query_vectors(service, language, [q.text for q in questions])
        cases.extend(cases_of(service, language, questions, vectors))
        print(language, len(cases))
    tune = [c for c in cases if int(c.question.passage_id[1:4]) in TUNE]
    grid = []
    for lexical in (0.0, 0.05, 0.1, 0.2, 0.4):
        for neighbour in (0.0, 0.1, 0.2, 0.3):
            for clause in (0.0, 0.5, 1.0):
                rule = list(rules(lexical, neighbour, clause).values())[-1]
                score = float(np.mean([hit(c, rule(c)) for c in tune]))
                grid.append(((lexical, neighbour, clause), score))
    (lexical, neighbour, clause), _ = max(grid, key=lambda item: item[1])
    chosen = rules(lexical, neighbour, clause)
    results = {name: report(cases, rule) for name, rule in chosen.items()}
    for name, row in results.items():
        print(name, row)
    if args.show:
        today = rules(0, 0, 0)["best span's sentence (the rule before 2026-12-01)"]
        missed = [c for c in cases if c.language == "en" and not hit(c, today(c))]
        for c in missed[: args.show]:
            a, b = c.sentences[today(c)]
            print("Q:", c.question.text, "| gold:", [g.text for g in c.question.answers])
            print("  marked:", c.text[a:b][:200])
    RESULTS.write_text(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%d"),
                "machine": f"{platform.machine()}, {platform.python_version()}",
                "what": "sentence@1 of marking rules; tuned on articles 0-23",
                "chosen": {"lexical": lexical, "neighbour": neighbour, "clause": clause},
                "rules": results,
                "grid_tune": [{"params": p, "sentence@1": round(s, 4)} for p, s in grid],
            },
            indent=1,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
