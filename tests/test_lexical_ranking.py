"""The lexical leg ranks a term's postings itself (chunk lengths in memory) as FTS5's bm25()
would, and the span rows a search reads: real SQLite and FTS5 over real Arabic text (XQuAD
passages), stand-in vectors."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from khabar.chunk import chunk_article
from khabar.ingest import article_from_text
from khabar.store import Filter, PendingArticle, SegmentStore, lengths, lexical
from khabar.text.tokenize import terms
from tests.test_segments import ENCODER, embed

XQUAD = Path(__file__).resolve().parents[1] / "data" / "xquad" / "xquad.ar.json"


def passages() -> list[tuple[str, list[str]]]:
    """(passage, its questions) of every XQuAD article."""
    data = json.loads(XQUAD.read_text(encoding="utf-8"))["data"]
    return [
        (p["context"], [q["question"] for q in p["qas"]])
        for article in data
        for p in article["paragraphs"]
    ]


def pending(i: int, text: str, source: str) -> PendingArticle:
    article = article_from_text(text, article_id=f"x{i}", title=f"مقال {i}", source=source)
    chunks = chunk_article(article, 1200)
    spans = [c.text[s.start : s.end] for c in chunks for s in c.spans]
    return PendingArticle(article, chunks, embed([c.embed_text for c in chunks]), embed(spans))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SegmentStore]:
    folder = tmp_path_factory.mktemp("lexical") / "index"
    opened = SegmentStore.open(folder, ENCODER, embed, "test")
    opened.write([pending(i, text, f"s{i % 3}") for i, (text, _) in enumerate(passages())])
    yield opened
    opened.close()


def questions() -> list[str]:
    return [q for _, qs in passages() for q in qs[:2]]


def test_varints_are_read_as_sqlite_writes_them() -> None:
    assert lengths.varint(bytes([5])) == 5
    assert lengths.varint(bytes([0x81, 0x00])) == 128
    assert lengths.varint(bytes([0x82, 0x85, 0x03])) == (2 << 14) | (5 << 7) | 3
    with pytest.raises(ValueError):
        lengths.varint(bytes([0x80]))


def test_lengths_are_fts5s_own_token_counts(store: SegmentStore) -> None:
    conn = store.db.conn
    known = lengths.ChunkLengths()
    assert known.ready(lambda: conn, 10)  # a small index: read at once
    lexical._instances_table(conn)
    counted = dict(conn.execute(f"SELECT doc, count(*) FROM {lexical.INSTANCES} GROUP BY doc"))
    ids = np.asarray(sorted(counted), dtype=np.int64)
    assert len(ids) == store.counts()[1] > 200
    assert known.of(conn, ids).tolist() == [counted[i] for i in ids.tolist()]


def test_postings_ranked_here_are_bm25s_best(store: SegmentStore) -> None:
    conn = store.db.conn
    known = lengths.ChunkLengths()
    known.ready(lambda: conn, 10)
    chunks, total = store.counts()[1], store.db.term_count()
    rows = conn.execute("SELECT term, doc FROM chunks_vocab WHERE doc > 12 ORDER BY term")
    frequent = [str(term) for term, _ in rows]
    assert len(frequent) > 20
    depth = 8
    for term in frequent:
        ours = lexical.ranked_postings(
            conn, term, depth, functools.partial(known.of, conn), total / chunks
        )
        theirs = lexical._bm25_postings(conn, term, depth, None)
        assert len(ours) == len(theirs) == depth
        assert len(set(ours.tolist()) & set(theirs.tolist())) >= depth - 1  # ties may differ


def test_the_leg_gives_the_same_best_chunks_either_way(
    store: SegmentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lexical, "TERM_DEPTH", 8)  # so that postings are ranked, not all kept
    conn = store.db.conn
    known = lengths.ChunkLengths()
    known.ready(lambda: conn, 10)
    counts = (store.counts()[1], store.db.term_count())
    allowed = store.filter_ids(Filter(source="s1")).chunks
    same = 0
    asked = questions()
    for question in asked:
        frequencies = store._frequencies(terms(question))
        for where in (None, allowed):
            a = lexical.top(conn, frequencies, 10, counts, where)
            b = lexical.top(conn, frequencies, 10, counts, where, functools.partial(known.of, conn))
            same += a[0].tolist() == b[0].tolist() and np.allclose(a[1], b[1])
            if where is not None:
                assert bool(np.all(allowed.contains(b[0])))
    assert same >= 0.95 * 2 * len(asked)


def test_lengths_read_in_the_background_then_kept_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lengths, "BACKGROUND_FROM", 1)
    texts = passages()
    store = SegmentStore.open(tmp_path / "index", ENCODER, embed, "test")
    store.write([pending(i, text, "s") for i, (text, _) in enumerate(texts[:30])])
    question = terms(texts[31][1][0])
    before = store.lexical_top(question, 10, Filter())  # bm25(): a first question
    assert not store._lengths._started  # reads nothing for a one-question process
    store.lexical_top(question, 10, Filter())  # the second starts reading them
    assert store._lengths._started
    store.warm_up(wait=True)
    assert store._lengths.ready(lambda: store.db.conn, 1)
    assert store.lexical_top(question, 10, Filter())[0].tolist() == before[0].tolist()
    store.write([pending(31, texts[31][0], "s")])  # chunk ids past the lengths read
    found = store.lexical_top(question, 10, Filter())[0]
    assert set(store.chunk_ids_of(["x31"]).tolist()) & set(found.tolist())
    store.close()


def test_without_clauses_only_sentences_are_scored(store: SegmentStore) -> None:
    from khabar.search import SearchSettings, search

    ids = store.chunk_ids_of([f"x{i}" for i in range(40)])
    spans = store.spans_of_chunks(ids.tolist())
    clause = next(s for s in spans if s.kind != "sentence")  # XQuAD's long sentences have some
    _, vectors = store.span_vectors(np.asarray([clause.id]))
    with_clauses = search(store, vectors[0], 3, SearchSettings())
    assert with_clauses[0].span is not None and with_clauses[0].span.id == clause.id
    sentences = search(store, vectors[0], 3, SearchSettings(use_clauses=False))
    assert sentences and all(h.span is None or h.span.kind == "sentence" for h in sentences)
    assert all(
        c is None or s.kind == "sentence"
        for h in sentences
        for s, c in zip(h.spans, h.span_scores, strict=True)
    )
