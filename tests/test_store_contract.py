"""The Store protocol's contract: what search, answer and the service rely on, checked the
same way for every backend (``store/base.py``). Today's backend is the embedded segment
store, run here twice: with flat segments only (a small index) and with sealed ones
(8-bit codes + IVF-PQ, as a large index has), so that both search paths keep the contract;
and the Milvus backend on a Milvus Lite file and (run by tests/test_milvus_server.py, which
starts a real Milvus server kept off the network) on a Milvus standalone server.

The vectors are random but fixed per text (the contract does not depend on what they
mean); retrieval quality is tested with the real models elsewhere."""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from khabar.errors import ReadOnlyIndexError
from khabar.store import Filter, PendingArticle, SegmentStore, Store
from khabar.store.segments import SEALED
from khabar.text.tokenize import terms
from tests.conftest import MILVUS_TOKEN
from tests.test_segments import ENCODER, embed, pending

ARTICLES = 8
PARAGRAPHS = 30  # 240 chunks and 480 spans: enough to seal both kinds at a seal size of 25

Opener = Callable[[Path, bool], Store]


def _segments(seal: int) -> Opener:
    def open_(folder: Path, read_only: bool = False) -> Store:
        return SegmentStore.open(
            folder, ENCODER, embed, "test", seal_vectors=seal, read_only=read_only
        )

    return open_


def _milvus_lite(folder: Path, read_only: bool = False) -> Store:
    from khabar.store.milvus import MilvusStore

    return MilvusStore.open(f"{folder}.db", ENCODER, read_only=read_only)


def _milvus_server(folder: Path, read_only: bool = False) -> Store:
    """The Milvus server of tests/test_milvus_server.py (its address in the environment).
    Its collections are made once (some 4 s each on Milvus 2.3) and emptied for each test
    (its folder) when the test first opens the store."""
    from khabar.store.milvus import MilvusStore

    where = {"prefix": "contract_", "token": MILVUS_TOKEN}
    store = MilvusStore.open(os.environ[SERVER_ENV], ENCODER, **where)
    if folder not in _EMPTIED:
        _EMPTIED.add(folder)
        for kind, every in (("articles", 'id != ""'), ("chunks", "id >= 0"), ("spans", "id >= 0")):
            store.client.delete(store.names[kind], filter=every)
        store.client.delete(store.names["postings"], filter="id >= 0")
        store.client.delete(store.names["meta"], filter='key like "source:%"')
        zero = {"key": "terms", "value": "0", "vector": [0.0, 0.0]}
        store.client.upsert(store.names["meta"], [zero])
        store.write([])  # its reads wait for those deletes
    if read_only:
        store.close()
        store = MilvusStore.open(os.environ[SERVER_ENV], ENCODER, **where, read_only=True)
    return store


_EMPTIED: set[Path] = set()


SERVER_ENV = "KHABAR_TEST_MILVUS_URI"
BACKENDS: dict[str, Opener] = {
    "segments-flat": _segments(1_000_000),
    "segments-sealed": _segments(25),
}
if importlib.util.find_spec("pymilvus") is not None:
    BACKENDS["milvus-lite"] = _milvus_lite
if os.environ.get(SERVER_ENV):
    BACKENDS["milvus-server"] = _milvus_server


def article(i: int) -> PendingArticle:
    """Article ``a{i}``; even ones from "wire-even", odd ones from "wire-odd"."""
    base = pending(i, paragraphs=PARAGRAPHS)
    source = "wire-even" if i % 2 == 0 else "wire-odd"
    changed = type(base.article)(**{**base.article.__dict__, "source": source})
    return PendingArticle(changed, base.chunks, base.chunk_vectors, base.span_vectors)


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Opener]]:
    opener = BACKENDS[request.param]
    store = opener(tmp_path / "index", False)
    for i in range(ARTICLES):
        store.write([article(i)])
    yield store, opener
    store.close()


def chunk_ids(store: Store, *article_ids: str) -> np.ndarray:  # type: ignore[type-arg]
    return store.chunk_ids_of(list(article_ids or [a.id for a in store.articles()]))


def test_what_is_written_reads_back(backend: tuple[Store, Opener]) -> None:
    store, _ = backend
    spans_each = sum(len(c.spans) for c in article(0).chunks)
    assert store.counts() == (ARTICLES, ARTICLES * PARAGRAPHS, ARTICLES * spans_each)
    assert [a.id for a in store.articles()] == [f"a{i}" for i in range(ARTICLES)]
    row = store.article("a3")
    assert row is not None and row.source == "wire-odd" and row.paragraphs == PARAGRAPHS
    assert store.sources() == ["wire-even", "wire-odd"]
    ids = chunk_ids(store, "a3")
    chunks = store.chunks(ids.tolist())
    expected = article(3).chunks
    assert [chunks[i].text for i in ids.tolist()] == [c.text for c in expected]
    at = store.chunk_at("a3", 4)
    assert at is not None and at.text == expected[4].text
    # who said what, with the chunk: "قال المتحدث 3 إن …" and "وأضاف أن …", his too
    assert [chunks[i].quotes for i in ids.tolist()] == [c.quotes for c in expected]
    assert [q.verb for q in at.quotes] == ["قال", "وأضاف"]
    assert at.text[at.quotes[1].start : at.quotes[1].end] == "الوفد سيصل صباحا"
    spans = store.spans_of_chunks(ids.tolist())
    offsets = [(s.start, s.end) for c in expected for s in c.spans]
    assert [(s.start, s.end) for s in spans] == offsets
    table = store.span_table(ids.tolist())
    assert sorted(table[:, 0].tolist()) == sorted(s.id for s in spans)
    sentences = store.span_table(ids.tolist(), sentences_only=True)
    expected_sentences = sorted(s.id for s in spans if s.kind == "sentence")
    assert expected_sentences
    assert sorted(sentences[:, 0].tolist()) == expected_sentences


def test_one_write_replaces_adds_and_keeps_the_last_of_an_article_named_twice(
    backend: tuple[Store, Opener],
) -> None:
    store, _ = backend
    shorter = pending(2, paragraphs=4)  # a2 again, 4 paragraphs instead of 30
    first, last = pending(50, paragraphs=2), pending(50, paragraphs=5)
    store.write([shorter, article(51), first, last])
    assert store.counts()[0] == ARTICLES + 2
    assert len(chunk_ids(store, "a2")) == 4 and len(chunk_ids(store, "a50")) == 5
    assert len(chunk_ids(store, "a51")) == PARAGRAPHS
    row = store.article("a2")
    assert row is not None and row.paragraphs == 4 and row.source == "test"
    query = store.chunk_vectors(chunk_ids(store, "a50"))[1][4]
    assert store.search_chunks(query, 1)[0].tolist() == chunk_ids(store, "a50")[4:].tolist()


def test_each_vector_is_found_again(backend: tuple[Store, Opener]) -> None:
    store, _ = backend
    ids = chunk_ids(store)
    found, vectors = store.chunk_vectors(ids)
    assert np.array_equal(found, ids)
    for row in (0, 77, len(ids) - 1):
        best, scores = store.search_chunks(vectors[row], 5)
        assert best[0] == ids[row] and np.all(np.diff(scores) <= 1e-6)
    table = store.span_table(ids.tolist())
    span_found, span_vectors = store.span_vectors(table[:, 0])
    assert np.array_equal(np.sort(span_found), np.sort(table[:, 0]))
    owner = dict(zip(table[:, 0].tolist(), table[:, 1].tolist(), strict=True))
    # a chunk's first sentence names its article and paragraph: no other span shares it
    first = np.flatnonzero(np.r_[True, table[1:, 1] != table[:-1, 1]])
    for row in (first[1], first[150]):
        spans, owners = store.search_spans(span_vectors[row], 5)
        assert spans[0] == span_found[row]
        assert [owner[s] for s in spans.tolist()] == owners.tolist()


@pytest.mark.parametrize(
    "where",
    [Filter(source="ODD"), Filter(article_ids=frozenset({"a2", "a5"})), Filter(source="nobody")],
)
def test_a_filter_holds_in_every_leg(backend: tuple[Store, Opener], where: Filter) -> None:
    store, _ = backend
    wanted = {
        "nobody": set(),
        "ODD": {a.id for a in store.articles() if a.source == "wire-odd"},
    }.get(where.source or "", set(where.article_ids or ()))
    allowed = set(chunk_ids(store, *wanted).tolist()) if wanted else set()
    assert store.count_matching(where) == len(wanted)
    assert set(store.keep_matching(chunk_ids(store), where).tolist()) == allowed
    narrow = store.chunk_ids_matching(where, 10_000)
    assert narrow is not None and set(narrow.tolist()) == allowed
    query = store.chunk_vectors(chunk_ids(store, "a0"))[1][0]  # a0 is never allowed
    best, _ = store.search_chunks(query, 10, where)
    assert set(best.tolist()) <= allowed and len(best) == min(10, len(allowed))
    if allowed:  # the best allowed chunk, as an exhaustive search finds it
        ids, vectors = store.chunk_vectors(np.asarray(sorted(allowed), dtype=np.int64))
        assert best[0] == ids[np.argmax(vectors @ query)]
    spans, owners = store.search_spans(query, 20, where)
    assert set(owners.tolist()) <= allowed and len(spans) == len(owners)
    assert (len(spans) > 0) == bool(allowed)
    lexical_ids, scores = store.lexical_top(terms("المتحدث 5 الاجتماع"), 10, where)
    assert set(lexical_ids.tolist()) <= allowed and np.all(scores > 0)
    if "a5" in wanted:  # the article the words name ranks first
        assert int(lexical_ids[0]) in set(chunk_ids(store, "a5").tolist())


def test_removed_articles_are_gone_from_every_leg(backend: tuple[Store, Opener]) -> None:
    store, _ = backend
    gone = chunk_ids(store, "a5")
    query = store.chunk_vectors(gone)[1][0]
    store.write([], remove=["a5"])
    assert store.article("a5") is None and store.counts()[0] == ARTICLES - 1
    best, _ = store.search_chunks(query, 20)
    assert len(best) == 20 and not set(best.tolist()) & set(gone.tolist())
    _, owners = store.search_spans(query, 50)
    assert not set(owners.tolist()) & set(gone.tolist())
    lexical_ids, _ = store.lexical_top(terms("المتحدث 5"), 50, Filter())
    assert not set(lexical_ids.tolist()) & set(gone.tolist())
    assert len(store.chunk_vectors(gone)[0]) in (0, len(gone))  # held until a merge, or not
    store.compact()
    assert store.search_chunks(query, 20)[0].tolist() == best.tolist()


def test_another_reader_sees_writes_and_cannot_write(
    backend: tuple[Store, Opener], tmp_path: Path
) -> None:
    store, opener = backend
    reader = opener(tmp_path / "index", True)
    assert reader.read_only and reader.counts() == store.counts()
    store.write([article(ARTICLES)])
    reader.refresh()
    assert reader.article(f"a{ARTICLES}") is not None
    ids = chunk_ids(reader, f"a{ARTICLES}")
    _, vectors = reader.chunk_vectors(ids)
    assert reader.search_chunks(vectors[0], 1)[0][0] == ids[0]
    with pytest.raises(ReadOnlyIndexError):
        reader.write([], remove=["a1"])
    reader.close()


def test_the_sealed_backend_is_sealed(tmp_path: Path) -> None:
    """The sealed variant really searches sealed segments (else it tests nothing new)."""
    store = BACKENDS["segments-sealed"](tmp_path / "index", False)
    for i in range(ARTICLES):
        store.write([article(i)])
    info = store.describe()
    assert {s["kind"] for s in info["segments"] if s["layout"] == SEALED} == {"chunks", "spans"}
    store.close()


def test_questions_on_several_threads_beside_writes(backend: tuple[Store, Opener]) -> None:
    """A server answers questions on several threads while it adds articles, and each
    question refreshes the store first: no read may see another's refresh half done."""
    from khabar.search import search

    store, _ = backend
    _, vectors = store.chunk_vectors(chunk_ids(store, "a1"))
    errors: list[BaseException] = []
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            try:
                store.refresh()
                hits = search(store, vectors[0], 5, question="المتحدث 1 الاجتماع")
                assert hits and all(h.spans for h in hits)
            except BaseException as exc:  # reported below
                errors.append(exc)
                return

    askers = [threading.Thread(target=ask) for _ in range(4)]
    for thread in askers:
        thread.start()
    try:
        for n in range(3):
            store.write([article(100 + n)])
            store.write([article(100 + n)])  # the same article again: replaced
    finally:
        stop.set()
        for thread in askers:
            thread.join()
    assert not errors, repr(errors[0])
    assert store.counts()[0] == ARTICLES + 3


def test_quotes_are_listed_by_speaker_and_go_with_their_article(
    backend: tuple[Store, Opener],
) -> None:
    store, _ = backend
    assert {speaker for speaker, _ in store.quote_names()} == {"المتحدث"}
    rows = store.quotes(["المتحدث"], None, 5)
    assert len(rows) == 5 and all(r.quote.speaker == "المتحدث" for r in rows)
    assert all(r.said in r.text and r.said for r in rows)
    assert store.quotes(["someone else"], None, 5) == []
    assert len(store.quotes(None, None, 1000)) == ARTICLES * PARAGRAPHS * 2
    store.write([], remove=["a0"])
    store.refresh()
    assert "a0" not in {r.article_id for r in store.quotes(None, None, 1000)}
    assert len(store.quotes(None, None, 1000)) == (ARTICLES - 1) * PARAGRAPHS * 2
