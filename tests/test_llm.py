"""khabar's language-model logic against a small OpenAI-compatible server of its own
(tests/llm_server.py): prompts, streaming, timeouts, malformed replies, citation checks;
the real openai client, real models, FAISS and SQLite. One opt-in test (-m llm) runs
against a real server named by KHABAR_TEST_LLM_URL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from khabar.llm import LanguageModel, check_reply, from_settings
from khabar.service import Khabar
from tests.conftest import free_port
from tests.llm_server import LlmServer

ISRAEL = "What did Putin say about Israel?"
GOOD = "Putin renewed Moscow's rejection of the repeated Israeli violations [1]."


@pytest.fixture(scope="module")
def llm() -> Iterator[LlmServer]:
    server = LlmServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def service(sample_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Khabar]:
    folder = tmp_path_factory.mktemp("llm") / "index"
    shutil.copytree(sample_index, folder)
    service = Khabar.open(folder)
    yield service
    service.close()


@pytest.fixture
def with_model(service: Khabar, llm: LlmServer) -> Iterator[Khabar]:
    service.llm = LanguageModel(llm.url, "test", timeout=2)
    yield service
    service.llm = None


@pytest.mark.parametrize(
    ("text", "passages", "citations"),
    [
        ("Putin rejected the violations [1]. He backed Syria's unity [2][1].", 3, (1, 2)),
        ("بوتين رفض الانتهاكات الإسرائيلية [3]؟", 3, (3,)),
        ("Putin rejected the violations [1]. He said more.", 3, None),  # a sentence uncited
        ("Putin rejected the violations [4].", 3, None),  # a passage not given
        ("Putin rejected the violations.", 3, None),
        ("NONE", 3, None),
        ("", 3, None),
        ("x [1]. " * 400, 3, None),  # too long
    ],
)
def test_check_reply(text: str, passages: int, citations: tuple[int, ...] | None) -> None:
    reply = check_reply(text, passages)
    assert (reply.citations if reply else None) == citations


def test_no_language_model_without_the_setting() -> None:
    assert from_settings({"llm_url": ""}) is None
    assert from_settings({}) is None
    model = from_settings({"llm_url": "http://127.0.0.1:9/v1", "llm_rewrite": False})
    assert model is not None and not model.rewrites  # made, but nothing is sent until asked


def test_a_reply_cites_the_passages_given(with_model: Khabar, llm: LlmServer) -> None:
    llm.set(reply=GOOD)
    answer = with_model.ask(ISRAEL, k=3, reply=True)
    assert answer.reply is not None and answer.reply.citations == (1,)
    body = answer.to_json()
    assert body["reply"] == {"text": GOOD, "citations": [1]} and "notes" not in body
    prompt = llm.behaviour.requests[0]["messages"][1]["content"]
    assert "[1] وجدد بوتين موقف موسكو" in prompt and "[3] " in prompt and "[4] " not in prompt
    # who said what goes with each passage, and the model is told to lead with it
    assert "who said what: الرئيس الروسي فلاديمير بوتين (وجدد): «موقف موسكو" in prompt
    assert "begin with who said it" in llm.behaviour.requests[0]["messages"][0]["content"]
    assert "English" in llm.behaviour.requests[0]["messages"][0]["content"]
    assert answer.hits[0].text.startswith("وجدد بوتين")  # the passages stay the answer


@pytest.mark.parametrize(
    ("mode", "reply", "delay"),
    [
        ("ok", "Putin spoke about Israel [7].", 0.0),  # a passage that was not given
        ("ok", "Putin spoke about Israel.", 0.0),  # no citation
        ("garbage", "", 0.0),
        ("error", "", 0.0),
        ("ok", GOOD, 3.0),  # slower than the 2 s timeout
    ],
)
def test_a_reply_that_does_not_hold_is_not_shown(
    with_model: Khabar, llm: LlmServer, mode: str, reply: str, delay: float
) -> None:
    llm.set(mode, delay=delay, reply=reply)
    started = time.monotonic()
    answer = with_model.ask(ISRAEL, k=3, reply=True)
    assert time.monotonic() - started < 8
    assert answer.reply is None and answer.hits[0].text.startswith("وجدد بوتين")
    body = answer.to_json()
    assert body["reply"] is None
    assert body["notes"] == [
        "the language model gave no reply that cites the passages; the passages are below"
    ]


def test_the_articles_do_not_say_wins_over_any_reply(with_model: Khabar, llm: LlmServer) -> None:
    llm.set(reply=GOOD)
    answer = with_model.ask("Who won the football world cup in 1966?", reply=True)
    assert not answer.answered and answer.reply is None
    assert answer.notes == ("no reply: the articles may not answer this question",)
    assert llm.behaviour.requests == []  # the model is not even asked


def test_a_follow_up_is_rewritten_by_the_model(with_model: Khabar, llm: LlmServer) -> None:
    standalone = "What did Putin say about the Israeli violations of Syrian territory?"
    llm.set(rewrite=standalone)
    answer = with_model.ask("And about Israel?", history=["Who did Putin receive?"])
    assert answer.searched == standalone
    assert answer.hits[0].text.startswith("وجدد بوتين")
    asked = llm.behaviour.requests[0]["messages"][1]["content"]
    assert "Who did Putin receive?" in asked and "And about Israel?" in asked
    llm.set("error")  # the heuristic is the fallback
    answer = with_model.ask("And about Israel?", history=["Who did Putin receive?"])
    assert answer.searched == "Who did Putin receive? And about Israel?"
    assert answer.notes == ("the language model did not rewrite the follow-up in time",)
    llm.set(rewrite="What did Putin say?")  # a question that stands alone is not sent
    with_model.ask(ISRAEL, history=["Who did Putin receive?"])
    assert llm.behaviour.requests == []
    assert with_model.llm is not None
    with_model.llm.rewrites = False  # llm_rewrite off: khabar's rules, the model not asked
    answer = with_model.ask("And about Israel?", history=["Who did Putin receive?"])
    assert answer.searched == "Who did Putin receive? And about Israel?" and not answer.notes
    assert llm.behaviour.requests == []


def test_an_english_reading_of_the_marked_sentence(with_model: Khabar, llm: LlmServer) -> None:
    llm.set(translate="Putin renewed Moscow's rejection of the repeated Israeli violations.")
    answer = with_model.ask("ماذا قال بوتين عن إسرائيل؟", translate=True)
    assert answer.translation is not None and answer.translation.startswith("Putin renewed")
    assert llm.behaviour.requests[0]["messages"][1]["content"] == answer.hits[0].sentence
    assert "reply" not in answer.to_json()


def test_reply_without_a_model_is_a_note(service: Khabar) -> None:
    answer = service.ask(ISRAEL, reply=True, translate=True)
    assert answer.notes == ("no language model is configured (the llm_url setting)",)
    assert answer.to_json()["reply"] is None and answer.to_json()["translation"] is None


def test_the_reply_streams(llm: LlmServer) -> None:
    llm.set(reply=GOOD)
    model = LanguageModel(llm.url, timeout=2)
    parts = list(model.stream_reply(ISRAEL, ["وجدد بوتين موقف موسكو"]))
    assert len(parts) > 3 and "".join(parts) == GOOD
    llm.set("error")
    assert list(model.stream_reply(ISRAEL, ["وجدد بوتين موقف موسكو"])) == []


def test_the_api_and_the_cli_give_the_reply(
    sample_index: Path, tmp_path: Path, llm: LlmServer
) -> None:
    from khabar.web import serve

    folder = tmp_path / "index"
    shutil.copytree(sample_index, folder)
    llm.set(reply=GOOD)
    result = subprocess.run(
        [sys.executable, "-m", "khabar.cli", "ask", ISRAEL, "--reply", "--index", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "KHABAR_LLM_URL": llm.url, "KHABAR_LLM_TIMEOUT": "5"},
    )
    assert result.returncode == 0, result.stderr
    assert f"Reply (written by a language model from the passages below):\n    {GOOD}" in (
        result.stdout
    )
    service = Khabar.open(folder)
    service.llm = LanguageModel(llm.url, timeout=5)
    server = serve(service, host="127.0.0.1", port=free_port(), block=False)
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:  # type: ignore[attr-defined]
            body = client.post("/api/ask", json={"question": ISRAEL, "reply": True}).json()
            assert body["reply"] == {"text": GOOD, "citations": [1]}
            bad = client.post("/api/ask", json={"question": ISRAEL, "reply": "yes"})
            assert bad.status_code == 400
    finally:
        server.close()  # type: ignore[attr-defined]
        service.close()


@pytest.mark.llm
@pytest.mark.skipif(not os.environ.get("KHABAR_TEST_LLM_URL"), reason="KHABAR_TEST_LLM_URL unset")
def test_a_real_model_replies_with_valid_citations_or_not_at_all(service: Khabar) -> None:
    service.llm = LanguageModel(os.environ["KHABAR_TEST_LLM_URL"], timeout=120)
    try:
        answer = service.ask(ISRAEL, k=3, reply=True)
        if answer.reply is not None:
            assert set(answer.reply.citations) <= {1, 2, 3}
        else:
            assert answer.notes
    finally:
        service.llm = None


@pytest.fixture(scope="module")
def ui_with_model(
    sample_index: Path, tmp_path_factory: pytest.TempPathFactory, llm: LlmServer
) -> Iterator[str]:
    from khabar.web import serve

    folder = tmp_path_factory.mktemp("llm-ui") / "index"
    shutil.copytree(sample_index, folder)
    service = Khabar.open(folder)
    service.llm = LanguageModel(llm.url, timeout=5)
    server = serve(service, host="127.0.0.1", port=free_port(), block=False)
    yield server.url  # type: ignore[attr-defined]
    server.close()  # type: ignore[attr-defined]
    service.close()


def test_the_chat_streams_a_checked_reply_above_the_passages(
    ui_with_model: str, llm: LlmServer
) -> None:
    from gradio_client import Client

    llm.set(reply=GOOD)
    client = Client(ui_with_model, verbose=False)
    history, _ = client.predict(ISRAEL, [], "", "", "", api_name="/chat")
    content = history[-1]["content"]
    text = content[0]["text"] if isinstance(content, list) else content
    assert '<div class="khabar-reply">' in text and "Israeli violations [1]." in text
    assert text.index("khabar-reply") < text.index('<mark class="khabar-answer">وجدد بوتين')
    llm.set(reply="Putin spoke [9].")
    history, _ = client.predict(ISRAEL, [], "", "", "", api_name="/chat")
    content = history[-1]["content"]
    text = content[0]["text"] if isinstance(content, list) else content
    assert "khabar-reply" not in text and "gave no reply that cites the passages" in text
    assert '<mark class="khabar-answer">وجدد بوتين' in text


@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian chromium is missing")
def test_the_english_reading_button(ui_with_model: str, llm: LlmServer) -> None:
    from playwright.sync_api import sync_playwright

    from tests.test_browser import ARGS, CHROMIUM

    llm.set(reply=GOOD, translate="Putin renewed Moscow's rejection of the Israeli violations.")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 1000})
        page.goto(ui_with_model, wait_until="load")
        page.locator("#khabar-question textarea").wait_for(timeout=60_000)
        box = page.locator("#khabar-question textarea")
        box.fill(ISRAEL)
        box.press("Enter")
        reply = page.locator("#khabar-chat .khabar-reply:not(.khabar-writing)").first
        reply.wait_for(timeout=60_000)
        assert "Israeli violations [1]." in reply.inner_text()
        page.locator("#khabar-reading").click()
        reading = page.locator("#khabar-chat .khabar-reading").first
        reading.wait_for(timeout=60_000)
        assert "Putin renewed Moscow" in reading.inner_text()
        assert "machine translation" in reading.inner_text()
        browser.close()
