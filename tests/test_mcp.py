"""The MCP tools with a real MCP client (streamable HTTP) against the real server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

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
    tools = call(server_url, None, {})
    names = sorted(t.name for t in tools.tools)
    assert names == ["ask", "list_articles"]  # writes are never tools
    ask = next(t for t in tools.tools if t.name == "ask")
    assert "question" in json.dumps(ask.inputSchema)
    assert "Arabic" in (ask.description or "")


def test_ask_tool_returns_the_passage(server_url: str) -> None:
    result = call(server_url, "ask", {"question": "ماذا قال بوتين عن إسرائيل؟", "k": 2})
    assert not result.isError
    text = result.content[0].text
    assert "وجدد بوتين موقف موسكو الرافض للانتهاكات الإسرائيلية" in text
    assert "الانتهاكات الإسرائيلية" in text


def test_list_articles_tool(server_url: str) -> None:
    result = call(server_url, "list_articles", {})
    assert "putin-syria-ministers" in result.content[0].text
