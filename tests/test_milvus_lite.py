"""The Milvus store on Milvus Lite (a .db file, no server): what the store contract does not
cover. An add cut short (deterministically, and by `kill -9` of a real `khabar add`) leaves
nothing half-visible and the next add completes it; the encoder and format are checked on
open; bad addresses and a missing pymilvus are one clear line; every CLI command works
with --store."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from khabar.errors import EncoderMismatchError, IndexFormatError, IndexWriteError
from khabar.service import Khabar
from khabar.store import EncoderInfo, Filter
from tests.test_cli import khabar
from tests.test_crash import write_articles
from tests.test_segments import ENCODER, pending

milvus = pytest.importorskip("khabar.store.milvus")
pytest.importorskip("pymilvus")


def visible_chunks(store: object) -> set[int]:
    ids = store.chunk_ids_matching(Filter(), 100_000)  # type: ignore[attr-defined]
    assert ids is not None
    return set(ids.tolist())


def test_an_add_cut_short_is_invisible_and_the_next_add_completes_it(tmp_path: Path) -> None:
    path = str(tmp_path / "store.db")
    store = milvus.MilvusStore.open(path, ENCODER)
    store.write([pending(0, paragraphs=4)])
    real_insert = store.client._client.insert

    def insert(name: str, rows: list[dict[str, object]]) -> object:
        if name.endswith("articles"):  # every row of a1 is written but its mark
            raise KeyboardInterrupt("killed")
        return real_insert(name, rows)

    store.client._client.insert = insert
    with pytest.raises(KeyboardInterrupt):
        store.write([pending(1, paragraphs=4)])
    store.close()
    store = milvus.MilvusStore.open(path, ENCODER)
    assert store.article("a1") is None and [a.id for a in store.articles()] == ["a0"]
    assert store.counts()[1] == 8  # a1's chunk rows are there...
    whole = set(store.chunk_ids_of(["a0"]).tolist())
    assert visible_chunks(store) == whole  # ...but nothing finds them
    orphan = store.client.query(
        store.names["chunks"], filter='article_id == "a1"', output_fields=["vector"], limit=1
    )[0]["vector"]
    assert set(store.search_chunks(np.asarray(orphan), 10)[0].tolist()) <= whole
    assert set(store.search_spans(np.asarray(orphan), 10)[1].tolist()) <= whole
    assert set(store.lexical_top(["المتحدث", "1"], 10, Filter())[0].tolist()) <= whole
    store.write([pending(1, paragraphs=4)])  # the next add of it replaces what was left
    assert store.counts() == (2, 8, 16) and store.article("a1") is not None
    store.close()


def test_repair_removes_what_an_add_cut_short_left(tmp_path: Path) -> None:
    path = str(tmp_path / "store.db")
    store = milvus.MilvusStore.open(path, ENCODER)
    store.client._client.insert = _failing_on("articles", store.client._client.insert)
    with pytest.raises(KeyboardInterrupt):
        store.write([pending(2, paragraphs=3)])
    store.close()
    store = milvus.MilvusStore.open(path, ENCODER)
    store.sweep()
    assert store.counts() == (0, 0, 0) and "a2" in store.rebuilt[0]
    store.close()


def _failing_on(suffix: str, insert: object) -> object:
    def call(name: str, rows: list[dict[str, object]]) -> object:
        if name.endswith(suffix):
            raise KeyboardInterrupt("killed")
        return insert(name, rows)  # type: ignore[operator]

    return call


def test_a_failed_write_says_so_and_names_the_article(tmp_path: Path) -> None:
    store = milvus.MilvusStore.open(str(tmp_path / "store.db"), ENCODER)
    big = pending(3, paragraphs=2)
    chunk = big.chunks[0]
    huge = type(chunk)(chunk.paragraph, chunk.part, "س" * 40_000, chunk.text, chunk.spans)
    with pytest.raises(IndexWriteError, match="a3: not added"):
        store.write([type(big)(big.article, [huge], big.chunk_vectors[:1], big.span_vectors)])
    assert store.article("a3") is None
    store.close()


def test_the_encoder_and_the_format_are_checked_on_open(tmp_path: Path) -> None:
    path = str(tmp_path / "store.db")
    weighted = EncoderInfo(ENCODER.name, ENCODER.fingerprint, ENCODER.dim, ((ENCODER.dim, 1.0),))
    store = milvus.MilvusStore.open(path, weighted)
    store.write([pending(0)])
    store.close()
    # what it records is what `khabar migrate` opens the copy's other end with
    assert milvus.recorded_encoder_info(path) == weighted
    other = EncoderInfo("another-model", "1", ENCODER.dim)
    with pytest.raises(EncoderMismatchError, match="built with random-test-vectors"):
        milvus.MilvusStore.open(path, other)
    store = milvus.MilvusStore.open(path, ENCODER)
    store._set_meta({"format": "99"})
    store.close()
    with pytest.raises(IndexFormatError, match="newer khabar"):
        milvus.MilvusStore.open(path, ENCODER)
    # another prefix is another store in the same Milvus
    beside = milvus.MilvusStore.open(path, other, prefix="other_")
    assert beside.counts() == (0, 0, 0)
    beside.close()


@pytest.mark.milvus
def test_the_cli_on_a_milvus_lite_store(tmp_path: Path) -> None:
    """add, ask (with a filter), info, remove, repair, with --store FILE.db."""
    db = str(tmp_path / "archive.db")
    sample = Path(__file__).resolve().parents[1] / "src" / "khabar" / "samples"
    added = khabar("add", str(sample), "--store", db, "--quiet")
    assert added.returncode == 0, added.stderr
    asked = khabar("ask", "ماذا بحث بوتين مع الوزيرين السوريين؟", "--store", db, "--json")
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["answered"] and "بوتين" in answer["hits"][0]["text"]
    nowhere = khabar("ask", "بوتين", "--store", db, "--source", "nobody", "--json")
    assert json.loads(nowhere.stdout)["hits"] == []
    info = khabar("info", "--store", db)
    assert info.returncode == 0, info.stderr
    assert "milvus" in info.stdout and "articles:   1" in info.stdout
    article_id = answer["hits"][0]["article_id"]
    removed = khabar("remove", article_id, "--store", db)
    assert removed.returncode == 0, removed.stderr
    assert "articles:   0" in khabar("info", "--store", db).stdout
    repaired = khabar("repair", "--store", db)
    assert repaired.returncode == 0, repaired.stderr


@pytest.mark.parametrize(
    ("store", "message"),
    [
        ("http://127.0.0.1:9", "http://127.0.0.1:9: cannot reach Milvus"),
        ("mysql://db", "invalid value 'mysql://db' for store"),
    ],
)
def test_a_bad_store_is_one_clear_line(store: str, message: str) -> None:
    started = time.monotonic()
    result = khabar("ask", "سؤال", "--store", store)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    assert time.monotonic() - started < 60


def test_without_pymilvus_the_store_says_what_to_install(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['pymilvus'] = None\n"
        "from khabar.cli import main\n"
        f"sys.exit(main(['ask', 'x', '--store', {str(tmp_path / 'a.db')!r}]))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 2 and 'pip install "khabar[milvus]"' in result.stderr


ARTICLES_TO_KILL = 60


@pytest.mark.milvus
def test_kill_9_during_a_khabar_add_to_milvus_lite(tmp_path: Path) -> None:
    """A real `khabar add --store FILE.db` killed at random moments: the store opens, holds
    whole articles only, and an add run to the end completes it."""
    db = str(tmp_path / "store.db")
    articles = tmp_path / "articles"
    # enough that an add outlasts the kill times: starting takes some 7 s on a quiet
    # machine, and 8 articles were all added before a kill at 6-12 s could land
    write_articles(articles, ARTICLES_TO_KILL, seed=7)
    rng = random.Random(99)
    command = [sys.executable, "-m", "khabar.cli", "add", str(articles), "--store", db]
    killed = 0
    for _ in range(2):
        process = subprocess.Popen(
            [*command, "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(6.0, 12.0))
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            killed += 1
        process.wait()
        service = Khabar.open(tmp_path / "unused", store=db, create=False)
        store = service.store
        listed = service.articles()
        assert all(a.paragraphs == 6 for a in listed)  # whole articles only
        assert visible_chunks(store) == set(store.chunk_ids_of([a.id for a in listed]).tolist())
        service.close()
    assert killed  # else this tested nothing
    finished = subprocess.run([*command, "--quiet"], capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    service = Khabar.open(tmp_path / "unused", store=db, create=False)
    listed = service.articles()
    assert len(listed) == ARTICLES_TO_KILL and all(a.paragraphs == 6 for a in listed)
    assert service.ask("المحادثات مع الجانب التركي", k=1).hits
    service.close()


def test_migrate_copies_vectors_and_goes_on_after_an_interruption(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from khabar.store import SegmentStore
    from khabar.store import copy as copying

    source = SegmentStore.open(tmp_path / "index", ENCODER, lambda t: None, "test")  # type: ignore[arg-type, return-value]
    for i in range(5):
        source.write([pending(i, paragraphs=3)])
    target = milvus.MilvusStore.open(str(tmp_path / "copy.db"), ENCODER)
    monkeypatch.setattr(copying, "GROUP_CHUNKS", 1)  # a write per article

    def interrupt(done: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        copying.copy_articles(source, target, interrupt)
    assert [a.id for a in target.articles()] == ["a0", "a1"]
    report = copying.copy_articles(source, target)
    assert report.skipped == ["a0", "a1"] and report.copied == ["a2", "a3", "a4"]
    assert target.counts() == source.counts()
    for a in source.articles():  # the same rows, hashes and vectors
        there = target.article(a.id)
        assert there is not None and there.content_hash == a.content_hash
        mine, theirs = source.chunk_ids_of([a.id]), target.chunk_ids_of([a.id])
        assert np.allclose(source.chunk_vectors(mine)[1], target.chunk_vectors(theirs)[1])
        assert [c.text for c in source.chunks(mine.tolist()).values()] == [
            c.text for c in target.chunks(theirs.tolist()).values()
        ]
        spans = source.span_table(mine.tolist())
        assert np.allclose(
            source.span_vectors(spans[:, 0])[1],
            target.span_vectors(target.span_table(theirs.tolist())[:, 0])[1],
        )
    source.close()
    target.close()


def test_khabar_migrate_from_faiss_to_milvus_lite_and_back(
    sample_index: Path, tmp_path: Path
) -> None:
    db = str(tmp_path / "archive.db")
    moved = khabar("migrate", "--index", str(sample_index), "--to", db, "--quiet")
    assert moved.returncode == 0 and "copied 1 articles" in moved.stdout, moved.stderr
    again = khabar("migrate", "--index", str(sample_index), "--to", db, "--quiet")
    assert "copied 0 articles" in again.stdout and "1 were there already" in again.stdout
    back = tmp_path / "back"
    home = khabar("migrate", "--store", db, "--to", "faiss", "--to-index", str(back), "--quiet")
    assert home.returncode == 0, home.stderr
    question = "ماذا بحث بوتين مع الوزيرين السوريين؟"
    answers = [
        json.loads(khabar("ask", question, *where, "--json").stdout)["hits"][0]
        for where in (["--index", str(sample_index)], ["--store", db], ["--index", str(back)])
    ]
    assert answers[0]["text"] == answers[1]["text"] == answers[2]["text"]
