"""Scaling out on a real Milvus server: run by tests/test_milvus_server.py inside its
isolated network namespace (the server is started by tests/conftest.py), never alone.

- two `khabar serve` processes on different ports over one Milvus: an article added
  through one is answered by the other;
- `khabar eval`'s measure on an XQuAD article is the same on Milvus as on FAISS;
- a wrong token is one clear line (the server requires one)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from khabar.evaluate import evaluate_sets, load_eval_set, parse_range
from khabar.store.opening import recorded_encoder
from tests.conftest import MILVUS_TOKEN, free_port

XQUAD = Path(__file__).resolve().parents[1] / "data" / "xquad"
ARTICLE = (
    "افتتحت وزارة الصحة المغربية يوم الاثنين مستشفى جامعيا جديدا في مدينة فاس.\n\n"
    "ويضم المستشفى الجديد 250 سريرا وأربع غرف للعمليات، وكلف بناؤه نحو 600 مليون درهم.\n\n"
    "وقال وزير الصحة إن المستشفى سيخدم أكثر من مليون نسمة في جهة فاس مكناس."
)
TOKEN = "scale-out-test-token"


@pytest.fixture
def uri(milvus_server: str | None) -> str:
    if milvus_server is None:
        pytest.skip("run by tests/test_milvus_server.py, inside its isolated network")
    return milvus_server


def _serve(uri: str, port: int, prefix: str, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KHABAR_STORE": uri,
        "KHABAR_MILVUS_COLLECTION_PREFIX": prefix,
        "KHABAR_API_TOKEN": TOKEN,
        "KHABAR_MILVUS_TOKEN": MILVUS_TOKEN,
    }
    command = [sys.executable, "-m", "khabar.cli", "serve", "--host", "127.0.0.1"]
    with log.open("wb") as out:
        return subprocess.Popen(
            [*command, "--port", str(port), *extra], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        try:
            if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise AssertionError("not up in 240 s: " + log.read_text(errors="replace")[-3000:])


@pytest.fixture
def two_servers(uri: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    ports = free_port(), free_port()
    logs = [tmp_path / f"serve-{p}.log" for p in ports]
    # the first makes the store, with the bundled sample article; the second opens it
    first = _serve(uri, ports[0], "scale_", logs[0], "--samples")
    processes = [first]
    try:
        deadline = time.monotonic() + 120
        while recorded_encoder(Path("unused"), uri, MILVUS_TOKEN, "scale_") is None:
            assert first.poll() is None and time.monotonic() < deadline, logs[0].read_text()
            time.sleep(0.5)
        processes.append(_serve(uri, ports[1], "scale_", logs[1]))
        _wait_healthy(f"http://127.0.0.1:{ports[0]}", first, logs[0])
        _wait_healthy(f"http://127.0.0.1:{ports[1]}", processes[1], logs[1])
        yield f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def test_server_an_article_added_through_one_khabar_is_answered_by_another(
    two_servers: tuple[str, str],
) -> None:
    one, other = two_servers
    added = httpx.post(
        one + "/api/articles",
        json={"text": ARTICLE, "title": "مستشفى جديد في فاس", "id": "fez-hospital"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=300,
    )
    assert added.status_code == 201 and added.json()["status"] == "added", added.text
    question = {"question": "How many beds does the new hospital in Fez have?", "k": 3}
    deadline = time.monotonic() + 10  # the other server reads with Session consistency
    while True:
        hits = httpx.post(other + "/api/ask", json=question, timeout=60).json()["hits"]
        if (hits and hits[0]["article_id"] == "fez-hospital") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert hits[0]["article_id"] == "fez-hospital", hits
    assert "250" in hits[0]["sentence"], hits[0]
    listed = {a["id"] for a in httpx.get(other + "/api/articles", timeout=30).json()["articles"]}
    assert "fez-hospital" in listed and len(listed) == 2  # and the sample
    # removed through the other: no longer answered by the first
    removed = httpx.delete(
        other + "/api/articles/fez-hospital",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )
    assert removed.status_code == 200, removed.text
    deadline = time.monotonic() + 10
    while True:
        hits = httpx.post(one + "/api/ask", json=question, timeout=60).json()["hits"]
        if not any(h["article_id"] == "fez-hospital" for h in hits):
            break
        assert time.monotonic() < deadline, "the removed article is still answered"
        time.sleep(0.5)


def test_server_eval_gives_the_same_answers_as_faiss(uri: str) -> None:
    chosen = parse_range("0:1")  # the whole of XQuAD: README, "Scaling out"
    sets = [
        load_eval_set(XQUAD / "xquad.ar.json", XQUAD / f"xquad.{lang}.json", chosen)
        for lang in ("en", "ar")
    ]
    on_faiss = evaluate_sets(sets)
    on_milvus = evaluate_sets(sets, store=uri, token=MILVUS_TOKEN)
    for faiss_run, milvus_run in zip(on_faiss, on_milvus, strict=True):
        assert len(faiss_run.ranks) == len(milvus_run.ranks) > 30
        differ = sum(a != b for a, b in zip(faiss_run.ranks, milvus_run.ranks, strict=True))
        assert differ <= 1, (faiss_run.ranks, milvus_run.ranks)  # the gold passage's ranks
        a, b = faiss_run.metrics(), milvus_run.metrics()
        assert abs(a["mrr@10"] - b["mrr@10"]) <= 0.02, (a, b)


def test_server_a_wrong_token_is_one_clear_line(uri: str) -> None:
    env = {**os.environ, "KHABAR_STORE": uri, "KHABAR_MILVUS_TOKEN": "root:wrong"}
    result = subprocess.run(
        [sys.executable, "-m", "khabar.cli", "info"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"khabar: error: {uri}: cannot reach Milvus"), result.stderr
    assert "milvus_token" in result.stderr and len(result.stderr.splitlines()) == 1
