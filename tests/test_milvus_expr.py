"""The Milvus store's pure parts: row ids, filter expressions, literals (no Milvus here;
the store contract runs them against Milvus Lite and a real server)."""

from __future__ import annotations

import pytest

from khabar.errors import InputError
from khabar.store import Filter
from khabar.store.milvus_expr import (
    CHUNK_BITS,
    KEY_BITS,
    SPAN_BITS,
    both,
    check_sizes,
    chunk_id,
    filter_expression,
    literal,
    span_id,
    term_weights,
)

SOURCES = ["Reuters Arabic", "wire-odd", "وكالة سانا"]


def test_ids_of_an_article_sort_in_its_order_and_fit_int64() -> None:
    key = (1 << KEY_BITS) - 1
    assert chunk_id(key, 0) < chunk_id(key, 1) < chunk_id(key, (1 << CHUNK_BITS) - 1)
    assert chunk_id(key, (1 << CHUNK_BITS) - 1) < chunk_id(key + 1, 0)
    assert span_id(key, (1 << SPAN_BITS) - 1) < 2**63
    check_sizes("a", (1 << CHUNK_BITS) - 1, (1 << SPAN_BITS) - 1)
    with pytest.raises(InputError, match="split the article"):
        check_sizes("a", 1 << CHUNK_BITS, 1)


def test_literals_escape_quotes_and_keep_arabic() -> None:
    assert literal('قال "هو" \\ x') == '"قال \\"هو\\" \\\\ x"'


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (Filter(), ""),
        (Filter(source="REUTERS"), 'source in ["Reuters Arabic"]'),
        (Filter(source="سانا"), 'source in ["وكالة سانا"]'),
        (Filter(source="nobody"), None),
        (
            Filter(since="2026-01-01", until="2026-01-31"),
            'published != "" and published >= "2026-01-01" and published < "2026-01-31~"',
        ),
        (Filter(article_ids=frozenset({"b", "a"})), 'article_id in ["a","b"]'),
        (Filter(article_ids=frozenset()), None),
    ],
)
def test_a_filter_becomes_an_expression(where: Filter, expected: str | None) -> None:
    assert filter_expression(where, SOURCES) == expected


def test_expressions_join() -> None:
    assert both("a == 1", "") == "a == 1"
    assert both("", "b == 2") == "b == 2"
    assert both("a == 1", "b == 2") == "(a == 1) and (b == 2)"
    assert both("a == 1", None) is None


def test_a_terms_weight_grows_with_its_count_and_falls_with_length() -> None:
    short = term_weights(["a", "a", "b"], average=10.0)
    long = term_weights(["a", "a", "b", *["c"] * 30], average=10.0)
    assert short["a"] > short["b"] and long["a"] < short["a"]
