"""Bulk files of many articles with named fields: JSONL (one object per line) and CSV.

Both have the same fields: ``text`` (required); ``title``, ``url``, ``source``,
``author``, ``published`` (a date, YYYY-MM-DD or ISO 8601) and ``id``; other fields
or columns are ignored. Any bad record fails the whole file, naming its line (JSONL)
or row (CSV, numbered as a spreadsheet numbers them: the header is row 1).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping

from khabar.errors import InputError
from khabar.ingest.files import article_from_text, slugify
from khabar.records import Article

FIELDS = ("text", "title", "url", "source", "author", "published", "id")
_OPTIONAL = FIELDS[1:]


def article_from_record(
    record: Mapping[str, object], *, where: str, name: str, fallback_id: str
) -> Article:
    """One article from a record's named fields; InputError naming ``where`` if invalid."""
    body = record.get("text")
    if not isinstance(body, str) or not body.strip():
        raise InputError(f"{where}: the 'text' field is missing or empty")
    fields: dict[str, str | None] = {}
    for key in _OPTIONAL:
        value = record.get(key)
        if value is not None and not isinstance(value, str):
            raise InputError(f"{where}: the {key!r} field must be a string")
        fields[key] = value.strip() or None if isinstance(value, str) else None
    url = fields["url"]
    if fields["id"]:
        article_id = slugify(fields["id"])
    elif url:
        article_id = "url-" + hashlib.sha256(url.encode()).hexdigest()[:12]
    else:
        article_id = fallback_id
    return article_from_text(
        body,
        article_id=article_id,
        title=fields["title"],
        source=fields["source"] or name,
        url=url,
        published=fields["published"],
        author=fields["author"],
        name=where,
    )


def articles_from_jsonl(text: str, *, name: str, id_prefix: str) -> list[Article]:
    """One article per non-empty line. Without an ``id``, the id comes from the URL,
    else from the file name and line number."""
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
        articles.append(
            article_from_record(record, where=where, name=name, fallback_id=f"{id_prefix}-{lineno}")
        )
    if not articles:
        raise InputError(f"{name}: the file has no articles")
    return articles


def articles_from_csv(text: str, *, name: str, id_prefix: str, max_field: int) -> list[Article]:
    """One article per row of a CSV file whose first row names the columns (comma-separated,
    quoted fields may hold newlines). Without an ``id`` column value, the id comes from
    the URL, else from the file name and row number."""
    csv.field_size_limit(max(max_field, 131072))
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if "text" not in header:
        raise InputError(
            f"{name}: the first row must name the columns, one of them 'text' "
            f"(found: {', '.join(header) or 'nothing'}); columns khabar reads: {', '.join(FIELDS)}"
        )
    reader.fieldnames = header
    articles: list[Article] = []
    try:
        for number, row in enumerate(reader, start=2):  # as a spreadsheet numbers its rows
            where = f"{name}, row {number}"
            if None in row:
                raise InputError(f"{where}: more fields than the header names")
            if not any((v or "").strip() for v in row.values()):
                continue
            articles.append(
                article_from_record(
                    row, where=where, name=name, fallback_id=f"{id_prefix}-{number}"
                )
            )
    except csv.Error as exc:
        raise InputError(f"{name}, line {reader.line_num}: not valid CSV ({exc})") from exc
    if not articles:
        raise InputError(f"{name}: the file has no articles")
    return articles
