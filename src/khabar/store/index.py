"""IndexStore: manifest + FAISS vectors + SQLite, kept in step.

Write order (one writer at a time, across processes, by a lock file):
SQLite changes inside a transaction → vector files written atomically →
SQLite commit → manifest. A crash at any point leaves an index that opens: on
open, vectors whose rows are gone are dropped and rows without vectors are
embedded again from their stored text, so SQLite and FAISS always agree.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from khabar.errors import IndexFormatError, IndexWriteError
from khabar.records import Article, Chunk
from khabar.store.lexical import LexicalIndex, remove_stale
from khabar.store.manifest import FORMAT_VERSION, MANIFEST_NAME, Manifest
from khabar.store.metadata import DB_NAME, ArticleRow, MetadataStore, StoredChunk, StoredSpan
from khabar.store.vectors import Matrix, VectorIndex

CHUNK_VECTORS = "chunks.faiss"
SPAN_VECTORS = "spans.faiss"
LOCK_NAME = ".lock"

EmbedFn = Callable[[Sequence[str]], Matrix]

__all__ = ["ArticleRow", "EncoderInfo", "IndexStore", "PendingArticle", "StoredChunk", "StoredSpan"]


@dataclass(frozen=True)
class EncoderInfo:
    """What the manifest records of an encoder."""

    name: str
    fingerprint: str
    dim: int


@dataclass(frozen=True)
class PendingArticle:
    """An article ready to be written: its chunks and their vectors."""

    article: Article
    chunks: Sequence[Chunk]
    chunk_vectors: Matrix
    span_vectors: Matrix  # one row per span, chunks in order


class IndexStore:
    """One index folder, opened for reading and writing."""

    manifest: Manifest
    chunk_index: VectorIndex
    span_index: VectorIndex
    lexical: LexicalIndex | None

    def __init__(
        self,
        folder: Path,
        encoder: EncoderInfo,
        embed: EmbedFn,
        version: str,
        rebuild_damaged: bool = False,
    ) -> None:
        self.folder = folder
        self._encoder = encoder
        self._embed = embed
        self._version = version
        self._lock = threading.RLock()
        # A stamp no manifest has: taking the writer lock below loads everything.
        self._stamp: tuple[int, int] | None = (-1, -1)
        self._rebuild_damaged = rebuild_damaged
        self.rebuilt: list[str] = []  # vector files that were damaged and rebuilt on open
        self.db = MetadataStore(folder / DB_NAME)
        with self.writing():  # loads the manifest, vectors and BM25 (see _reload)
            self._repair()
        self._rebuild_damaged = False

    @classmethod
    def open(
        cls,
        folder: Path,
        encoder: EncoderInfo,
        embed: EmbedFn,
        version: str,
        rebuild_damaged: bool = False,
    ) -> IndexStore:
        """Open (creating if needed) the index in ``folder``, checking and repairing it.

        A damaged vector file is an IndexFormatError that says how to repair it, or, with
        ``rebuild_damaged``, is rebuilt from the text stored in SQLite (every paragraph
        and span embedded again)."""
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise IndexFormatError(f"{folder}: cannot create the index folder ({exc})") from exc
        if not (folder / MANIFEST_NAME).exists() and any(
            (folder / name).exists() for name in (CHUNK_VECTORS, SPAN_VECTORS)
        ):
            raise IndexFormatError(f"{folder}: vector files without a manifest; not a khabar index")
        return cls(folder, encoder, embed, version, rebuild_damaged)

    # -- opening ------------------------------------------------------------
    def _load_or_create_manifest(self) -> Manifest:
        enc = self._encoder
        if (self.folder / MANIFEST_NAME).exists():
            manifest = Manifest.load(self.folder)
            manifest.check_encoder(enc.name, enc.fingerprint, enc.dim, self.folder)
            return manifest
        return Manifest(FORMAT_VERSION, self._version, enc.name, enc.fingerprint, enc.dim)

    def _load_vectors(self, rebuild_damaged: bool = False) -> tuple[VectorIndex, VectorIndex]:
        loaded = []
        for name in (CHUNK_VECTORS, SPAN_VECTORS):
            path = self.folder / name
            if not path.exists():
                loaded.append(VectorIndex.create(self._encoder.dim))
                continue
            try:
                loaded.append(VectorIndex.load(path, self._encoder.dim))
            except IndexFormatError as exc:
                if not rebuild_damaged:
                    raise IndexFormatError(
                        f"{exc}. The articles are safe in SQLite: `khabar repair --index "
                        f"{self.folder}` rebuilds the vectors from them"
                    ) from exc
                loaded.append(VectorIndex.create(self._encoder.dim))  # _repair re-embeds all
                self.rebuilt.append(name)
        self._stamp = self._manifest_stamp()
        return loaded[0], loaded[1]

    def _repair(self) -> None:
        """Make FAISS agree with SQLite: drop orphan vectors, embed rows that have none."""
        changed = False
        for index, wanted, texts in (
            (self.chunk_index, self.db.chunk_ids(), self.db.texts_for_chunks),
            (self.span_index, self.db.span_ids(), self.db.texts_for_spans),
        ):
            have = index.ids()
            want = np.asarray(wanted, dtype=np.int64)
            extra = np.setdiff1d(have, want)
            missing = np.setdiff1d(want, have)
            if len(extra):
                index.remove(extra)
                changed = True
            if len(missing):
                index.add(missing, self._embed(texts([int(i) for i in missing])))
                changed = True
        lexical_ok = self.lexical is not None and np.array_equal(
            np.sort(self.lexical.ids), np.asarray(self.db.chunk_ids(), dtype=np.int64)
        )
        remove_stale(self.folder)  # leftovers of a save that was interrupted
        if not lexical_ok:
            self._rebuild_lexical()
            changed = True
        counts = self.db.counts()
        stale = (self.manifest.articles, self.manifest.chunks, self.manifest.spans) != counts
        if changed or stale or not (self.folder / MANIFEST_NAME).exists():
            self._save_vectors()
            self._save_manifest()

    # -- locking and freshness ----------------------------------------------
    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the writer lock: this thread in this process, and this process on the folder."""
        with self._lock, (self.folder / LOCK_NAME).open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                if self._manifest_stamp() != self._stamp:
                    self._reload()
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Hold the in-process lock while using the vector indexes (writers swap them)."""
        with self._lock:
            yield

    def refresh(self) -> None:
        """Pick up what another process wrote since this one last looked (cheap when nothing)."""
        if self._manifest_stamp() != self._stamp:
            with self._lock:
                self._reload()

    def _reload(self) -> None:
        self.manifest = self._load_or_create_manifest()
        self.chunk_index, self.span_index = self._load_vectors(self._rebuild_damaged)
        self.lexical = LexicalIndex.load(self.folder)

    def _manifest_stamp(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.folder / MANIFEST_NAME)
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns

    # -- writes -------------------------------------------------------------
    def write(self, add: Sequence[PendingArticle], remove: Sequence[str] = ()) -> None:
        """Remove articles and add others in one step: all of it lands, or none of it."""
        with self.writing():
            self.db.begin()
            try:
                gone_chunks: list[int] = []
                gone_spans: list[int] = []
                for article_id in [*remove, *(p.article.id for p in add)]:
                    chunks, spans = self.db.delete_article(article_id)
                    gone_chunks += chunks
                    gone_spans += spans
                self.chunk_index.remove(np.asarray(gone_chunks, dtype=np.int64))
                self.span_index.remove(np.asarray(gone_spans, dtype=np.int64))
                for pending in add:
                    chunk_ids, span_ids = self.db.insert_article(pending.article, pending.chunks)
                    flat = np.asarray([i for ids in span_ids for i in ids], dtype=np.int64)
                    self.chunk_index.add(
                        np.asarray(chunk_ids, dtype=np.int64), pending.chunk_vectors
                    )
                    self.span_index.add(flat, pending.span_vectors)
                self._save_vectors()
                self._rebuild_lexical()
                self.db.commit()
            except BaseException as exc:
                self.db.rollback()
                try:
                    # The files on disk may hold the new vectors: reload, drop what SQLite lacks.
                    self.chunk_index, self.span_index = self._load_vectors()
                    self._repair()
                except (OSError, sqlite3.Error):
                    pass  # still cannot write (the disk is full): the next open repairs
                if isinstance(exc, (OSError, sqlite3.Error)):
                    raise IndexWriteError(
                        f"{self.folder}: cannot write the index ({_reason(exc)}); nothing was "
                        "changed. Free some disk space (or fix the permissions) and run it again"
                    ) from exc
                raise
            try:
                self._save_manifest()
            except OSError as exc:
                raise IndexWriteError(
                    f"{self.folder}: the articles are saved but the manifest could not be "
                    f"written ({_reason(exc)}); the next command repairs it"
                ) from exc

    def _rebuild_lexical(self) -> None:
        ids, docs = self.db.all_terms()
        self.lexical = LexicalIndex.build(ids, docs)
        self.lexical.save(self.folder)

    def _save_vectors(self) -> None:
        self.chunk_index.save(self.folder / CHUNK_VECTORS)
        self.span_index.save(self.folder / SPAN_VECTORS)

    def _save_manifest(self) -> None:
        articles, chunks, spans = self.db.counts()
        self.manifest.articles, self.manifest.chunks, self.manifest.spans = articles, chunks, spans
        self.manifest.khabar_version = self._version
        self.manifest.save(self.folder)
        self._stamp = self._manifest_stamp()

    # -- reads --------------------------------------------------------------
    def size_on_disk(self) -> int:
        """Bytes used by the index folder's files."""
        return sum(p.stat().st_size for p in self.folder.iterdir() if p.is_file())

    def close(self) -> None:
        """Close the database."""
        self.db.close()


def _reason(exc: BaseException) -> str:
    """An OS or SQLite error in a few words ("File too large", "database or disk is full")."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or exc.__class__.__name__
