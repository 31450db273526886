"""A question's language, as far as the second model's share needs it.

The second model (USE multilingual v3) was trained on 16 languages; for a question in any
other its cosine is noise, and the pair then ranks worse than the first model alone
(bench/languages.py). So each question's language is identified, and the second model
counts only for the languages it knows.

The script decides most questions at once, without a model: Arabic letters without the
letters of Persian and Urdu are Arabic, Devanagari (Hindi, Marathi, Nepali) and the other
scripts of India, Greek, Hebrew and the rest are languages USE does not know, Han, kana,
Hangul and Thai are Chinese, Japanese, Korean and Thai. Latin, Cyrillic and Persian- or
Urdu-looking Arabic script go to ``py3langid`` (langid.py's model, in its wheel; about
0.1 ms a question after a one-off 0.9 s load, which ``preload`` starts in the background).
"""

from __future__ import annotations

import contextlib
import threading
import unicodedata
from typing import Any

UNKNOWN = "und"
# langid's codes for Arabic dialects, read as Arabic
ARABIC_VARIETIES = frozenset({"ar", "arz", "ary", "apc", "acm", "ajp", "aeb", "ayl", "arq"})
# Letters of Persian and Urdu that Arabic does not use (پ چ ژ گ ک ی ے ٹ ڈ ڑ ں)
PERSIAN_URDU = frozenset("\u067e\u0686\u0698\u06af\u06a9\u06cc\u06d2\u0679\u0688\u0691\u06ba")
_DIRECT = {"HAN": "zh", "HIRAGANA": "ja", "KATAKANA": "ja", "HANGUL": "ko", "THAI": "th"}
_ASK_LANGID = frozenset({"LATIN", "CYRILLIC"})
SHORT_WORDS = 3

_lock = threading.Lock()
_identifier: Any = None


def _script(char: str) -> str:
    """The first word of the character's Unicode name: its script, for letters."""
    name = unicodedata.name(char, "")
    if name.startswith("CJK"):
        return "HAN"
    return name.split(" ", 1)[0]


def _dominant_script(text: str) -> str | None:
    counts: dict[str, int] = {}
    for char in text:
        if char.isalpha():
            script = _script(char)
            counts[script] = counts.get(script, 0) + 1
    if not counts:
        return None
    if "HIRAGANA" in counts or "KATAKANA" in counts:
        return "KANA"  # Japanese mixes kana with Han
    return max(counts, key=lambda s: counts[s])


def question_language(text: str) -> str:
    """The ISO 639 code of ``text``'s language (``und`` when there is nothing to tell; a
    script's name, lower-case, for the scripts of languages USE has none in)."""
    return _language(text, _dominant_script(text))


def _language(text: str, script: str | None) -> str:
    """``question_language`` of ``text``, whose dominant script is ``script``."""
    if script is None:
        return UNKNOWN
    if script == "KANA":
        return "ja"
    if script == "ARABIC" and not PERSIAN_URDU.intersection(text):
        return "ar"
    if script in _DIRECT:
        return _DIRECT[script]
    if script in _ASK_LANGID or script == "ARABIC":
        found = str(_langid()(text)[0])
        return "ar" if found in ARABIC_VARIETIES else found
    return script.lower()  # DEVANAGARI, GREEK, HEBREW, ...


def known(text: str, languages: frozenset[str]) -> bool:
    """Whether ``text`` is in one of ``languages`` (ISO 639-1 codes). A question of at most
    SHORT_WORDS words in Latin or Cyrillic letters counts as known: too short to tell its
    language (langid reads "Putin?" as Quechua), and mostly names, which the models share."""
    script = _dominant_script(text)
    if script in _ASK_LANGID and len(text.split()) <= SHORT_WORDS:
        return True
    return _language(text, script) in languages


def preload() -> None:
    """Load the language identifier on a background thread (it takes about 0.9 s)."""
    threading.Thread(target=_preload, name="khabar-langid", daemon=True).start()


def _preload() -> None:
    # A process may end while the model loads (a command that fails at once), and the
    # first question that needs the model loads it again and reports what went wrong: so
    # nothing is reported from here.
    with contextlib.suppress(BaseException):
        _langid()


def _langid() -> Any:
    """py3langid's ``classify`` (text → (code, score)), its model loaded once."""
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import classify

            classify("")  # loads the model
            _identifier = classify
        return _identifier
