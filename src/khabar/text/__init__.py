"""Arabic-aware text handling: pure functions, no heavy imports."""

from khabar.text.normalize import clean_text, neutralize_bidi, normalize_for_matching
from khabar.text.split import (
    Block,
    looks_like_heading,
    split_blocks,
    split_clauses,
    split_sentences,
)

__all__ = [
    "Block",
    "clean_text",
    "looks_like_heading",
    "neutralize_bidi",
    "normalize_for_matching",
    "split_blocks",
    "split_clauses",
    "split_sentences",
]
