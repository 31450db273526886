"""A small OpenAI-compatible chat-completions server for the tests of khabar's own language
model logic (prompts, streaming, timeouts, malformed replies, citation checks): it answers
what the test sets, on 127.0.0.1, and records what it was asked."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from tests.conftest import free_port


@dataclass
class Behaviour:
    """What the server answers: ``replies`` by the kind of request (rewrite, reply,
    translate), or ``mode``: "ok", "garbage" (not JSON), "error" (500), "slow"."""

    mode: str = "ok"
    replies: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)


def kind_of(body: dict[str, Any]) -> str:
    system = str(body.get("messages", [{}])[0].get("content", ""))
    if "standalone" in system:
        return "rewrite"
    if "Translate" in system:
        return "translate"
    return "reply"


def completion(text: str) -> dict[str, Any]:
    return {
        "id": "test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "test",
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
        ],
    }


def chunks(text: str) -> Iterator[str]:
    for i, word in enumerate(text.split(" ")):
        delta = {"content": ("" if i == 0 else " ") + word}
        chunk = {
            "id": "test",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": "test",
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
        }
        yield f"data: {json.dumps(chunk)}\n\n"
    yield "data: [DONE]\n\n"


def make_app(behaviour: Behaviour) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def complete(request: Request) -> Response:
        body = await request.json()
        behaviour.requests.append(body)
        if behaviour.delay:
            time.sleep(behaviour.delay)  # blocks this test server's loop: fine, one client
        if behaviour.mode == "error":
            return JSONResponse({"error": {"message": "boom"}}, status_code=500)
        if behaviour.mode == "garbage":
            return PlainTextResponse("<html>not json</html>")
        text = behaviour.replies.get(kind_of(body), "")
        if body.get("stream"):
            return StreamingResponse(chunks(text), media_type="text/event-stream")
        return JSONResponse(completion(text))

    return app


class LlmServer:
    """The test server in a thread; ``url`` is its OpenAI base URL."""

    def __init__(self) -> None:
        self.behaviour = Behaviour()
        port = free_port()
        config = uvicorn.Config(
            make_app(self.behaviour), host="127.0.0.1", port=port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{port}/v1"

    def set(self, mode: str = "ok", delay: float = 0.0, **replies: str) -> None:
        self.behaviour.mode = mode
        self.behaviour.delay = delay
        self.behaviour.replies = dict(replies)
        self.behaviour.requests.clear()

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
