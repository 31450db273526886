"""Reported speech in Arabic news: who said what, found by rules (pure; imports nothing heavy).

Arabic news reports speech in a small set of patterns, and these rules follow them:

- a speech verb, then who spoke, then what was said: ``قال وزير النقل سمير خوري إن …``,
  ``وأضاف خوري: «…»``, ``حذر X من أن …``, ``دعا X الحكومات إلى …``, ``جدد X موقف …``;
  the verb with و/ف before it and its feminine, dual and plural endings, and its participle
  after a comma (``مؤكداً أن …``, ``مشيرة إلى أن …``);
- a report of a report: ``نقلت الصحيفة عن X قوله إن …``, ``على لسان X أن …``;
- an attribution: ``…، بحسب الوكالة``, ``وفقاً لـ X، …``, ``نقلاً عن X``.

Who spoke is read from the words after the verb (a title and a name, a body, a bare name the
article named before), else from before it (``التنسيقية اعتبرت أن …``); a verb with no one
after it (``وأضاف أن …``, ``قال إنها …``) takes the speaker of the sentence's earlier quote, or
of the article's previous one. A speaker named by title only (``الرئيس الروسي``) or by family
name only (``بوتين``) is given the fullest mention of them in the article (``الرئيس الروسي
فلاديمير بوتين``). What was said runs from after ``أنّ/إنّ/بأن/:`` (or straight after the
speaker) to the end of the clause; a direct quote (“ ” « » "") is taken whole.

Measured on the hand-marked set in ``data/quotes`` (``bench/quotes.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from khabar.records import Quote
from khabar.text.normalize import normalize_for_matching, word_set

_TOKEN = re.compile(r"[^\s\"«»“”„‟(),.:;!?،؛؟…]+|[\"«»“”„‟]|[(),.:;!?،؛؟…]")
_OPEN = {"«": "»", "“": "”", '"': '"', "„": "“", "‟": "”"}
_CLOSE = {"»", "”", '"', "“"}
_SENTENCE_END = {".", "!", "?", "؟", "…"}
_COMMA = {"،", ",", "؛", ";"}


# Speech verbs (past tense as the stem) and their forms.
_VERBS = word_set(
    "قال أكد شدد جدد أضاف أوضح صرح أعلن اعتبر نفى حذر دعا طالب كشف ذكر تابع لفت أشار أفاد "
    "رأى نوه أعرب وصف أبلغ رجح توقع أقر زعم ادعى اتهم أورد عزا"
)
_VERB_FORMS: set[str] = set()
for _verb in _VERBS:
    _VERB_FORMS.add(_verb)
    _stem = _verb[:-1] if _verb.endswith(("ي", "ا")) else _verb
    for _ending in ("ت", "ا", "وا", "تا"):
        _VERB_FORMS.add(_stem + _ending if _verb.endswith(("ي", "ا")) else _verb + _ending)
_VERB_FORMS |= word_set(
    "نفت دعت نفوا دعوا رات راى راوا يقول تقول يقولون يؤكد تؤكد يرى ترى يعتبر تعتبر"
)
#: every form of a speech verb that the rules read (normalised), for the question side too
SPEECH_VERB_FORMS = frozenset(_VERB_FORMS)
# "بين" is "between" far more often than "he explained": only with و/ف before it.
_PREFIXED_ONLY = word_set("بين بينت")
# Verbs that take who spoke as an object pronoun's antecedent: وصفه X بأنه …
_OBJECT_SUFFIXES = ("ه", "ها", "هم", "هما")
_OBJECT_VERBS = word_set("وصف اعتبر")
# Participles after a comma: "، مؤكداً أن …"
_PARTICIPLES = word_set(
    "مؤكدا مؤكده مؤكدين مشيرا مشيره مشيرين مضيفا مضيفه مضيفين لافتا لافته معتبرا معتبره "
    "مشددا مشدده موضحا موضحه متوقعا متوقعه معربا معربه محذرا محذره مطالبا مطالبه داعيا "
    "داعيه نافيا نافيه منوها منوهه قائلا قائله"
)
# What the report of a report calls the speech: نقلت عن X قوله …
_REPORTED = word_set(
    "قوله قولها قولهم تاكيده تاكيدها تشديده تشديدها تحذيره تحذيرها اشارته اشارتها "
    "تصريحه تصريحها اعلانه اعلانها"
)
_QUOTING = word_set("نقل نقلت نقلا نقلوا")
_ATTRIBUTIONS = word_set("بحسب حسب وفقا وفق طبقا")
# Words that open what was said
_THAT = word_set("أن إن أنه إنه أنها إنها أنهم إنهم بأن بأنه بأنها بأنهم فإن")
_FROM = word_set("من عن على إلى الى ب")
# Heads of a title before a name, and of a body that speaks
_TITLES = word_set(
    "وزير وزيرة الوزير رئيس رئيسة الرئيس مدير مديرة المدير المديرة المتحدث المتحدثة الناطق "
    "الناطقة متحدث ناطق محافظ المحافظ مدرب المدرب قائد القائد عضو العضو الخبير الخبيرة خبير "
    "سفير السفير ممثل نائب النائب عميد الأمين أمين مستشار المستشار زعيم الزعيم رئيسه "
    "الدكتور الدكتورة العقيد اللواء العميد الشيخ الأستاذ سعادة معالي المخرج المخرجة "
    "الكاتب الكاتبة الناشط الناشطة المحامي المحامية الملك الأمير الرئيسة المسؤول مسؤول "
    "القاضي المدعي المفوض مفوض دبلوماسي الدبلوماسي منسق المنسق المحلل محلل الباحث باحث "
    "الطبيب طبيب الممرضة ممرضة"
)
_BODIES = word_set(
    "وزارة الوزارة نقابة النقابة البنك بنك الشرطة منظمة المنظمة شركة الشركة إدارة الإدارة "
    "اتحاد الاتحاد التنسيقية الوكالة وكالة الحكومة حكومة الجيش الرئاسة المنظمون المنظمين "
    "شهود مصدر مصادر المصدر المصادر هيئة الهيئة الدفاع مجلس المجلس لجنة اللجنة الأمم "
    "المفوضية مفوضية البرلمان الكرملين البيت الخارجية الداخلية صحيفة الصحيفة قناة القناة "
    "موقع الموقع بيانات البيانات أرقام الأرقام تقرير التقرير حصيلة الحصيلة سانا "
    "الحركة حركة الحزب حزب جمعية الجمعية محكمة المحكمة النيابة السلطات مسؤولون نادي النادي "
    "الأمانة منتدى المنتدى بيان البيان مديرية المديرية تجار سكان أهالي خبراء محللون "
    "مراقبون ناشطون مسؤولو مسؤولي"
)
# Words that never belong to who spoke
_STOP = word_set(
    "في خلال أمام عبر لدى منذ بعد قبل حول مع عن من على إلى الى إن أن قد لقد كان كانت "
    "وكان وكانت الذي التي الذين اليوم أمس غدا الأحد الإثنين الاثنين الثلاثاء الأربعاء "
    "الخميس الجمعة السبت الأسبوع الشهر العام صباح مساء هذا هذه ذلك تلك إثر عقب أيضا "
    "ايضا كما ما لا لم لن هو هي هم وهو وهي لكن ولكن غير"
)
_HONORIFICS = word_set("الدكتور الدكتورة العقيد اللواء العميد الشيخ الأستاذ سعادة معالي")


def _title(norm: str) -> bool:
    """A title's head, also with a pronoun after it (مدربه، رئيسها) or in the accusative
    (دبلوماسياً)."""
    if norm in _TITLES or (norm.endswith("ا") and norm[:-1] in _TITLES):
        return True
    for suffix in ("ه", "ها", "هم"):
        if norm.endswith(suffix) and norm[: -len(suffix)] in _TITLES:
            return True
    return False


_NAME_LINKS = word_set("بن ابن بنت أبو ابو أبي عبد آل")
_NAME_ENDS = word_set("الدين الله الرحمن")
_ASIDES = word_set("خلال وذلك")
_WHAT = word_set("لما ما")
_TONGUE = word_set("لسان")
_MAX_SKIP = 10  # tokens between who spoke and "أن/إن/:" (a place, a time, "لوكالة …")


@dataclass
class _Token:
    text: str
    norm: str
    bare: str  # without و/ف before it
    start: int
    end: int


def _tokens(text: str) -> list[_Token]:
    out = []
    for match in _TOKEN.finditer(text):
        norm = normalize_for_matching(match.group())
        bare = norm[1:] if len(norm) > 3 and norm[0] in "وف" else norm
        out.append(_Token(match.group(), norm, bare, match.start(), match.end()))
    return out


def _is_word(token: _Token) -> bool:
    return token.text[0].isalpha()


def _has_al(norm: str) -> bool:
    return norm.startswith(("ال", "وال", "فال", "لل")) and len(norm) > 3


@dataclass
class _Mention:
    text: str  # as written, titles and name
    title: str  # normalized title words ("" without)
    name: str  # normalized name words ("" without)
    first: int  # token index
    last: int  # token index, inclusive


class _Reader:
    """One paragraph's tokens, read with what the article said before it."""

    def __init__(
        self, text: str, known: dict[str, _Mention], tokens: list[_Token] | None = None
    ) -> None:
        self.text = text
        self.tokens = _tokens(text) if tokens is None else tokens
        self.known = known  # a name's last word, or a title, → the fullest mention of it
        self._ends: list[int] | None = None
        self._starts: list[int] | None = None

    # --- who spoke -------------------------------------------------------------------------

    def mention_at(self, i: int, subject: bool = False) -> _Mention | None:
        """The person or body named from token ``i`` on, if one is; ``subject``: right after
        a speech verb, where a noun and its al- words name who spoke."""
        tokens = self.tokens
        if i >= len(tokens) or not _is_word(tokens[i]):
            return None
        if tokens[i].norm in _STOP or tokens[i].norm in _THAT:
            return None
        j = i
        head = tokens[i].norm
        if _title(head):
            j = self._title_end(i)
            title_end = j
            j = self._name_end(j)
            return self._mention(i, j, title_end)
        if head in _BODIES:
            return self._mention(i, self._body_end(i), i)
        if (_has_al(head) or subject) and self._known_name(i) is None and head[0] not in "بك":
            # a describing word before a name: "الراكبة نورة سالم"، "منسق المنظمة في المخيم
            # جان لوكا"، "المحلل المالي كمال يونس"
            title_end = self._title_end(i)
            end = self._name_end(title_end)
            if end > title_end and self._boundary(end):
                return self._mention(i, end, title_end)
            if _has_al(head):
                return None
        # a bare name: one the article named before, or a word or two and then a boundary
        if self._known_name(i) is not None:
            j = i + 1
            if j < len(tokens) and tokens[j].norm in _NAME_LINKS and j + 1 < len(tokens):
                j += 2
            return self._mention(i, j, i)
        if _has_al(head) or head in _REPORTED or not head.isalpha() or len(head) < 2:
            return None
        if head in _NAME_LINKS and i + 1 < len(tokens) and _is_word(tokens[i + 1]):
            return self._mention(i, i + 2, i)  # "وقال بن علي"
        if subject and head[0] not in "بلك":
            end = i + 1
            while end < len(tokens) and _has_al(tokens[end].norm) and end - i < 4:
                end += 1
            if end > i + 1 and self._boundary(end):
                return self._mention(i, end, i)  # a body the lexicon lacks: نادي النجم الأحمر
        j = i + 1
        if j + 1 < len(tokens) and tokens[j].norm in _NAME_LINKS:
            j += 2
        if j < len(tokens) and _is_word(tokens[j]) and tokens[j].norm not in _STOP:
            if self._boundary(j + 1) and not self._boundary(j):
                j += 1
            elif not self._boundary(j):
                return None
        return self._mention(i, j, i)

    def _title_end(self, i: int) -> int:
        """Past a title's words: وزير النقل، مدير مستشفى النور الجامعي الدكتور، المتحدث باسم
        الحكومة."""
        tokens = self.tokens
        j = i + 1
        honorific = tokens[i].norm in _HONORIFICS or tokens[i].norm not in _TITLES
        for width in (
            () if honorific else (1, 2)
        ):  # construct state: مدير مستشفى النور، رئيس جمعية حماية المستهلك
            chain = tokens[j : j + width + 1]
            if (
                len(chain) == width + 1
                and all(
                    _is_word(t) and not _has_al(t.norm) and t.norm not in _STOP | _THAT
                    for t in chain[:width]
                )
                and _has_al(chain[width].norm)
            ):
                j += width
                break
        while j < len(tokens) and _is_word(tokens[j]):
            norm = tokens[j].norm
            if norm == "العام" and _title(tokens[j - 1].norm):
                j += 1  # الأمين العام
                continue
            if norm == "في" and j + 2 < len(tokens) and _has_al(tokens[j + 1].norm):
                after = self._name_end(j + 2)
                if after > j + 2 and self._boundary(after):
                    j += 2  # رئيس فرق الإطفاء في المنطقة رامي عيسى
                    continue
            if norm in _STOP or norm in _THAT or norm in _REPORTED:
                break
            if norm[1:] in _BODIES and norm[0] == "ل" and j + 1 < len(tokens):
                # الأمين العام لنقابة عمال النسيج: the body, a word, and an al- word
                if _has_al(tokens[j + 1].norm):
                    j += 2
                    continue
                if j + 2 < len(tokens) and _has_al(tokens[j + 2].norm):
                    j += 3
                    continue
            if norm.startswith("باسم"):
                j += 1
                if norm == "باسم" and j < len(tokens):
                    j += 1
                continue
            if (
                norm in _TITLES
                or (_has_al(norm) and self._known_name(j) is None)
                or norm == "العام"
            ):
                j += 1
                continue
            break
        # «نجمة»-style names inside a title are rare; a quoted name after a body is handled there
        return j

    def _name_end(self, j: int) -> int:
        """Past a person's name after a title: سمير خوري، عبد الحق الإدريسي، كريم بن علي."""
        tokens = self.tokens
        start = j
        if j >= len(tokens) or not _is_word(tokens[j]) or _has_al(tokens[j].norm):
            return j
        norm = tokens[j].norm
        if norm in _STOP or norm in _THAT or norm in _REPORTED or norm in _VERB_FORMS:
            return j
        j += 1
        if tokens[start].norm in _NAME_LINKS and j < len(tokens):
            j += 1  # عبد الحق
        words = 1  # a link and the word after it (بن علي، عبد الله) count as one
        for _ in range(3):
            if j >= len(tokens) or not _is_word(tokens[j]) or words >= 2:
                break
            norm = tokens[j].norm
            if norm in _NAME_LINKS and j + 1 < len(tokens):
                j += 2
                words += 1
                continue
            if norm in _STOP or norm in _THAT or norm in _REPORTED or self._is_trigger(j):
                break
            j += 1
            words += 1
            if _has_al(norm) and norm not in _NAME_ENDS:
                break  # a family name with al- ends the name
        return j

    def _body_end(self, i: int) -> int:
        """Past a body's name: وزارة الصحة، منظمة «الأرض الخضراء» البيئية، شهود عيان."""
        tokens = self.tokens
        j = i + 1
        extra_plain = 1  # one word without al- (شهود عيان، مصدر أمني، وكالة الأنباء)
        while j < len(tokens):
            token = tokens[j]
            if token.text in _OPEN and token.text != '"':
                close = self._closing(j)
                if close is None or close - j > 6:
                    break
                j = close + 1
                continue
            if not _is_word(token) or token.norm in _STOP or token.norm in _THAT:
                break
            if token.norm in _REPORTED or self._is_trigger(j):
                break
            if _has_al(token.norm):
                j += 1
                continue
            if token.norm[0] == "ل" and (
                token.norm[1:] in _BODIES
                or (j == i + 1 and j + 1 < len(tokens) and _has_al(tokens[j + 1].norm))
            ):
                j += 1  # الأمانة العامة لمنتدى التجارة، بيان لخفر السواحل
                continue
            if (
                extra_plain
                and j == i + 1
                and not self._boundary(j + 1, strict=True)
                and j + 1 < len(tokens)
                and _has_al(tokens[j + 1].norm)
            ):
                extra_plain -= 1
                j += 1
                continue
            if extra_plain and j == i + 1 and self._boundary(j + 1):
                extra_plain -= 1
                j += 1
                continue
            break
        return j

    def _known_name(self, i: int) -> _Mention | None:
        norm = self.tokens[i].norm
        key = _bare_al(norm)
        return self.known.get("name:" + key)

    def _boundary(self, j: int, strict: bool = False) -> bool:
        tokens = self.tokens
        if j >= len(tokens):
            return True
        token = tokens[j]
        if not _is_word(token):
            return (
                token.text in _COMMA
                or token.text in _SENTENCE_END
                or token.text == ":"
                or (token.text in _OPEN and not strict)
            )
        if strict:
            return False
        return (
            token.norm in _THAT
            or token.norm in _REPORTED
            or token.norm in _STOP
            or (token.norm.startswith("ل") and len(token.norm) > 3)
            or self._is_trigger(j)
        )

    def _mention(self, first: int, end: int, title_end: int) -> _Mention | None:
        if end <= first:
            return None
        tokens = self.tokens
        text = self.text[tokens[first].start : tokens[end - 1].end]
        title = " ".join(t.norm for t in tokens[first:title_end])
        name = " ".join(t.norm for t in tokens[title_end:end])
        mention = _Mention(text, title, name, first, end - 1)
        return self._fullest(mention)

    def _fullest(self, mention: _Mention) -> _Mention:
        """The article's fullest mention of the same speaker, kept at this one's place."""
        found = None
        if mention.name:
            last = mention.name.split()[-1]
            found = self.known.get("name:" + _bare_al(last))
        elif mention.title:
            found = self.known.get("title:" + mention.title)
        if found is None and not mention.title and len(mention.name.split()) == 1:
            found = self.known.get("body:" + _bare_al(mention.name))
        if found is None or len(found.text) <= len(mention.text):
            return mention
        return _Mention(found.text, found.title, found.name, mention.first, mention.last)

    # --- what was said ---------------------------------------------------------------------

    def _is_trigger(self, i: int) -> bool:
        token = self.tokens[i]
        if token.bare in _VERB_FORMS and token.norm not in _STOP:
            return True
        if token.norm in _PREFIXED_ONLY or token.bare in _PREFIXED_ONLY:
            return token.bare != token.norm
        return self._object_verb(token) or token.bare in _QUOTING

    def _opens_report(self, k: int) -> bool:
        """Whether token ``k`` starts another report inside a clause: "وقال …", "قال إنها",
        "الذي وصفه رئيس الاتحاد …"."""
        if not self._is_trigger(k):
            return False
        tokens = self.tokens
        if tokens[k].bare != tokens[k].norm or self._object_verb(tokens[k]):
            return True
        nxt = tokens[k + 1] if k + 1 < len(tokens) else None
        return nxt is not None and (nxt.norm in _THAT or nxt.text == ":")

    def _object_verb(self, token: _Token) -> bool:
        for word in {token.norm, token.bare}:
            for suffix in _OBJECT_SUFFIXES:
                if word.endswith(suffix) and word[: -len(suffix)] in _OBJECT_VERBS:
                    return True
        return False

    def _closing(self, i: int) -> int | None:
        opener = self.tokens[i].text
        want = _OPEN.get(opener)
        for j in range(i + 1, len(self.tokens)):
            text = self.tokens[j].text
            if text == want or (opener != '"' and text in _CLOSE and text != '"'):
                return j
        return None

    def sentence_end(self, i: int) -> int:
        """The token index where the sentence holding token ``i`` ends (exclusive)."""
        if self._ends is None:
            self._sentences()
        assert self._ends is not None
        return self._ends[i] if i < len(self.tokens) else len(self.tokens)

    def sentence_start(self, i: int) -> int:
        """The token index where the sentence holding token ``i`` starts."""
        if self._starts is None:
            self._sentences()
        assert self._starts is not None
        return self._starts[i] if i < len(self.tokens) else len(self.tokens)

    def _sentences(self) -> None:
        """Where each token's sentence starts and ends, once: a sentence ends at . ! ? ؟ …
        outside quotation marks."""
        n = len(self.tokens)
        ends, starts = [n] * n, [0] * n
        first = j = 0
        while j < n:
            text = self.tokens[j].text
            if text in _OPEN:
                close = self._closing(j)
                if close is not None:
                    j = close + 1
                    continue
            if text in _SENTENCE_END:
                for k in range(first, j + 1):
                    ends[k], starts[k] = j, first
                first = j + 1
            j += 1
        for k in range(first, n):
            ends[k], starts[k] = n, first
        self._ends, self._starts = ends, starts

    def said(self, start: int, stop: int) -> tuple[int, int] | None:
        """The span of what was said, from token ``start``, not past token ``stop``."""
        tokens = self.tokens
        end = self.sentence_end(start)
        end = min(end, stop)
        j = start
        while j < end and tokens[j].text in _COMMA | {":"}:
            j += 1
        if j < end and tokens[j].norm in _THAT:
            j += 1
        if j >= end:
            return None
        if tokens[j].text in _OPEN:
            close = self._closing(j)
            if close is not None and close < end:
                after = close + 1
                if after >= end or tokens[after].text in _COMMA | _SENTENCE_END:
                    return self._span(j + 1, close)
        # the clause: to the sentence end, a comma before another report, or an attribution
        k = j
        while k < end:
            text = tokens[k].text
            if text in _OPEN:
                close = self._closing(k)
                if close is not None and close < end:
                    k = close + 1
                    continue
            if text in _COMMA and k + 1 < end:
                nxt = tokens[k + 1]
                if (
                    nxt.norm in _PARTICIPLES
                    or nxt.bare in _ATTRIBUTIONS
                    or nxt.norm in _ATTRIBUTIONS
                    or (nxt.norm != nxt.bare and self._is_trigger(k + 1))
                    or nxt.norm in _ASIDES
                ):
                    break
            if k > j and self._opens_report(k):
                break
            k += 1
        return self._span(j, k)

    def _span(self, first: int, end: int) -> tuple[int, int] | None:
        tokens = self.tokens
        while end > first and not _is_word(tokens[end - 1]) and tokens[end - 1].text not in _CLOSE:
            end -= 1
        if end <= first:
            return None
        start = tokens[first].start
        # a preposition glued to what was said: بتعويضات → تعويضات
        return start, tokens[end - 1].end


def _gazetteer(paragraphs: Sequence[str], tokenized: Sequence[list[_Token]]) -> dict[str, _Mention]:
    """Every titled name in the article (فلاديمير بوتين after الرئيس الروسي), by its name's
    last word and by its title, the fullest kept."""
    known: dict[str, _Mention] = {}
    for text, tokens in zip(paragraphs, tokenized, strict=True):
        reader = _Reader(text, {}, tokens)
        for i, token in enumerate(reader.tokens):
            if not _title(token.norm) or (i and _title(reader.tokens[i - 1].norm)):
                continue
            mention = reader.mention_at(i)
            if mention is None or not mention.name:
                continue
            _remember(known, mention)
    return known


def find_quotes(paragraphs: Sequence[str]) -> list[list[Quote]]:
    """The reported speech of an article's paragraphs, paragraph by paragraph, in order."""
    tokenized = [_tokens(text) for text in paragraphs]
    known = _gazetteer(paragraphs, tokenized)
    for _ in range(2):  # who spoke in the first pass is a known name in the second
        previous: _Mention | None = None
        out: list[list[Quote]] = []
        named: list[_Mention] = []
        for text, tokens in zip(paragraphs, tokenized, strict=True):
            quotes, previous = _paragraph_quotes(text, known, previous, named, tokens)
            out.append(quotes)
        for mention in named:
            if mention.name:
                _remember(known, mention)
    return out


def _bare_al(word: str) -> str:
    return word[2:] if word.startswith("ال") else word


def _remember(known: dict[str, _Mention], mention: _Mention) -> None:
    if not mention.title and mention.name:  # a body: "الوكالة" is the article's agency
        key = "body:" + _bare_al(mention.name.split()[0])
        if len(mention.name.split()) > 1 and (
            key not in known or len(known[key].text) < len(mention.text)
        ):
            known[key] = mention
        return
    last = mention.name.split()[-1]
    for key in ("name:" + _bare_al(last), "title:" + mention.title):
        if key not in known or len(known[key].text) < len(mention.text):
            known[key] = mention


def _paragraph_quotes(
    text: str,
    known: dict[str, _Mention],
    previous: _Mention | None,
    named: list[_Mention],
    tokens: list[_Token],
) -> tuple[list[Quote], _Mention | None]:
    reader = _Reader(text, known, tokens)
    found: list[tuple[int, int, _Mention, str]] = []  # start, end, who, verb
    sentence_speaker: dict[int, _Mention] = {}
    claimed: list[tuple[int, int]] = []
    inside = _quoted_tokens(reader)
    i = 0
    while i < len(tokens):
        if i in inside:  # the words of a quotation are what was said, not a report
            i += 1
            continue
        result = _at(reader, i, previous, sentence_speaker)
        if result is None:
            i += 1
            continue
        span, speaker, verb, resume = result
        if span and not any(s < span[1] and span[0] < e for s, e in claimed):
            found.append((span[0], span[1], speaker, verb))
            claimed.append(span)
            sentence_speaker[reader.sentence_start(i)] = speaker
            previous = speaker
        i = max(resume, i + 1)
    # an attribution at a sentence's end names who said the sentence, when no verb did
    for i, token in enumerate(tokens):
        if token.bare not in _ATTRIBUTIONS and token.norm not in _ATTRIBUTIONS:
            continue
        first = reader.sentence_start(i)
        if first in sentence_speaker:
            continue
        who = _attributed(reader, i)
        if who is None:
            after = {t.norm for t in tokens[i + 1 : i + 4]}
            if previous is None or not _SAME & after:
                continue
            who = previous  # "وفقاً للمصدر ذاته": who was quoted before
        if i > first and tokens[i - 1].text in _COMMA:
            span = reader._span(first, i - 1)
            direct = _direct_inside(reader, first, i - 1)
            if direct and span and (direct[1] - direct[0]) >= 0.5 * (span[1] - span[0]):
                span = direct
        else:
            span = reader.said(who.last + 1, len(tokens))
        if span and not any(s < span[1] and span[0] < e for s, e in claimed):
            found.append((span[0], span[1], who, token.text))
            claimed.append(span)
            sentence_speaker[first] = who
            previous = who
    found.sort()
    named.extend(who for _, _, who, _ in found)
    quotes = [
        Quote(speaker=who.text, verb=verb, start=start, end=end, name=who.name or who.title)
        for start, end, who, verb in found
    ]
    return quotes, previous


def _quoted_tokens(reader: _Reader) -> set[int]:
    """The token indexes inside quotation marks (a direct quote of several words)."""
    inside: set[int] = set()
    tokens = reader.tokens
    i = 0
    while i < len(tokens):
        if tokens[i].text in _OPEN:
            close = reader._closing(i)
            if close is not None and close - i > 3:
                inside.update(range(i + 1, close))
                i = close
        i += 1
    return inside


def _direct_inside(reader: _Reader, first: int, end: int) -> tuple[int, int] | None:
    tokens = reader.tokens
    best = None
    for j in range(first, end):
        if tokens[j].text in _OPEN:
            close = reader._closing(j)
            if close is not None and close <= end:
                span = reader._span(j + 1, close)
                if span and (best is None or span[1] - span[0] > best[1] - best[0]):
                    best = span
    return best


def _attributed(reader: _Reader, i: int) -> _Mention | None:
    """Who an attribution word names: بحسب الوكالة، وفقاً لما ذكرته الوكالة، وفق أرقام رسمية."""
    tokens = reader.tokens
    j = i + 1
    if j < len(tokens) and tokens[j].norm in _WHAT:
        j += 2  # وفقاً لما ذكرته، حسب ما نقلته
        for x in range(j, min(len(tokens), j + 8)):
            if not _is_word(tokens[x]):
                break
            if tokens[x].norm == "عن":
                j = x + 1  # حسب ما نقلته الوكالة عن مديرية السياحة: the directorate
                break
    if j < len(tokens) and tokens[j].text in _OPEN:
        close = reader._closing(j)
        if close is not None:
            text = reader.text[tokens[j].start : tokens[close].end]
            return _Mention(text, "", normalize_for_matching(text.strip('«»“”"')), j, close)
    mention = None
    if j < len(tokens):
        end = j
        while end < len(tokens) and _is_word(tokens[end]) and end - j < 6:
            if tokens[end].norm in _STOP and end > j and tokens[end].norm != "العام":
                break
            end += 1
        if end > j:
            mention = reader._mention(j, end, j)
            if mention is not None:
                words = [t.norm for t in tokens[j:end]]
                if words[0].startswith("ل") and not words[0].startswith("لل"):
                    words[0] = words[0][1:]  # وفقاً لهيئة النقل العام
                    mention.text = mention.text.lstrip("لـ")
                mention.name = " ".join(w[1:] if w.startswith("لل") else w for w in words)
    if mention is not None and _SAME & {t.norm for t in tokens[j : mention.last + 1]}:
        return None  # "وفقاً للمصدر ذاته": the caller takes the previous speaker
    return mention


_SAME = word_set("ذاته نفسه ذاتها نفسها")


def _at(
    reader: _Reader,
    i: int,
    previous: _Mention | None,
    sentence_speaker: dict[int, _Mention],
) -> tuple[tuple[int, int] | None, _Mention, str, int] | None:
    """A quote whose trigger is token ``i``: (span, who, verb, where to read on)."""
    tokens = reader.tokens
    token = tokens[i]
    participle = token.norm in _PARTICIPLES
    if not participle and token.norm not in _TONGUE and not reader._is_trigger(i):
        return None
    end = reader.sentence_end(i)
    elided = sentence_speaker.get(reader.sentence_start(i)) or previous
    if token.bare in _QUOTING or token.norm in _TONGUE:
        # نقلت الصحيفة عن X قوله إن …  /  على لسان X أن …
        j = i + 1
        if token.bare in _QUOTING:
            while j < end and tokens[j].norm != "عن":
                j += 1
            j += 1
        who = reader.mention_at(j)
        if who is None:
            return None
        k = who.last + 1
        verb = token.text
        if k < end and tokens[k].norm in _REPORTED:
            verb = tokens[k].text
            k += 1
        return _said_after(reader, k, end), who, verb, k
    if token.norm in _PARTICIPLES and i and tokens[i - 1].text in _COMMA:
        elided = (
            sentence_speaker.get(reader.sentence_start(i)) or _titled_before(reader, i) or previous
        )
        if elided is None:
            return None
        k = i + 1
        if k < end and tokens[k].norm in _FROM:
            k += 1
        return reader.said(k, end), elided, token.text, k
    if not reader._is_trigger(i) or token.bare in _QUOTING:
        return None
    # a verb: who spoke after it, else before it, else the sentence's or article's speaker
    who = reader.mention_at(i + 1, subject=True)
    if who is not None and who.last + 1 < len(tokens) and tokens[who.last + 1].norm in _REPORTED:
        who = None
    k = who.last + 1 if who is not None else i + 1
    if who is None:
        who = (
            _before(reader, i)
            or sentence_speaker.get(reader.sentence_start(i))
            or _titled_before(reader, i)
            or previous
        )
    if who is None:
        return None
    before = _quote_before(reader, i)
    if before is not None and not _that_follows(reader, k, end):
        return before, who, token.text, k  # «…»، قال فلان
    return _said_after(reader, k, end), who, token.text, k


def _quote_before(reader: _Reader, i: int) -> tuple[int, int] | None:
    """A direct quote that opens the sentence and ends just before ``، قال``."""
    tokens = reader.tokens
    if i < 3 or tokens[i - 1].text not in _COMMA or tokens[i - 2].text not in _CLOSE:
        return None
    first = reader.sentence_start(i)
    if tokens[first].text not in _OPEN or reader._closing(first) != i - 2:
        return None
    return reader._span(first + 1, i - 2)


def _that_follows(reader: _Reader, k: int, end: int) -> bool:
    tokens = reader.tokens
    for j in range(k, min(end, k + _MAX_SKIP)):
        if tokens[j].norm in _THAT or tokens[j].text == ":":
            return True
        if reader._is_trigger(j) or tokens[j].norm in _PARTICIPLES:
            return False
    return False


def _said_after(reader: _Reader, k: int, end: int) -> tuple[int, int] | None:
    """What was said after who spoke: past a short aside ("، الأحد،", "لوكالة الأنباء", "في
    بيان") when "أن/إن/:" follows it, then to the clause's end."""
    tokens = reader.tokens
    for j in range(k, min(end, k + _MAX_SKIP)):
        token = tokens[j]
        if token.norm in _THAT or token.text == ":":
            return reader.said(j, end)
        if token.norm in _PARTICIPLES:
            break  # "، محذراً من أن …" is another report
        if token.text in _OPEN and j > k:
            if tokens[j - 1].norm in {"ل", "لـ"}:
                continue  # "لـ«المساء»": the outlet spoken to
            if tokens[k].norm in _STOP:
                return reader.said(j, end)  # "تأكيده خلال اللقاء “…”"
            break
        if reader._is_trigger(j):
            break
    j = k
    if j < end and tokens[j].text in _COMMA:  # "، اليوم الثلاثاء، رفع …"
        close = next((x for x in range(j + 1, min(end, j + 6)) if tokens[x].text in _COMMA), None)
        if close is not None:
            j = close + 1
    if j < end and tokens[j].norm in _FROM:
        j += 1
    return reader.said(j, end)


def _before(reader: _Reader, i: int) -> _Mention | None:
    """Who spoke, named before the verb: "التنسيقية الوطنية للأساتذة اعتبرت", "وكان السعدي قد
    أعلن"."""
    tokens = reader.tokens
    j = i - 1
    if j >= 0 and tokens[j].norm == "قد":
        j -= 1
    first = j
    while first >= 0 and _is_word(tokens[first]) and tokens[first].norm not in _STOP:
        if tokens[first].norm in _THAT or i - first > 6:
            break
        first -= 1
    for start in range(first + 1, j + 1):
        mention = reader.mention_at(start)
        if mention is not None and mention.last == j and _named(reader, start):
            return mention
    return None


def _named(reader: _Reader, i: int) -> bool:
    """Whether token ``i`` opens a title, a body or a name the article gave before."""
    norm = reader.tokens[i].norm
    return _title(norm) or norm in _BODIES or reader._known_name(i) is not None


def _titled_before(reader: _Reader, i: int) -> _Mention | None:
    """The first person or body the sentence names before token ``i`` (its subject, as a
    rule): "وأجرى الرئيس السوري أحمد الشرع زيارة … أكد خلالها …", "ورحب اتحاد الفلاحين
    بالبرنامج، لكنه طالب …"."""
    tokens = reader.tokens
    for j in range(reader.sentence_start(i), i):
        if j and (_title(tokens[j - 1].norm) or tokens[j - 1].norm in _BODIES):
            continue
        if _named(reader, j):
            mention = reader.mention_at(j)
            if mention is not None and mention.name and mention.last < i:
                return mention
    return None
