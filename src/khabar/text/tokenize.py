"""Terms for the lexical (BM25) leg: Arabic-normalised, lightly stemmed, stopwords dropped.

Light stemming strips the proclitics و ف ب ل ك and the article ال, and common
suffixes (pronouns, plural and feminine endings), keeping at least a
three-letter stem. It is deliberately light: an over-eager Arabic stemmer
merges unrelated words, which hurts precision more than it helps recall.
Latin-script words are case-folded and lightly de-pluralised; digits are kept.
"""

from __future__ import annotations

import re

from khabar.text.normalize import normalize_for_matching

_WORD = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+", re.UNICODE)
_ARABIC = re.compile("[\u0600-\u06ff]")

# Function words (in matching form: ة→ه, ى→ي, أإآ→ا); they carry no topic.
ARABIC_STOPWORDS = frozenset(
    (
        "في من الي علي عن مع ان او ام ثم لا لم لن ما ماذا متي اين كيف كم هل اي التي الذي الذين "
        "اللتان اللذان اللواتي اللاتي هذا هذه ذلك تلك هؤلاء اولئك هو هي هم هن هما انا نحن انت "
        "انتم كان كانت يكون تكون كانوا قد قال قالت وقال وقالت ايضا كل بعض غير بين حتي اذا اذ "
        "لكن بل او الا سوي منذ عند عندما لدي لقد ف و ب ل ك ال ولا وما ومن وفي وهو وهي وقد وكان "
        "وكانت فقد فان وان بان لان كما مثل حيث اما خلال بعد قبل فوق تحت حول ضد نحو لدى"
    ).split()
)
ENGLISH_STOPWORDS = frozenset(
    (
        "a an the and or but if of to in on at by for with from as is are was were be been being "
        "do does did has have had what which who whom whose when where why how that this these "
        "those it its they them their he she his her we our you your i me my not no so than then "
        "there here into about over under after before during between can could would should "
        "will shall may might must also such very"
    ).split()
)

_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال")
_CLITICS = ("و", "ف", "ب", "ل", "ك")
_SUFFIXES = (
    "تهما",
    "كما",
    "هما",
    "تها",
    "تهم",
    "اتها",
    "ات",
    "ون",
    "ين",
    "ان",
    "ها",
    "هم",
    "هن",
    "كم",
    "كن",
    "نا",
    "يه",
    "يا",
    "وا",
    "ه",
    "ي",
    "ت",
    "ا",
)
MIN_STEM = 3


def stem_arabic(word: str) -> str:
    """Light stem of one normalised Arabic word."""
    for prefix in _PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= MIN_STEM:
            word = word[len(prefix) :]
            break
    else:
        if word[:1] in _CLITICS and len(word) - 1 >= MIN_STEM + 1:
            word = word[1:]
            for prefix in ("ال",):
                if word.startswith(prefix) and len(word) - len(prefix) >= MIN_STEM:
                    word = word[len(prefix) :]
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            return word[: -len(suffix)]
    return word


def _stem_latin(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def terms(text: str) -> list[str]:
    """The BM25 terms of ``text``: normalised, stemmed, without stopwords or 1-letter words."""
    out: list[str] = []
    for word in _WORD.findall(normalize_for_matching(text)):
        if word[0].isdigit():
            out.append(word)
        elif _ARABIC.match(word):
            if word in ARABIC_STOPWORDS or len(word) < 2:
                continue
            out.append(stem_arabic(word))
        elif word not in ENGLISH_STOPWORDS and len(word) > 1:
            out.append(_stem_latin(word))
    return out


def arabic_share(text: str) -> float:
    """The share of letters in ``text`` that are Arabic script (0.0 for no letters)."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for ch in letters if _ARABIC.match(ch)) / len(letters)
