"""The segmented store's mechanisms at small sizes: merges, sealing (8-bit codes + IVF-PQ),
deletes dropped at merge, compaction, orphan files, another process's writes, migration of
a format-1 index. The vectors here are random (the store's behaviour does not depend on
what they mean); retrieval quality is tested with the real models elsewhere."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from khabar.chunk import chunk_article
from khabar.ingest import article_from_text
from khabar.service import Khabar
from khabar.store import EncoderInfo, Filter, PendingArticle, SegmentStore
from khabar.store.opening import recorded_info
from khabar.store.segments import FLAT, MERGE_FACTOR, SEALED

DIM = 32
ENCODER = EncoderInfo("random-test-vectors", "0", DIM)


def unit(rows: int, seed: int) -> np.ndarray:  # type: ignore[type-arg]
    v = np.random.default_rng(seed).standard_normal((rows, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def embed(texts: Sequence[str]) -> np.ndarray:  # type: ignore[type-arg]
    """Deterministic per text (in every process), so that a rebuilt vector equals the one
    it replaces."""
    if not texts:
        return np.empty((0, DIM), np.float32)
    seeds = [int.from_bytes(hashlib.sha256(t.encode()).digest()[:4], "little") for t in texts]
    return np.concatenate([unit(1, seed) for seed in seeds])


def pending(i: int, paragraphs: int = 3) -> PendingArticle:
    text = "\n".join(
        f"قال المتحدث {i} إن الاجتماع رقم {j} سيعقد غدا. وأضاف أن الوفد سيصل صباحا."
        for j in range(paragraphs)
    )
    article = article_from_text(text, article_id=f"a{i}", title=f"خبر {i}", source="test")
    chunks = chunk_article(article, 1200)
    spans = [c.text[s.start : s.end] for c in chunks for s in c.spans]
    return PendingArticle(article, chunks, embed([c.embed_text for c in chunks]), embed(spans))


def open_store(folder: Path, seal: int = 1_000_000) -> SegmentStore:
    return SegmentStore.open(folder, ENCODER, embed, "test", seal_vectors=seal)


def all_chunk_ids(store: SegmentStore) -> np.ndarray:  # type: ignore[type-arg]
    return store.chunk_ids_of([a.id for a in store.articles()])


def test_writes_make_segments_and_full_tiers_merge(tmp_path: Path) -> None:
    store = open_store(tmp_path / "index")
    for i in range(MERGE_FACTOR * 2 + 3):
        store.write([pending(i)])
    chunks = store.collections["chunks"].segments
    # 19 writes of one segment each: two merges of eight, three left as they came
    assert len(chunks) == 5
    assert sorted(s.count for s in chunks) == [3, 3, 3, 24, 24]
    ids = all_chunk_ids(store)
    found, vectors = store.chunk_vectors(ids)
    assert np.array_equal(found, ids)
    best, _ = store.search_chunks(vectors[5], 3)
    assert best[0] == ids[5]
    store.close()


def test_a_large_merge_is_sealed_and_searched_through_ivf_pq(tmp_path: Path) -> None:
    store = open_store(tmp_path / "index", seal=50)
    for i in range(MERGE_FACTOR):
        store.write([pending(i, paragraphs=30)])
    spans = store.collections["spans"].segments
    assert [s.record.layout for s in spans] == [SEALED]
    # 240 paragraphs: past the seal size, but too few (< 8 × 50) to train a codec on
    chunks = store.collections["chunks"].segments
    assert [s.record.layout for s in chunks] == [FLAT] and chunks[0].count == 240
    ids = store.span_table(all_chunk_ids(store).tolist())[:, 0]
    found, approx = store.span_vectors(ids)
    assert np.array_equal(np.sort(found), np.sort(ids))
    exact = embed(
        [
            c.text[s.start : s.end]
            for p in [pending(i, 30) for i in range(8)]
            for c in p.chunks
            for s in c.spans
        ]
    )
    cosine = np.sum(approx * exact, axis=1)
    # 8-bit codes: close to the vectors they encode, also those encoded after the codec
    # was trained (values past its range are clipped)
    assert cosine.mean() > 0.999 and cosine.min() > 0.98
    hits, _ = store.search_spans(exact[100], 5)
    assert hits[0] == found[100]
    info = store.describe()
    assert SEALED in info["index_type"] and any(s["layout"] == SEALED for s in info["segments"])
    store.close()
    reopened = open_store(tmp_path / "index", seal=50)  # memory-mapped again
    assert reopened.search_spans(exact[100], 5)[0][0] == found[100]
    reopened.close()


def test_a_sealed_kind_is_clustered_in_the_questions_space(tmp_path: Path) -> None:
    # A paired encoder's question weighs its second half 0.15: the IVF index clusters the
    # vectors scaled so and searches with the question divided back, and the scores it
    # returns are still the unscaled inner products.
    weighted = EncoderInfo("random-test-vectors", "0", DIM, ((DIM // 2, 1.0), (DIM // 2, 0.15)))
    store = SegmentStore.open(tmp_path / "index", weighted, embed, "test", seal_vectors=50)
    for i in range(MERGE_FACTOR):
        store.write([pending(i, paragraphs=30)])
    (segment,) = store.collections["spans"].segments
    assert segment.record.layout == SEALED and segment.codec is not None
    space = np.r_[np.ones(DIM // 2), np.full(DIM // 2, 0.15)].astype(np.float32)
    assert np.array_equal(segment.codec.space, space)
    ids = store.span_table(all_chunk_ids(store).tolist())[:, 0]
    found, vectors = store.span_vectors(ids)
    rng = np.random.default_rng(3)
    found_best = 0
    for row in rng.choice(len(found), 20, replace=False):
        # the first half near a span's, the second half another's (weighed 0.15)
        question = np.r_[
            vectors[row, : DIM // 2], 0.15 * vectors[(row * 7 + 1) % len(found), DIM // 2 :]
        ]
        exact = np.sort(vectors @ question)[::-1][:2]  # (the texts repeat: scores, not ids)
        hits, scores = store.collections["spans"].search(question, 2)
        by_id = dict(zip(found.tolist(), (vectors @ question).tolist(), strict=True))
        assert np.allclose([by_id[h] for h in hits.tolist()], scores, atol=1e-4)
        found_best += int(np.allclose(scores, exact, atol=1e-4))
    assert found_best == 20, found_best
    store.close()
    reopened = SegmentStore.open(tmp_path / "index", ENCODER, embed, "test", seal_vectors=50)
    # the space is the index's, kept with its codec, whatever encoder opens it later
    (segment,) = reopened.collections["spans"].segments
    assert segment.codec is not None and np.array_equal(segment.codec.space, space)
    reopened.write([pending(99)])
    reopened.close()
    # the manifest keeps the weights (an opening without them does not drop them), so that
    # `khabar migrate`, which opens both ends without the model, seals the copy so too
    recorded = recorded_info(tmp_path / "index")
    assert recorded is not None and recorded.question_weights == weighted.question_weights
    copy = SegmentStore.open(tmp_path / "copy", recorded, embed, "test", seal_vectors=50)
    for i in range(MERGE_FACTOR):
        copy.write([pending(i, paragraphs=30)])
    (segment,) = copy.collections["spans"].segments
    assert segment.codec is not None and np.array_equal(segment.codec.space, space)
    copy.close()


def test_a_codec_from_before_the_space_reads_as_ones() -> None:
    from khabar.store.segments import Codec

    vectors = unit(100, 1)
    codec = Codec.train(vectors, space=np.full(DIM, 0.5, np.float32))
    back = Codec.from_bytes(codec.to_bytes())
    assert np.array_equal(back.space, codec.space) and np.array_equal(back.low, codec.low)
    buffer = io.BytesIO()
    np.save(buffer, np.stack([codec.low, codec.step]), allow_pickle=False)
    legacy = Codec.from_bytes(buffer.getvalue())
    assert np.array_equal(legacy.space, np.ones(DIM, np.float32))
    assert np.allclose(legacy.question_to_space(vectors[0]), vectors[0])


def test_removed_vectors_are_never_returned_and_compact_drops_them(tmp_path: Path) -> None:
    store = open_store(tmp_path / "index")
    for i in range(6):
        store.write([pending(i)])
    gone = store.chunk_ids_of(["a2"])
    query = store.chunk_vectors(gone)[1][0]
    store.write([], remove=["a2"])
    assert store.db.counts() == store.db.recount() == (5, 15, store.db.recount()[2])
    assert store.collections["chunks"].size == 18  # still held, until a merge
    hits, _ = store.search_chunks(query, 5)
    assert len(hits) == 5 and not set(hits.tolist()) & set(gone.tolist())
    done = store.compact()
    assert done["segments_after"] == {"chunks": 1, "spans": 1}
    assert done["vectors_dropped"]["chunks"] == 3
    assert store.collections["chunks"].size == 15
    assert np.array_equal(store.chunk_vectors(all_chunk_ids(store))[0], all_chunk_ids(store))
    store.close()


@pytest.mark.parametrize("gap", [1, 4096])
def test_live_ids_are_read_by_runs_of_the_ids_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gap: int
) -> None:
    from khabar.store import metadata

    monkeypatch.setattr(metadata, "RUN_GAP", gap)  # 1: every article's ids a run of its own
    store = open_store(tmp_path / "index")
    for i in range(6):
        store.write([pending(i)])
    held = store.chunk_ids_of(["a0", "a2", "a5"])  # a merge of segments far apart
    store.write([], remove=["a2"])
    live = store.db.live_ids("chunks", held[::-1])
    assert live.tolist() == sorted(store.chunk_ids_of(["a0", "a5"]).tolist())
    assert not len(store.db.live_ids("spans", np.empty(0, dtype=np.int64)))
    store.close()


def test_filters_and_lexical_leg(tmp_path: Path) -> None:
    store = open_store(tmp_path / "index")
    for i in range(4):
        store.write([pending(i)])
    where = Filter(article_ids=frozenset({"a1"}))
    assert store.count_matching(where) == 1
    narrow = store.chunk_ids_matching(where, 100)
    assert narrow is not None and np.array_equal(narrow, store.chunk_ids_of(["a1"]))
    assert store.chunk_ids_matching(Filter(source="test"), 5) is None  # more than the limit
    assert len(store.keep_matching(all_chunk_ids(store), where)) == 3
    from khabar.text.tokenize import terms

    ids, scores = store.lexical_top(terms("المتحدث 2 الاجتماع"), 5, Filter())
    assert set(store.chunk_ids_of(["a2"]).tolist()) <= set(ids.tolist())
    assert np.all(np.diff(scores) <= 0) and scores[0] > 0
    again = store.lexical_scores(terms("المتحدث 2 الاجتماع"), ids)
    assert np.allclose(again, scores)
    store.close()


def test_orphan_files_are_removed_and_another_process_sees_writes(tmp_path: Path) -> None:
    folder = tmp_path / "index"
    first = open_store(folder)
    first.write([pending(0)])
    orphan = folder / "segments" / "c-00000000deadbeef.f32.npy"
    orphan.write_bytes(b"left by a write that crashed")
    second = open_store(folder)  # opening for writing removes what no segment owns
    assert not orphan.exists()
    second.write([pending(1)])
    first.refresh()
    assert first.counts()[0] == 2
    ids = all_chunk_ids(first)
    assert np.array_equal(first.chunk_vectors(ids)[0], ids)
    first.close()
    second.close()


def make_format_1(index: Path) -> None:
    """Turn a format-2 index into what khabar wrote before segments (format 1): the two
    whole FAISS files with checksums, schema 1, no FTS5, a bm25s folder."""
    from khabar.store.vectors import VectorIndex

    service = Khabar.open(index)
    store = service.store
    for kind, name in (("chunks", "chunks.faiss"), ("spans", "spans.faiss")):
        ids = np.asarray(
            store.db.chunk_ids() if kind == "chunks" else store.db.span_ids(), np.int64
        )
        found, vectors = store.collections[kind].vectors(ids)
        old = VectorIndex.create(store.manifest.dim)
        old.add(found, vectors)
        old.save(index / name)
    service.close()
    for path in (index / "segments").iterdir():
        path.unlink()
    (index / "segments").rmdir()
    (index / "lexical").mkdir()
    conn = sqlite3.connect(index / "khabar.sqlite")
    conn.executescript(
        "DROP TRIGGER chunk_terms_in; DROP TRIGGER chunk_terms_out; DROP TABLE chunks_fts;"
        "DROP TABLE chunks_vocab; DROP TABLE segments; DROP TABLE codecs;"
        "UPDATE meta SET value = '1' WHERE key = 'schema_version';"
        "DELETE FROM meta WHERE key = 'generation';"
    )
    conn.close()
    manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    manifest["format_version"] = 1
    del manifest["segments"]
    (index / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_a_format_1_index_is_migrated_once(fresh_index: Path) -> None:
    question = "What did Putin say about Israel?"
    service = Khabar.open(fresh_index)
    before = [(h.chunk_id, round(h.score, 4)) for h in service.ask(question).hits]
    service.close()
    make_format_1(fresh_index)
    migrated = Khabar.open(fresh_index)
    (note,) = migrated.notes
    assert "migrated the index from format 1 to 2" in note and "37 span vectors" in note
    assert [(h.chunk_id, round(h.score, 4)) for h in migrated.ask(question).hits] == before
    assert migrated.info()["format_version"] == 2
    migrated.close()
    assert not (fresh_index / "chunks.faiss").exists() and not (fresh_index / "lexical").exists()
    again = Khabar.open(fresh_index)
    assert again.notes == []
    again.close()


def test_a_segment_with_a_wrong_size_is_named(tmp_path: Path) -> None:
    store = open_store(tmp_path / "index")
    store.write([pending(0)])
    (segment,) = store.collections["spans"].segments
    assert segment.record.layout == FLAT
    store.close()
    path = tmp_path / "index" / "segments" / f"{segment.record.name}.ids.npy"
    path.write_bytes(path.read_bytes() + b"\0")
    from khabar.errors import IndexFormatError

    with pytest.raises(IndexFormatError, match=segment.record.name):
        open_store(tmp_path / "index")


def test_a_database_without_its_term_count_gets_it_on_open(fresh_index: Path) -> None:
    from khabar.store.metadata import DB_NAME, TERMS_KEY, MetadataStore

    db = MetadataStore(fresh_index / DB_NAME)
    kept = db.term_count()
    assert kept > 0 and kept == db.recount_terms()
    db.conn.execute("DELETE FROM meta WHERE key = ?", (TERMS_KEY,))
    db.close()
    again = MetadataStore(fresh_index / DB_NAME)
    assert again.get_meta(TERMS_KEY) == str(kept)
    again.close()


def _drop_id_ranges(folder: Path) -> None:
    """Make the database as khabar wrote it before articles kept their id ranges."""
    conn = sqlite3.connect(folder / "khabar.sqlite")
    conn.executescript(
        "DROP INDEX articles_by_source; DROP INDEX articles_by_day;"
        + "".join(f"ALTER TABLE articles DROP COLUMN {c};" for c in RANGES)
    )
    conn.close()


RANGES = ("chunk_lo", "chunk_hi", "span_lo", "span_hi")


def test_articles_get_their_id_ranges_once_and_filters_work_without_them(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "index"
    store = open_store(folder)
    for i in range(3):
        store.write([pending(i)])
    where = Filter(article_ids=frozenset({"a1"}))
    query = store.chunk_vectors(store.chunk_ids_of(["a1"]))[1][1]
    expected = store.search_chunks(query, 2, where)[0].tolist()
    expected_spans = store.search_spans(query, 4, where)[0].tolist()
    ranges = store.db.id_ranges("1", [])
    store.close()
    _drop_id_ranges(folder)
    folder.chmod(0o555)  # read-only: nothing can be added, the ranges are found by query
    try:
        reader = SegmentStore.open(folder, ENCODER, embed, "test", read_only=True)
        assert np.array_equal(reader.db.id_ranges("1", []), ranges)
        assert reader.search_chunks(query, 2, where)[0].tolist() == expected
        assert reader.notes == []
        reader.close()
    finally:
        folder.chmod(0o755)
    migrated = open_store(folder)
    (note,) = migrated.notes
    assert "recorded each article's chunk and span ids" in note
    assert np.array_equal(migrated.db.id_ranges("1", []), ranges)
    assert migrated.search_spans(query, 4, where)[0].tolist() == expected_spans
    migrated.close()
    assert open_store(folder).notes == []
