"""Scoring found quotes against hand-marked ones (data/quotes; bench/quotes.py, the tests).

A found quote matches a marked one (one to one) when its speaker is right (it holds the
last word of the marked ``who``, a person's family name, or half of the words of a body's
name; al- aside) and its span covers at least half of the marked span.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from khabar.records import Quote
from khabar.text.normalize import normalize_for_matching, strip_article


def load_articles(path: Path) -> list[dict[str, Any]]:
    """The hand-marked articles of ``path`` (articles.jsonl)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _words(text: str) -> list[str]:
    out = []
    for word in normalize_for_matching(text).replace("«", " ").replace("»", " ").split():
        word = word.strip('()"“”')
        word = strip_article(word, clitics=True, rest=3)
        if word.endswith("يا") and len(word) > 4:
            word = word[:-1]  # the accusative's alif: دبلوماسياً
        if word:
            out.append(word)
    return out


def speaker_matches(found: str, who: str) -> bool:
    """Whether a found speaker is the marked one (see the module's docstring)."""
    gold = _words(who)
    words = set(_words(found))
    return bool(gold) and (gold[-1] in words or 2 * len(words & set(gold)) >= len(gold))


def matched(found: Sequence[Quote], marked: Sequence[dict[str, Any]]) -> int:
    """How many of the ``marked`` quotes (``who``, ``start``, ``end``) ``found`` matches."""
    used: set[int] = set()
    for gold in marked:
        start, end = int(gold["start"]), int(gold["end"])
        for n, quote in enumerate(found):
            covered = max(0, min(quote.end, end) - max(quote.start, start))
            if (
                n not in used
                and 2 * covered >= end - start
                and speaker_matches(quote.speaker, str(gold["who"]))
            ):
                used.add(n)
                break
    return len(used)
