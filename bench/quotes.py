"""Quote finding and "what did X say" questions, measured on data/quotes (see its README).

    python bench/quotes.py extract      # speaker-and-span precision and recall
    python bench/quotes.py questions    # recall@1 of "what did X say" with and without
    python bench/quotes.py indexing     # indexing with the quote rules against without
    python bench/quotes.py              # both, written to bench/results/quotes.json

The questions are asked of an index of the quote articles, the bundled sample and the 240
XQuAD Arabic paragraphs (distractors), built once under bench/.cache with the default
engine and models.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from khabar.quote_eval import load_articles, matched
from khabar.text.quotes import find_quotes

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "quotes"
CACHE = Path(__file__).parent / ".cache"
RESULTS = Path(__file__).parent / "results" / "quotes.json"


def articles() -> list[dict[str, Any]]:
    """The hand-marked articles."""
    return load_articles(DATA / "articles.jsonl")


# Each check set's figures when the rules first saw it (before its failures were fixed):
# precision, recall (data/quotes/README.md).
FIRST_SEEN = {
    "check": (0.765, 0.722),
    "check2": (0.600, 0.500),
    "check3": (0.500, 0.467),
    "check4": (0.733, 0.733),
    "check5": (0.933, 0.875),  # left as it is: the rules of 2026-12-02 on text they never saw
}


def extract(verbose: bool) -> dict[str, Any]:
    results: dict[str, dict[str, int]] = {}
    for article in articles():
        group = article["set"] if article["set"].startswith("check") else "tuned"
        if article["id"] == "sample":
            group = "sample"
        texts = [p["text"] for p in article["paragraphs"]]
        found_all = find_quotes(texts)
        for n, (paragraph, found) in enumerate(
            zip(article["paragraphs"], found_all, strict=True), 1
        ):
            right = matched(found, paragraph["quotes"])
            for key in (group, "all"):
                row = results.setdefault(key, {"found": 0, "gold": 0, "matched": 0})
                row["found"] += len(found)
                row["gold"] += len(paragraph["quotes"])
                row["matched"] += right
            if verbose and (right < len(found) or right < len(paragraph["quotes"])):
                print(f"{article['id']} ¶{n}")
                for g in paragraph["quotes"]:
                    print("   marked:", g["who"], "|", g["quote"][:50])
                for q in found:
                    said = paragraph["text"][q.start : q.end][:60]
                    print(f"   found: {q.speaker} ({q.verb}): {said}")
    out = {}
    for key, row in results.items():
        precision = row["matched"] / max(row["found"], 1)
        recall = row["matched"] / max(row["gold"], 1)
        out[key] = {**row, "precision": round(precision, 3), "recall": round(recall, 3)}
        print(
            f"{key:9} precision {precision:.3f} recall {recall:.3f} "
            f"({row['matched']} of {row['found']} found, {row['gold']} marked)"
        )
    out["first_seen"] = {k: {"precision": p, "recall": r} for k, (p, r) in FIRST_SEEN.items()}
    return out


def questions() -> list[dict[str, Any]]:
    """The "what did X say" questions (paragraph 0: a trap, X is quoted on none of it)."""
    lines = (DATA / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def open_index() -> Any:
    """The cached index of the quote articles, the sample and XQuAD's Arabic paragraphs."""
    from khabar import config
    from khabar.evaluate import load_eval_set
    from khabar.ingest import article_from_text
    from khabar.samples import sample_paths
    from khabar.service import Khabar, choose_model

    eval_set = load_eval_set(ROOT / "data" / "xquad" / "xquad.ar.json")
    model = choose_model({**config.resolve(), "index": ""}, fast=True)
    service = Khabar.open(CACHE / "quotes-index", model=model)
    written = [a for a in articles() if a["id"] != "sample"]
    if len(service.articles()) != len(eval_set.passages) + len(written) + 1:
        started = time.perf_counter()
        sample = article_from_text(
            sample_paths()[0].read_text(encoding="utf-8"), article_id="sample", source="sample"
        )
        own = [
            article_from_text(
                "\n".join(p["text"] for p in a["paragraphs"]),
                article_id=a["id"],
                title=a["title"],
                published=a["published"],
                source=a["style"],
            )
            for a in written
        ]
        service.add_articles([*eval_set.passages, sample, *own])
        print(f"indexed in {time.perf_counter() - started:.0f}s")
    return service


def ask_all(service: Any, how: str) -> dict[str, Any]:
    """Recall@1 of the questions with ``how`` (speaker_match), and the traps' outcome."""
    service.speaker_match = how
    hits: dict[str, list[bool]] = {}
    traps: dict[str, list[bool]] = {}
    answered: list[bool] = []
    times = []
    misses = []
    for q in questions():
        started = time.perf_counter()
        answer = service.ask(q["question"], k=5, context=False)
        times.append(time.perf_counter() - started)
        if not q["article"]:
            # right when khabar does not answer with words it attributes to them
            traps.setdefault(q["set"], []).append(
                not (answer.answered and answer.speaker_quoted) if how != "off" else False
            )
            continue
        answered.append(answer.answered)
        top = answer.hits[0] if answer.hits else None
        ok = top is not None and top.article_id == q["article"] and top.paragraph == q["paragraph"]
        for key in (q["lang"], "all"):
            hits.setdefault(f"{q['set']}_{key}", []).append(ok)
        if not ok:
            misses.append(q["question"])
    out: dict[str, Any] = {
        f"recall_at_1_{key}": round(sum(v) / len(v), 3) for key, v in sorted(hits.items())
    }
    out["questions"] = {key: len(v) for key, v in hits.items() if key.endswith("_all")}
    if how != "off":
        for key, v in traps.items():
            out[f"{key}_traps_not_answered_as_theirs"] = f"{sum(v)} of {len(v)}"
    out["answered"] = f"{sum(answered)} of {len(answered)}"
    out["median_ms"] = round(1000 * statistics.median(times), 1)
    out["missed"] = misses
    return out


def topic_cosines(service: Any) -> dict[str, list[float]]:
    """The best topic cosine among the person's passages, for the real questions and the
    traps (how TOPIC_MIN_COSINE is chosen)."""
    from khabar.quoted import DEPTH, prefer_speaker
    from khabar.text.speakers import asked_speaker

    out: dict[str, list[float]] = {"questions": [], "traps": []}
    for q in questions():
        asked = asked_speaker(q["question"])
        if asked is None or not asked.topic or q["set"] != "tuning":
            continue
        scored = service.rank_chunks(q["question"], k=DEPTH)
        _, match = prefer_speaker(
            scored, asked, service.encoder.embed_queries, "both", service._topic_scores
        )
        if match.topic_cosine is not None:
            out["traps" if not q["article"] else "questions"].append(round(match.topic_cosine, 3))
    return {k: sorted(v) for k, v in out.items()}


def indexing_cost(repeat: int = 11) -> dict[str, Any]:
    """Indexing the sample with quotes found against the same with the rules switched off,
    medians of ``repeat`` alternating runs in one process (the real engine and stores), and
    the rules alone on XQuAD's 240 Arabic paragraphs."""
    import tempfile

    import khabar.chunk
    from khabar.evaluate import load_eval_set
    from khabar.service import Khabar

    real = khabar.chunk.find_quotes
    times: dict[str, list[float]] = {"with": [], "without": []}
    for n in range(2 * repeat + 1):
        which = "with" if n % 2 else "without"
        khabar.chunk.find_quotes = real if which == "with" else (lambda ps: [[] for _ in ps])
        with tempfile.TemporaryDirectory() as folder:
            service = Khabar.open(Path(folder) / "index")
            started = time.perf_counter()
            service.ensure_samples()
            elapsed = time.perf_counter() - started
            service.close()
        if n:  # the first run warms the engine
            times[which].append(elapsed)
    khabar.chunk.find_quotes = real
    passages = load_eval_set(ROOT / "data" / "xquad" / "xquad.ar.json").passages
    started = time.perf_counter()
    for article in passages:
        find_quotes(article.text.split("\n"))
    rules = time.perf_counter() - started
    with_ms = 1000 * statistics.median(times["with"])
    without_ms = 1000 * statistics.median(times["without"])
    return {
        "index_sample_ms": round(with_ms, 1),
        "index_sample_without_quotes_ms": round(without_ms, 1),
        "ratio": round(with_ms / without_ms, 3),
        "rules_per_paragraph_ms": round(1000 * rules / len(passages), 3),
        "repeat": repeat,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", nargs="?", choices=["extract", "questions", "indexing"])
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {platform.python_version()}",
    }
    if args.what in (None, "extract"):
        results["extraction"] = extract(args.verbose)
    if args.what in (None, "questions"):
        service = open_index()
        results["topic_cosines"] = topic_cosines(service)
        print("topic cosines", results["topic_cosines"])
        for how in ("off", "spelling", "vectors", "both"):
            results[f"questions_{how}"] = found = ask_all(service, how)
            print(how, {k: v for k, v in found.items() if k != "missed"})
            if args.verbose:
                for m in found["missed"]:
                    print("   missed:", m)
    if args.what in (None, "indexing"):
        results["indexing"] = cost = indexing_cost()
        print("indexing", cost)
    if args.what is not None and RESULTS.exists():  # one part again: the others as they were
        results = {**json.loads(RESULTS.read_text(encoding="utf-8")), **results}
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
