"""Reading article files: decoding, sniffing bad input, and dispatch by extension."""

from __future__ import annotations

import codecs
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from khabar.errors import InputError, UnsupportedSourceError
from khabar.ingest.dates import normalize_published
from khabar.records import Article
from khabar.text import clean_text, looks_like_heading, split_blocks

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
SUPPORTED_EXTENSIONS = (
    ".txt",
    ".md",
    ".markdown",
    ".html",
    ".htm",
    ".jsonl",
    ".csv",
    ".docx",
    ".pdf",
    ".rss",
    ".atom",
    ".xml",
)


def slugify(text: str, fallback: str = "article") -> str:
    """A readable, stable id from a file name or title (Arabic letters are kept)."""
    text = unicodedata.normalize("NFKC", text).strip().lower()
    slug = re.sub(r"[^\w.]+", "-", text, flags=re.UNICODE).strip("-.")
    return slug[:80] or fallback


def decode_bytes(data: bytes, name: str) -> str:
    """Decode an article file: UTF-8 (with or without BOM) or UTF-16 with a BOM.

    Raises InputError for an empty file, a binary file, or text in another encoding.
    """
    if not data.strip():
        raise InputError(f"{name}: the file is empty")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError(f"{name}: not valid UTF-16 text ({exc.reason})") from exc
    if b"\x00" in data[:8192]:
        raise InputError(f"{name}: looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name}: not UTF-8 text (byte {exc.start}); save it as UTF-8 and add it again"
        ) from exc


def article_from_text(
    text: str,
    *,
    article_id: str | None = None,
    title: str | None = None,
    source: str = "",
    url: str | None = None,
    published: str | None = None,
    author: str | None = None,
    name: str = "text",
    strict_date: bool = True,
) -> Article:
    """Build an Article from plain text; the title defaults to a heading-like first line.

    ``published`` is stored as ISO 8601; an unreadable date is an InputError when
    ``strict_date`` (a date a person wrote), else dropped (a date found on the web).
    Raises InputError when there is no paragraph to index.
    """
    published = normalize_published(published, name=name, strict=strict_date)
    text = clean_text(text).strip()
    if not text:
        raise InputError(f"{name}: the text is empty")
    blocks = split_blocks(text)
    # One short line is a (tiny) article; several short unpunctuated lines are only headings.
    if len(blocks) > 1 and all(looks_like_heading(b.text) for b in blocks):
        raise InputError(
            f"{name}: no paragraph to index (only headings: short lines without final punctuation)"
        )
    if title is None and len(blocks) > 1 and blocks[0].is_heading:
        title = blocks[0].text
        text = text.split("\n", 1)[1].strip()
    title = (title or "").strip() or _title_from_name(name)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]
    return Article(
        id=article_id or slugify(title, fallback=f"text-{digest}"),
        title=title,
        text=text,
        source=source,
        url=url,
        published=published,
        author=clean_text(author).strip() or None if author else None,
    )


def _title_from_name(name: str) -> str:
    stem = Path(name).name
    for suffix in (*SUPPORTED_EXTENSIONS, ".ar", ".en"):
        stem = stem.removesuffix(suffix)
    return re.sub(r"[-_]+", " ", stem).strip() or name


@dataclass(frozen=True)
class ReadContext:
    """What a reader may need beyond the file: the size limit, a way to fetch the page
    of a feed item that carries only a summary, and where to report an item that fails
    while the rest of the file is read."""

    max_bytes: int = DEFAULT_MAX_BYTES
    fetch_page: Callable[[str], Article] | None = None
    on_error: Callable[[str, str], None] | None = None


Reader = Callable[[Path, bytes, ReadContext], list[Article]]


def _read_plain(path: Path, data: bytes, ctx: ReadContext) -> list[Article]:
    text = decode_bytes(data, str(path))
    return [article_from_text(text, article_id=_id_for(path), source=str(path), name=str(path))]


def _read_markdown(path: Path, data: bytes, ctx: ReadContext) -> list[Article]:
    text = decode_bytes(data, str(path))
    title = None
    lines = text.lstrip().split("\n")
    if lines and lines[0].startswith("# "):
        title = lines[0][2:].strip()
        text = "\n".join(lines[1:])
    return [
        article_from_text(
            text, article_id=_id_for(path), title=title, source=str(path), name=str(path)
        )
    ]


def _read_html(path: Path, data: bytes, ctx: ReadContext) -> list[Article]:
    from khabar.ingest.html import article_from_html

    text = decode_bytes(data, str(path))
    return [article_from_html(text, article_id=_id_for(path), source=str(path), name=str(path))]


def _read_jsonl(path: Path, data: bytes, ctx: ReadContext) -> list[Article]:
    from khabar.ingest.bulk import articles_from_jsonl

    text = decode_bytes(data, str(path))
    return articles_from_jsonl(text, name=str(path), id_prefix=_id_for(path))


def _read_csv(path: Path, data: bytes, ctx: ReadContext) -> list[Article]:
    from khabar.ingest.bulk import articles_from_csv

    text = decode_bytes(data, str(path))
    return articles_from_csv(text, name=str(path), id_prefix=_id_for(path), max_field=ctx.max_bytes)


def _document(path: Path, text: str, meta: dict[str, str]) -> list[Article]:
    return [
        article_from_text(
            text,
            article_id=_id_for(path),
            title=meta.get("title"),
            author=meta.get("author"),
            source=str(path),
            name=str(path),
        )
    ]


def _read_docx(path: Path, data: bytes, ctx: ReadContext) -> list[Article]:
    from khabar.ingest.word import docx_text

    # Word's XML compresses about ten times: room for that, not for a bomb.
    return _document(path, *docx_text(data, str(path), max_unpacked=10 * ctx.max_bytes))


def _read_pdf(path: Path, data: bytes, ctx: ReadContext) -> list[Article]:
    from khabar.ingest.pdf import pdf_text

    return _document(path, *pdf_text(data, str(path)))


def _read_feed(path: Path, data: bytes, ctx: ReadContext) -> list[Article]:
    from khabar.ingest.feed import articles_from_feed

    def collect(where: str, message: str) -> None:
        errors.append((where, message))

    errors: list[tuple[str, str]] = []
    articles = articles_from_feed(
        data, name=str(path), fetch_page=ctx.fetch_page, on_error=ctx.on_error or collect
    )
    if errors and not articles:
        raise InputError(errors[0][1])
    return articles


_READERS: dict[str, Reader] = {
    ".txt": _read_plain,
    ".md": _read_markdown,
    ".markdown": _read_markdown,
    ".html": _read_html,
    ".htm": _read_html,
    ".jsonl": _read_jsonl,
    ".csv": _read_csv,
    ".docx": _read_docx,
    ".pdf": _read_pdf,
    ".rss": _read_feed,
    ".atom": _read_feed,
    ".xml": _read_feed,
}


def _id_for(path: Path) -> str:
    return slugify(_title_from_name(path.name).replace(" ", "-"))


def read_path(
    path: Path, max_bytes: int = DEFAULT_MAX_BYTES, ctx: ReadContext | None = None
) -> list[Article]:
    """Read one article file (or a bulk file or feed of many) into Articles.

    Raises UnsupportedSourceError for an unknown extension and InputError for a
    file that is missing, too large, empty, binary, not UTF-8 or otherwise unreadable.
    The items of a feed that fail go to ``ctx.on_error``, the others are returned.
    """
    ctx = ctx or ReadContext(max_bytes=max_bytes)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise UnsupportedSourceError(
            f"{path}: unsupported file type {path.suffix or '(none)'!r}; "
            f"khabar reads {', '.join(SUPPORTED_EXTENSIONS)}"
        )
    try:
        size = path.stat().st_size
        if size > ctx.max_bytes:
            raise InputError(f"{path}: {size:,} bytes is over the limit of {ctx.max_bytes:,} bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror})") from exc
    if not data.strip():
        raise InputError(f"{path}: the file is empty")
    # The path stays the article's origin (for `sync` and `khabar info --articles`); the
    # source a citation shows is the file's name, never the server's folders.
    origin = str(path.resolve())
    return [
        replace(a, origin=origin, source=path.name if a.source == str(path) else a.source)
        for a in reader(path, data, ctx)
    ]


def collect_files(
    paths: Iterable[Path], skipped: Callable[[Path], None] | None = None
) -> list[Path]:
    """Expand folders (recursively) into the article files they hold, sorted.

    Inside a folder, hidden files are left out, and files of other types are passed to
    ``skipped`` (for a count of what was left and why); a file named directly is kept
    whatever its type, so that its reader can say why it cannot be read.
    """
    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            found.append(path)
            continue
        for p in sorted(path.rglob("*")):
            if not p.is_file() or any(part.startswith(".") for part in p.relative_to(path).parts):
                continue
            if p.suffix.lower() in SUPPORTED_EXTENSIONS:
                found.append(p)
            elif skipped is not None:
                skipped(p)
    return found
