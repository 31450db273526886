"""`khabar add URL` against a real HTTP server on 127.0.0.1 (allowed by setting)."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


RSS_SUMMARIES = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>وكالة الموانئ</title>
<item><title>ميناء طرطوس</title><link>{site}/article</link>
<description>ملخص قصير فقط.</description><pubDate>Tue, 06 May 2025 09:00:00 GMT</pubDate></item>
<item><title>خبر مفقود</title><link>{site}/missing</link><description>ملخص.</description></item>
</channel></rss>"""

SEEN_HOSTS: list[str] = []


def seen_hosts() -> list[str]:
    return list(SEEN_HOSTS)


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
        SEEN_HOSTS.append(self.headers.get("Host", ""))
        if self.path == "/feed":
            site = f"http://127.0.0.1:{self.server.server_address[1]}"
            self.send(200, RSS_SUMMARIES.replace("{site}", site).encode(), "application/rss+xml")
        elif self.path == "/article":
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


def test_a_feed_url_adds_every_item_fetching_summary_only_links(
    fresh_index: Path, site: str
) -> None:
    service = Khabar.open(fresh_index, url_allow_networks=LOCAL, url_timeout=5)
    report = service.add_paths([f"{site}/feed"])
    # The item with a summary only is read from its page; the one whose page is gone fails alone.
    assert len(report.added) == 1
    assert [where for where, _ in report.failed] == [f"{site}/feed, item 2 ({site}/missing)"]
    assert "answered 404" in report.failed[0][1]
    row = service.store.db.article(report.added[0])
    assert row is not None and row.title == "ميناء طرطوس" and row.url == f"{site}/article"
    assert row.published == "2025-05-06T09:00:00+00:00"
    hit = service.ask("How many containers will the new quay handle?", k=1).hits[0]
    assert "مليون حاوية" in hit.text  # the page's text, not the feed's summary
    # The same page added by its URL is the same article (its date now the page's own).
    again = service.add_paths([f"{site}/article"])
    assert again.added == [] and again.updated == report.added
    service.close()


def test_the_connection_goes_to_the_checked_address(
    site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No DNS rebinding: the name is resolved once, checked, and that address is used."""
    import socket

    port = int(site.rsplit(":", 1)[1])
    real_getaddrinfo = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding_dns(host: str, *args: Any, **kwargs: Any) -> Any:
        if host != "news.example":
            return real_getaddrinfo(host, *args, **kwargs)
        lookups.append(host)
        address = "127.0.0.1" if len(lookups) == 1 else "10.0.0.1"  # public once, then internal
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr("socket.getaddrinfo", rebinding_dns)
    SEEN_HOSTS.clear()
    article = fetch_article(f"http://news.example:{port}/article", allowed_networks=LOCAL)
    assert article.title == "ميناء طرطوس" and article.url == f"http://news.example:{port}/article"
    assert lookups == ["news.example"] and seen_hosts() == [f"news.example:{port}"]
