"""`khabar add URL` against a real HTTP server on 127.0.0.1 (allowed by setting)."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from khabar.config import resolve
from khabar.errors import ConfigError, InputError
from khabar.ingest.url import fetch_article
from khabar.service import Khabar
from tests.conftest import free_port

ARTICLE = (
    "<html><head><title>x</title><meta property='og:title' content='ميناء طرطوس'>"
    "<meta property='article:published_time' content='2025-05-06'>"
    "<script>var secret='SCRIPT';</script></head><body><nav>القائمة</nav><article>"
    "<h1>ميناء طرطوس</h1><p>افتتح ميناء طرطوس رصيفاً جديداً للحاويات بطاقة مليون حاوية سنوياً.</p>"
    "<p>وقال مدير الميناء إن الرصيف سيخدم خطوط الشحن القادمة من آسيا.</p></article></body></html>"
)


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def send(self, status: int, body: bytes, kind: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/article":
            self.send(200, ARTICLE.encode())
        elif self.path == "/cp1256":
            self.send(200, ARTICLE.encode("cp1256"), "text/html; charset=windows-1256")
        elif self.path == "/missing":
            self.send(404, b"no")
        elif self.path == "/image":
            self.send(200, b"\x89PNG\r\n", "image/png")
        elif self.path == "/slow":
            time.sleep(3)
            self.send(200, ARTICLE.encode())
        elif self.path.startswith("/hop"):
            target = {
                "/hop-ok": "/article",
                "/hop-private": "http://10.255.255.1/article",
                "/hop-loop": "/hop-loop",
            }[self.path]
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


LOCAL = ("127.0.0.0/8",)


def test_fetch_extracts_article_and_keeps_url(site: str) -> None:
    article = fetch_article(f"{site}/article", allowed_networks=LOCAL)
    assert article.title == "ميناء طرطوس" and article.url == f"{site}/article"
    assert "رصيفاً جديداً للحاويات" in article.text and "SCRIPT" not in article.text
    assert article.published == "2025-05-06" and article.id.startswith("url-")
    assert fetch_article(f"{site}/cp1256", allowed_networks=LOCAL).title == "ميناء طرطوس"
    assert fetch_article(f"{site}/hop-ok", allowed_networks=LOCAL).title == "ميناء طرطوس"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/missing", "answered 404"),
        ("/image", "not an HTML page (image/png)"),
        ("/slow", "no answer within 1 s"),
        ("/hop-private", "internal address (10.255.255.1)"),
        ("/hop-loop", "more than 3 redirects"),
    ],
)
def test_fetch_errors_name_the_url(site: str, path: str, reason: str) -> None:
    with pytest.raises(InputError) as info:
        fetch_article(f"{site}{path}", allowed_networks=LOCAL, timeout=1)
    assert f"{site}{path}" in str(info.value) and reason in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x",
        "http://localhost:9/x",
        "http://10.1.2.3/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:9/x",
    ],
)
def test_internal_addresses_are_refused_by_default(url: str) -> None:
    with pytest.raises(InputError, match="internal address"):
        fetch_article(url)


def test_non_http_and_bad_settings_are_refused() -> None:
    with pytest.raises(InputError, match="only http and https"):
        fetch_article("http://")
    with pytest.raises(ConfigError, match="url_allow_networks"):
        resolve(env={"KHABAR_URL_ALLOW_NETWORKS": "not-a-network"})


def test_add_url_through_the_service(fresh_index: Path, site: str) -> None:
    service = Khabar.open(fresh_index, url_allow_networks=LOCAL, url_timeout=5)
    report = service.add_paths([f"{site}/article", f"{site}/missing"])
    assert len(report.added) == 1 and report.failed[0][0] == f"{site}/missing"
    hit = service.ask("How many containers will the new quay handle?", k=1).hits[0]
    assert hit.url == f"{site}/article" and hit.title == "ميناء طرطوس"
    assert service.add_paths([f"{site}/article"]).unchanged == report.added
    service.remove(f"{site}/article")
    assert service.store.db.counts()[0] == 1
    service.close()
