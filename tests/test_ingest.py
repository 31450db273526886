"""Unit tests: readers and bad input (no index involved)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from khabar.errors import InputError, UnsupportedSourceError
from khabar.ingest import collect_files, read_path

PARA = "وجدد بوتين موقف موسكو الرافض للانتهاكات الإسرائيلية المتكررة للأراضي السورية."


def test_plain_text_with_title_line(tmp_path: Path) -> None:
    path = tmp_path / "news-1.txt"
    path.write_text(f"عنوان الخبر\n{PARA}\n", encoding="utf-8")
    [article] = read_path(path)
    assert article.title == "عنوان الخبر"
    assert article.text == PARA
    assert article.id == "news-1"
    assert article.source == "news-1.txt" and article.origin == str(path.resolve())


def test_utf8_bom_and_utf16_are_read(tmp_path: Path) -> None:
    bom = tmp_path / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbf" + PARA.encode("utf-8"))
    utf16 = tmp_path / "utf16.txt"
    utf16.write_bytes(PARA.encode("utf-16"))
    assert read_path(bom)[0].text == PARA
    assert read_path(utf16)[0].text == PARA


def test_markdown_title(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text(f"# Putin and Syria\n\n## الانتهاكات\n\n{PARA}\n", encoding="utf-8")
    [article] = read_path(path)
    assert article.title == "Putin and Syria"
    assert article.text.startswith("## الانتهاكات")


def test_html_main_text_without_scripts(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>t</title><meta property='og:title' content='عنوان الصفحة'>"
        "<meta property='article:published_time' content='2025-03-04'>"
        "<script>var secret = 'SCRIPT_TEXT';</script><style>.x{color:red}</style></head>"
        f"<body><nav>القائمة</nav><article><h1>عنوان الصفحة</h1><p>{PARA}</p>"
        f"<p>{PARA.replace('بوتين', 'لافروف')}</p></article></body></html>",
        encoding="utf-8",
    )
    [article] = read_path(path)
    assert article.title == "عنوان الصفحة"
    assert PARA in article.text
    assert "SCRIPT_TEXT" not in article.text and "color:red" not in article.text
    assert article.published == "2025-03-04"


def test_jsonl_articles_and_ids(tmp_path: Path) -> None:
    path = tmp_path / "bulk.jsonl"
    lines = [
        {"text": PARA, "title": "one", "id": "a-1", "published": "2025-01-01"},
        {"text": PARA + " ثانية", "url": "https://example.org/x"},
        {"text": PARA + " ثالثة", "source": "Agency"},
    ]
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8")
    articles = read_path(path)
    assert next(a.id for a in articles) == "a-1"
    assert articles[1].id.startswith("url-") and articles[1].url == "https://example.org/x"
    assert articles[2].id == "bulk-3" and articles[2].source == "Agency"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"  \n\n", "empty"),
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("latin1.txt", "café à la crème".encode("cp1252"), "not UTF-8"),
        ("bad.jsonl", b'{"text": "ok"}\n{not json}\n', "line 2"),
        ("notext.jsonl", b'{"title": "no text"}\n', "'text'"),
        ("headings.txt", "عنوان\nعنوان آخر".encode(), "no paragraph"),
    ],
)
def test_bad_input_names_the_file(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError) as info:
        read_path(path)
    assert str(path) in str(info.value)
    assert reason in str(info.value)


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "article.odt"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(UnsupportedSourceError, match=r"article\.odt.*unsupported"):
        read_path(path)


def test_file_over_the_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text(PARA * 100, encoding="utf-8")
    with pytest.raises(InputError, match="over the limit"):
        read_path(path, max_bytes=1000)


def test_collect_files_recurses_and_skips_other_types(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.txt").write_text(PARA, encoding="utf-8")
    (tmp_path / "a" / "y.md").write_text(PARA, encoding="utf-8")
    (tmp_path / "a" / "z.png").write_bytes(b"\x89PNG")
    (tmp_path / "a" / ".hidden").mkdir()
    (tmp_path / "a" / ".hidden" / "h.txt").write_text(PARA, encoding="utf-8")
    found = collect_files([tmp_path / "a"])
    assert [p.name for p in found] == ["x.txt", "y.md"]


def test_public_source_hides_server_folders() -> None:
    from khabar.records import public_source

    assert public_source("/home/desk/wire/a.txt") == "a.txt"
    assert public_source("/tmp/gradio/1f2e3d/report.docx") == "report.docx"
    assert public_source("src/khabar/samples/putin-syria-ministers.ar.txt") == (
        "putin-syria-ministers.ar.txt"
    )
    for kept in ("Reuters", "aljazeera.net", "Reuters/AP", "https://example.org/a", "وكالة سانا"):
        assert public_source(kept) == kept


def test_the_shipped_sample_has_a_real_title() -> None:
    from khabar.samples import sample_paths

    [article] = read_path(sample_paths()[0])
    assert article.title == "بوتين يبحث مع وزيري الخارجية والدفاع السوريين تعزيز التعاون العسكري"
    assert article.id == "putin-syria-ministers"  # ids come from the file name, as before
    assert article.text.startswith("استقبل الرئيس الروسي فلاديمير بوتين")
