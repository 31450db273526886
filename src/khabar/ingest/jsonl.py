"""JSONL bulk files: one article per line, ``text`` required."""

from __future__ import annotations

import hashlib
import json

from khabar.errors import InputError
from khabar.ingest.files import article_from_text, slugify
from khabar.records import Article

_OPTIONAL = ("title", "url", "source", "published", "id")


def articles_from_jsonl(text: str, *, name: str, id_prefix: str) -> list[Article]:
    """Parse one article per non-empty line; any bad line fails the whole file, naming the line.

    Fields: ``text`` (required); ``title``, ``url``, ``source``, ``published``, ``id``.
    Without an ``id``, the id comes from the URL, else from the file name and line number.
    """
    articles: list[Article] = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{name}, line {lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise InputError(f"{where}: expected a JSON object")
        body = record.get("text")
        if not isinstance(body, str) or not body.strip():
            raise InputError(f"{where}: the 'text' field is missing or empty")
        fields = {key: record.get(key) for key in _OPTIONAL}
        for key, value in fields.items():
            if value is not None and not isinstance(value, str):
                raise InputError(f"{where}: the {key!r} field must be a string")
        url = fields["url"]
        if fields["id"]:
            article_id = slugify(str(fields["id"]))
        elif url:
            article_id = "url-" + hashlib.sha256(url.encode()).hexdigest()[:12]
        else:
            article_id = f"{id_prefix}-{lineno}"
        articles.append(
            article_from_text(
                body,
                article_id=article_id,
                title=fields["title"],
                source=fields["source"] or name,
                url=url,
                published=fields["published"],
                name=where,
            )
        )
    if not articles:
        raise InputError(f"{name}: the file has no articles")
    return articles
