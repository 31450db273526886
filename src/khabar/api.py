"""The HTTP JSON API and the embeddable page, on one FastAPI app with the Gradio UI.

Routes: ``POST /api/ask``, ``GET/POST /api/articles``, ``DELETE /api/articles/{id}``,
``GET /api/health``, ``GET /embed``; OpenAPI at ``/api/docs`` and ``/api/openapi.json``;
the chat UI at ``/``. Every error has one shape: ``{"error": {"code", "message"}}``.

Security: a bearer token (required for writes when set, and for reads when reads are
not public), an allowed-origins list for CORS (empty by default), a
``frame-ancestors`` Content-Security-Policy naming who may frame the pages, and a
request-size limit. Only the app's own static files are served: never the index.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Any

import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, StrictBool, StrictInt, field_validator
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from khabar import __version__
from khabar.config import MAX_K
from khabar.errors import (
    ArticleNotFoundError,
    EncoderMismatchError,
    IndexFormatError,
    IndexNotFoundError,
    IndexWriteError,
    InputError,
    KhabarError,
    ReadOnlyIndexError,
)
from khabar.followup import MAX_HISTORY
from khabar.service import Khabar

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class ApiSettings:
    """The API's security settings (from the settings registry)."""

    token: str = ""
    public_read: bool = True
    cors_origins: tuple[str, ...] = ()
    frame_ancestors: str = "'self'"
    max_request_bytes: int = 2 * 1024 * 1024
    k: int = 5

    @classmethod
    def from_settings(cls, values: dict[str, Any]) -> ApiSettings:
        """Build from the resolved settings of :mod:`khabar.config`."""
        origins = tuple(o.strip() for o in str(values["cors_origins"]).split(",") if o.strip())
        return cls(
            token=str(values["api_token"]),
            public_read=bool(values["public_read"]),
            cors_origins=origins,
            frame_ancestors=str(values["frame_ancestors"]),
            max_request_bytes=int(values["max_request_bytes"]),
            k=int(values["k"]),
        )


class ApiError(Exception):
    """An error answered with a status code and the shared JSON shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_body(code: str, message: str) -> dict[str, Any]:
    """The one JSON shape of every error."""
    return {"error": {"code": code, "message": message}}


_STATUS = (
    (ArticleNotFoundError, 404),
    (IndexNotFoundError, 503),
    (ReadOnlyIndexError, 403),
    (InputError, 400),
    (EncoderMismatchError, 503),
    (IndexFormatError, 503),
    (IndexWriteError, 507),
)


class AskRequest(BaseModel):
    """A question, how many passages, and optionally which articles to search: by id,
    by source (contains, any case), by publication day (YYYY-MM-DD, inclusive); and the
    conversation's earlier questions (``history``, oldest first, at most 10)."""

    question: str = Field(max_length=2000)
    # strict: "5", true and null are not a number of passages; leave k out for the default
    k: StrictInt | None = Field(default=None, ge=1, le=MAX_K)
    article_ids: list[str] | None = None
    source: str | None = Field(default=None, max_length=200)
    since: str | None = Field(default=None, max_length=40)
    until: str | None = Field(default=None, max_length=40)
    # the conversation's earlier questions, oldest first: a follow-up is searched with them
    history: list[Annotated[str, Field(max_length=2000)]] | None = Field(
        default=None, max_length=MAX_HISTORY
    )
    # with a language model (llm_url): a reply citing the passages; an English reading
    reply: StrictBool = False
    translate: StrictBool = False

    @field_validator("k", mode="before")
    @classmethod
    def _k_given(cls, value: Any) -> Any:
        if value is None:  # only an explicit null reaches here: a missing k is not validated
            raise ValueError(
                f"k must be a whole number from 1 to {MAX_K} (leave it out for the default)"
            )
        return value


class ArticleRequest(BaseModel):
    """An article as text or HTML, with its metadata."""

    text: str | None = None
    html: str | None = None
    title: str | None = None
    url: str | None = None
    source: str | None = None
    author: str | None = None
    published: str | None = None
    id: str | None = None


class BodyLimit:
    """Refuse API request bodies over the limit with 413, before they reach a route."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _send_json(send, 413, error_body("too_large", self._message()))
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise ApiError(413, "too_large", self._message())
            return message

        await self.app(scope, limited, send)

    def _message(self) -> str:
        return f"the request body is over the limit of {self.limit:,} bytes"


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    import json

    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


def create_app(service: Khabar, settings: ApiSettings | None = None) -> FastAPI:
    """The FastAPI app with the JSON API and /embed (the Gradio UI is mounted by web.py)."""
    settings = settings or ApiSettings()
    app = FastAPI(
        title="khabar API",
        version=__version__,
        description="Ask questions about Arabic news articles; manage the indexed articles.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )

    def check_token(request: Request) -> None:
        if not settings.token:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given:
            raise ApiError(401, "unauthorized", "this request needs 'Authorization: Bearer TOKEN'")
        if not hmac.compare_digest(given.strip().encode(), settings.token.encode()):
            raise ApiError(403, "forbidden", "the bearer token is not valid")

    def reader(request: Request) -> None:
        if not settings.public_read:
            check_token(request)

    def writer(request: Request) -> None:
        check_token(request)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status)

    @app.exception_handler(KhabarError)
    async def _khabar_error(_: Request, exc: KhabarError) -> JSONResponse:
        status = next((s for cls, s in _STATUS if isinstance(exc, cls)), 500)
        return JSONResponse(error_body(exc.code, str(exc)), status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
        return JSONResponse(error_body("bad_request", message), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        try:
            response = await call_next(request)
        except ApiError as exc:  # raised while reading an oversized body
            response = JSONResponse(error_body(exc.code, exc.message), status_code=exc.status)
        response.headers["Content-Security-Policy"] = f"frame-ancestors {settings.frame_ancestors}"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    @app.post("/api/ask", dependencies=[Depends(reader)], tags=["ask"])
    def ask(body: AskRequest) -> dict[str, Any]:
        """The best passages for a question: the same object as `khabar ask --json`."""
        only = frozenset(body.article_ids) if body.article_ids else None
        answer = service.ask(
            body.question,
            k=body.k or settings.k,
            context=False,
            only=only,
            source=body.source,
            since=body.since,
            until=body.until,
            history=body.history or (),
            reply=body.reply,
            translate=body.translate,
        )
        return answer.to_json()

    @app.get("/api/articles", dependencies=[Depends(reader)], tags=["articles"])
    def list_articles() -> dict[str, Any]:
        """Every indexed article."""
        return {"articles": service.public_articles()}

    @app.post("/api/articles", dependencies=[Depends(writer)], tags=["articles"], status_code=201)
    async def add_article(request: Request) -> dict[str, Any]:
        """Add an article: JSON (`text` or `html`, with `title`, `url`, `source`, `author`,
        `published`, `id`), or a raw `text/plain` or `text/html` body (metadata in the query
        string)."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "application/json":
            try:
                article = ArticleRequest.model_validate_json(await request.body())
            except ValueError as exc:
                raise ApiError(400, "bad_request", f"invalid article JSON: {exc}") from exc
        elif kind in ("text/plain", "text/html"):
            raw = (await request.body()).decode("utf-8", errors="strict")
            params = dict(request.query_params)
            field = "html" if kind == "text/html" else "text"
            article = ArticleRequest.model_validate({**params, field: raw})
        else:
            raise ApiError(400, "bad_request", "send application/json, text/plain or text/html")
        if not (article.text or article.html):
            raise ApiError(400, "bad_input", "the article needs a 'text' or an 'html' field")
        # Embedding takes seconds: off the event loop, so that questions keep being answered.
        report = await run_in_threadpool(
            service.add_text,
            article.text or "",
            html=article.html,
            title=article.title,
            article_id=article.id,
            source=article.source or "api",
            url=article.url,
            published=article.published,
            author=article.author,
        )
        status = "added" if report.added else "updated" if report.updated else "unchanged"
        ids = report.added + report.updated + report.unchanged
        return {"status": status, "article_id": ids[0] if ids else None}

    @app.delete("/api/articles/{article_id}", dependencies=[Depends(writer)], tags=["articles"])
    def remove_article(article_id: str) -> dict[str, Any]:
        """Remove an article by its id."""
        row = service.remove(article_id)
        return {"removed": row.id, "title": row.title}

    @app.get("/api/health", tags=["health"])
    def health() -> dict[str, Any]:
        """Whether the index is loaded, its counts and encoder, and the khabar version."""
        info = service.info()
        return {
            "status": "ok",
            "index_loaded": True,
            "articles": info["articles"],
            "paragraphs": info["paragraphs"],
            "encoder": info["encoder"],
            "engine": info["engine"],
            "format_version": info["format_version"],
            "version": __version__,
        }

    @app.api_route(
        "/api/{rest:path}",
        methods=["GET", "POST", "PUT", "DELETE", "PATCH"],
        include_in_schema=False,
    )
    def unknown(request: Request, rest: str) -> JSONResponse:
        """Unknown API paths answer in the API's error shape (not the UI's); a known path
        asked with another method is 405, with the methods it takes in ``Allow``."""
        path = f"/api/{rest}"
        allowed = sorted(
            {
                method
                for route in app.routes
                if isinstance(route, APIRoute)
                and route.include_in_schema
                and route.path_regex.match(path)
                for method in route.methods or ()
            }
        )
        if allowed:
            return JSONResponse(
                error_body(
                    "method_not_allowed",
                    f"{request.method} is not allowed on {path}; use {', '.join(allowed)}",
                ),
                status_code=405,
                headers={"Allow": ", ".join(allowed)},
            )
        raise ApiError(404, "not_found", f"no API route {path}")

    embed_html = (resources.files("khabar") / "static" / "embed.html").read_text("utf-8")

    @app.get("/embed", response_class=HTMLResponse, include_in_schema=False)
    def embed() -> HTMLResponse:
        """The compact page made for an iframe; ``?q=`` opens it with a question."""
        return HTMLResponse(embed_html)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes)
    return app


class RunningServer:
    """A uvicorn server on a thread (for tests and `serve(block=False)`)."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start on {host}:{port}")
            time.sleep(0.05)
        self.url = f"http://{host}:{port}/"

    def close(self) -> None:
        """Stop the server and wait for it."""
        self.server.should_exit = True
        self.thread.join(timeout=30)
