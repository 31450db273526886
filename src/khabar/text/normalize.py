"""Normalisation of Arabic (and any) text for matching, and cleaning for display.

Matching forms are never shown: display keeps the original letters.
"""

from __future__ import annotations

import re
import unicodedata

TATWEEL = "\u0640"
# harakat U+064B–U+0652 and the superscript alef U+0670
_DIACRITICS = re.compile("[\u064b-\u0652\u0670]")
# bidi embeddings/overrides (U+202A–U+202E) and isolates (U+2066–U+2069)
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
# zero-width characters, the BOM, and the bidi marks; all invisible, none needed for matching
_INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff\u061c]")
_ALEF_FORMS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"})
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def normalize_for_matching(text: str) -> str:
    """Fold ``text`` to the form used for matching (never for display).

    NFKC, tatweel and diacritics stripped, alef forms unified, ى → ي, ة → ه,
    Arabic-Indic digits folded to ASCII, invisible and bidi control characters
    dropped, case folded.
    """
    text = unicodedata.normalize("NFKC", text)
    text = _BIDI_CONTROLS.sub("", _INVISIBLE.sub("", text))
    text = strip_diacritics(text)
    return text.translate(_ALEF_FORMS).translate(_DIGITS).casefold()


# The article, alone or after لـ (للرئيس); after a clitic (والرئيس، بالرئيس) only where
# asked: وال also begins names (والتر).
_ARTICLE = ("لل", "ال")
_ARTICLE_AFTER_CLITIC = ("وال", "فال", "بال", "كال")


def strip_article(word: str, *, clitics: bool = False, rest: int = 2) -> str:
    """A normalised Arabic ``word`` without its article al- (ال, or the لل of لـ + ال; with
    ``clitics`` also وال، فال، بال، كال), where at least ``rest`` letters remain."""
    for prefix in (*_ARTICLE_AFTER_CLITIC, *_ARTICLE) if clitics else _ARTICLE:
        if word.startswith(prefix) and len(word) - len(prefix) >= rest:
            return word[len(prefix) :]
    return word


def strip_diacritics(text: str) -> str:
    """``text`` without harakat, the superscript alef and tatweel (letters kept as written)."""
    return _DIACRITICS.sub("", text.replace(TATWEEL, ""))


def word_set(words: str) -> set[str]:
    """The words of ``words`` (space-separated), each as ``normalize_for_matching`` makes it:
    a word list written as it reads, compared as text is matched."""
    return {normalize_for_matching(w) for w in words.split()}


def neutralize_bidi(text: str) -> str:
    """Remove bidi override, embedding and isolate characters from text to be shown.

    They can reorder what a reader sees (a "Trojan source" trick); the surrounding
    markup sets the direction instead.
    """
    return _BIDI_CONTROLS.sub("", text)


def clean_text(text: str) -> str:
    """Clean an article's text on the way in: NFC, unified line ends, no BOM or bidi overrides.

    Letters, diacritics and punctuation are kept as written.
    """
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    return neutralize_bidi(text)
