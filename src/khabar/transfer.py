"""`khabar migrate`: copy an index from one store to another (a FAISS folder, a Milvus Lite
file, a Milvus server), vectors included, without loading a model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from khabar import __version__
from khabar.errors import ConfigError, IndexFormatError
from khabar.store.base import Matrix
from khabar.store.copy import CopyReport, copy_articles
from khabar.store.opening import Place, no_index_error, open_store, recorded_info


def _no_embedding(texts: Sequence[str]) -> Matrix:
    raise IndexFormatError(
        "a damaged vector file needs the model to rebuild it: run `khabar repair` on the "
        "index first, then migrate"
    )


def migrate_index(
    index: Path,
    place: Place,
    to_index: Path,
    to: Place,
    progress: Callable[[int, int], None] | None = None,
) -> CopyReport:
    """Copy the index at ``index``/``place`` to ``to_index``/``to`` (made if missing; an
    existing one must have been built by the same encoder). Run again after an
    interruption, it copies what is not there yet."""
    if (place["store"], place["prefix"], index.resolve()) == (
        to["store"],
        to["prefix"],
        to_index.resolve(),
    ):
        raise ConfigError("migrate: the target is the index itself; give another --to")
    info = recorded_info(index, **place)
    if info is None:
        raise no_index_error(index, **place)
    source = open_store(index, info, _no_embedding, __version__, **place, create=False)
    try:
        target = open_store(to_index, info, _no_embedding, __version__, **to, create=True)
        try:
            return copy_articles(source, target, progress)
        finally:
            target.close()
    finally:
        source.close()
