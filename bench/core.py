"""Benchmark: time to index the bundled sample, and time to answer a question.

Speeds are medians, and each is also given as a ratio to a baseline measured in
the same run on the same machine (a shared, noisy machine makes absolute times
unreliable):
- indexing the sample vs. embedding its paragraphs alone with the engine;
- answering (warm, in process) vs. embedding the question alone with the engine;
- `khabar ask` from a cold start (a new process) vs. `python -c "import numpy"`.

Run: python bench/core.py [--repeat 7]; writes bench/results/core.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from khabar.chunk import chunk_article
from khabar.embed import load_encoder
from khabar.ingest import read_path
from khabar.service import Khabar, sample_paths

QUESTIONS = [
    "What did Putin say about Israel?",
    "ماذا قال بوتين عن إسرائيل؟",
    "Who did Putin receive in the Kremlin?",
    "What was discussed about the economy and reconstruction?",
    "Are Russia's military bases in Syria safe?",
]


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


def timed(fn: object, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    encoder = load_encoder()
    [article] = read_path(sample_paths()[0])
    paragraphs = [c.embed_text for c in chunk_article(article)]
    work = Path(tempfile.mkdtemp(prefix="khabar-bench-"))

    def build() -> None:
        folder = work / "index"
        shutil.rmtree(folder, ignore_errors=True)
        service = Khabar.open(folder)
        service.add_paths(sample_paths())
        service.close()

    index_runs = timed(build, args.repeat)
    embed_runs = timed(lambda: encoder.embed_passages(paragraphs), args.repeat)

    service = Khabar.open(work / "index")
    ask_runs, query_runs = [], []
    for _ in range(args.repeat):
        for q in QUESTIONS:
            ask_runs += timed(lambda q=q: service.ask(q, k=5), 1)
            query_runs += timed(lambda q=q: encoder.embed_queries([q]), 1)

    # the same index without the second model, for what loading it costs a cold start
    first_only = Khabar.open(work / "first-only", second_model="none")
    first_only.add_paths(sample_paths())
    first_only.close()
    env = {**os.environ, "KHABAR_INDEX": str(work / "index")}
    env_first = {**os.environ, "KHABAR_INDEX": str(work / "first-only")}
    cold = [sys.executable, "-m", "khabar.cli", "ask", QUESTIONS[0], "--json"]
    base = [sys.executable, "-c", "import numpy"]
    cold_runs, cold_first_runs = [], []
    for _ in range(args.repeat):  # interleaved, so that both see the same machine
        cold_runs += timed(
            lambda: subprocess.run(cold, env=env, check=True, capture_output=True), 1
        )
        cold_first_runs += timed(
            lambda: subprocess.run(cold, env=env_first, check=True, capture_output=True), 1
        )
    base_runs = timed(lambda: subprocess.run(base, check=True, capture_output=True), args.repeat)

    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "repeat": args.repeat,
        "index_sample_ms": median_ms(index_runs),
        "embed_sample_paragraphs_ms": median_ms(embed_runs),
        "index_vs_paragraph_embedding": round(
            statistics.median(index_runs) / statistics.median(embed_runs), 2
        ),
        "ask_warm_ms": median_ms(ask_runs),
        "embed_question_ms": median_ms(query_runs),
        "ask_vs_question_embedding": round(
            statistics.median(ask_runs) / statistics.median(query_runs), 2
        ),
        "ask_cold_start_ms": median_ms(cold_runs),
        "ask_cold_start_first_model_only_ms": median_ms(cold_first_runs),
        "cold_ask_vs_first_model_only": round(
            statistics.median(cold_runs) / statistics.median(cold_first_runs), 2
        ),
        "python_import_numpy_ms": median_ms(base_runs),
        "cold_ask_vs_python_numpy": round(
            statistics.median(cold_runs) / statistics.median(base_runs), 2
        ),
        "sample": {"paragraphs": len(paragraphs), "spans": service.info()["spans"]},
    }
    out = Path(__file__).parent / "results" / "core.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
