"""Retrieval-quality ablation and tuning on XQuAD, with the product's own ranking code.

Builds two indexes of all 48 XQuAD articles (240 Arabic passages; cached in
bench/.cache), one by multilingual-e5-small alone and one with the second model (USE
multilingual) beside it, on the engine the product indexes with; embeds every
English and Arabic question once per index, then evaluates ranking settings. Tuning
uses only the questions of articles 0–23; the chosen settings are then reported on the
questions of articles 24–47 and on all 48 (the passage pool is always all 240 passages).

Run: python bench/quality.py [--sweep]; writes bench/results/quality.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from khabar import config
from khabar.embed.base import SECOND_NONE, SECOND_USE, SECOND_WEIGHT
from khabar.embed.paired import PairedEncoder
from khabar.evaluate import EvalQuestion, build_index, load_eval_set, run_questions
from khabar.search import SearchSettings, search
from khabar.service import Khabar, choose_model

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "xquad"
CACHE = Path(__file__).parent / ".cache"
TUNE = set(range(24))


def split(questions: tuple[EvalQuestion, ...], articles: set[int]) -> list[int]:
    return [i for i, q in enumerate(questions) if int(q.passage_id[1:4]) in articles]


def open_index(second: str = SECOND_USE) -> Khabar:
    """The cached index of all XQuAD passages, by the default engine, with or without the
    second model."""
    eval_set = load_eval_set(DATA / "xquad.ar.json")
    folder = CACHE / f"xquad-index-{second}"
    model = choose_model({**config.resolve(), "index": ""}, fast=True)
    if (folder / "manifest.json").exists():
        service = Khabar.open(folder, model=model, second_model=second)
        if service.store.db.counts()[0] == len(eval_set.passages):
            return service
        service.close()
    started = time.perf_counter()
    service, rate = build_index(eval_set, folder, model=model, second_model=second)
    print(
        f"indexed {len(eval_set.passages)} passages in {time.perf_counter() - started:.0f}s "
        f"({rate:.2f} passages/s)"
    )
    return service


def query_vectors(service: Khabar, name: str, texts: list[str]) -> np.ndarray[Any, Any]:
    encoder = service.encoder
    tag = f"paired-{encoder.second_weight}" if isinstance(encoder, PairedEncoder) else "first"
    path = CACHE / f"questions-{tag}-{name}.npy"
    if path.exists():
        vectors = np.load(path, allow_pickle=False)
        if len(vectors) == len(texts):
            return vectors
    vectors = service.encoder.embed_queries(texts)
    np.save(path, vectors, allow_pickle=False)
    return vectors


def reweighted(
    service: Khabar, vectors: np.ndarray[Any, Any], weight: float
) -> np.ndarray[Any, Any]:
    """Question vectors of the paired encoder with another weight for the second model."""
    assert isinstance(service.encoder, PairedEncoder)
    out = vectors.copy()
    out[:, service.encoder.first.dim :] *= weight / service.encoder.second_weight
    return out


def score(ranks: list[int], idx: list[int]) -> dict[str, float]:
    r = np.asarray(ranks)[idx]
    found = r > 0
    mrr = np.where(found & (r <= 10), 1.0 / np.maximum(r, 1), 0.0)
    return {
        "r@1": round(float(np.mean(found & (r == 1))), 4),
        "r@5": round(float(np.mean(found & (r <= 5))), 4),
        "mrr@10": round(float(mrr.mean()), 4),
    }


def latency(
    sets: dict[str, tuple[EvalQuestion, ...]],
    baseline: tuple[Khabar, SearchSettings],
    default: tuple[Khabar, SearchSettings],
    n: int = 150,
) -> dict[str, float]:
    """Median end-to-end question time (embedding included), interleaving the two setups:
    paragraph vectors of the first model alone, and the default ranking."""
    times: dict[str, list[float]] = {"paragraph_only": [], "default": []}
    pair = (("paragraph_only", baseline), ("default", default))
    for qs in sets.values():
        for j, q in enumerate(qs[:n]):
            # alternate which goes first, so that neither pays for the other's warm-up
            for label, (service, settings) in pair if j % 2 else pair[::-1]:
                started = time.perf_counter()
                service.rank_articles(q.text, 10, settings=settings)
                times[label].append((time.perf_counter() - started) * 1000)
    p50 = {k: statistics.median(v) for k, v in times.items()}
    return {
        "paragraph_only_ms_p50": round(p50["paragraph_only"], 1),
        "default_ms_p50": round(p50["default"], 1),
        "ratio": round(p50["default"] / p50["paragraph_only"], 2),
    }


def calibrate(
    service: Khabar,
    questions: tuple[EvalQuestion, ...],
    vectors: np.ndarray[Any, Any],
    parts: dict[str, list[int]],
    settings: SearchSettings,
) -> dict[str, Any]:
    """Threshold on the best passage's dense score that says "the articles don't say".

    Each question is asked twice: as is, and with its own passage left out. The threshold
    chosen on the tuning split maximises F1 of flagging the left-out runs while flagging at
    most 10% of the answerable ones (a warning on many good answers would be noise);
    its precision and recall are reported on every split.
    """
    present: list[float] = []
    absent: list[float] = []
    for i, q in enumerate(questions):
        for bucket, exclude in ((present, frozenset()), (absent, frozenset({q.passage_id}))):
            top = search(service.store, vectors[i], 1, settings, q.text, exclude)
            bucket.append(top[0].dense_score if top else 0.0)
    p, a = np.asarray(present), np.asarray(absent)
    grid = np.round(np.arange(np.quantile(a, 0.05), np.quantile(p, 0.5), 0.0025), 4)
    best = best_flag_threshold(p, a, [float(t) for t in grid], parts["tune"])
    return {"threshold": best, **{k: flag_stats(p, a, best, v) for k, v in parts.items()}}


def flag_stats(
    present: np.ndarray[Any, Any], absent: np.ndarray[Any, Any], threshold: float, idx: list[int]
) -> dict[str, float]:
    """How well "score < threshold" flags the runs whose answer was left out (``absent``)
    and spares the answerable ones (``present``), over the runs ``idx``."""
    flagged_absent = int(np.sum(absent[idx] < threshold))
    flagged_present = int(np.sum(present[idx] < threshold))
    precision = flagged_absent / max(flagged_absent + flagged_present, 1)
    recall = flagged_absent / len(idx)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    return {
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "answerable_flagged": round(flagged_present / len(idx), 3),
    }


def best_flag_threshold(
    present: np.ndarray[Any, Any], absent: np.ndarray[Any, Any], grid: list[float], tune: list[int]
) -> float:
    """The threshold of ``grid`` (the first, of equals) with the best F1 on the ``tune`` runs
    among those that flag at most 10% of the answerable ones."""
    allowed = [
        t for t in grid if flag_stats(present, absent, t, tune)["answerable_flagged"] <= 0.10
    ]
    return max(allowed, key=lambda t: flag_stats(present, absent, t, tune)["f1"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sweep", action="store_true", help="also sweep the fusion weights")
    args = parser.parse_args()
    CACHE.mkdir(exist_ok=True)
    services = {second: open_index(second) for second in (SECOND_NONE, SECOND_USE)}
    sets = {
        "en": load_eval_set(DATA / "xquad.ar.json", DATA / "xquad.en.json").questions,
        "ar": load_eval_set(DATA / "xquad.ar.json").questions,
    }
    vectors = {
        (second, name): query_vectors(service, name, [q.text for q in qs])
        for second, service in services.items()
        for name, qs in sets.items()
    }
    splits = {
        name: {
            "tune": split(qs, TUNE),
            "test": split(qs, set(range(24, 48))),
            "all": list(range(len(qs))),
        }
        for name, qs in sets.items()
    }

    def run(
        settings: SearchSettings, name: str, second: str = SECOND_USE, weight: float | None = None
    ) -> tuple[list[int], float]:
        service, q = services[second], vectors[(second, name)]
        if weight is not None:
            q = reweighted(service, q, weight)
        asked = run_questions(service, sets[name], 10, settings, q)
        return asked.ranks, statistics.median(asked.times)

    base = SearchSettings()
    dense_only = replace(base, lexical_weight_arabic=0.0, lexical_weight_other=0.0)
    # (index, search settings) of each row: one leg more per row
    ablation = {
        "paragraph vectors only": (SECOND_NONE, replace(dense_only, span_weight=0.0)),
        "+ best sentence": (SECOND_NONE, replace(dense_only, use_clauses=False)),
        "+ best sentence or clause": (SECOND_NONE, dense_only),
        "+ BM25, reciprocal rank (weight 1)": (
            SECOND_NONE,
            replace(base, fusion="rrf", lexical_weight_arabic=1.0, lexical_weight_other=0.0),
        ),
        "+ BM25, interpolation": (SECOND_NONE, base),
        "second model (USE) beside e5, paragraph vectors only": (
            SECOND_USE,
            replace(dense_only, span_weight=0.0),
        ),
        "second model, + best sentence or clause": (SECOND_USE, dense_only),
        "second model, + BM25, interpolation (default)": (SECOND_USE, base),
    }
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d"), "ablation": {}, "sweep": []}
    if args.sweep:
        for w in [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4]:
            row: dict[str, Any] = {"second_weight": w}
            for name in sets:
                ranks, _ = run(base, name, weight=w)
                row[name] = score(ranks, splits[name]["tune"])
            results["sweep"].append(row)
            print(row)
        sweeps = {
            "ar": ("lexical_weight_arabic", [0.0, 0.05, 0.1, 0.15, 0.2, 0.3]),
            "en": ("lexical_weight_other", [0.0, 0.01, 0.02, 0.05]),
        }
        for name, (key, weights) in sweeps.items():
            for lw in weights:
                ranks, _ = run(replace(base, **{key: lw}), name)
                row = {"questions": name, key: lw, **score(ranks, splits[name]["tune"])}
                results["sweep"].append(row)
                print(row)
    for label, (second, settings) in ablation.items():
        entry: dict[str, Any] = {"second_model": second, "settings": asdict(settings)}
        for name in sets:
            ranks, ms = run(settings, name, second)
            entry[name] = {part: score(ranks, idx) for part, idx in splits[name].items()}
            entry[name]["search_ms_p50"] = round(ms, 2)
        results["ablation"][label] = entry
        print(label, json.dumps({n: entry[n]["all"] for n in sets}))
    first_only = ablation["paragraph vectors only"]
    results["latency"] = latency(
        sets, (services[first_only[0]], first_only[1]), (services[SECOND_USE], base)
    )
    print("latency", results["latency"])
    # The threshold of the first model alone, then of the pair; the second model's part of
    # it is what the pair's adds, per unit of second_weight (answer.AnswerSettings).
    results["not_answered_first_model"] = {
        name: calibrate(
            services[SECOND_NONE], sets[name], vectors[(SECOND_NONE, name)], splits[name], base
        )
        for name in sets
    }
    results["not_answered"] = {
        name: calibrate(
            services[SECOND_USE], sets[name], vectors[(SECOND_USE, name)], splits[name], base
        )
        for name in sets
    }
    for name in sets:
        first = results["not_answered_first_model"][name]["threshold"]
        pair = results["not_answered"][name]["threshold"]
        results["not_answered"][name]["second_part"] = round((pair - first) / SECOND_WEIGHT, 4)
    results["second_weight"] = SECOND_WEIGHT
    results["engine"] = services[SECOND_USE].engine
    print("not answered", json.dumps(results["not_answered"], indent=1))
    out = Path(__file__).parent / "results" / "quality.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for service in services.values():
        service.close()


if __name__ == "__main__":
    main()
