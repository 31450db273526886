"""Follow-up questions: recall@1 of the follow-up turns of data/followups, asked as khabar
asks them (``Khabar.ask(history=…)``), against the same words without the conversation and
against the standalone question they stand for; and of the turns that start a new topic,
with the conversation against without it.

The index holds the 240 Arabic XQuAD passages (each an article) and the sample article
(one article: its follow-ups ask about other paragraphs of the same article, and a turn
counts when its top passage is the paragraph named). English and Arabic conversations ask
over the Arabic passages. The settings were tuned on XQuAD articles 0–23; reported on
24–47, on the sample article and on all.

Run: python bench/followups.py; writes bench/results/followups.json.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from quality import CACHE, DATA, ROOT

from khabar import config
from khabar.evaluate import load_eval_set
from khabar.followup import ARTICLE_BONUS, CONTEXT_WEIGHT, needs_context
from khabar.ingest import article_from_text
from khabar.records import Answer
from khabar.samples import sample_paths
from khabar.service import Khabar, choose_model

CONVERSATIONS = ROOT / "data" / "followups" / "conversations.jsonl"
RESULTS = Path(__file__).parent / "results" / "followups.json"
SAMPLE_ID = "sample"


def sample_lines() -> list[str]:
    """The sample article's non-empty lines (0: the title); "sample-NN" names line NN."""
    text = sample_paths()[0].read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def open_index() -> Khabar:
    """The cached index of the XQuAD passages and the sample article (default engine)."""
    eval_set = load_eval_set(DATA / "xquad.ar.json")
    folder = CACHE / "followups-index"
    model = choose_model({**config.resolve(), "index": ""}, fast=True)
    service = Khabar.open(folder, model=model)
    if len(service.articles()) != len(eval_set.passages) + 1:
        started = time.perf_counter()
        text = sample_paths()[0].read_text(encoding="utf-8")
        sample = article_from_text(text, article_id=SAMPLE_ID, source="sample")
        service.add_articles([*eval_set.passages, sample])
        print(f"indexed in {time.perf_counter() - started:.0f}s")
    return service


def hit_is(answer: Answer, passage: str, lines: list[str]) -> bool:
    """True when the answer's top passage is ``passage`` (an XQuAD id, or sample-NN)."""
    if not answer.hits:
        return False
    top = answer.hits[0]
    if passage.startswith("sample-"):
        line = lines[int(passage.split("-")[1])]
        return top.article_id == SAMPLE_ID and (line in top.text or top.text in line)
    return top.article_id == passage


def group_of(turn: dict[str, Any]) -> str:
    passage = turn["passage"]
    where = (
        "sample"
        if passage.startswith("sample-")
        else ("tune" if int(passage[1:4]) < 24 else "test")
    )
    return f"{turn['kind']}-{where}"


def main() -> None:
    service = open_index()
    lines = sample_lines()
    conversations = [json.loads(line) for line in CONVERSATIONS.open(encoding="utf-8")]
    hits: dict[str, dict[str, list[bool]]] = {}
    detected: dict[str, list[bool]] = {}
    times: list[float] = []
    examples = []
    for conversation in conversations:
        asked = [t["ask"] for t in conversation["turns"]]
        for i, turn in enumerate(conversation["turns"]):
            if i == 0:
                continue
            group = group_of(turn)
            row = hits.setdefault(group, {"with_history": [], "without": [], "standalone": []})
            started = time.perf_counter()
            answer = service.ask(turn["ask"], k=1, context=False, history=asked[:i])
            times.append((time.perf_counter() - started) * 1000)
            row["with_history"].append(hit_is(answer, turn["passage"], lines))
            alone = service.ask(turn["ask"], k=1, context=False)
            row["without"].append(hit_is(alone, turn["passage"], lines))
            standalone = service.ask(turn["standalone"], k=1, context=False)
            row["standalone"].append(hit_is(standalone, turn["passage"], lines))
            detected.setdefault(turn["kind"], []).append(needs_context(turn["ask"]))
            if len(examples) < 6 and answer.searched and conversation["lang"] == "en":
                examples.append({"asked": turn["ask"], "searched": answer.searched})
    service.close()

    def recall(values: list[bool]) -> float:
        return round(sum(values) / len(values), 3)

    report: dict[str, Any] = {
        "what": "recall@1 of conversation turns (data/followups), real engine and models",
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "article_bonus": ARTICLE_BONUS,
        "context_weight": CONTEXT_WEIGHT,
        "groups": {},
        "detected_as_follow_up": {k: f"{sum(v)}/{len(v)}" for k, v in detected.items()},
        "ask_with_history_ms_p50": round(statistics.median(times), 1),
        "examples": examples,
    }
    merged: dict[str, dict[str, list[bool]]] = {}
    for group, row in sorted(hits.items()):
        report["groups"][group] = {m: recall(v) for m, v in row.items()} | {
            "turns": len(row["with_history"])
        }
        kind = group.split("-")[0]
        for m, v in row.items():
            merged.setdefault(f"{kind}-all", {}).setdefault(m, []).extend(v)
    for group, row in merged.items():
        report["groups"][group] = {m: recall(v) for m, v in row.items()} | {
            "turns": len(row["with_history"])
        }
    RESULTS.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(report, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
