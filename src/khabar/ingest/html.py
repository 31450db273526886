"""HTML articles: main text, title and date through trafilatura."""

from __future__ import annotations

from khabar.errors import InputError
from khabar.ingest.files import article_from_text
from khabar.records import Article


def article_from_html(
    html: str, *, article_id: str, source: str, name: str, url: str | None = None
) -> Article:
    """Extract the main text (scripts, styles, menus dropped), title and date of a page."""
    import trafilatura

    doc = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=False
    )
    text = getattr(doc, "text", None) if doc is not None else None
    if not text or not text.strip():
        raise InputError(f"{name}: no article text found in the HTML")
    title = (getattr(doc, "title", None) or "").strip() or None
    if title:
        first, _, rest = text.partition("\n")
        if first.strip() == title:
            text = rest
    return article_from_text(
        text,
        article_id=article_id,
        title=title,
        source=getattr(doc, "sitename", None) or source,
        url=url or getattr(doc, "url", None),
        published=getattr(doc, "date", None),
        author=getattr(doc, "author", None),
        name=name,
        strict_date=False,
    )


def fragment_text(fragment: str) -> str:
    """The text of an HTML fragment (a feed item's content or summary), scripts and
    styles dropped, one block per line; text without markup is returned as it is."""
    if "<" not in fragment:
        return fragment
    import trafilatura

    doc = trafilatura.bare_extraction(
        f"<html><body><article>{fragment}</article></body></html>",
        favor_recall=True,
        include_comments=False,
        include_tables=False,
    )
    text = getattr(doc, "text", None) if doc is not None else None
    if text and text.strip():
        return str(text)
    # Too short for trafilatura's extractor (a one-line summary): strip the tags.
    from lxml import html as lxml_html

    root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    for bad in root.xpath("//script|//style"):
        bad.drop_tree()
    return str(root.text_content())
