"""`khabar eval` on real XQuAD data (a slice by default; the whole set is `slow`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from khabar.errors import InputError
from khabar.evaluate import EvalRun, GoldAnswer, load_eval_set, marks_answer, parse_range

DATA = Path(__file__).resolve().parents[1] / "data" / "xquad"
KEYS = {
    "questions",
    "n_questions",
    "n_passages",
    "recall@1",
    "recall@5",
    "recall@10",
    "mrr@10",
    "sentence@1",
    "sentence_questions",
    "passages_per_s",
    "query_ms_p50",
    "query_ms_p95",
}


def khabar_eval(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "khabar.cli", "eval", *args],
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=cwd,
    )


def test_xquad_ships_with_licence_and_attribution() -> None:
    assert (DATA / "LICENSE-CC-BY-SA-4.0.txt").exists()
    assert "XQuAD" in (DATA / "README.md").read_text(encoding="utf-8")
    ar = load_eval_set(DATA / "xquad.ar.json")
    en = load_eval_set(DATA / "xquad.ar.json", DATA / "xquad.en.json")
    assert len(ar.passages) == 240 and len(ar.questions) == 1190
    assert [q.id for q in en.questions] == [q.id for q in ar.questions]
    assert en.questions[0].text != ar.questions[0].text
    for language in ("de", "hi"):  # XQuAD's German and Hindi, the same questions
        other = load_eval_set(DATA / "xquad.ar.json", DATA / f"xquad.{language}.json")
        assert [q.id for q in other.questions] == [q.id for q in ar.questions]


def test_eval_cross_lingual_slice_json(tmp_path: Path) -> None:
    """English and Hindi questions over one index of Arabic passages: a JSON line each."""
    result = khabar_eval(
        str(DATA / "xquad.ar.json"),
        "--questions",
        str(DATA / "xquad.en.json"),
        str(DATA / "xquad.hi.json"),
        "--articles",
        "0:1",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    english, hindi = (json.loads(line) for line in result.stdout.splitlines())
    assert english["questions"].endswith("xquad.en.json")
    assert hindi["questions"].endswith("xquad.hi.json")
    assert english["passages_per_s"] == hindi["passages_per_s"]  # one index for both
    for metrics in (english, hindi):
        assert set(metrics) >= KEYS
        assert metrics["n_passages"] == 5 and metrics["n_questions"] > 20
        assert 0.5 <= metrics["recall@1"] <= metrics["recall@5"] <= metrics["recall@10"] <= 1.0
        assert metrics["recall@1"] <= metrics["mrr@10"] <= 1.0
        assert metrics["query_ms_p95"] >= metrics["query_ms_p50"] > 0
        # every question ranked its passage first is judged on its marked sentence
        judged = round(metrics["recall@1"] * metrics["n_questions"])
        assert metrics["sentence_questions"] == judged
        assert 0.4 <= metrics["sentence@1"] <= 1.0
    assert english["passages_per_s"] > 0


def test_eval_plain_output_and_user_index_untouched(tmp_path: Path) -> None:
    result = khabar_eval(str(DATA / "xquad.ar.json"), "--articles", "1:2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "recall@1" in result.stdout and "passages/s" in result.stdout
    assert list(tmp_path.iterdir()) == []  # the index was temporary, ./index never created


def test_eval_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"no": "data"}', encoding="utf-8")
    result = khabar_eval(str(bad))
    assert result.returncode == 2 and "not a SQuAD-format JSON file" in result.stderr
    with pytest.raises(InputError, match="START:END"):
        parse_range("a:b")


def test_gold_answers_point_into_their_passage() -> None:
    for name in ("xquad.ar.json", "xquad.en.json"):
        eval_set = load_eval_set(DATA / name)
        for q in eval_set.questions:
            assert q.answers and q.passage
            for a in q.answers:
                assert q.passage[a.start : a.start + len(a.text)] == a.text


def test_a_marked_sentence_holds_the_answer_by_its_start() -> None:
    passage = "Cairo is big. Giza has the pyramids. Cairo is big."
    pyramids = [GoldAnswer(passage.index("pyramids"), "pyramids")]
    assert marks_answer(passage, "Giza has the pyramids.", pyramids)
    assert not marks_answer(passage, "Cairo is big.", pyramids)
    # the answer's start, wherever the sentence occurs (here twice)
    assert marks_answer(passage, "Cairo is big.", [GoldAnswer(passage.rindex("big"), "big")])
    assert not marks_answer(passage, "", pyramids)
    # a sentence not found verbatim (a long paragraph joined again) counts by its text
    assert marks_answer(passage, "Giza  has the pyramids.", [GoldAnswer(0, "pyramids")])
    assert not marks_answer(passage, "Giza  has the tombs.", pyramids)


def test_metrics_arithmetic() -> None:
    run = EvalRun(
        ranks=[1, 2, 0, 5],
        top_scores=[0.9] * 4,
        query_ms=[10, 20, 30, 40],
        k=10,
        n_passages=7,
        passages_per_s=3.0,
    )
    m = run.metrics()
    assert m["sentence@1"] is None and m["sentence_questions"] == 0
    run.marked = [True, None, None, None, False, True, True]
    assert run.metrics()["sentence@1"] == 0.75 and run.metrics()["sentence_questions"] == 4
    assert m["recall@1"] == 0.25 and m["recall@5"] == 0.75 and m["recall@10"] == 0.75
    assert m["mrr@10"] == round((1 + 0.5 + 0 + 0.2) / 4, 4)
    assert m["query_ms_p50"] == 25.0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("questions", "floor_r1", "floor_mrr", "floor_sentence"),
    # the quality issue's goals, with the default settings (the second model on), and the
    # marked sentence as measured on 2026-12-01 (0.769 and 0.798), less a point
    [("xquad.en.json", 0.85, 0.90, 0.76), (None, 0.93, 0.95, 0.79)],
)
def test_whole_xquad_quality(
    questions: str | None, floor_r1: float, floor_mrr: float, floor_sentence: float
) -> None:
    args = [str(DATA / "xquad.ar.json"), "--json", "--quiet"]
    if questions:
        args += ["--questions", str(DATA / questions)]
    metrics = json.loads(khabar_eval(*args).stdout)
    assert metrics["n_questions"] == 1190 and metrics["n_passages"] == 240
    assert metrics["recall@1"] >= floor_r1
    assert metrics["mrr@10"] >= floor_mrr
    assert metrics["sentence@1"] >= floor_sentence
