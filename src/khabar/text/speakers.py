"""Questions about what someone said, and whether a quote's speaker is the person asked
about (pure; imports nothing heavy).

"What did Putin say about Israel?", "Zakharova's position on …", "how did X react to Y",
"ماذا قال بوتين عن إسرائيل؟", "ما موقف X من Y": ``asked_speaker`` finds the person (X) and the
topic (Y). ``spelled_alike`` compares X with a quote's speaker as the article names them: an
Arabic X word for word (al- aside), an English X by a consonant skeleton of each name, so
that Putin ↔ بوتين, Lavrov ↔ لافروف, Zakharova ↔ زاخاروفا, Khoury ↔ خوري match, and an
English title or body with no name ("the Russian president", "the police") word for word
through a lexicon of news words (``titled_alike``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from khabar.text.normalize import normalize_for_matching, strip_article, strip_diacritics, word_set
from khabar.text.quotes import SPEECH_VERB_FORMS

_EN_VERBS = (
    r"say|said|tell|told|think|warn(?:ed)?|reveal|call|describe|announce|claim|state|argue|"
    r"add|react|respond|comment|promise|deny|propose|demand|ask|urge|mean|insist|stress|"
    r"admit|explain|confirm|predict|expect|suggest|write|note|accuse|criticize|criticise|"
    r"praise|blame|reply|answer|declare|report|disclose|want|hope|fear|believe"
)
_EN_DID = re.compile(
    rf"^\s*(?:what|how|why|when|where)\s+(?:exactly\s+)?(?:did|does|do|has|have|had|was|is)\s+"
    rf"(?P<who>.+?)\s+(?:just\s+|actually\s+|really\s+)?(?P<verb>{_EN_VERBS})\b"
    r"(?:\s+(?:about|on|of|regarding|concerning|to|for|over|with|at|in|against))?"
    r"(?P<topic>.*?)[\s?.!]*$",
    re.IGNORECASE,
)
_EN_POSSESSIVE = re.compile(
    r"^\s*(?:what\s+(?:is|was|are|were)\s+|what's\s+)?(?P<who>.+?)(?:'s|’s|s'|s’)\s+"
    r"(?:position|stance|view|views|reaction|response|opinion|comment|comments|words|"
    r"statement|statements|take|line|message|warning|answer|reply)\s*"
    r"(?:on|about|of|regarding|to|towards|toward|over|concerning)?\s*(?P<topic>.*?)[\s?.!]*$",
    re.IGNORECASE,
)
_EN_ACCORDING = re.compile(
    r"^\s*according\s+to\s+(?P<who>[^,]+?)\s*,\s*(?P<topic>.+?)[\s?.!]*$", re.IGNORECASE
)


_AR_ASK = word_set("ماذا ما مم بماذا كيف الام الى عما عن فيم وماذا وما وكيف")
# the speech verbs the quote rules read, and what a question asks with besides: قاله، رد، علق
_AR_VERBS = SPEECH_VERB_FORMS | word_set("قاله قالته رد ردت علق علقت")
_AR_STANCE = word_set("موقف راي رد تعليق تصريح تصريحات كلام قول تحذير دعوه")
# Compared before ى → ي, so that the name علي is not the preposition على
_AR_ABOUT = {"عن", "حول", "بشأن", "بشان", "من", "على", "في", "تجاه", "إزاء", "ازاء", "بخصوص"}
_AR_FILLER = word_set("الذي التي الذين ماذا")
# English words of a question that name no one: titles stay (they are what a body is called)
_EN_FILLER = {"the", "a", "an", "mr", "mrs", "ms", "dr", "of", "and"}
_LATIN = re.compile(r"[a-z]+(?:[-'][a-z]+)*")


@dataclass(frozen=True)
class AskedSpeaker:
    """Who a question asks about (``person``, as the question words it) and on what."""

    person: str
    topic: str
    verb: str = ""  # the question's speech verb, when it says more than "say"

    @property
    def verb_forms(self) -> frozenset[str]:
        """The Arabic speech verbs (normalised, any form) the question's verb stands for."""
        return _VERB_FORMS.get(self.verb, frozenset())


def asked_speaker(question: str) -> AskedSpeaker | None:
    """The person and topic of a question about what someone said, or None."""
    for pattern in (_EN_DID, _EN_POSSESSIVE, _EN_ACCORDING):
        match = pattern.match(question)
        if match:
            person = match.group("who").strip(" ,")
            if person.lower() in {"it", "they", "he", "she", "this", "that", "you", "i", "we"}:
                return None
            verb = match.groupdict().get("verb") or ""
            return AskedSpeaker(person, match.group("topic").strip(), _english_verb(verb))
    return _arabic(question)


def _forms(words: str) -> frozenset[str]:
    out = set()
    for word in word_set(words):
        out |= {word, "و" + word, "ف" + word}
    return frozenset(out)


_WARN = _forms("حذر حذرت حذروا محذرا محذره محذرين تحذيره تحذيرها")
_CALL = _forms("دعا دعت دعوا داعيا داعيه طالب طالبت طالبوا مطالبا مطالبه")
_VERB_FORMS: dict[str, frozenset[str]] = {
    "warn": _WARN,
    "call": _CALL,
    "urge": _CALL,
    "demand": _CALL,
    "ask": _CALL,
    "reveal": _forms("كشف كشفت كشفوا"),
    "disclose": _forms("كشف كشفت كشفوا"),
    "deny": _forms("نفي نفت نفوا نافيا نافيه"),
    "describe": _forms("وصف وصفت وصفه وصفها وصفهم"),
    "announce": _forms("اعلن اعلنت اعلنوا"),
    "predict": _forms("توقع توقعت متوقعا متوقعه"),
    "expect": _forms("توقع توقعت متوقعا متوقعه"),
    "accuse": _forms("اتهم اتهمت اتهموا"),
    "explain": _forms("اوضح اوضحت موضحا موضحه بين بينت"),
}
_ARABIC_VERB = {form: en for en, forms in _VERB_FORMS.items() for form in forms}


def _english_verb(verb: str) -> str:
    verb = verb.lower()
    verb = {"warned": "warn", "said": "say", "told": "tell"}.get(verb, verb)
    return verb if verb in _VERB_FORMS else ""


def _arabic(question: str) -> AskedSpeaker | None:
    words = normalize_for_matching(question).replace("؟", " ").replace("?", " ").split()
    raw = question.replace("؟", " ").replace("?", " ").split()
    if len(words) < 3 or len(words) != len(raw):
        return None
    i = 0
    while i < len(words) and (words[i] in _AR_ASK or words[i] in _AR_FILLER):
        i += 1
    if i == 0 or i >= len(words):
        return None
    if (
        words[i] in _AR_VERBS
        or (words[i][1:] in _AR_VERBS and words[i][0] in "وف")
        or words[i] in _AR_STANCE
    ):
        i += 1
    else:
        return None
    rest = list(range(i, len(words)))
    bare = [strip_diacritics(w) for w in raw]
    cut = next((j for j in rest[1:] if bare[j] in _AR_ABOUT), None)
    end = cut if cut is not None else len(words)
    if end <= i:
        return None
    verb = _ARABIC_VERB.get(words[i - 1], "")
    return AskedSpeaker(" ".join(raw[i:end]), " ".join(raw[end + 1 :]) if cut else "", verb)


# -- comparing names ------------------------------------------------------------------------

_AR_SKELETON = str.maketrans(
    {
        "ب": "b",
        "پ": "b",
        "ت": "t",
        "ط": "t",
        "ث": "s",
        "ج": "j",
        "غ": "j",
        "ح": "h",
        "ه": "h",
        "خ": "k",
        "ق": "k",
        "ك": "k",
        "گ": "j",
        "د": "d",
        "ض": "d",
        "ذ": "d",
        "ر": "r",
        "ز": "z",
        "ظ": "z",
        "س": "s",
        "ص": "s",
        "ش": "s",
        "ع": "",
        "ف": "f",
        "ڤ": "f",
        "ل": "l",
        "م": "m",
        "ن": "n",
        "ا": "",
        "ء": "",
        "ئ": "",
        "ؤ": "",
        "ي": "",
        "و": "",
        "ة": "",
        "ى": "",
    }
)
_EN_DIGRAPHS = (
    ("kh", "k"),
    ("gh", "j"),
    ("sh", "s"),
    ("ch", "s"),
    ("th", "t"),
    ("ph", "f"),
    ("dh", "d"),
    ("ck", "k"),
    ("ou", "u"),
)
_EN_SKELETON = str.maketrans(
    {
        "p": "b",
        "v": "f",
        "g": "j",
        "q": "k",
        "c": "k",
        "x": "ks",
        "a": "",
        "e": "",
        "i": "",
        "o": "",
        "u": "",
        "y": "",
        "w": "",
    }
)


def _squeeze(text: str) -> str:
    return re.sub(r"(.)\1+", r"\1", text)


def arabic_skeleton(word: str) -> str:
    """The consonants of an Arabic name word, as classes shared with ``latin_skeleton``."""
    word = normalize_for_matching(word)
    word = strip_article(word)
    first = {"و": "w", "ي": "y"}.get(word[:1], "")
    return _squeeze(
        first + word[1:].translate(_AR_SKELETON) if first else word.translate(_AR_SKELETON)
    )


def latin_skeleton(word: str) -> str:
    """The consonants of an English spelling of an Arabic (or Russian …) name."""
    word = word.lower().replace("'", "").replace("’", "")
    for prefix in ("al-", "el-", "ad-", "ash-", "as-", "at-", "ar-", "an-"):
        if word.startswith(prefix):
            word = word[len(prefix) :]
            break
    for a, b in _EN_DIGRAPHS:
        word = word.replace(a, b)
    first = {"w": "w", "y": "y"}.get(word[:1], "")
    rest = word[1:] if first else word
    return _squeeze(first + rest.translate(_EN_SKELETON))


def _near(a: str, b: str) -> bool:
    """Equal skeletons, or one letter apart for longer ones (four and more)."""
    if a == b:
        return len(a) >= 2
    if min(len(a), len(b)) < 4 or abs(len(a) - len(b)) > 1:
        return False
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1] <= 1


def _arabic_words(text: str) -> list[str]:
    out = []
    for word in normalize_for_matching(re.sub(r"[«»“”\"()]", " ", text)).split():
        out.append(strip_article(word, clitics=True))
    return out


# English words of titles and bodies, and the Arabic words (al- aside, normalised) that
# stand for them: "the Russian president" is الرئيس الروسي, "the police" الشرطة.
_EN_TITLES: dict[str, tuple[str, ...]] = {
    "president": ("رئيس", "رئيسه"),
    "prime": ("رئيس",),
    "minister": ("وزير", "وزيره", "وزراء"),
    "ministry": ("وزاره",),
    "spokesman": ("متحدث", "ناطق"),
    "spokeswoman": ("متحدثه", "ناطقه"),
    "spokesperson": ("متحدث", "متحدثه", "ناطق"),
    "government": ("حكومه",),
    "police": ("شرطه",),
    "army": ("جيش",),
    "military": ("جيش", "عسكري"),
    "agency": ("وكاله",),
    "union": ("نقابه", "اتحاد"),
    "association": ("جمعيه",),
    "organisation": ("منظمه",),
    "organization": ("منظمه",),
    "company": ("شركه",),
    "bank": ("بنك", "مصرف"),
    "central": ("مركزي",),
    "committee": ("لجنه",),
    "commission": ("لجنه", "هيئه", "مفوضيه"),
    "authority": ("هيئه", "سلطه"),
    "council": ("مجلس",),
    "parliament": ("برلمان", "مجلس"),
    "court": ("محكمه",),
    "prosecutor": ("مدعي", "نيابه"),
    "coordination": ("تنسيقيه",),
    "teachers": ("اساتذه", "معلمين"),
    "workers": ("عمال",),
    "farmers": ("مزارعين", "فلاحين"),
    "residents": ("سكان", "اهالي"),
    "witnesses": ("شهود",),
    "organisers": ("منظمون", "منظمين"),
    "organizers": ("منظمون", "منظمين"),
    "officials": ("مسؤولون", "مسؤولين"),
    "official": ("مسؤول",),
    "source": ("مصدر",),
    "sources": ("مصادر",),
    "security": ("امني", "امنيه", "امن"),
    "governor": ("محافظ",),
    "mayor": ("بلديه",),
    "director": ("مدير", "مديره"),
    "manager": ("مدير", "مديره"),
    "chief": ("رئيس", "قائد"),
    "head": ("رئيس", "رئيسه"),
    "coach": ("مدرب",),
    "captain": ("قائد",),
    "ambassador": ("سفير",),
    "envoy": ("مبعوث",),
    "mediator": ("وسيط",),
    "expert": ("خبير",),
    "analyst": ("محلل",),
    "economist": ("اقتصادي",),
    "doctor": ("طبيب", "دكتور"),
    "nurse": ("ممرضه",),
    "lawyer": ("محامي",),
    "judge": ("قاضي",),
    "king": ("ملك",),
    "prince": ("امير",),
    "foreign": ("خارجيه",),
    "interior": ("داخليه",),
    "defence": ("دفاع",),
    "defense": ("دفاع",),
    "health": ("صحه",),
    "education": ("تربيه", "تعليم"),
    "finance": ("ماليه",),
    "economy": ("اقتصاد",),
    "energy": ("طاقه",),
    "transport": ("نقل",),
    "labour": ("عمل",),
    "labor": ("عمل",),
    "justice": ("عدل",),
    "agriculture": ("زراعه", "فلاحه"),
    "tourism": ("سياحه",),
    "civil": ("مدني",),
    "environmental": ("بيئه", "بيئيه"),
    "environment": ("بيئه",),
    "statistics": ("احصاء",),
    "national": ("وطني", "وطنيه"),
    "opposition": ("معارضه",),
    "parties": ("احزاب",),
    "party": ("حزب",),
    "club": ("نادي",),
    "university": ("جامعه",),
    "hospital": ("مستشفي",),
    "museum": ("متحف",),
    "municipality": ("بلديه",),
    "russian": ("روسي", "روسيه"),
    "syrian": ("سوري", "سوريه"),
    "american": ("امريكي", "امريكيه"),
    "french": ("فرنسي", "فرنسيه"),
    "turkish": ("تركي", "تركيه"),
    "iranian": ("ايراني", "ايرانيه"),
    "israeli": ("اسرائيلي", "اسرائيليه"),
    "egyptian": ("مصري", "مصريه"),
    "saudi": ("سعودي", "سعوديه"),
    "kremlin": ("كرملين",),
    "united": ("متحده",),
    "nations": ("امم",),
}


def titled_alike(person: str, speaker: str) -> bool:
    """Whether an English title or body with no name (*"the Russian president"*, *"the
    police"*) is ``speaker``: every word of it stands for a word of the speaker's."""
    words = [w.removesuffix("'s").removesuffix("'") for w in _LATIN.findall(person.lower())]
    words = [w for w in words if w not in _EN_FILLER]
    if not words or any(w not in _EN_TITLES for w in words):
        return False
    said = set(_arabic_words(speaker))
    return all(any(form in said for form in _EN_TITLES[w]) for w in words)


def spelled_alike(person: str, speaker: str, name: str = "") -> bool:
    """Whether ``person`` (as a question names them) is ``speaker`` (as an article names
    them, its name words ``name`` when known) by spelling: Arabic word for word; English by
    the skeletons of the names (the person's last name word among the speaker's name words,
    or theirs among the person's), or a title or body with no name word for word."""
    if re.search(r"[\u0600-\u06ff]", person):
        asked = [w for w in _arabic_words(person) if w not in _AR_FILLER]
        said = _arabic_words(speaker)
        if not asked or not said:
            return False
        shared = set(asked) & set(said)
        return said[-1] in asked or (asked[-1] in said and len(shared) * 2 >= len(asked))
    if titled_alike(person, speaker):
        return True
    names = [w for w in _LATIN.findall(person.lower()) if w not in _EN_FILLER]
    # compound names written as one word or two: "abdelhak" / "عبد الحق", "ben ali"
    spoken = [arabic_skeleton(w) for w in _arabic_words(name or speaker)]
    spoken = [s for s in spoken if s]
    if not names or not spoken:
        return False
    asked_skeletons = [s for s in (latin_skeleton(w) for w in names) if s]
    if not asked_skeletons:
        return False
    joined = [a + b for a, b in pairwise(spoken)]
    last = asked_skeletons[-1]
    tail = "".join(asked_skeletons[-2:])  # "ben ali" as one: بن علي
    if not any(_near(last, s) or last == s or _near(tail, s) for s in spoken + joined):
        return False
    # two people of one family name ("Laila Mansour" is not "عادل منصور"), and a short
    # family name that many share: the first name must be there too
    first = asked_skeletons[:-1]
    if first and len(spoken) >= 2:
        return any(f == s or _near(f, s) for f in first for s in spoken + joined)
    return len(last) >= 2 or _near(tail, spoken[-1])
