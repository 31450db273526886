"""Follow-up questions: which ones lean on the conversation, and what to search for them.

People ask in threads: after "What did Putin say about Israel?" comes "And about the
economy?" or "Who did he meet?". Such a question is searched together with the one it
follows; a question that stands on its own is searched as it is, so that a new topic does
not drag the old one along. No language model is needed: the question itself says whether
it leans on what came before (data/followups, bench/followups.py):

- it opens as a follow-up does: "and …", "what about …", "وماذا عن …", "ومتى …";
- it refers back: he, they, it, that (English: unless a name before a possessive gives
  it its own antecedent, "Tesla … his life"); ذلك، آنذاك، عنه، منها، لهم … (Arabic: a
  preposition's pronoun after a relative pronoun, "التي حصل عليها", is the clause's own);
- it names almost nothing: one content word and no name ("And by 2000?").

How: a follow-up is searched with its own vector (the previous question's vector pulls
toward the paragraph that answered it, and a follow-up in the same article asks about
another paragraph), its words and those of the questions it leans on in the lexical leg, and
a bonus for the article that answered the question it follows: the conversation picks the
article, the follow-up the paragraph in it. The service embeds and searches
(``Khabar.ask(history=…)``); here is pure logic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from khabar.search import ScoredChunk
from khabar.text.normalize import normalize_for_matching
from khabar.text.tokenize import arabic_share

#: The most earlier questions a conversation may send with a question.
MAX_HISTORY = 10
#: Added to the scores of the passages of the article that answered the question a follow-up
#: follows (tuned on XQuAD articles 0-23: bench/followups.py).
ARTICLE_BONUS = 0.05
#: A follow-up's vector: (1 - CONTEXT_WEIGHT) × its own + CONTEXT_WEIGHT × that of the
#: question it follows (itself resolved the same way). Kept small: a larger weight pulls a
#: follow-up toward the paragraph that answered before (bench/followups.py).
CONTEXT_WEIGHT = 0.2
#: How many passages a follow-up ranks before the bonus reorders them.
BONUS_DEPTH = 30

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")

_EN_OPENINGS = (
    "and ",
    "and,",
    "also ",
    "but ",
    "so ",
    "then ",
    "what about",
    "how about",
    "what of ",
)
_EN_POSSESSIVES = frozenset({"his", "her", "its", "their"})
_EN_REFERRING = _EN_POSSESSIVES | frozenset(
    {
        "he",
        "she",
        "it",
        "they",
        "him",
        "them",
        "hers",
        "theirs",
        "this",
        "these",
        "those",
        "there",
        "then",
        "one",
        "ones",
    }
)
# "that" refers back after these ("after that", "did that", "in that game"); after a noun it
# is a relative pronoun ("the movement that would become …").
_EN_THAT_AFTER = frozenset(
    {
        "in",
        "of",
        "after",
        "before",
        "like",
        "about",
        "with",
        "for",
        "by",
        "do",
        "does",
        "did",
        "was",
        "is",
        "at",
        "from",
        "to",
        "on",
    }
)
_EN_FUNCTION = _EN_REFERRING | frozenset(
    {
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "by",
        "with",
        "from",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "do",
        "does",
        "did",
        "what",
        "who",
        "whom",
        "whose",
        "which",
        "when",
        "where",
        "why",
        "how",
        "many",
        "much",
        "long",
        "about",
        "s",
        "has",
        "have",
        "had",
        "can",
        "could",
        "would",
        "will",
        "that",
        "also",
        "so",
        "but",
        "name",
        "as",
        "up",
        "out",
        "into",
        "over",
        "after",
        "before",
        "get",
        "got",
        "i",
        "you",
        "me",
        "we",
        "us",
        "our",
        "your",
        "what's",
        "whats",
        "who's",
        "it's",
    }
)


def _folded(words: Sequence[str]) -> frozenset[str]:
    return frozenset(normalize_for_matching(w) for w in words)


# Question words and prepositions that a follow-up opens with after و or ف: ومتى، وكم، وفي.
_AR_OPENERS = _folded(
    "ماذا من متى كيف أين هل ما لماذا كم في إلى على عن أي بماذا لأي مع بم فيم إلام علام مم "
    "بحلول".split()
)
_AR_OPENINGS = tuple(
    normalize_for_matching(p) for p in ("ماذا عن", "ما عن", "وماذا عن", "فماذا عن")
)
# Words that point back in time or to something said before.
_AR_BACK = _folded("ذلك آنذاك حينها حينذاك عندئذ وقتها".split())
# A preposition with a pronoun: refers back, unless a relative pronoun came before it.
_AR_PRONOUN = _folded(
    "هناك عنه عنها عنهم منه منها منهم له لها لهم معه معها معهم إليه إليها إليهم عليه عليها "
    "عليهم فيه فيها فيهم به بها بهم".split()
)
_AR_RELATIVE = _folded("الذي التي الذين اللذان اللتان اللذين اللتين اللواتي اللاتي ما مما".split())
_AR_FUNCTION = (
    _AR_BACK
    | _AR_PRONOUN
    | _AR_RELATIVE
    | _folded(
        "ما ماذا من متى كيف أين هل لماذا كم في إلى على عن أي هو هي هم تم كان كانت عدد مع بعد قبل "
        "هذا هذه ذلك تلك أن إن أو و ثم عند منذ بين كل قد لم لا اسم نوع ذات سنة عام".split()
    )
)


def _bare(word: str) -> str:
    """An Arabic word without a leading و or ف (and, so)."""
    return word[1:] if word[:1] in "وف" and len(word) > 2 else word


def needs_context(question: str) -> bool:
    """True when ``question`` leans on the conversation before it (see the module's rules)."""
    raw = _WORD.findall(question)
    if not raw:
        return False
    if arabic_share(question) >= 0.5:
        return _arabic_needs_context(question, [normalize_for_matching(w) for w in raw])
    return _english_needs_context(question, raw)


def _english_needs_context(question: str, raw: list[str]) -> bool:
    words = [w.lower() for w in raw]
    if question.strip().lower().startswith(_EN_OPENINGS):
        return True
    named = False
    for i, (word, original) in enumerate(zip(words, raw, strict=True)):
        if i > 0 and any(ch.isupper() for ch in original) and word != "i":
            named = True
        if word == "that":
            if i == len(words) - 1 or (i > 0 and words[i - 1] in _EN_THAT_AFTER):
                return True
        elif word in _EN_REFERRING and not (named and word in _EN_POSSESSIVES):
            return True
    content = [w for w in words if w not in _EN_FUNCTION and not w.isdigit()]
    return len(content) <= 1 and not named


def _arabic_needs_context(question: str, words: list[str]) -> bool:
    first = words[0]
    if first[:1] in "وف" and first[1:] in _AR_OPENERS:
        return True
    if normalize_for_matching(question.strip()).startswith(_AR_OPENINGS):
        return True
    relative = False
    for word in words:
        bare = _bare(word)
        if bare in _AR_RELATIVE:
            relative = True
        if bare in _AR_BACK or (bare in _AR_PRONOUN and not relative):
            return True
    content = [w for w in words if _bare(w) not in _AR_FUNCTION and not w.isdigit()]
    return len(content) <= 1


def chain(question: str, history: Sequence[str]) -> list[str]:
    """The questions ``question`` is searched with, oldest first, ending with it: the most
    recent earlier question that stands on its own and the follow-ups since; just
    ``[question]`` when it stands on its own or nothing came before."""
    earlier = [h.strip() for h in history[-MAX_HISTORY:] if h and h.strip()]
    if not earlier or not needs_context(question):
        return [question]
    out = [question]
    for previous in reversed(earlier):
        out.insert(0, previous)
        if not needs_context(previous):
            break
    return out


def searched_text(questions: Sequence[str]) -> str:
    """What a follow-up is searched as, for the lexical leg and to show the asker: the
    questions of its chain, in order."""
    return " ".join(q.strip() for q in questions)


def prefer_article(
    scored: Sequence[ScoredChunk], article_id: str | None, bonus: float = ARTICLE_BONUS
) -> list[ScoredChunk]:
    """``scored`` with ``bonus`` added to the scores of ``article_id``'s passages, best first
    (ties keep their order)."""
    if article_id is None:
        return list(scored)
    out = [
        replace(item, score=item.score + bonus) if item.chunk.article_id == article_id else item
        for item in scored
    ]
    return sorted(out, key=lambda item: -item.score)
