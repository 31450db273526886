"""What a real language model does for khabar (KHABAR_LLM_URL: an OpenAI-compatible server):

- follow-ups rewritten: recall@1 of the follow-up turns of data/followups when the model
  rewrites them (against khabar's own rules, bench/followups.py), how many rewrites failed
  (the rules then stood in), and the time a rewrite takes;
- replies on the sample article: how many questions got a reply whose every sentence cites a
  passage given, how many were refused by the check (cites nothing, or a passage not given),
  and the reply time.

Run: KHABAR_LLM_URL=http://127.0.0.1:8080/v1 python bench/llm.py [--turns N];
writes bench/results/llm.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from followups import CONVERSATIONS, group_of, hit_is, open_index, sample_lines

from khabar.llm import LanguageModel
from khabar.service import Khabar

RESULTS = Path(__file__).parent / "results" / "llm.json"
SAMPLE_QUESTIONS = [
    "What did Putin say about Israel?",
    "ماذا قال بوتين عن إسرائيل؟",
    "Who did Putin receive in the Kremlin?",
    "What was discussed about the economy and reconstruction?",
    "هل القواعد الروسية في سوريا آمنة؟",
    "Who will Lavrov hold talks with?",
    "ما موقف روسيا من وحدة الأراضي السورية؟",
    "What did Putin say during al-Sharaa's visit?",
    "ماذا بحث الجانبان في المجال العسكري؟",
    "What did Zakharova say?",
]


def rewrites(service: Khabar, limit: int) -> dict[str, Any]:
    lines = sample_lines()
    conversations = [json.loads(line) for line in CONVERSATIONS.open(encoding="utf-8")]
    hits: dict[str, list[bool]] = {}
    failed = 0
    times = []
    examples = []
    done = 0
    for conversation in conversations:
        asked = [t["ask"] for t in conversation["turns"]]
        for i, turn in enumerate(conversation["turns"]):
            if i == 0 or turn["kind"] != "followup" or done >= limit:
                continue
            done += 1
            started = time.perf_counter()
            answer = service.ask(turn["ask"], k=1, context=False, history=asked[:i])
            times.append(time.perf_counter() - started)
            if answer.notes:
                failed += 1
            elif len(examples) < 8:
                examples.append({"asked": turn["ask"], "rewritten": answer.searched})
            hits.setdefault(group_of(turn), []).append(hit_is(answer, turn["passage"], lines))
    return {
        "turns": done,
        "recall@1": {g: round(sum(v) / len(v), 3) for g, v in sorted(hits.items())},
        "rewrites_failed": failed,
        "ask_with_rewrite_s_p50": round(statistics.median(times), 2),
        "examples": examples,
    }


def replies(service: Khabar) -> dict[str, Any]:
    rows = []
    for question in SAMPLE_QUESTIONS:
        started = time.perf_counter()
        answer = service.ask(question, k=3, context=False, reply=True)
        rows.append(
            {
                "question": question,
                "seconds": round(time.perf_counter() - started, 1),
                "answered": answer.answered,
                "reply": answer.reply.text if answer.reply else None,
                "citations": list(answer.reply.citations) if answer.reply else None,
                "notes": list(answer.notes),
            }
        )
    asked = [r for r in rows if r["answered"]]
    return {
        "questions": len(rows),
        "answered_questions": len(asked),
        "replies_shown": sum(r["reply"] is not None for r in asked),
        "replies_refused": sum(r["reply"] is None for r in asked),
        "reply_s_p50": round(statistics.median(r["seconds"] for r in asked), 1) if asked else None,
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=1000, help="at most this many follow-ups")
    args = parser.parse_args()
    url = os.environ["KHABAR_LLM_URL"]
    service = open_index()
    service.llm = LanguageModel(url, os.environ.get("KHABAR_LLM_MODEL", ""), timeout=120)
    report = {
        "what": "a real language model behind khabar (rewrites, cited replies)",
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "model": os.environ.get("KHABAR_LLM_NAME", "(unnamed)"),
        "rewrite": rewrites(service, args.turns),
        "replies_on_the_sample_article": replies(service),
    }
    service.close()
    RESULTS.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(report, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
