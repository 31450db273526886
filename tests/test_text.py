"""Unit tests: normalisation and splitting (pure functions)."""

from __future__ import annotations

from khabar.text import (
    clean_text,
    neutralize_bidi,
    normalize_for_matching,
    split_blocks,
    split_clauses,
    split_sentences,
)


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


def test_normalize_folds_arabic_forms() -> None:
    assert normalize_for_matching("أحمد إبراهيم آمن") == "احمد ابراهيم امن"
    assert normalize_for_matching("مستشفى المدينة") == "مستشفي المدينه"
    assert normalize_for_matching("مُحَمَّدٌ") == "محمد"
    assert normalize_for_matching("الـــعـــربـــيـــة") == "العربيه"
    assert normalize_for_matching("عام ٢٠٢٤") == "عام 2024"
    assert normalize_for_matching("Putin\u200b") == "putin"
    assert normalize_for_matching("\u202eabc\u202c") == "abc"


def test_neutralize_bidi_keeps_letters() -> None:
    assert neutralize_bidi("a\u202eb\u2066c\u2069") == "abc"
    assert neutralize_bidi("بوتين") == "بوتين"


def test_clean_text_keeps_diacritics_and_unifies_lines() -> None:
    assert clean_text("\ufeffمُحَمَّد\r\nسطر\u202e") == "مُحَمَّد\nسطر"


def test_sentences_split_on_arabic_and_latin_marks() -> None:
    text = "هل حضر الوزير؟ نعم حضر. قال: “هذا جيد!” ثم غادر… Really? Yes."
    assert sentences(text) == [
        "هل حضر الوزير؟",
        "نعم حضر.",
        "قال: “هذا جيد!”",
        "ثم غادر…",
        "Really?",
        "Yes.",
    ]


def test_sentences_do_not_split_numbers_dates_or_abbreviations() -> None:
    text = "بلغ النمو 3.5 في المئة يوم 12.05.2024 وفق د. محمد. Mr. Smith met U.S. officials."
    assert sentences(text) == [
        "بلغ النمو 3.5 في المئة يوم 12.05.2024 وفق د. محمد.",
        "Mr. Smith met U.S. officials.",
    ]


def test_sentences_split_at_line_ends() -> None:
    assert sentences("سطر أول بلا نقطة\nسطر ثان") == ["سطر أول بلا نقطة", "سطر ثان"]


def test_sentence_offsets_point_into_the_text() -> None:
    text = "  أولى.   ثانية؟ "
    for a, b in split_sentences(text):
        assert text[a:b] == text[a:b].strip() and text[a:b]


def test_blocks_find_subheadings() -> None:
    text = "فقرة أولى طويلة بما يكفي، وتنتهي بنقطة.\nالانتهاكات الإسرائيلية\nوجدد بوتين موقفه.\n"
    blocks = split_blocks(text)
    assert [(b.text, b.is_heading) for b in blocks] == [
        ("فقرة أولى طويلة بما يكفي، وتنتهي بنقطة.", False),
        ("الانتهاكات الإسرائيلية", True),
        ("وجدد بوتين موقفه.", False),
    ]


def test_blocks_markdown_heading_and_last_short_line() -> None:
    blocks = split_blocks("## Section\n\nBody text here.\n\nShort last line")
    assert [(b.text, b.is_heading) for b in blocks] == [
        ("Section", True),
        ("Body text here.", False),
        ("Short last line", False),
    ]


def test_short_lines_ending_in_cjk_or_devanagari_stops_are_paragraphs() -> None:
    text = "这部经，毫无可疑。\n\n他们确信幽玄。\n\nयह एक वाक्य है।\n\nالعنوان\n\nفقرة."
    blocks = split_blocks(text)
    assert [b.is_heading for b in blocks] == [False, False, False, True, False]


def test_clauses_split_long_sentence_at_arabic_commas() -> None:
    text = (
        "استقبل الرئيس الروسي فلاديمير بوتين في الكرملين، وزيري الخارجية والدفاع السوريين، "
        "لبحث التعاون العسكري والسياسي والاقتصادي."
    )
    clauses = [text[a:b] for a, b in split_clauses(text, 0, len(text))]
    assert clauses[0] == "استقبل الرئيس الروسي فلاديمير بوتين في الكرملين"
    assert len(clauses) == 3
    assert split_clauses("قصيرة، جداً", 0, 11) == []
