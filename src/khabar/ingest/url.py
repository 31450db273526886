"""Articles from the web: `khabar add URL` for a page or an RSS/Atom feed.

The URL is fetched with a timeout, a size cap and at most a few redirects; a page's
main text, title, author and date are extracted by trafilatura, and the URL is kept
for the citation. Addresses on loopback, private, link-local or other internal
ranges are refused, before connecting and again after every redirect, unless their
network is listed in ``allowed_networks`` (for tests on 127.0.0.1 and for intranet
wikis); the connection goes to the address that was checked (no DNS rebinding).
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from khabar.errors import InputError
from khabar.ingest.files import decode_bytes
from khabar.records import Article

MAX_REDIRECTS = 3
HTML_TYPES = ("text/html", "application/xhtml+xml")
USER_AGENT = "khabar/0.1 (+https://pypi.org/project/khabar)"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def is_url(item: str) -> bool:
    """True for an http(s) URL (anything else is a file path)."""
    return item.lower().startswith(("http://", "https://"))


def _check_address(url: str, allowed: Sequence[Network], original: str) -> str:
    """Resolve ``url``'s host and refuse internal addresses; returns the address to use.

    The connection then goes to that very address (not to a second lookup of the
    name), so a name that resolves to a public address when checked and to an
    internal one when connecting (DNS rebinding) cannot slip through.
    """
    where = url if url == original else f"{original} (redirected to {url})"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{where}: only http and https URLs can be added")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise InputError(f"{where}: cannot resolve {parts.hostname} ({exc.strerror})") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_global and not address.is_multicast:
            continue
        if any(address in network for network in allowed):
            continue
        raise InputError(
            f"{where}: {parts.hostname} is an internal address ({address}); refused. "
            "Allow its network with the url_allow_networks setting (KHABAR_URL_ALLOW_NETWORKS)"
        )
    return str(infos[0][4][0])


def _pinned(url: str, address: str) -> tuple[str, dict[str, str], dict[str, object]]:
    """The URL with its host replaced by ``address``, the Host header, and for https
    the name TLS must verify (SNI and certificate)."""
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    name = parts.hostname or ""
    host_header = name if parts.port is None else f"{name}:{parts.port}"
    extensions: dict[str, object] = {}
    if parts.scheme == "https":
        extensions["sni_hostname"] = name
    return pinned, {"Host": host_header}, extensions


@dataclass(frozen=True)
class Page:
    """What a URL answered: its type, body and charset."""

    url: str
    content_type: str
    body: bytes
    charset: str | None

    def text(self) -> str:
        """The body as text, in its declared charset (else UTF-8)."""
        if self.charset and self.charset.lower().replace("-", "") != "utf8":
            try:  # Arabic sites still serve windows-1256 now and then
                return self.body.decode(self.charset)
            except (LookupError, UnicodeDecodeError) as exc:
                raise InputError(f"{self.url}: cannot decode the page as {self.charset}") from exc
        return decode_bytes(self.body, self.url)


def fetch(
    url: str,
    *,
    timeout: float = 15.0,
    max_bytes: int = 20 * 1024 * 1024,
    allowed_networks: Sequence[str] = (),
) -> Page:
    """GET ``url`` safely: internal addresses refused (also after redirects), at most
    MAX_REDIRECTS redirects, ``timeout`` seconds, ``max_bytes`` of body."""
    allowed = [ipaddress.ip_network(n, strict=False) for n in allowed_networks]
    current = url
    with httpx.Client(
        timeout=timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT}
    ) as client:
        for _ in range(MAX_REDIRECTS + 1):
            address = _check_address(current, allowed, url)
            target, headers, extensions = _pinned(current, address)
            try:
                request = client.build_request(
                    "GET", target, headers=headers, extensions=extensions
                )
                response = client.send(request, stream=True)
                try:
                    if response.is_redirect:
                        current = urljoin(current, response.headers.get("location", ""))
                        continue
                    if response.status_code >= 400:
                        raise InputError(f"{url}: the server answered {response.status_code}")
                    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
                    body = bytearray()
                    for piece in response.iter_bytes():
                        body.extend(piece)
                        if len(body) > max_bytes:
                            raise InputError(f"{url}: the page is over {max_bytes:,} bytes")
                    return Page(url, kind, bytes(body), response.charset_encoding)
                finally:
                    response.close()
            except httpx.TimeoutException as exc:
                raise InputError(f"{url}: no answer within {timeout:g} s") from exc
            except httpx.HTTPError as exc:
                raise InputError(f"{url}: cannot fetch it ({exc})") from exc
    raise InputError(f"{url}: more than {MAX_REDIRECTS} redirects")


def url_id(url: str) -> str:
    """The article id of a web page: the same whether added by URL or from a feed."""
    return "url-" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]


def _page_article(page: Page) -> Article:
    from khabar.ingest.html import article_from_html

    if page.content_type not in HTML_TYPES:
        raise InputError(f"{page.url}: not an HTML page ({page.content_type or 'no content type'})")
    return article_from_html(
        page.text(),
        article_id=url_id(page.url),
        source=urlsplit(page.url).hostname or page.url,
        name=page.url,
        url=page.url,
    )


def fetch_article(
    url: str,
    *,
    timeout: float = 15.0,
    max_bytes: int = 20 * 1024 * 1024,
    allowed_networks: Sequence[str] = (),
) -> Article:
    """Fetch the web page at ``url`` and extract its article. Raises InputError naming
    the URL and the reason."""
    page = fetch(url, timeout=timeout, max_bytes=max_bytes, allowed_networks=allowed_networks)
    return _page_article(page)


def read_url(
    url: str,
    *,
    on_error: Callable[[str, str], None],
    timeout: float = 15.0,
    max_bytes: int = 20 * 1024 * 1024,
    allowed_networks: Sequence[str] = (),
) -> list[Article]:
    """The article of a web page, or every item of an RSS/Atom feed (items that fail
    go to ``on_error``). Raises InputError when the URL itself cannot be read."""
    from khabar.ingest.feed import FEED_TYPES, articles_from_feed, looks_like_feed

    def get(link: str) -> Page:
        return fetch(link, timeout=timeout, max_bytes=max_bytes, allowed_networks=allowed_networks)

    page = get(url)
    if page.content_type in FEED_TYPES or (
        page.content_type not in HTML_TYPES and looks_like_feed(page.body)
    ):
        return articles_from_feed(
            page.body, name=url, fetch_page=lambda link: _page_article(get(link)), on_error=on_error
        )
    return [_page_article(page)]
