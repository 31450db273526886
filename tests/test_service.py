"""Integration tests: the bundled model, real FAISS and SQLite, through the service."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from khabar.errors import (
    ArticleNotFoundError,
    EmptyQuestionError,
    EncoderMismatchError,
    IndexFormatError,
    InputError,
)
from khabar.service import Khabar, sample_paths

ACCEPTANCE = [
    ("What did Putin say about Israel?", "وجدد بوتين موقف موسكو الرافض للانتهاكات الإسرائيلية"),
    ("ماذا قال بوتين عن إسرائيل؟", "وجدد بوتين موقف موسكو الرافض للانتهاكات الإسرائيلية"),
    ("Who did Putin receive in the Kremlin?", "استقبل الرئيس الروسي فلاديمير بوتين"),
    ("What was discussed about the economy and reconstruction?", "أما في الجانب الاقتصادي"),
]


@pytest.mark.parametrize(("question", "begins"), ACCEPTANCE)
def test_acceptance_top1(sample_service: Khabar, question: str, begins: str) -> None:
    hit = sample_service.ask(question, k=3).hits[0]
    assert hit.text.startswith(begins)


def test_acceptance_military_bases(sample_service: Khabar) -> None:
    hit = sample_service.ask("Are Russia's military bases in Syria safe?", k=3).hits[0]
    assert "قاعدتي روسيا العسكريتين" in hit.text
    # the marked sentence is the one that holds the answer
    assert "قاعدتي روسيا العسكريتين" in hit.sentence


def test_hit_carries_citation_section_and_context(sample_service: Khabar) -> None:
    answer = sample_service.ask("What did Putin say about Israel?", k=5)
    hit = answer.hits[0]
    assert hit.section == "الانتهاكات الإسرائيلية"
    assert hit.paragraph == 7
    assert hit.article_id == "putin-syria-ministers"
    assert hit.text[hit.sentence_start : hit.sentence_end] == hit.sentence
    assert hit.before is not None and hit.before.startswith("ونقلت عن الرئيس الروسي")
    assert hit.after is not None and hit.after.startswith("وكانت وكالة الأنباء")
    assert len(answer.hits) == 5
    assert [h.score for h in answer.hits] == sorted((h.score for h in answer.hits), reverse=True)
    # headings are never returned alone
    assert all(h.text not in ("الانتهاكات الإسرائيلية", "إعادة إعمار سوريا") for h in answer.hits)


def test_json_shape(sample_service: Khabar) -> None:
    payload = sample_service.ask("ماذا قال بوتين عن إسرائيل؟", k=2).to_json()
    assert set(payload) == {"question", "searched", "answered", "hits", "speaker"}
    assert payload["answered"] is True
    assert payload["speaker"] == {"asked": "بوتين", "quoted": True}
    hit = payload["hits"][0]  # type: ignore[index]
    assert hit["quotes"][0]["speaker"] == "الرئيس الروسي فلاديمير بوتين"
    assert hit["quotes"][0]["verb"] == "وجدد"
    quote = hit["quotes"][0]
    assert hit["text"][quote["start"] : quote["end"]] == quote["quote"]
    assert quote["quote"].startswith("موقف موسكو الرافض للانتهاكات الإسرائيلية")
    for key, kind in {
        "article_id": str,
        "title": str,
        "paragraph": int,
        "text": str,
        "sentence": str,
        "score": float,
        "quotes": list,
    }.items():
        assert isinstance(hit[key], kind), key
    assert hit["section"] == "الانتهاكات الإسرائيلية"
    json.dumps(payload)


def assert_every_row_has_vectors(service: Khabar) -> None:
    """Every chunk and span row of the index has its vector."""
    store = service.store
    chunk_ids = store.chunk_ids_of([a.id for a in store.articles()])
    assert np.array_equal(store.chunk_vectors(chunk_ids)[0], chunk_ids)
    span_ids = store.span_table(chunk_ids.tolist())[:, 0]
    assert np.array_equal(np.sort(store.span_vectors(span_ids)[0]), np.sort(span_ids))


def test_empty_question_is_refused(sample_service: Khabar) -> None:
    for question in ("", "   ", "؟?!"):
        with pytest.raises(EmptyQuestionError, match="empty"):
            sample_service.ask(question)


def test_add_remove_reopen_and_unchanged(fresh_index: Path, tmp_path: Path) -> None:
    service = Khabar.open(fresh_index)
    sample_counts = service.store.counts()
    article = tmp_path / "lavrov.txt"
    article.write_text(
        "لافروف في أنقرة\n"
        "التقى وزير الخارجية الروسي سيرغي لافروف نظيره التركي في أنقرة لبحث ملف الطاقة والغاز.\n"
        "وقال لافروف إن خط الغاز الجديد سيمر عبر الأراضي التركية بحلول العام المقبل.\n",
        encoding="utf-8",
    )
    report = service.add_paths([article])
    assert report.added == ["lavrov"]
    hits = service.ask("What did Lavrov say about the gas pipeline?", k=2).hits
    assert [h.article_id for h in hits] == ["lavrov", "lavrov"]
    assert any("خط الغاز" in h.sentence for h in hits)

    # re-adding the unchanged file does nothing
    assert service.add_paths([article]).unchanged == ["lavrov"]
    counts = service.store.counts()
    service.close()

    # reopen: same content, FAISS and SQLite agree
    service = Khabar.open(fresh_index)
    assert service.store.counts() == counts
    assert_every_row_has_vectors(service)

    # a changed file replaces its old paragraphs
    article.write_text(
        "وقال لافروف إن المحادثات حول القمح الأوكراني ستستأنف الشهر المقبل في إسطنبول.\n",
        encoding="utf-8",
    )
    assert service.add_paths([article]).updated == ["lavrov"]
    lavrov = next(a for a in service.articles() if a.id == "lavrov")
    assert lavrov.paragraphs == 1
    hit = service.ask("wheat talks", k=1).hits[0]
    assert "القمح" in hit.text

    service.remove("lavrov")
    assert all(a.id != "lavrov" for a in service.articles())
    assert service.store.counts() == sample_counts
    assert_every_row_has_vectors(service)
    with pytest.raises(ArticleNotFoundError, match="lavrov"):
        service.remove("lavrov")
    service.close()


def test_bad_files_change_nothing_and_do_not_stop_the_others(
    fresh_index: Path, tmp_path: Path
) -> None:
    service = Khabar.open(fresh_index)
    before = service.store.counts()
    files = {
        "empty.txt": b"",
        "binary.txt": b"\x00\x01\x02\x03" * 100,
        "latin1.txt": "résumé".encode("latin-1"),
        "notes.pdf": b"%PDF-1.4",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    good = tmp_path / "good.txt"
    good.write_text(
        "قال المتحدث إن المفاوضات مستمرة في جنيف حتى نهاية الأسبوع.\n", encoding="utf-8"
    )
    report = service.add_paths([tmp_path / n for n in files] + [good])
    assert report.added == ["good"]
    failed = dict(report.failed)
    assert set(failed) == {str(tmp_path / n) for n in files}
    for name, message in failed.items():
        assert name in message
    assert service.store.counts()[0] == before[0] + 1
    with pytest.raises(InputError):
        service.add_text("   ")
    assert service.store.counts()[0] == before[0] + 1
    service.close()


def test_pasted_text_is_searchable_at_once(fresh_index: Path) -> None:
    service = Khabar.open(fresh_index)
    report = service.add_text(
        "أعلنت وزارة الصحة افتتاح مستشفى جديد للأطفال في حلب يضم مئتي سرير.", title="مستشفى حلب"
    )
    assert report.added == ["مستشفى-حلب"]
    hit = service.ask("How many beds does the new children's hospital have?", k=1).hits[0]
    assert hit.title == "مستشفى حلب"
    service.close()


def test_index_written_by_another_encoder_is_refused(fresh_index: Path) -> None:
    manifest = json.loads((fresh_index / "manifest.json").read_text(encoding="utf-8"))
    manifest["encoder"] = "some/other-model"
    (fresh_index / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(EncoderMismatchError, match="some/other-model"):
        Khabar.open(fresh_index)


def segment_file(index: Path, kind: str) -> Path:
    """The (only) vector file of a kind's segment in a small index."""
    (path,) = (index / "segments").glob(f"{kind[0]}-*.f32.npy")
    return path


def test_newer_format_and_corrupt_vectors_are_refused(fresh_index: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(fresh_index, other)
    manifest = json.loads((fresh_index / "manifest.json").read_text(encoding="utf-8"))
    manifest["format_version"] = 99
    (fresh_index / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexFormatError, match="newer"):
        Khabar.open(fresh_index)
    path = segment_file(other, "chunks")
    path.write_bytes(b"garbage" * 10)
    with pytest.raises(IndexFormatError, match=path.name.split(".")[0]):
        Khabar.open(other)


def test_damaged_vectors_are_caught_by_checksum_and_rebuilt_on_repair(fresh_index: Path) -> None:
    question = "What did Putin say about Israel?"
    service = Khabar.open(fresh_index)
    before = [(h.chunk_id, round(h.score, 4)) for h in service.ask(question).hits]
    service.close()
    # One flipped byte inside the vector data: same size, so a cold open (which reads no
    # vector file whole) does not see it; repair reads every byte and does.
    spans = segment_file(fresh_index, "spans")
    data = bytearray(spans.read_bytes())
    data[len(data) // 2] ^= 0x40
    spans.write_bytes(bytes(data))
    chunks = segment_file(fresh_index, "chunks")
    chunks.write_bytes(chunks.read_bytes()[:-100])  # truncated: found on open
    with pytest.raises(IndexFormatError) as info:
        Khabar.open(fresh_index)
    message = str(info.value)
    assert chunks.name.split(".")[0] in message and "khabar repair" in message
    repaired = Khabar.open(fresh_index, rebuild_damaged=True)
    rebuilt = " ".join(repaired.store.rebuilt)
    assert chunks.name.split(".")[0] in rebuilt and spans.name.split(".")[0] in rebuilt
    assert "checksum" in rebuilt
    assert [(h.chunk_id, round(h.score, 4)) for h in repaired.ask(question).hits] == before
    repaired.close()
    assert not chunks.exists() and not spans.exists()  # the damaged files are gone
    reopened = Khabar.open(fresh_index, rebuild_damaged=True)  # the rebuilt ones are whole
    assert reopened.store.rebuilt == []
    reopened.close()


def test_same_file_name_in_two_folders_gets_two_ids(fresh_index: Path, tmp_path: Path) -> None:
    service = Khabar.open(fresh_index)
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "report.txt").write_text(
            f"تقرير من المجلد {folder} عن الانتخابات البلدية في المدينة.\n", encoding="utf-8"
        )
    report = service.add_paths([tmp_path / "a", tmp_path / "b"])
    assert len(report.added) == 2 and len(set(report.added)) == 2
    service.close()


def test_samples_ship_with_the_package() -> None:
    paths = sample_paths()
    assert [p.name for p in paths] == ["putin-syria-ministers.ar.txt"]


@pytest.mark.parametrize(
    "question", ["What is the boiling point of water?", "ما هي عاصمة البرازيل؟"]
)
def test_off_topic_question_is_marked_not_answered(sample_service: Khabar, question: str) -> None:
    answer = sample_service.ask(question, k=3)
    assert answer.answered is False
    assert len(answer.hits) == 3  # the closest passages are still shown
    assert answer.to_json()["answered"] is False


def test_on_topic_arabic_question_is_answered(sample_service: Khabar) -> None:
    assert sample_service.ask("ماذا قال بوتين عن إسرائيل؟").answered is True


def test_sync_mirrors_a_folder_and_reuses_unchanged_paragraphs(
    fresh_index: Path, tmp_path: Path
) -> None:
    service = Khabar.open(fresh_index)
    folder = tmp_path / "desk"
    (folder / "sub").mkdir(parents=True)
    first = folder / "energy.txt"
    first.write_text(
        "قال الوزير إن إمدادات الغاز ستزيد هذا الشتاء بنسبة عشرة في المئة.\n"
        "وأضاف أن محطة الكهرباء الجديدة ستعمل في الربيع المقبل.\n",
        encoding="utf-8",
    )
    second = folder / "sub" / "wheat.md"
    second.write_text("وصلت شحنة قمح جديدة إلى ميناء اللاذقية.\n", encoding="utf-8")
    report = service.sync(folder)
    assert sorted(report.added) == ["energy", "wheat"] and not report.removed

    # change one paragraph of one file, delete the other, add a third
    first.write_text(
        "قال الوزير إن إمدادات الغاز ستزيد هذا الشتاء بنسبة عشرة في المئة.\n"
        "وأضاف أن محطة الكهرباء الجديدة ستتأخر حتى الصيف.\n",
        encoding="utf-8",
    )
    second.unlink()
    (folder / "port.txt").write_text("افتتح ميناء طرطوس رصيفاً جديداً للحاويات.\n", encoding="utf-8")
    report = service.sync(folder)
    assert report.updated == ["energy"] and report.added == ["port"]
    assert report.removed == ["wheat"]
    assert report.reused_paragraphs == 1 and report.embedded_paragraphs == 2
    ids = {a.id for a in service.articles()}
    assert ids == {"putin-syria-ministers", "energy", "port"}  # the sample, outside, stays
    hit = service.ask("When will the new power station start?", k=1).hits[0]
    assert "الصيف" in hit.text
    assert service.sync(folder).unchanged == ["energy", "port"]
    service.close()


def test_reused_vectors_equal_fresh_ones(fresh_index: Path, tmp_path: Path) -> None:
    service = Khabar.open(fresh_index)
    path = tmp_path / "note.txt"
    para = "وجدد المتحدث موقف الحكومة الرافض لأي تدخل خارجي في الشؤون الداخلية."
    path.write_text(para + "\nفقرة ثانية عن الطقس الممطر.\n", encoding="utf-8")
    service.add_paths([path])
    path.write_text(para + "\nفقرة ثانية عن الطقس المشمس.\n", encoding="utf-8")
    assert service.add_paths([path]).reused_paragraphs == 1
    ids = service.store.chunk_ids_of([a.id for a in service.articles()])
    chunk = next(c for c in service.store.chunks(ids.tolist()).values() if c.text == para)
    stored = service.store.chunk_vectors(np.asarray([chunk.id]))[1][0]
    fresh = service.encoder.embed_passages([para])[0]
    assert np.allclose(stored, fresh, atol=1e-5)
    service.close()


def test_remove_by_url_and_same_file_by_another_path(fresh_index: Path, tmp_path: Path) -> None:
    service = Khabar.open(fresh_index)
    bulk = tmp_path / "feed.jsonl"
    bulk.write_text(
        json.dumps(
            {
                "text": "انعقدت القمة في بغداد بحضور القادة العرب.",
                "url": "https://news.example.org/summit",
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    [added] = service.add_paths([bulk]).added
    assert service.remove("https://news.example.org/summit").id == added
    # the same file named by two different paths is one article, not two
    note = tmp_path / "note.txt"
    note.write_text("قال المتحدث إن المفاوضات مستمرة في جنيف.\n", encoding="utf-8")
    service.add_paths([note])
    again = service.add_paths([tmp_path / "." / "note.txt"])
    assert again.unchanged == ["note"] and not again.added
    service.close()


def test_sync_keeps_the_article_of_a_file_that_became_unreadable(
    fresh_index: Path, tmp_path: Path
) -> None:
    service = Khabar.open(fresh_index)
    folder = tmp_path / "desk"
    folder.mkdir()
    note = folder / "note.txt"
    note.write_text("قال المتحدث إن المفاوضات مستمرة في جنيف.\n", encoding="utf-8")
    assert service.sync(folder).added == ["note"]
    note.write_bytes("résumé".encode("latin-1"))  # now not UTF-8
    report = service.sync(folder)
    assert report.failed and str(note) in report.failed[0][0]
    assert not report.removed and "note" in {a.id for a in service.articles()}
    service.close()


WHEAT = "أعلنت وزارة الزراعة بدء موسم حصاد القمح في الحسكة مع توقعات بإنتاج مليون طن."
WHEAT_2 = "أعلنت وزارة الزراعة في العراق بدء حصاد القمح في نينوى مع توقعات بإنتاج نصف مليون طن."


def test_filters_by_source_and_publication_day(fresh_index: Path) -> None:
    service = Khabar.open(fresh_index)
    service.add_text(WHEAT, title="حصاد الحسكة", source="Example News", published="2025-06-01")
    service.add_text(
        WHEAT_2, title="حصاد نينوى", source="وكالة الأنباء", published="2025-06-20T09:00:00+03:00"
    )
    question = "How much wheat is expected from the harvest?"

    def titles(**filters: str) -> list[str]:
        return [h.title for h in service.ask(question, k=5, **filters).hits]

    assert set(titles()[:2]) == {"حصاد الحسكة", "حصاد نينوى"}
    assert titles(source="example") == ["حصاد الحسكة"]  # contains, any case
    assert titles(source="وكالة") == ["حصاد نينوى"]
    assert titles(since="2025-06-02") == ["حصاد نينوى"]
    assert titles(until="2025-06-19") == ["حصاد الحسكة"]
    assert titles(since="2025-06-20", until="2025-06-20") == ["حصاد نينوى"]
    # The sample article has no date: a date filter leaves it out.
    assert "putin-syria-ministers" not in {
        h.article_id for h in service.ask(question, since="2000-01-01").hits
    }
    nothing = service.ask(question, source="nobody")
    assert nothing.hits == () and nothing.answered is False
    with pytest.raises(InputError, match="until: 'June' is not a date"):
        service.ask(question, until="June")
    with pytest.raises(InputError, match="is after until"):
        service.ask(question, since="2025-07-01", until="2025-06-01")
    assert {"Example News", "وكالة الأنباء"} <= set(service.sources())
    service.close()


def test_a_wide_filter_keeps_the_candidate_search(
    fresh_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filter over more chunks than EXHAUSTIVE_CHUNKS is applied inside the vector and
    lexical searches instead of scoring every chunk; the answer is the same."""
    service = Khabar.open(fresh_index)
    service.add_text(WHEAT, title="حصاد الحسكة", source="Example News", published="2025-06-01")
    question = "How much wheat is expected from the harvest?"
    exact = service.ask(question, k=3, source="example")
    monkeypatch.setattr("khabar.search.EXHAUSTIVE_CHUNKS", 0)
    wide = service.ask(question, k=3, source="example")
    assert [h.chunk_id for h in wide.hits] == [h.chunk_id for h in exact.hits]
    service.close()


@pytest.mark.parametrize(
    "question", ["ماذا قال بوتين عن إسرائيل؟", "Who did Putin receive in the Kremlin?"]
)
def test_the_legs_on_worker_threads_rank_as_in_one_thread(
    sample_service: Khabar, monkeypatch: pytest.MonkeyPatch, question: str
) -> None:
    import khabar.search as search

    def ranked() -> list[tuple[int, float, float]]:
        answer = search.search(
            sample_service.store,
            sample_service.encoder.embed_queries([question])[0],
            10,
            question=question,
        )
        return [(s.chunk.id, round(s.score, 6), round(s.lexical_score, 6)) for s in answer]

    alone = ranked()
    monkeypatch.setattr(search, "PARALLEL_CHUNKS", 0)  # a "large" index: legs on threads
    assert ranked() == alone
    if question.startswith("ماذا"):  # an Arabic question: the lexical leg took part
        assert any(lex > 0 for _, _, lex in alone)
