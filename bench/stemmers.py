"""Which Arabic term normalisation serves the BM25 leg best? (Arabic questions, XQuAD.)

Compares khabar's light stemmer with plain normalisation and the Snowball Arabic stemmer
(PyStemmer; `pip install PyStemmer` to run this), each at a few fusion weights, on the
questions of XQuAD articles 0–23 (the tuning split) over the cached index of
bench/quality.py (the first model's). Writes bench/results/stemmers.json.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from quality import open_index, query_vectors  # bench/quality.py, beside this script

import khabar.search as search_module
from khabar.embed.base import SECOND_NONE
from khabar.evaluate import load_eval_set, run_questions
from khabar.search import SearchSettings
from khabar.text import tokenize
from khabar.text.normalize import normalize_for_matching

HERE = Path(__file__).parent
WORD = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+")


def main() -> None:
    import Stemmer

    snowball = Stemmer.Stemmer("arabic")

    def normalise_only(text: str) -> list[str]:
        words = WORD.findall(normalize_for_matching(text))
        return [w for w in words if w not in tokenize.ARABIC_STOPWORDS and len(w) > 1]

    tokenizers: dict[str, Callable[[str], list[str]]] = {
        "light stemmer (default)": tokenize.terms,
        "normalise only": normalise_only,
        "Snowball on normalised text": lambda t: snowball.stemWords(normalise_only(t)),
        "Snowball on raw text": lambda t: [
            w for w in snowball.stemWords(WORD.findall(t.lower())) if len(w) > 1
        ],
    }
    service = open_index(SECOND_NONE)  # the first model alone: BM25 is compared, not models
    store = service.store
    questions = load_eval_set(HERE.parent / "data" / "xquad" / "xquad.ar.json").questions
    vectors = query_vectors(service, "ar", [q.text for q in questions])
    tune = [i for i, q in enumerate(questions) if int(q.passage_id[1:4]) < 24]
    rows = store.db.chunks(store.db.chunk_ids())
    ids = sorted(rows)
    texts = [rows[i].embed_text for i in ids]
    results = []
    try:
        for name, tokenizer in tokenizers.items():
            set_terms(store, ids, [tokenizer(t) for t in texts])
            search_module.terms = tokenizer  # the question side uses the same terms
            results += measure(name, service, [questions[i] for i in tune], vectors[tune])
    finally:  # the cached index gets its own terms back
        set_terms(store, ids, [tokenize.terms(t) for t in texts])
    out = HERE / "results" / "stemmers.json"
    out.write_text(
        json.dumps(
            {"date": time.strftime("%Y-%m-%d"), "rows": results}, indent=2, ensure_ascii=False
        )
        + "\n",
        encoding="utf-8",
    )


def set_terms(store: Any, ids: list[int], docs: list[list[str]]) -> None:
    """Replace every chunk's BM25 terms in the index (FTS5 follows through its triggers)."""
    conn = store.db.conn
    with store.db.transaction():
        conn.execute("DELETE FROM chunk_terms")
        conn.executemany(
            "INSERT INTO chunk_terms(chunk_id, terms) VALUES (?, ?)",
            zip(ids, (" ".join(d) for d in docs), strict=True),
        )


def measure(name: str, service: Any, questions: list[Any], vectors: Any) -> list[dict[str, Any]]:
    """R@1 and MRR@10 of ``questions`` at a few lexical weights."""
    results = []
    for weight in (0.05, 0.1, 0.2):
        settings = SearchSettings(lexical_weight_arabic=weight)
        r = np.asarray(run_questions(service, questions, 10, settings, vectors).ranks)
        mrr = np.where((r > 0) & (r <= 10), 1.0 / np.maximum(r, 1), 0.0).mean()
        row = {
            "terms": name,
            "weight": weight,
            "r@1": round(float(np.mean(r == 1)), 4),
            "mrr@10": round(float(mrr), 4),
        }
        results.append(row)
        print(row)
    return results


if __name__ == "__main__":
    main()
