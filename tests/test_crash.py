"""Crash safety: `kill -9` of a real `khabar add` at random moments leaves an index that opens,
holds whole articles only, and whose FAISS, BM25 and SQLite ids agree."""

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


def check_consistent(index: Path) -> int:
    service = Khabar.open(index)  # opening repairs whatever the crash left
    try:
        db = service.store.db
        chunk_ids = np.asarray(db.chunk_ids(), dtype=np.int64)
        span_ids = np.asarray(db.span_ids(), dtype=np.int64)
        assert np.array_equal(np.sort(service.store.chunk_index.ids()), chunk_ids)
        assert np.array_equal(np.sort(service.store.span_index.ids()), span_ids)
        assert service.store.lexical is not None
        assert np.array_equal(np.sort(service.store.lexical.ids), chunk_ids)
        for article in service.articles():
            assert article.paragraphs == 6, article.id  # whole articles only
        if len(chunk_ids):
            assert service.ask("المحادثات مع الجانب التركي", k=1).hits
        assert not list(index.glob(".lexical.*")) and not list(index.glob(".*.tmp"))
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
            [
                sys.executable,
                "-m",
                "khabar.cli",
                "add",
                str(articles),
                "--index",
                str(index),
                "--quiet",
            ],
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
