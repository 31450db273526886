"""Unit tests: Article → Chunks."""

from __future__ import annotations

from khabar.chunk import chunk_article
from khabar.records import Article
from khabar.service import sample_paths


def test_sample_headings_belong_to_the_next_paragraph() -> None:
    text = sample_paths()[0].read_text(encoding="utf-8")
    chunks = chunk_article(Article("s", "t", text))
    assert len(chunks) == 10
    texts = [c.text for c in chunks]
    assert "إعادة إعمار سوريا" not in texts
    assert "الانتهاكات الإسرائيلية" not in texts
    by_section = {c.section: c for c in chunks if c.section}
    assert by_section["إعادة إعمار سوريا"].text.startswith("أما في الجانب الاقتصادي")
    assert by_section["الانتهاكات الإسرائيلية"].text.startswith("وجدد بوتين موقف موسكو")
    assert by_section["الانتهاكات الإسرائيلية"].embed_text.startswith("الانتهاكات الإسرائيلية\n")
    assert [c.paragraph for c in chunks] == list(range(1, 11))


def test_spans_are_sentences_and_clauses_within_text() -> None:
    text = sample_paths()[0].read_text(encoding="utf-8")
    for chunk in chunk_article(Article("s", "t", text)):
        kinds = {s.kind for s in chunk.spans}
        assert "sentence" in kinds
        for span in chunk.spans:
            assert 0 <= span.start < span.end <= len(chunk.text)


def test_long_paragraph_is_split_at_sentence_boundaries() -> None:
    sentence = "هذه جملة طويلة عن الاقتصاد السوري والتعاون مع روسيا في مجالات عدة. "
    text = sentence * 40
    chunks = chunk_article(Article("s", "t", text), max_chars=400)
    assert len(chunks) > 1
    assert all(len(c.text) <= 400 for c in chunks)
    assert all(c.text.endswith(".") for c in chunks)
    assert {c.paragraph for c in chunks} == {1}
    assert [c.part for c in chunks] == list(range(len(chunks)))


def test_over_long_sentence_is_cut_at_a_comma_or_space() -> None:
    text = "، ".join(["كلمة أخرى هنا"] * 200) + "."
    chunks = chunk_article(Article("s", "t", text), max_chars=300)
    assert all(len(c.text) <= 300 for c in chunks)
    assert "".join(c.text for c in chunks).replace(" ", "") == text.replace(" ", "")
