"""Follow-up questions through the service, the HTTP API, the MCP tool, the chat UI's
endpoint and `khabar chat`: the real models, FAISS and SQLite, over the sample article and a
few XQuAD passages (their retrieval quality is measured by bench/followups.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from khabar.errors import EmptyQuestionError, InputError
from khabar.followup import MAX_HISTORY
from khabar.records import Article
from khabar.service import Khabar

XQUAD = Path(__file__).resolve().parents[1] / "data" / "xquad" / "xquad.ar.json"
PASSAGES = {"p003-00": (3, 0), "p012-00": (12, 0), "p001-00": (1, 0), "p006-00": (6, 0)}


@pytest.fixture(scope="module")
def conversation_index(sample_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample index and four Arabic XQuAD passages (Tesla, oxygen, Warsaw, Luther)."""
    folder = tmp_path_factory.mktemp("conversation") / "index"
    shutil.copytree(sample_index, folder)
    data = json.loads(XQUAD.read_text(encoding="utf-8"))["data"]
    articles = [
        Article(id=pid, title=data[a]["title"], text=data[a]["paragraphs"][p]["context"].strip())
        for pid, (a, p) in PASSAGES.items()
    ]
    service = Khabar.open(folder)
    assert service.add_articles(articles).ok
    service.close()
    return folder


@pytest.fixture(scope="module")
def service(conversation_index: Path) -> Iterator[Khabar]:
    service = Khabar.open(conversation_index)
    yield service
    service.close()


@pytest.mark.parametrize(
    ("history", "question", "article"),
    [
        (["Where did Tesla live for much of his life?"], "What year did he die?", "p003-00"),
        (["When did Carl Wilhelm Scheele discover oxygen?"], "And Priestley?", "p012-00"),
        (["متى اكتشف كارل فيلهلم شيل الأكسجين؟"], "ومن أول من أطلق عليه هذا الاسم؟", "p012-00"),
        (["Where was the Summer Theatre located?"], "And how long was it in operation?", "p001-00"),
    ],
)
def test_a_follow_up_is_answered_from_the_article_of_the_conversation(
    service: Khabar, history: list[str], question: str, article: str
) -> None:
    answer = service.ask(question, k=3, history=history)
    assert answer.hits[0].article_id == article
    assert answer.searched == f"{history[0]} {question}"
    assert answer.to_json()["searched"] == answer.searched
    assert answer.question == question
    ranked = service.rank_conversation(question, history, 3)
    assert [r.chunk.id for r in ranked] == [h.chunk_id for h in answer.hits]
    left_out = service.rank_conversation(question, history, 3, exclude=frozenset({article}))
    assert article not in {r.chunk.article_id for r in left_out}


def test_a_follow_up_in_the_same_article_asks_about_its_own_paragraph(service: Khabar) -> None:
    answer = service.ask(
        "What did he say about Israel?", history=["Who did Putin receive in the Kremlin?"]
    )
    assert answer.hits[0].text.startswith("وجدد بوتين موقف موسكو الرافض للانتهاكات الإسرائيلية")
    assert answer.answered  # the threshold is met by the follow-up's own words


def test_a_new_topic_is_answered_as_without_the_conversation(service: Khabar) -> None:
    question = "What did Putin say about Israel?"
    alone = service.ask(question, k=3)
    after = service.ask(question, k=3, history=["Where did Tesla live for much of his life?"])
    assert after.searched == "" and after.to_json()["searched"] == question
    assert [(h.chunk_id, round(h.score, 5)) for h in after.hits] == [
        (h.chunk_id, round(h.score, 5)) for h in alone.hits
    ]


def test_a_bad_history_is_a_clear_error(service: Khabar) -> None:
    with pytest.raises(InputError, match="the limit is 10"):
        service.ask("And Lavrov?", history=["What did Putin say?"] * (MAX_HISTORY + 1))
    with pytest.raises(InputError, match="an earlier question is 2001 characters"):
        service.ask("And Lavrov?", history=["x" * 2001])
    with pytest.raises(EmptyQuestionError):
        service.ask("  ", history=["What did Putin say?"])
    # empty earlier questions are skipped, not an error
    assert service.ask("And Lavrov?", history=["", "  "]).searched == ""


def test_khabar_chat_follows_the_conversation(conversation_index: Path) -> None:
    lines = [
        "When did Carl Wilhelm Scheele discover oxygen?",
        "And Priestley?",
        "/k 1",
        "/new",
        "And Priestley?",
        "/nonsense",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "khabar.cli", "chat", "--index", str(conversation_index)],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert (
        out.count("(searched: When did Carl Wilhelm Scheele discover oxygen? And Priestley?)") == 1
    )
    assert "(showing 1 passages)" in out and "(a new conversation)" in out
    assert "unknown command /nonsense" in out
    after_new = out.split("(a new conversation)")[1]
    assert "(searched:" not in after_new  # a new conversation has nothing to lean on
    assert after_new.count("[1] ") == 1 and "[2] " not in after_new  # /k 1
