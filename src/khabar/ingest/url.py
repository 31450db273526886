"""Articles from the web: `khabar add URL`.

The page is fetched with a timeout, a size cap and at most a few redirects; its main
text, title and date are extracted by trafilatura, and the URL is kept for the
citation. Addresses on loopback, private, link-local or other internal ranges are
refused, before connecting and again after every redirect, unless their network is
listed in ``allowed_networks`` (for tests on 127.0.0.1 and for intranet wikis).
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urljoin, urlsplit

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


def _check_address(url: str, allowed: Sequence[Network], original: str) -> None:
    where = url if url == original else f"{original} (redirected to {url})"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{where}: only http and https URLs can be added")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 80, type=socket.SOCK_STREAM)
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


def fetch_article(
    url: str,
    *,
    timeout: float = 15.0,
    max_bytes: int = 20 * 1024 * 1024,
    allowed_networks: Sequence[str] = (),
) -> Article:
    """Fetch ``url`` and extract its article. Raises InputError naming the URL and the reason."""
    from khabar.ingest.html import article_from_html

    allowed = [ipaddress.ip_network(n, strict=False) for n in allowed_networks]
    current = url
    with httpx.Client(
        timeout=timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT}
    ) as client:
        for _ in range(MAX_REDIRECTS + 1):
            _check_address(current, allowed, url)
            try:
                with client.stream("GET", current) as response:
                    if response.is_redirect:
                        location = response.headers.get("location", "")
                        current = urljoin(current, location)
                        continue
                    if response.status_code >= 400:
                        raise InputError(f"{url}: the server answered {response.status_code}")
                    kind = response.headers.get("content-type", "").split(";")[0].strip()
                    if kind.lower() not in HTML_TYPES:
                        raise InputError(f"{url}: not an HTML page ({kind or 'no content type'})")
                    charset = response.charset_encoding
                    body = bytearray()
                    for piece in response.iter_bytes():
                        body.extend(piece)
                        if len(body) > max_bytes:
                            raise InputError(f"{url}: the page is over {max_bytes:,} bytes")
            except httpx.TimeoutException as exc:
                raise InputError(f"{url}: no answer within {timeout:g} s") from exc
            except httpx.HTTPError as exc:
                raise InputError(f"{url}: cannot fetch it ({exc})") from exc
            if charset and charset.lower().replace("-", "") != "utf8":
                try:  # Arabic sites still serve windows-1256 now and then
                    html = bytes(body).decode(charset)
                except (LookupError, UnicodeDecodeError) as exc:
                    raise InputError(f"{url}: cannot decode the page as {charset}") from exc
            else:
                html = decode_bytes(bytes(body), url)
            article_id = "url-" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]
            return article_from_html(
                html, article_id=article_id, source=urlsplit(url).hostname or url, name=url, url=url
            )
    raise InputError(f"{url}: more than {MAX_REDIRECTS} redirects")
