"""Article → Chunks: paragraphs with their section headings, and the spans inside them.

A chunk is what the index returns; its spans (sentences, and the clauses of long
sentences) are embedded too, so that a paragraph can be scored by the part of it
that best answers a question.
"""

from __future__ import annotations

from dataclasses import replace

from khabar.records import Article, Chunk, Span
from khabar.text import split_blocks, split_clauses, split_sentences
from khabar.text.quotes import find_quotes

DEFAULT_MAX_CHARS = 1200
# Sentences shorter than this are not split into clauses: their clauses carry too little.
CLAUSE_MIN_SENTENCE_CHARS = 80


def chunk_article(article: Article, max_chars: int = DEFAULT_MAX_CHARS) -> list[Chunk]:
    """Split ``article`` into chunks, one per paragraph, long paragraphs in parts.

    A heading is attached to the paragraph that follows it and is never a chunk of
    its own. Paragraphs are numbered from 1, headings not counted.
    """
    chunks: list[Chunk] = []
    section: str | None = None
    paragraph = 0
    for block in split_blocks(article.text):
        if block.is_heading:
            section = block.text
            continue
        paragraph += 1
        for part, text in enumerate(_split_long(block.text, max_chars)):
            chunks.append(Chunk(paragraph, part, section, text, spans_of(text)))
        section = None
    return with_quotes(chunks)


def with_quotes(chunks: list[Chunk]) -> list[Chunk]:
    """``chunks`` with their reported speech found (in article order, so that "وأضاف أن …"
    takes the speaker of the article's previous quote)."""
    found = find_quotes([c.text for c in chunks])
    return [replace(c, quotes=tuple(q)) for c, q in zip(chunks, found, strict=True)]


def spans_of(text: str) -> tuple[Span, ...]:
    """The sentences of ``text`` and, for long sentences, their clauses."""
    spans: list[Span] = []
    for start, end in split_sentences(text):
        spans.append(Span(start, end, "sentence"))
        if end - start >= CLAUSE_MIN_SENTENCE_CHARS:
            spans.extend(Span(a, b, "clause") for a, b in split_clauses(text, start, end))
    return tuple(spans)


def _split_long(text: str, max_chars: int) -> list[str]:
    """Cut a paragraph longer than ``max_chars`` at sentence boundaries (at clause
    boundaries or white space for a single over-long sentence)."""
    if len(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    for start, end in split_sentences(text):
        sentence = text[start:end]
        while len(sentence) > max_chars:
            cut = _last_break(sentence, max_chars)
            pieces.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        pieces.append(sentence)
    parts: list[str] = []
    for piece in pieces:
        if parts and len(parts[-1]) + 1 + len(piece) <= max_chars:
            parts[-1] = f"{parts[-1]} {piece}"
        else:
            parts.append(piece)
    return [p for p in parts if p]


def _last_break(sentence: str, limit: int) -> int:
    for marks in ("،؛;,:", " "):
        cut = max(sentence.rfind(mark, 0, limit) for mark in marks)
        if cut > limit // 3:
            return cut + 1
    return limit
