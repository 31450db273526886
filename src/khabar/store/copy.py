"""Copy an index to another store (`khabar migrate`): articles, chunks, spans and their
vectors, through the Store protocol alone, so any backend copies to any other. Nothing is
embedded again. An article already in the target with the same content hash is skipped,
so an interrupted copy run again goes on where it stopped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from khabar.records import Article, Chunk, Span
from khabar.store.base import PendingArticle, Store
from khabar.store.metadata import ArticleRow

GROUP_CHUNKS = 256  # chunks a write carries (one write per article would make tiny segments)


@dataclass
class CopyReport:
    """What a copy did, by article id."""

    copied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already there, unchanged


def stored_article(source: Store, row: ArticleRow) -> PendingArticle | None:
    """An article of ``source`` as it was written: its chunks, spans and vectors (None when
    it has gone or its vectors are missing, as while another process writes it)."""
    ids = source.chunk_ids_of([row.id])
    rows = source.chunks(ids.tolist())
    spans = source.spans_of_chunks(ids.tolist())
    if not len(ids) or len(rows) != len(ids):
        return None
    with source.reading():
        have_chunks, chunk_vectors = source.chunk_vectors(ids)
        span_ids = np.asarray([s.id for s in spans], dtype=np.int64)
        have_spans, span_vectors = source.span_vectors(span_ids)
    if not (np.array_equal(have_chunks, ids) and np.array_equal(have_spans, span_ids)):
        return None
    of_chunk: dict[int, list[Span]] = {}
    for s in spans:
        of_chunk.setdefault(s.chunk_id, []).append(Span(s.start, s.end, s.kind))
    chunks: list[Chunk] = []
    for chunk_id in ids.tolist():
        stored = rows[chunk_id]
        part = sum(1 for c in chunks if c.paragraph == stored.paragraph)
        spans_here = tuple(of_chunk.get(chunk_id, ()))
        chunks.append(Chunk(stored.paragraph, part, stored.section, stored.text, spans_here))
    article = Article(
        row.id,
        row.title,
        "\n\n".join(c.text for c in chunks),
        source=row.source,
        url=row.url,
        published=row.published,
        origin=row.origin,
        author=row.author,
    )
    return PendingArticle(article, chunks, chunk_vectors, span_vectors, row.content_hash)


def copy_articles(
    source: Store, target: Store, progress: Callable[[int, int], None] | None = None
) -> CopyReport:
    """Copy every article of ``source`` that ``target`` lacks (or holds with another
    content hash) into ``target``, in groups of about GROUP_CHUNKS chunks."""
    report = CopyReport()
    rows = source.articles()
    group: list[PendingArticle] = []

    def flush() -> None:
        if group:
            target.write(group)  # replacing an older copy of an article
            report.copied.extend(p.article.id for p in group)
            group.clear()

    for done, row in enumerate(rows, 1):
        there = target.article(row.id)
        if there is not None and there.content_hash == row.content_hash:
            report.skipped.append(row.id)
        elif (pending := stored_article(source, row)) is not None:
            group.append(pending)
            if sum(len(p.chunks) for p in group) >= GROUP_CHUNKS:
                flush()
        if progress is not None:
            progress(done - len(group), len(rows))
    flush()
    if progress is not None:
        progress(len(rows), len(rows))
    return report
