"""RSS 2.0, RSS 1.0 (RDF) and Atom feeds: every item becomes an article.

XML is parsed by defusedxml, which refuses entity declarations (the "billion laughs"
bomb) and external entities. An item that carries its full text (``content:encoded``,
Atom ``content``) is read from the feed; one that carries only a summary has its link
fetched (``fetch_page``) so that the article, not its teaser, is indexed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from xml.etree.ElementTree import Element

from khabar.errors import InputError, KhabarError
from khabar.ingest.dates import normalize_published
from khabar.ingest.files import article_from_text
from khabar.ingest.html import fragment_text
from khabar.records import Article

ATOM = "{http://www.w3.org/2005/Atom}"
RSS1 = "{http://purl.org/rss/1.0/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
DC = "{http://purl.org/dc/elements/1.1/}"
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
)

FetchPage = Callable[[str], Article]
OnError = Callable[[str, str], None]


@dataclass(frozen=True)
class FeedItem:
    """One item of a feed, as written in it."""

    title: str | None
    link: str | None
    guid: str | None
    content: str | None  # the full text (HTML or text), when the feed carries it
    summary: str | None
    published: str | None
    author: str | None


def looks_like_feed(data: bytes) -> bool:
    """True when the start of ``data`` is an RSS, RDF or Atom document."""
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(b"<?xml") or head.startswith((b"<rss", b"<feed", b"<rdf:rdf"))


def _text(element: Element | None) -> str | None:
    if element is None:
        return None
    if len(element):  # Atom type="xhtml": the markup is inside the element
        from xml.etree.ElementTree import tostring

        inner = "".join(tostring(child, encoding="unicode") for child in element)
        return ((element.text or "") + inner).strip() or None
    return (element.text or "").strip() or None


def _atom_link(entry: Element) -> str | None:
    for link in entry.findall(f"{ATOM}link"):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return link.get("href")
    return None


def parse_feed(data: bytes, name: str) -> tuple[str | None, list[FeedItem]]:
    """The feed's title and its items; InputError for XML that is not a feed or not safe."""
    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException

    try:
        root = SafeET.fromstring(data)
    except DefusedXmlException as exc:
        raise InputError(
            f"{name}: refused: the XML declares entities ({exc.__class__.__name__}); "
            "feeds do not need them, XML bombs do"
        ) from exc
    except SafeET.ParseError as exc:
        raise InputError(f"{name}: not well-formed XML ({exc})") from exc
    if root.tag == f"{ATOM}feed":
        items = [
            FeedItem(
                title=_text(e.find(f"{ATOM}title")),
                link=_atom_link(e),
                guid=_text(e.find(f"{ATOM}id")),
                content=_text(e.find(f"{ATOM}content")),
                summary=_text(e.find(f"{ATOM}summary")),
                published=_text(e.find(f"{ATOM}published")) or _text(e.find(f"{ATOM}updated")),
                author=_text(e.find(f"{ATOM}author/{ATOM}name")),
            )
            for e in root.findall(f"{ATOM}entry")
        ]
        return _text(root.find(f"{ATOM}title")), items
    if root.tag == "rss":
        ns, channel = "", root.find("channel")
        entries = channel.findall("item") if channel is not None else []
    elif root.tag.endswith("}RDF"):
        ns, channel = RSS1, root.find(f"{RSS1}channel")
        entries = root.findall(f"{RSS1}item")
    else:
        raise InputError(f"{name}: XML, but not an RSS or Atom feed (root <{root.tag}>)")
    feed_title = _text(channel.find(f"{ns}title")) if channel is not None else None
    items = [
        FeedItem(
            title=_text(e.find(f"{ns}title")),
            link=_text(e.find(f"{ns}link")),
            guid=_text(e.find("guid")),
            content=_text(e.find(f"{CONTENT}encoded")),
            summary=_text(e.find(f"{ns}description")),
            published=_text(e.find("pubDate")) or _text(e.find(f"{DC}date")),
            author=_text(e.find(f"{DC}creator")) or _text(e.find("author")),
        )
        for e in entries
    ]
    return feed_title, items


def _item_id(item: FeedItem, name: str, number: int) -> str:
    if item.link:  # the id `khabar add URL` gives the same page
        return "url-" + hashlib.sha256(item.link.encode("utf-8")).hexdigest()[:12]
    key = item.guid or f"{name}#{number}"
    return "feed-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def articles_from_feed(
    data: bytes,
    *,
    name: str,
    fetch_page: FetchPage | None,
    on_error: OnError,
) -> list[Article]:
    """Every item of the feed as an Article. An item that fails (no text, its link
    cannot be fetched) is passed to ``on_error`` and the others are kept."""
    feed_title, items = parse_feed(data, name)
    if not items:
        raise InputError(f"{name}: the feed has no items")
    articles: list[Article] = []
    for number, item in enumerate(items, start=1):
        where = f"{name}, item {number}" + (f" ({item.link})" if item.link else "")
        try:
            articles.append(_article(item, number, name, feed_title, fetch_page, where))
        except KhabarError as exc:
            on_error(where, str(exc))
    return articles


def _article(
    item: FeedItem,
    number: int,
    name: str,
    feed_title: str | None,
    fetch_page: FetchPage | None,
    where: str,
) -> Article:
    published = normalize_published(item.published, name=where, strict=False)
    article_id = _item_id(item, name, number)
    if not item.content and item.link and fetch_page is not None:
        page = fetch_page(item.link)  # only a summary in the feed: read the article itself
        return replace(
            page,
            id=article_id,
            title=item.title or page.title,
            published=published or page.published,
            author=item.author or page.author,
        )
    body = item.content or item.summary
    if not body:
        raise InputError(f"{where}: the item has no text and no link")
    return article_from_text(
        fragment_text(body),
        article_id=article_id,
        title=item.title,
        source=feed_title or name,
        url=item.link,
        published=published,
        author=item.author,
        name=where,
    )
