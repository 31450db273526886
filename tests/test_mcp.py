"""The MCP tools with a real MCP client (streamable HTTP) against the real server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client


def call(server_url: str, tool: str | None, arguments: dict[str, Any]) -> Any:
    async def run() -> Any:
        url = server_url + "gradio_api/mcp/"
        async with (
            streamable_http_client(url) as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            if tool is None:
                return await session.list_tools()
            return await session.call_tool(tool, arguments)

    return asyncio.run(run())


def test_tools_are_ask_and_list_articles_only(server_url: str) -> None:
    from khabar.web import ASK_TOOL, LIST_TOOL

    tools = call(server_url, None, {})
    names = sorted(t.name for t in tools.tools)
    assert names == ["ask", "list_articles"]  # writes are never tools
    ask = next(t for t in tools.tools if t.name == "ask")
    assert {"question", "k", "source", "since", "until"} <= set(ask.inputSchema["properties"])
    assert ask.description == ASK_TOOL  # read as written, not rebuilt from a docstring
    assert '"hits": [{"article_id": string,' in ask.description
    listing = next(t for t in tools.tools if t.name == "list_articles")
    assert listing.description == LIST_TOOL


def test_ask_tool_returns_json(server_url: str) -> None:
    result = call(server_url, "ask", {"question": "ماذا قال بوتين عن إسرائيل؟", "k": 2})
    assert not result.isError
    answer = json.loads(result.content[0].text)  # JSON, not a Python repr
    assert set(answer) == {"question", "searched", "answered", "hits", "speaker"}
    assert answer["answered"] is True and answer["speaker"]["quoted"] is True
    assert len(answer["hits"]) == 2
    first = answer["hits"][0]
    assert first["text"].startswith("وجدد بوتين موقف موسكو الرافض للانتهاكات الإسرائيلية")
    assert first["section"] == "الانتهاكات الإسرائيلية" and first["paragraph"] == 7
    assert first["source"] == "putin-syria-ministers.ar.txt"
    assert first["quotes"][0]["speaker"] == "الرئيس الروسي فلاديمير بوتين"


def test_a_bad_question_is_a_tool_error_without_a_traceback(
    server_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    for arguments in ({"question": "   "}, {"question": "Putin", "k": 0}):
        result = call(server_url, "ask", arguments)
        assert result.isError
    err = capfd.readouterr().err
    assert "Traceback" not in err


def test_list_articles_tool(server_url: str) -> None:
    result = call(server_url, "list_articles", {})
    articles = json.loads(result.content[0].text)["articles"]
    assert "putin-syria-ministers" in [a["id"] for a in articles]
    assert "origin" not in articles[0]


def test_ask_tool_takes_the_conversation(server_url: str) -> None:
    tools = call(server_url, None, {})
    ask = next(t for t in tools.tools if t.name == "ask")
    assert "history" in ask.inputSchema["properties"]
    first = "Who did Putin receive in the Kremlin?"
    result = call(
        server_url, "ask", {"question": "What did he say about Israel?", "history": [first], "k": 1}
    )
    assert not result.isError, result.content
    answer = json.loads(result.content[0].text)
    assert answer["searched"] == f"{first} What did he say about Israel?"
    assert answer["hits"][0]["text"].startswith("وجدد بوتين موقف موسكو")
