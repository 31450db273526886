"""The web UI through its API, with gradio_client against the real server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gradio_client import Client, handle_file


@pytest.fixture(scope="module")
def client(server_url: str) -> Client:
    return Client(server_url, verbose=False)


def test_ask_endpoint_returns_the_json_answer(client: Client) -> None:
    text = client.predict(question="What did Putin say about Israel?", k=3, api_name="/ask")
    result = json.loads(text)  # JSON text: what MCP clients get too
    assert result["question"] == "What did Putin say about Israel?"
    assert len(result["hits"]) == 3
    assert result["hits"][0]["text"].startswith("وجدد بوتين موقف موسكو")


def test_chat_reply_is_rtl_html_with_marked_sentence(client: Client) -> None:
    history, cleared = client.predict(
        "ماذا قال بوتين عن إسرائيل؟", [], "", "", "", api_name="/chat"
    )
    assert cleared == ""
    reply = history[-1]
    assert reply["role"] == "assistant"
    content = reply["content"]
    text = content[0]["text"] if isinstance(content, list) else content
    assert 'dir="rtl"' in text
    assert '<mark class="khabar-answer">وجدد بوتين <span class="khabar-quote">موقف موسكو' in text
    # who speaks, named above the passage, with their speech verbs
    assert (
        '<div class="khabar-speaker">— <bdi>الرئيس الروسي فلاديمير بوتين</bdi> (وجدد، معتبراً)'
        in text
    )
    assert "الانتهاكات الإسرائيلية" in text and "paragraph 7" in text
    assert "More passages (4)" in text
    assert "Context: the paragraphs before and after" in text


def test_chat_empty_question_is_a_clear_message(client: Client) -> None:
    history, _ = client.predict("   ", [], "", "", "", api_name="/chat")
    content = history[-1]["content"]
    text = content[0]["text"] if isinstance(content, list) else content
    assert "the question is empty" in text


def test_add_article_then_ask_about_it(client: Client, tmp_path: Path) -> None:
    status, table, *form = client.predict(
        "قمة بغداد",
        "انعقدت القمة العربية في بغداد بحضور اثني عشر زعيماً عربياً وناقشت أزمة المياه.",
        None,
        api_name="/add_article",
    )
    assert "قمة-بغداد" in status
    ids = [row[0] for row in table["data"]]
    assert "قمة-بغداد" in ids and "putin-syria-ministers" in ids
    assert form[:2] == ["", ""]  # the form is emptied once the article is in
    result = json.loads(
        client.predict(
            question="How many Arab leaders attended the Baghdad summit?", k=1, api_name="/ask"
        )
    )
    assert result["hits"][0]["title"] == "قمة بغداد"

    upload = tmp_path / "port.txt"
    upload.write_text("وصلت سفينة محملة بالقمح إلى ميناء طرطوس صباح الأحد.\n", encoding="utf-8")
    status, table, *_ = client.predict("", "", handle_file(str(upload)), api_name="/add_article")
    assert "Added" in status and "port" in status

    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x01binary")
    status, *_ = client.predict("", "", handle_file(str(bad)), api_name="/add_article")
    assert "binary" in status and "bad.txt" in status


def test_chat_marks_a_reply_that_may_not_answer(client: Client) -> None:
    history, _ = client.predict(
        "What is the boiling point of water?", [], "", "", "", api_name="/chat"
    )
    content = history[-1]["content"]
    text = content[0]["text"] if isinstance(content, list) else content
    assert "khabar-unsure" in text and "may not answer" in text
    assert '<mark class="khabar-answer">' in text  # the closest passage is still shown


def test_chat_filters_and_citation_details(client: Client) -> None:
    def chat(*filters: str) -> str:
        history, _ = client.predict(
            "What did Putin say about Israel?", [], *filters, api_name="/chat"
        )
        content = history[-1]["content"]
        return str(content[0]["text"] if isinstance(content, list) else content)

    assert "paragraph 7" in chat("", "", "")
    assert "paragraph 7" in chat("putin-syria", "", "")  # the sample's source is its file name
    assert "No article matches the filters" in chat("nowhere", "", "")
    assert "No article matches the filters" in chat("", "2025-01-01", "")  # the sample has no date
    assert "since: &#x27;soon&#x27; is not a date" in chat("", "soon", "")
    result = json.loads(
        client.predict(
            question="Putin Israel", k=1, source="nowhere", since=None, until=None, api_name="/ask"
        )
    )
    assert result["hits"] == [] and result["answered"] is False


def test_chat_follows_the_conversation(client: Client) -> None:
    first = "Who did Putin receive in the Kremlin?"
    history, _ = client.predict(first, [], "", "", "", api_name="/chat")
    history, _ = client.predict(
        "What did he say about Israel?", history, "", "", "", api_name="/chat"
    )
    content = history[-1]["content"]
    text = content[0]["text"] if isinstance(content, list) else content
    assert f"Searched as: {first} What did he say about Israel?" in text
    assert '<mark class="khabar-answer">وجدد بوتين <span class="khabar-quote">موقف موسكو' in text
