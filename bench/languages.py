"""Recall per question language: e5 alone, the pair (e5 + USE), and the pair with USE's
share given only to questions in the languages USE was trained on (khabar's default).

XQuAD's 240 Arabic passages (one index per encoder, cached in bench/.cache), asked every
question in English, Arabic, German (a language USE knows) and Hindi (one it does not), with
the product's ranking. Nothing here is tuned: the gate is the list of USE's training
languages (``khabar.text.language``). Reported on articles 0–23, 24–47 and all 48.

Run: python bench/languages.py; writes bench/results/languages.json.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
from quality import CACHE, DATA, TUNE, open_index, query_vectors, score, split

from khabar.embed.base import SECOND_NONE, SECOND_USE
from khabar.embed.paired import PairedEncoder
from khabar.embed.use import LANGUAGES
from khabar.evaluate import load_eval_set, run_questions
from khabar.text.language import known as knows_language
from khabar.text.language import question_language

RESULTS = Path(__file__).parent / "results" / "languages.json"
FILES = {"en": "xquad.en.json", "ar": None, "de": "xquad.de.json", "hi": "xquad.hi.json"}


def main() -> None:
    CACHE.mkdir(exist_ok=True)
    alone, pair = open_index(SECOND_NONE), open_index(SECOND_USE)
    assert isinstance(pair.encoder, PairedEncoder)
    first_dim = pair.encoder.first.dim
    results: dict[str, Any] = {}
    detected: dict[str, Any] = {}
    for language, file in FILES.items():
        questions = load_eval_set(DATA / "xquad.ar.json", DATA / file if file else None).questions
        texts = [q.text for q in questions]
        found = [question_language(t) for t in texts]
        known = np.asarray([knows_language(t, LANGUAGES) for t in texts])
        detected[language] = {
            "detected_as_this": round(float(np.mean([f == language for f in found])), 4),
            "given_the_second_model": round(float(known.mean()), 4),
        }
        gated = query_vectors(pair, language, texts).copy()
        # the pair's question vectors (cached with the fixed weight), USE's part dropped
        # where the question's language is not one USE was trained on
        gated[~known, first_dim:] = 0.0
        alone_q = query_vectors(alone, language, texts)
        pair_q = query_vectors(pair, language, texts)
        runs = {
            "e5 alone": run_questions(alone, questions, 10, None, alone_q),
            "pair": run_questions(pair, questions, 10, None, pair_q),
            "pair, gated by language": run_questions(pair, questions, 10, None, gated),
        }
        parts = {"tune": split(questions, TUNE), "test": split(questions, set(range(24, 48)))}
        parts["all"] = list(range(len(questions)))
        for name, asked in runs.items():
            for part, idx in parts.items():
                marked = [asked.marked[i] for i in idx if asked.marked[i] is not None]
                results[f"{language} {name} {part}"] = {
                    **score(asked.ranks, idx),
                    "sentence@1": round(float(np.mean(marked)), 4) if marked else None,
                }
            print(language, name, results[f"{language} {name} all"])
    RESULTS.write_text(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%d"),
                "machine": f"{platform.machine()}, {platform.python_version()}, 2 cores",
                "what": "recall per question language, XQuAD Arabic passages",
                "language_identification": detected,
                "results": results,
            },
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
