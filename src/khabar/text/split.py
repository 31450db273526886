"""Splitting text into paragraphs (blocks), sentences and clauses, Arabic-aware.

All functions are pure and return character offsets where a caller needs them,
so that the original text can be shown with a sentence marked.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

# A sentence ends at . ! ? ؟ … (or a run of them), optionally followed by closing
# quotes or brackets, then white space.
_SENTENCE_END = re.compile(r"(?:[.!?؟…]+|\.\.\.)[\"'”’»)\]]*(?=\s|$)")
_CLAUSE_BREAK = re.compile(r"[،؛;,:]\s+")
# ... and 。！？ (Chinese, Japanese), । (Devanagari): a line ending so is no heading
_FINAL_PUNCT = ".!?؟…:;؛،,\"'”’»)]。！？।"
_MD_HEADING = re.compile(r"^#{1,6}\s+")
_LIST_MARKER = re.compile(r"^(?:[-*•]\s+|\d+[.)]\s+)")

# Words after which a period does not end a sentence.
_ABBREVIATIONS = frozenset(
    (
        "mr mrs ms dr prof st jr sr vs etc e.g i.e no nos inc ltd co corp gen col lt sgt capt "
        "gov sen rep jan feb mar apr jun jul aug sep sept oct nov dec fig approx est dept univ "
        "u.s u.k u.n a.m p.m"
    ).split()
)

HEADING_MAX_CHARS = 80
HEADING_MAX_WORDS = 10


@dataclass(frozen=True)
class Block:
    """A non-empty line-level block of an article: a paragraph or a heading."""

    text: str
    is_heading: bool


def looks_like_heading(line: str) -> bool:
    """True for a Markdown heading, or a short line without final punctuation (not a
    table's row: cells separated by " | ")."""
    if _MD_HEADING.match(line):
        return True
    if " | " in line:
        return False
    if len(line) > HEADING_MAX_CHARS or len(line.split()) > HEADING_MAX_WORDS:
        return False
    return not line.endswith(tuple(_FINAL_PUNCT))


def split_blocks(text: str) -> list[Block]:
    """Split an article into blocks: one per non-empty line (blank lines separate too).

    A short line without final punctuation that is followed by a paragraph is a
    heading (a subheading such as "الانتهاكات الإسرائيلية"); a Markdown ``#``
    line always is. A short unpunctuated last line is a paragraph: no paragraph
    follows it to be its heading.
    """
    lines = [line.strip() for line in text.split("\n")]
    lines = [_LIST_MARKER.sub("", line) if _LIST_MARKER.match(line) else line for line in lines]
    lines = [line for line in lines if line]
    blocks: list[Block] = []
    for i, line in enumerate(lines):
        is_last = i == len(lines) - 1
        heading = looks_like_heading(line) and not is_last
        clean = _MD_HEADING.sub("", line).strip() if heading else line
        if clean:
            blocks.append(Block(clean, heading))
    return blocks


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the period at ``dot`` closes an abbreviation or initial, not a sentence."""
    start = dot
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    word = text[start:dot].lower().lstrip("(\"'“«")
    if not word:
        return False
    # A single letter (an initial: "J. Smith", "د. محمد") is not a sentence end.
    if len(word) == 1 and word.isalpha():
        return True
    return word in _ABBREVIATIONS


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return the (start, end) offsets of the sentences of ``text``.

    Splits after . ! ? ؟ … (and any closing quotes) followed by white space, and at
    line ends; never inside numbers (3.5), dates (12.05.2024) or after known
    abbreviations and initials. Offsets exclude surrounding white space.
    """
    spans: list[tuple[int, int]] = []
    for line_match in re.finditer(r"[^\n]+", text):
        base = line_match.start()
        line = line_match.group()
        start = 0
        for m in _SENTENCE_END.finditer(line):
            single_dot = m.group().rstrip("\"'”’»)]") == "."
            if single_dot and _is_abbreviation(line, m.start()):
                continue
            _append_trimmed(spans, line, base, start, m.end())
            start = m.end()
        _append_trimmed(spans, line, base, start, len(line))
    return spans


def _append_trimmed(
    spans: list[tuple[int, int]], line: str, base: int, start: int, end: int
) -> None:
    piece = line[start:end]
    stripped = piece.strip()
    if not stripped:
        return
    lead = len(piece) - len(piece.lstrip())
    s = base + start + lead
    spans.append((s, s + len(stripped)))


def split_clauses(text: str, start: int, end: int, min_chars: int = 25) -> list[tuple[int, int]]:
    """Split the sentence ``text[start:end]`` at Arabic and Latin commas, semicolons, colons.

    Clauses shorter than ``min_chars`` are merged into their neighbour, so that every
    clause carries some meaning of its own. Returns [] when the sentence has one clause.
    """
    cuts = [start]
    for m in _CLAUSE_BREAK.finditer(text, start, end):
        cuts.append(m.end())
    cuts.append(end)
    clauses: list[tuple[int, int]] = []
    for a, b in itertools.pairwise(cuts):
        piece = text[a:b].rstrip(" ،؛;,:")
        if not piece.strip():
            continue
        if clauses and (len(piece) < min_chars or clauses[-1][1] - clauses[-1][0] < min_chars):
            clauses[-1] = (clauses[-1][0], a + len(piece))
        else:
            clauses.append((a, a + len(piece)))
    return clauses if len(clauses) > 1 else []
