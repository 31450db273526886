"""BM25 scoring of the lexical leg against a plain reference implementation (pure logic)."""

from __future__ import annotations

import math
import random
from collections import Counter

from khabar.store.lexical import K1, B, bm25_of, idfs


def reference(words: list[str], frequencies: dict[str, int], chunks: int, average: float) -> float:
    idf = {t: math.log(1.0 + (chunks - n + 0.5) / (n + 0.5)) for t, n in frequencies.items()}
    norm = K1 * (1.0 - B + B * len(words) / average)
    tf = Counter(w for w in words if w in idf)
    return sum(idf[t] * n * (K1 + 1.0) / (n + norm) for t, n in tf.items())


def test_counting_in_the_string_is_lucene_bm25() -> None:
    rng = random.Random(1)
    vocab = [f"t{i}" for i in range(30)] + ["ال", "قمح", "a.b", "x", "xx"]
    for _ in range(2000):
        words = [rng.choice(vocab) for _ in range(rng.randint(1, 40))]
        frequencies = {rng.choice(vocab): rng.randint(1, 50) for _ in range(rng.randint(1, 6))}
        got = bm25_of(" ".join(words), idfs(frequencies, 1000), 20.0)
        assert math.isclose(got, reference(words, frequencies, 1000, 20.0), abs_tol=1e-9)
        utf8 = {t.encode(): w for t, w in idfs(frequencies, 1000).items()}
        assert bm25_of(" ".join(words).encode(), utf8, 20.0) == got  # as stored: bytes


def test_repeated_terms_and_prefixes_count_exactly() -> None:
    # "x x" is two x's; "xx" and "x.y" are other terms, not x
    frequencies = {"x": 3}
    words = "x x xx x.y y x".split()
    assert math.isclose(
        bm25_of(" ".join(words), idfs(frequencies, 100), 5.0),
        reference(words, frequencies, 100, 5.0),
    )
    assert bm25_of("", idfs(frequencies, 100), 5.0) == 0.0


def test_the_rarest_terms_propose_within_the_budget() -> None:
    from khabar.store.lexical import POSTING_BUDGET, proposing_terms

    small = {"a": 3, "b": 10, "c": 1}
    assert proposing_terms(small) == ["c", "a", "b"]  # a small index: every term
    big = {"common": POSTING_BUDGET, "rare": 40, "name": 7, "usual": POSTING_BUDGET // 2}
    assert proposing_terms(big) == ["name", "rare", "usual"]
    assert proposing_terms({"only": 10 * POSTING_BUDGET}) == ["only"]  # the rarest always
