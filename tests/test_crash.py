"""Crash safety: `kill -9` of a real `khabar add`, and of a writer that merges and seals
segments, at random moments leaves an index that opens, holds whole articles only, and whose
segments, FTS5 postings, row counts and SQLite rows agree."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from khabar.embed.base import Encoder
from khabar.service import Khabar

LINES = [
    "قال وزير الخارجية إن المحادثات مع الجانب التركي ستستأنف الأسبوع المقبل في أنقرة.",
    "وأضاف أن ملف المياه والطاقة سيكون على رأس جدول الأعمال، إلى جانب التجارة والحدود.",
    "وأعلنت وزارة الاقتصاد عن خطة لدعم المشاريع الصغيرة في المحافظات الشمالية والشرقية.",
    "وشهدت الأسواق ارتفاعاً في أسعار المواد الغذائية، بحسب تقرير صدر عن غرفة التجارة.",
]


def write_articles(folder: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        lines = [f"{rng.choice(LINES)} ({seed}-{i}-{j})" for j in range(6)]
        (folder / f"article-{seed}-{i}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def add_command(articles: Path, index: Path) -> list[str]:
    """`khabar add` of a folder, in a new process."""
    return [
        sys.executable,
        "-m",
        "khabar.cli",
        "add",
        str(articles),
        "--index",
        str(index),
        "--quiet",
    ]


# The encoder of the first check, kept for the next ones (loading it is most of a check)
_ENCODER: list[Encoder] = []


def check_consistent(index: Path) -> int:
    # opening repairs whatever the crash left
    service = Khabar.open(index, encoder=_ENCODER[0] if _ENCODER else None)
    _ENCODER[:] = [service.encoder]
    try:
        store = service.store
        db = store.db
        chunk_ids = np.asarray(db.chunk_ids(), dtype=np.int64)
        span_ids = np.asarray(db.span_ids(), dtype=np.int64)
        assert db.counts() == db.recount()  # the kept counts moved with the rows
        assert db.term_count() == db.recount_terms()
        # every row has its vector (vectors of removed rows may wait for a merge)
        assert np.array_equal(store.chunk_vectors(chunk_ids)[0], chunk_ids)
        assert np.array_equal(store.span_vectors(span_ids)[0], span_ids)
        # the lexical index holds exactly the chunks
        db.conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('integrity-check')")
        fts = [r[0] for r in db.conn.execute("SELECT rowid FROM chunks_fts ORDER BY rowid")]
        assert np.array_equal(np.asarray(fts, dtype=np.int64), chunk_ids)
        # no segment file that the database does not name (a write cut short leaves some;
        # opening for writing removes them)
        named = {r["name"] for r in store.describe()["segments"]}
        on_disk = {p.name.split(".")[0] for p in (index / "segments").glob("*")}
        assert on_disk <= named
        for article in service.articles():
            assert article.paragraphs == 6, article.id  # whole articles only
        if len(chunk_ids):
            assert service.ask("المحادثات مع الجانب التركي", k=1).hits
        assert not list(index.glob(".*.tmp")) and not list(index.glob("segments/.*.tmp"))
        return len(service.articles())
    finally:
        service.close()


def kill_runs(tmp_path: Path, runs: int) -> None:
    index = tmp_path / "index"
    rng = random.Random(1234)
    counts = []
    for run in range(runs):
        articles = tmp_path / f"batch-{run}"
        write_articles(articles, 8, seed=run)
        process = subprocess.Popen(
            add_command(articles, index),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 6.0))
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait()
        counts.append(check_consistent(index))
        shutil.rmtree(articles)
    assert counts == sorted(counts)  # nothing that landed was lost by a later crash


def test_kill_9_during_add_a_few_times(tmp_path: Path) -> None:
    kill_runs(tmp_path, 4)


@pytest.mark.slow
def test_kill_9_during_add_fifty_times(tmp_path: Path) -> None:
    kill_runs(tmp_path, 50)


def add_limited(
    articles: Path, index: Path, max_file_bytes: int | None
) -> subprocess.CompletedProcess[str]:
    """`khabar add` in a process that may not grow any file past ``max_file_bytes``
    (RLIMIT_FSIZE: writes beyond it fail with EFBIG, as on a full disk)."""

    def limit() -> None:
        import resource

        if max_file_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    return subprocess.run(
        add_command(articles, index),
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=limit,
    )


def file_sizes(index: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in index.rglob("*") if p.is_file()}


def test_a_write_that_fails_leaves_the_previous_index(tmp_path: Path) -> None:
    """Disk full, simulated with a file size limit that cuts the write at different files:
    a clear error, exit 2, and the previous index intact and consistent."""
    base = tmp_path / "base"
    write_articles(tmp_path / "first", 2, seed=1)
    assert add_limited(tmp_path / "first", base, None).returncode == 0
    write_articles(tmp_path / "second", 12, seed=2)
    grown = tmp_path / "grown"
    shutil.copytree(base, grown)
    assert add_limited(tmp_path / "second", grown, None).returncode == 0
    before, after = file_sizes(base), file_sizes(grown)
    growing = sorted(size for name, size in after.items() if size > before.get(name, 0))
    old_max = max(before.values())
    limits = sorted({old_max + 512, *(s - 1 for s in growing if s - 1 > old_max)})
    assert len(limits) >= 2, (before, after)
    for limit in limits:
        index = tmp_path / f"limit-{limit}"
        shutil.copytree(base, index)
        result = add_limited(tmp_path / "second", index, limit)
        assert result.returncode == 2, (limit, result.stdout, result.stderr)
        assert "cannot write the index" in result.stderr and "nothing was changed" in result.stderr
        assert "Traceback" not in result.stderr
        assert check_consistent(index) == 2  # the previous state, repaired if need be
    assert add_limited(tmp_path / "second", index, None).returncode == 0  # space freed
    assert check_consistent(index) == 14


# A writer that adds small articles and compacts every few writes, forever: segments are
# written, merged, sealed (a small seal size, so that codecs are trained and IVF lists
# merged too) and their old files deleted, until it is killed. Its vectors are random (this
# is about the store's files, not about retrieval).
WRITER = """
import hashlib, sys
import numpy as np
from pathlib import Path
from khabar.chunk import chunk_article
from khabar.ingest import article_from_text
from khabar.store import EncoderInfo, PendingArticle, SegmentStore

def embed(texts):
    rows = [np.frombuffer(hashlib.sha512(t.encode()).digest() * 2, dtype=np.uint8)[:32]
            for t in texts]
    v = np.asarray(rows, dtype=np.float32).reshape(len(texts), 32) - 127.5
    return v / np.linalg.norm(v, axis=1, keepdims=True)

store = SegmentStore.open(Path(sys.argv[1]), EncoderInfo("test", "0", 32), embed, "t",
                          seal_vectors=40)
start = 1 + max((int(a.id[1:]) for a in store.articles()), default=-1)
print("ready", flush=True)  # imported and open: the kill lands in the writes, not in imports
for i in range(start, start + 10_000):
    text = "\\n".join(f"قال المتحدث {i} إن الاجتماع {j} سيعقد غدا. وأضاف أن الوفد سيصل."
                      for j in range(4))
    article = article_from_text(text, article_id=f"a{i}", title=f"t{i}", source="s")
    chunks = chunk_article(article, 1200)
    spans = [c.text[s.start:s.end] for c in chunks for s in c.spans]
    store.write([PendingArticle(article, chunks, embed([c.embed_text for c in chunks]),
                                embed(spans))])
    if i % 7 == 3:
        store.write([], remove=[f"a{i - 2}"])
    if i % 5 == 4:
        store.compact()
"""


def check_store(index: Path) -> int:
    """Open the store for writing (which removes what a killed writer left) and check it;
    returns the number of the newest article (the writer removes older ones only)."""
    from khabar.store import EncoderInfo, SegmentStore

    store = SegmentStore.open(index, EncoderInfo("test", "0", 32), lambda t: [], "t")
    try:
        db = store.db
        assert db.counts() == db.recount() and db.term_count() == db.recount_terms()
        chunk_ids = np.asarray(db.chunk_ids(), dtype=np.int64)
        span_ids = np.asarray(db.span_ids(), dtype=np.int64)
        assert np.array_equal(store.chunk_vectors(chunk_ids)[0], chunk_ids)
        assert np.array_equal(store.span_vectors(span_ids)[0], span_ids)
        db.conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('integrity-check')")
        named = {r["name"] for r in store.describe()["segments"]}
        assert {p.name.split(".")[0] for p in (index / "segments").glob("*")} <= named
        for article in store.articles():
            assert article.paragraphs == 4, article.id  # whole articles only
        if len(chunk_ids):
            query = store.chunk_vectors(chunk_ids[-1:])[1][0]
            assert store.search_chunks(query, 1)[0][0] == chunk_ids[-1]
        return max((int(a.id[1:]) for a in store.articles()), default=-1)
    finally:
        store.close()


def merge_kill_runs(tmp_path: Path, runs: int) -> None:
    index = tmp_path / "index"
    rng = random.Random(99)
    counts = []
    for _ in range(runs):
        process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(index)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready", "the writer did not start"
        time.sleep(rng.uniform(1.0, 4.0))
        assert process.poll() is None, "the writer stopped before it was killed"
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        counts.append(check_store(index))
    assert counts == sorted(counts)  # nothing that landed was lost by a later crash
    layouts = {seg["layout"] for seg in _describe(index)["segments"]}
    assert "ivfpq-sq8" in layouts  # the runs reached sealed segments (and their merges)


def _describe(index: Path) -> dict[str, object]:
    from khabar.store import EncoderInfo, SegmentStore

    store = SegmentStore.open(index, EncoderInfo("test", "0", 32), lambda t: [], "t")
    try:
        return store.describe()
    finally:
        store.close()


def test_kill_9_during_writes_and_merges_a_few_times(tmp_path: Path) -> None:
    merge_kill_runs(tmp_path, 4)


@pytest.mark.slow
def test_kill_9_during_writes_and_merges_fifty_times(tmp_path: Path) -> None:
    merge_kill_runs(tmp_path, 50)
