"""SegmentStore: the embedded backend of the Store protocol (FAISS segments + SQLite).

One index folder holds ``khabar.sqlite`` (articles, chunks, spans, the FTS5 lexical index
and the list of vector segments), ``segments/`` (the vector files) and ``manifest.json``
(what the index is, for people and tools; the database is the truth about segments).

A write (one writer at a time, across processes, by a lock file): inside one SQLite
transaction the rows go in, the new segment files are written and fsynced, and the
segments are recorded; then it commits. A crash before the commit leaves files that no
row names (removed by the next writer) and the previous index; after it, the whole write.
A write costs what it adds; merges of segments of one size tier follow it (``segments.py``).
Removed articles leave their vectors behind until a merge (or ``compact``) drops them.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from khabar.errors import (
    IndexFormatError,
    IndexNotFoundError,
    IndexWriteError,
    ReadOnlyIndexError,
)
from khabar.store import ann, catalog, lexical
from khabar.store.allowed import FilterIds
from khabar.store.base import EncoderInfo, Filter, Ids, Matrix, PendingArticle, Scores
from khabar.store.lengths import ChunkLengths
from khabar.store.manifest import FORMAT_VERSION, MANIFEST_NAME, Manifest
from khabar.store.merge import merge_segments
from khabar.store.metadata import DB_NAME, ArticleRow, MetadataStore, StoredChunk, StoredSpan
from khabar.store.migrate import migrate_v1
from khabar.store.quote_rows import QuoteRow
from khabar.store.repair import repair
from khabar.store.segments import (
    FLAT,
    SEAL_VECTORS,
    SEGMENTS_DIR,
    TRAIN_FACTOR,
    Codec,
    Collection,
    Segment,
    SegmentRecord,
    SegmentWriter,
    plan_merge,
)

LOCK_NAME = ".lock"
KINDS = ("chunks", "spans")
FILTERS_KEPT = 8  # filters whose ids are remembered until the index changes

EmbedFn = Callable[[Sequence[str]], Matrix]

__all__ = ["SegmentStore"]


class SegmentStore:
    """One index folder, opened for reading and writing."""

    manifest: Manifest

    def __init__(
        self,
        folder: Path,
        encoder: EncoderInfo,
        embed: EmbedFn,
        version: str,
        rebuild_damaged: bool = False,
        seal_vectors: int = SEAL_VECTORS,
        build_settings: dict[str, Any] | None = None,
        read_only: bool = False,
    ) -> None:
        self.folder = folder
        self.location = str(folder.resolve())
        self._encoder = encoder
        self._embed = embed
        self._version = version
        self.seal_vectors = seal_vectors
        self._lock = threading.RLock()
        self.rebuilt: list[str] = []  # segments found damaged and rebuilt (repair)
        self.notes: list[str] = []  # what opening did that a person should hear of
        self._generation: str | None = None
        self._codecs: dict[str, Codec] = {}
        self._df_known: dict[str, int] = {}  # term → chunks holding it (lexical.frequencies)
        self._df_generation: str | None = None
        self._lengths = ChunkLengths()  # chunk id → length, for the lexical leg
        self._filters: dict[tuple[str | None, Filter], FilterIds] = {}
        self._filters_lock = threading.Lock()
        self.collections = {kind: Collection(kind, encoder.dim) for kind in KINDS}
        self.read_only = read_only
        self.db = MetadataStore(folder / DB_NAME, read_only=read_only)
        self.notes.extend(self.db.notes)
        self.writer = SegmentWriter(folder)
        if read_only:
            self._open_read_only(rebuild_damaged)
            return
        with self._locked():
            self.manifest = self._load_or_create_manifest()
            if build_settings is not None:
                self.manifest.settings = dict(build_settings)
            if not (folder / MANIFEST_NAME).exists():
                self._save_manifest()  # first, so that no vector file is ever without it
            if self.manifest.format_version < FORMAT_VERSION:
                self.notes.append(migrate_v1(self))
            if rebuild_damaged:
                self.rebuilt.extend(repair(self))
            self._remove_orphans()
            self.load_segments()
            if self.manifest.format_version != FORMAT_VERSION or self._manifest_stale():
                self._save_manifest()

    @classmethod
    def open(
        cls,
        folder: Path,
        encoder: EncoderInfo,
        embed: EmbedFn,
        version: str,
        rebuild_damaged: bool = False,
        seal_vectors: int = SEAL_VECTORS,
        build_settings: dict[str, Any] | None = None,
        create: bool = True,
        read_only: bool = False,
    ) -> SegmentStore:
        """Open the index in ``folder``, creating it if needed when ``create`` (commands
        that write); without ``create``, a folder with no index is an IndexNotFoundError.

        An index this process cannot write (a read-only mount, another user's files), or
        any index when ``read_only``, is opened read-only: questions work, a write is a
        ReadOnlyIndexError, and nothing is repaired, migrated or written on open. A damaged
        segment is an IndexFormatError that names it and says how to repair it; with
        ``rebuild_damaged`` (``khabar repair``) every segment's checksum is checked and a
        damaged one is rebuilt from the text stored in SQLite."""
        if not exists(folder):
            if not create or read_only:
                raise no_index(folder)
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise IndexFormatError(f"{folder}: cannot create the index folder ({exc})") from exc
        else:
            read_only = read_only or is_read_only(folder)
        segments = folder / SEGMENTS_DIR
        if not (folder / MANIFEST_NAME).exists() and (
            any((folder / name).exists() for name in ("chunks.faiss", "spans.faiss"))
            or (segments.is_dir() and any(segments.iterdir()))
        ):
            raise IndexFormatError(f"{folder}: vector files without a manifest; not a khabar index")
        return cls(
            folder,
            encoder,
            embed,
            version,
            rebuild_damaged,
            seal_vectors,
            build_settings,
            read_only=read_only,
        )

    # -- opening ------------------------------------------------------------
    def _open_read_only(self, rebuild_damaged: bool) -> None:
        """Load what is there and change nothing (no migration, repair or manifest)."""
        if rebuild_damaged:
            raise self._read_only_error("repaired")
        self.manifest = self._load_or_create_manifest()
        if self.manifest.format_version < FORMAT_VERSION:
            raise IndexFormatError(
                f"{self.folder}: index format {self.manifest.format_version} is upgraded to "
                f"{FORMAT_VERSION} on the first open with write access, and this index is "
                "read-only: copy it to a writable folder, or open it once as its owner"
            )
        try:
            self.load_segments()
        except IndexFormatError as exc:
            raise IndexFormatError(
                f"{exc} (this index is read-only: repair a writable copy, or ask its owner)"
            ) from exc

    def check_writable(self, what: str = "changed") -> None:
        """A ReadOnlyIndexError, before any work, when the index cannot be written."""
        if self.read_only:
            raise self._read_only_error(what)

    def _read_only_error(self, what: str) -> ReadOnlyIndexError:
        return ReadOnlyIndexError(
            f"{self.folder}: the index is read-only (no write permission, or a read-only "
            f"mount), so it cannot be {what}; it can still be asked"
        )

    def _load_or_create_manifest(self) -> Manifest:
        enc = self._encoder
        if (self.folder / MANIFEST_NAME).exists():
            manifest = Manifest.load(self.folder)
            manifest.check_encoder(enc.name, enc.fingerprint, enc.dim, self.folder)
            return manifest
        return Manifest(FORMAT_VERSION, self._version, enc.name, enc.fingerprint, enc.dim)

    def _codec(self, kind: str) -> Codec | None:
        if kind not in self._codecs:
            stored = catalog.load_codec(self.db.conn, kind)
            if stored is None:
                return None
            self._codecs[kind] = stored
        return self._codecs[kind]

    def load_segments(self) -> None:
        """(Re)open the recorded segments; a damaged one is an error that names it."""
        generation = catalog.generation(self.db.conn)
        records = catalog.segments(self.db.conn)
        try:
            for kind, collection in self.collections.items():
                collection.open(
                    self.folder,
                    [r for r in records if r.kind == kind],
                    lambda kind=kind: self._codec(kind),  # type: ignore[misc]
                )
        except IndexFormatError as exc:
            raise IndexFormatError(
                f"{exc}. The articles are safe in SQLite: `khabar repair --index "
                f"{self.folder}` rebuilds the vectors from them"
            ) from exc
        self._generation = generation

    def _remove_orphans(self) -> None:
        """Delete segment files no recorded segment owns (a write or merge that crashed)."""
        folder = self.folder / SEGMENTS_DIR
        if not folder.exists():
            return
        owned = {r.name for r in catalog.segments(self.db.conn)}
        for path in folder.iterdir():
            if path.name.split(".", 1)[0] not in owned:
                with contextlib.suppress(OSError):
                    path.unlink()

    # -- locking and freshness ----------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock, (self.folder / LOCK_NAME).open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def writing(self, what: str = "changed") -> Iterator[None]:
        """Hold the writer lock (this thread in this process, and this process on the
        folder), with the segments brought up to date; on a read-only index, a
        ReadOnlyIndexError saying that it cannot be ``what``."""
        self.check_writable(what)
        with self._locked():
            self._refresh_locked()
            yield

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Hold the in-process lock while using the vectors (writers swap segments)."""
        with self._lock:
            yield

    def refresh(self) -> None:
        """Pick up what another process wrote since this one last looked (one small query)."""
        if catalog.generation(self.db.conn) != self._generation:
            with self._lock:
                self._refresh_locked()

    def _refresh_locked(self) -> None:
        if catalog.generation(self.db.conn) == self._generation:
            return
        for attempt in range(3):  # a merge elsewhere may delete a file between list and open
            try:
                self.load_segments()
                return
            except IndexFormatError:
                if attempt == 2:
                    raise

    # -- writes -------------------------------------------------------------
    def write(self, add: Sequence[PendingArticle], remove: Sequence[str] = ()) -> None:
        """Remove articles and add others in one step: all of it lands, or none of it (an
        article named twice in ``add``: its last version)."""
        add = list({p.article.id: p for p in add}.values())
        with self.writing():
            written: list[SegmentRecord] = []
            try:
                self._write_rows(add, remove, written)
            except BaseException as exc:
                for record in written:
                    self.writer.discard(record)
                if isinstance(exc, (OSError, sqlite3.Error)):
                    raise IndexWriteError(
                        f"{self.folder}: cannot write the index ({_reason(exc)}); nothing was "
                        "changed. Free some disk space (or fix the permissions) and run it again"
                    ) from exc
                raise
            self.load_segments()
            self._after_commit()

    def _write_rows(
        self, add: Sequence[PendingArticle], remove: Sequence[str], written: list[SegmentRecord]
    ) -> None:
        """The rows, their postings and their new flat segments, in one transaction
        (``written`` collects the segments whose files exist, for cleaning up on failure)."""
        with self.db.transaction():
            for article_id in [*remove, *(p.article.id for p in add)]:
                self.db.delete_article(article_id)
            chunk_ids: list[int] = []
            span_ids: list[int] = []
            chunk_vectors: list[Matrix] = []
            span_vectors: list[Matrix] = []
            for pending in add:
                ids, spans = self.db.insert_article(
                    pending.article, pending.chunks, pending.content_hash
                )
                chunk_ids += ids
                span_ids += [i for chunk in spans for i in chunk]
                chunk_vectors.append(pending.chunk_vectors)
                span_vectors.append(pending.span_vectors)
            for kind, ids_, vectors in (
                ("chunks", chunk_ids, chunk_vectors),
                ("spans", span_ids, span_vectors),
            ):
                if ids_:
                    record = self.writer.flat(
                        kind, np.asarray(ids_, dtype=np.int64), np.concatenate(vectors)
                    )
                    written.append(record)
                    catalog.add_segment(self.db.conn, record)
            catalog.bump(self.db.conn)

    def _after_commit(self) -> None:
        """Merge what is due (the write itself has landed), then mirror the manifest."""
        try:
            self._merge_due()
        except (OSError, sqlite3.Error) as exc:
            raise IndexWriteError(
                f"{self.folder}: the articles are saved, but merging segments failed "
                f"({_reason(exc)}); the next write or `khabar compact` merges them"
            ) from exc
        try:
            self._save_manifest()
        except OSError as exc:
            raise IndexWriteError(
                f"{self.folder}: the articles are saved but the manifest could not be "
                f"written ({_reason(exc)}); the next command repairs it"
            ) from exc

    def _merge_due(self) -> None:
        """Seal every flat segment of seal size once its kind can be sealed (those written
        before the kind had enough vectors to train on), then merge, tier by tier, while a
        tier is full."""
        for kind, collection in self.collections.items():
            if self.can_seal(kind):
                for segment in list(collection.segments):
                    if segment.record.layout == FLAT and segment.count >= self.seal_vectors:
                        self.merge(kind, [segment.record])
            while group := plan_merge([s.record for s in collection.segments]):
                self.merge(kind, group)

    def _dead_share(self, kind: str) -> float:
        held = self.collections[kind].size
        live = self.db.counts()[1 if kind == "chunks" else 2]
        return 0.0 if not held else max(0.0, (held - live) / held)

    def merge(self, kind: str, group: list[SegmentRecord]) -> None:
        """Merge ``group`` (segments of ``kind``) into one segment, under the writer lock."""
        by_name = {s.record.name: s for s in self.collections[kind].segments}
        inputs: list[Segment] = [by_name[r.name] for r in group]
        for segment in inputs:
            segment.verify()  # a damaged segment is not merged into a new one
        live = self.db.live_ids(kind, np.concatenate([np.asarray(s.ids) for s in inputs]))
        record = merge_segments(self, kind, inputs, live)
        self.commit_segments([] if record is None else [record], drop=[r.name for r in group])
        self.load_segments()
        for old in group:
            self.writer.discard(old)

    def can_seal(self, kind: str) -> bool:
        """Whether a merge of ``kind`` may be sealed: its codec exists, or the kind holds
        enough vectors (TRAIN_FACTOR × seal_vectors) to train one on."""
        enough = self.collections[kind].size >= TRAIN_FACTOR * self.seal_vectors
        return enough or self._codec(kind) is not None

    def codec_for(self, kind: str, sample: Callable[[], Matrix]) -> tuple[Codec, Any]:
        """The kind's codec and trained IVF-PQ index; the first time, both are trained on
        ``sample()`` (called only then) and recorded."""
        trained = catalog.load_trained(self.db.conn, kind)
        codec = self._codec(kind)
        if codec is None or trained is None:
            vectors = sample()
            codec = Codec.train(vectors, space=self._encoder.question_space())
            trained = ann.serialize(ann.train(codec.to_space(vectors)))
            with self.db.transaction():
                catalog.save_codec(self.db.conn, kind, codec, trained)
            self._codecs[kind] = codec
        return codec, ann.deserialize(trained)

    def embed(self, ids: list[int], texts: Callable[[Sequence[int]], list[str]]) -> Matrix:
        """Vectors of the stored texts of ``ids`` (repair and migration), in blocks."""
        out = [
            np.asarray(self._embed(texts(ids[start : start + 256])), dtype=np.float32)
            for start in range(0, len(ids), 256)
        ]
        return np.concatenate(out) if out else np.empty((0, self._encoder.dim), np.float32)

    def commit_segments(self, add: Sequence[SegmentRecord], drop: Sequence[str] = ()) -> None:
        """Record ``add`` and forget ``drop`` in one transaction (the new files are deleted
        if it fails)."""
        try:
            with self.db.transaction():
                catalog.replace_segments(self.db.conn, list(drop), None)
                for record in add:
                    catalog.add_segment(self.db.conn, record)
                catalog.bump(self.db.conn)
        except BaseException:
            for record in add:
                self.writer.discard(record)
            raise

    def compact(self) -> dict[str, Any]:
        """Merge every kind's segments into one and drop removed vectors."""
        with self.writing("compacted"):
            before = {k: len(c.segments) for k, c in self.collections.items()}
            held = {k: c.size for k, c in self.collections.items()}
            merges = 0
            for kind, collection in self.collections.items():
                records = [s.record for s in collection.segments]
                if len(records) > 1 or (records and self._dead_share(kind)):
                    self.merge(kind, records)
                    merges += 1
            self._save_manifest()
        return {
            "merges": merges,
            "segments_before": before,
            "segments_after": {k: len(c.segments) for k, c in self.collections.items()},
            "vectors_dropped": {k: held[k] - c.size for k, c in self.collections.items()},
        }

    def _manifest_stale(self) -> bool:
        counts = self.db.counts()
        m = self.manifest
        weights = self._encoder.weights_record()
        return (
            (m.articles, m.chunks, m.spans) != counts
            or m.segments != self._segment_list()
            or bool(weights and m.question_weights != weights)
        )

    def _segment_list(self) -> list[dict[str, Any]]:
        """Each segment's name, kind, layout, vector count and bytes on disk."""
        return [
            {
                "name": s.record.name,
                "kind": s.record.kind,
                "layout": s.record.layout,
                "vectors": s.record.count,
                "bytes": sum(size for size, _ in s.record.files.values()),
            }
            for c in self.collections.values()
            for s in c.segments
        ]

    def _save_manifest(self) -> None:
        articles, chunks, spans = self.db.counts()
        m = self.manifest
        m.format_version = FORMAT_VERSION
        m.articles, m.chunks, m.spans = articles, chunks, spans
        m.khabar_version = self._version
        m.segments = self._segment_list()
        if self._encoder.question_weights:
            m.question_weights = self._encoder.weights_record()
        m.save(self.folder)

    # -- dense legs -----------------------------------------------------------
    def _overfetch(self, kind: str, k: int) -> int:
        """``k`` widened by the share of removed vectors still in the segments."""
        dead = self._dead_share(kind)
        return int(np.ceil(k / max(1.0 - dead, 0.05)))

    def _search_live(
        self, kind: str, query: Matrix, k: int, live: Callable[[Ids], Ids], where: Filter | None
    ) -> tuple[Ids, Scores]:
        """The ``k`` best live ids (of those ``where`` lets through): asks for ``k`` widened
        by the dead share, and again, deeper, while removed vectors crowd the live ones out."""
        collection = self.collections[kind]
        allowed = None
        bound = collection.size
        if where is not None and not where.empty:
            ids_of = self.filter_ids(where)
            allowed = ids_of.chunks if kind == "chunks" else ids_of.spans
            bound = min(bound, allowed.count)
        want = self._overfetch(kind, k)
        while True:
            ids, scores = collection.search(query, want, allowed)
            keep = np.isin(ids, live(ids))
            if keep.sum() >= k or want >= bound:
                return ids[keep][:k], scores[keep][:k].astype(np.float64)
            want *= 4

    def filter_ids(self, where: Filter) -> FilterIds:
        """The ids ``where`` lets through (remembered, for a few filters, until the index
        changes: a reader asks one filter several times, and both dense legs need it)."""
        key = (self._generation, where)
        with self._filters_lock:
            found = self._filters.get(key)
        if found is None:
            condition = self.db.filter_sql(
                article_ids=where.article_ids,
                source=where.source,
                since=where.since,
                until=where.until,
            )
            found = FilterIds.from_ranges(self.db.id_ranges(*condition), condition)
            with self._filters_lock:
                self._filters = {k: v for k, v in self._filters.items() if k[0] == key[0]}
                while len(self._filters) >= FILTERS_KEPT:
                    self._filters.pop(next(iter(self._filters)))
                self._filters[key] = found
        return found

    def search_chunks(
        self, query: Matrix, k: int, where: Filter | None = None
    ) -> tuple[Ids, Scores]:
        """About ``k`` best chunk ids (live rows only, within ``where``), best first."""

        def live(ids: Ids) -> Ids:
            return np.asarray(sorted(self.db.existing_chunk_ids(ids.tolist())), np.int64)

        return self._search_live("chunks", query, k, live, where)

    def search_spans(self, query: Matrix, k: int, where: Filter | None = None) -> tuple[Ids, Ids]:
        """About ``k`` best spans as (span ids, chunk ids), live rows only, within ``where``."""
        owners: dict[int, int] = {}

        def live(ids: Ids) -> Ids:
            owners.update(self.db.span_owners(ids.tolist()))
            return np.asarray(sorted(owners), np.int64)

        ids, _ = self._search_live("spans", query, k, live, where)
        return ids, np.asarray([owners[int(i)] for i in ids], dtype=np.int64)

    def chunk_vectors(self, ids: Ids) -> tuple[Ids, Matrix]:
        """The chunk ids of ``ids`` that have vectors, and their vectors."""
        return self.collections["chunks"].vectors(ids)

    def span_vectors(self, ids: Ids) -> tuple[Ids, Matrix]:
        """The span ids of ``ids`` that have vectors, and their vectors."""
        return self.collections["spans"].vectors(ids)

    # -- lexical leg ----------------------------------------------------------
    def lexical_top(self, terms: Sequence[str], k: int, where: Filter) -> tuple[Ids, Scores]:
        """The ``k`` chunks with the best BM25 for ``terms`` within ``where``."""
        frequencies = self._frequencies(terms)
        counts = self._lexical_counts()
        conn = self.db.conn
        lengths = None
        if self._lengths.ready(lambda: self.db.conn, counts[0]):
            lengths = functools.partial(self._lengths.of, conn)
        if where.empty:
            return lexical.top(conn, frequencies, k, counts, None, lengths)
        allowed = self.filter_ids(where).chunks
        ids, scores = lexical.top(conn, frequencies, k, counts, allowed, lengths)
        keep = np.isin(ids, self.keep_matching(ids, where))  # the bitmap's runs, checked
        return ids[keep], scores[keep]

    def warm_up(self, wait: bool = False) -> None:
        """Start reading what the lexical leg keeps in memory (the chunks' lengths: about
        1 s at a million paragraphs, in a thread of its own on a large index), as a large
        index's second question does; with ``wait``, until it is read (a benchmark's
        steady state)."""
        self._lengths.start(lambda: self.db.conn, self.db.counts()[1])
        if wait:
            self._lengths.wait()

    def lexical_scores(self, terms: Sequence[str], ids: Ids) -> Scores:
        """BM25 of each of ``ids`` for ``terms``."""
        return lexical.scores_of(
            self.db.conn, self._frequencies(terms), ids, self._lexical_counts()
        )

    def _frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        """Each term's chunk count, remembered until the index changes (a question asks
        for them twice, and news questions share many terms)."""
        if self._df_generation != self._generation:
            self._df_known = {}
            self._df_generation = self._generation
        return lexical.frequencies(self.db.conn, terms, self._df_known)

    def _lexical_counts(self) -> tuple[int, int]:
        return self.db.counts()[1], self.db.term_count()

    # -- metadata ---------------------------------------------------------------
    def article(self, article_id: str) -> ArticleRow | None:
        """One article, or None."""
        return self.db.article(article_id)

    def article_by_url(self, url: str) -> ArticleRow | None:
        """The article with this URL, or None."""
        return self.db.article_by_url(url)

    def articles(self) -> list[ArticleRow]:
        """Every article, in the order they were added."""
        return self.db.articles()

    def sources(self) -> list[str]:
        """The distinct sources, sorted."""
        return self.db.sources()

    def quote_names(self) -> list[tuple[str, str]]:
        """Every distinct (speaker, name) quoted in the index."""
        return self.db.quote_names()

    def quotes(
        self, speakers: Sequence[str] | None, since: str | None, limit: int
    ) -> list[QuoteRow]:
        """Quotes newest first, of ``speakers`` (as recorded) if given."""
        return self.db.quotes(speakers, since, limit)

    def counts(self) -> tuple[int, int, int]:
        """(articles, chunks, spans)."""
        return self.db.counts()

    def count_matching(self, where: Filter) -> int:
        """How many articles ``where`` lets through."""
        return self.filter_ids(where).articles

    def chunk_ids_matching(self, where: Filter, limit: int) -> Ids | None:
        """Every chunk id ``where`` lets through, or None when more than ``limit``."""
        ids_of = self.filter_ids(where)
        if ids_of.chunks.count > limit:
            return None
        return self.keep_matching(ids_of.chunk_ids(), where)  # live ones only

    def keep_matching(self, ids: Ids, where: Filter) -> Ids:
        """The live chunk ids of ``ids`` that ``where`` lets through, in order."""
        found = self.db.keep_chunks_where(ids.tolist(), *self.filter_ids(where).condition)
        return np.asarray([i for i in ids.tolist() if i in found], dtype=np.int64)

    def chunk_ids_of(self, article_ids: Sequence[str]) -> Ids:
        """The chunk ids of the given articles."""
        return np.asarray(self.db.chunk_ids_of(article_ids), dtype=np.int64)

    def chunks(self, ids: Sequence[int]) -> dict[int, StoredChunk]:
        """Chunks by id with their article's citation fields."""
        return self.db.chunks(ids)

    def chunk_at(self, article_id: str, ordinal: int) -> StoredChunk | None:
        """The chunk of ``article_id`` at ``ordinal``, or None."""
        return self.db.chunk_at(article_id, ordinal)

    def spans_of_chunks(self, ids: Sequence[int]) -> list[StoredSpan]:
        """Every span of the given chunks."""
        return self.db.spans_of_chunks(ids)

    def span_table(self, chunk_ids: Sequence[int], sentences_only: bool = False) -> Ids:
        """Rows (span id, chunk id) of every span of the given chunks (of their sentences
        alone, with ``sentences_only``)."""
        return self.db.span_table(chunk_ids, sentences_only)

    def describe(self) -> dict[str, Any]:
        """Format, encoder, segments and size on disk."""
        self.refresh()
        m = self.manifest
        segments = self._segment_list()
        layouts = {str(s["layout"]) for s in segments}
        return {
            "store": "faiss",
            "encoder": m.encoder,
            "encoder_fingerprint": m.encoder_fingerprint,
            "dim": m.dim,
            "format_version": m.format_version,
            "index_type": " + ".join(sorted(layouts)) or FLAT,
            "segments": segments,
            "size_bytes": self.size_on_disk(),
            "read_only": self.read_only,
        }

    def size_on_disk(self) -> int:
        """Bytes used by the index folder's files (segments included)."""
        total = 0
        for path in self.folder.rglob("*"):
            with contextlib.suppress(OSError):
                if path.is_file():
                    total += path.stat().st_size
        return total

    def close(self) -> None:
        """Close the database (the segments' maps close with the process)."""
        self.db.close()


def exists(folder: Path) -> bool:
    """Whether ``folder`` holds a khabar index (its manifest or its database)."""
    return (folder / MANIFEST_NAME).exists() or (folder / DB_NAME).exists()


def no_index(folder: Path) -> IndexNotFoundError:
    """The error of a command that reads, pointed at a folder without an index."""
    return IndexNotFoundError(
        f"{folder}: no khabar index here; check --index (or KHABAR_INDEX), or create one "
        f"with `khabar add PATH --index {folder}`"
    )


def is_read_only(folder: Path) -> bool:
    """Whether this process may not write the index in ``folder`` (the folder or its
    database not writable: permissions or a read-only mount)."""
    db = folder / DB_NAME
    return not os.access(folder, os.W_OK) or (db.exists() and not os.access(db, os.W_OK))


def _reason(exc: BaseException) -> str:
    """An OS or SQLite error in a few words ("File too large", "database or disk is full")."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or exc.__class__.__name__
