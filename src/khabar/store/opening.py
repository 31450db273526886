"""Which backend the ``store`` setting names, and opening it: the one place above the
backends that tells them apart (nothing above ``store/`` imports either)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypedDict

from khabar.config import DEFAULT_PREFIX, FAISS, is_milvus
from khabar.errors import IndexNotFoundError
from khabar.store.base import EncoderInfo, Matrix, Store


class Place(TypedDict):
    """Where an index lives beside its folder: the ``store`` setting, and for a Milvus its
    ``token`` and the ``prefix`` of khabar's collection names."""

    store: str
    token: str
    prefix: str


def find(
    index: Path, store: str = FAISS, token: str = "", prefix: str = DEFAULT_PREFIX
) -> tuple[bool, str | None]:
    """Whether there is an index, and the name of the encoder it records (None: none
    recorded), from one read of the store."""
    if is_milvus(store):
        info = recorded_info(index, store, token, prefix)
        return info is not None, None if info is None else info.name
    from khabar.store.index import exists

    info = recorded_info(index)
    return exists(index), None if info is None else info.name


def recorded_encoder(
    index: Path, store: str = FAISS, token: str = "", prefix: str = DEFAULT_PREFIX
) -> str | None:
    """The name of the encoder that built the index (None: no index there yet)."""
    return find(index, store, token, prefix)[1]


def recorded_info(
    index: Path, store: str = FAISS, token: str = "", prefix: str = DEFAULT_PREFIX
) -> EncoderInfo | None:
    """The encoder (name, fingerprint, width) that built the index (None: no index yet):
    enough to open it without loading the model (`khabar migrate`)."""
    if is_milvus(store):
        from khabar.store.milvus import recorded_encoder_info

        return recorded_encoder_info(store, token, prefix)
    from khabar.store.manifest import MANIFEST_NAME, Manifest

    if not (index / MANIFEST_NAME).exists():
        return None
    manifest = Manifest.load(index)
    weights = EncoderInfo.weights_from_record(manifest.question_weights)
    return EncoderInfo(manifest.encoder, manifest.encoder_fingerprint, manifest.dim, weights)


def no_index_error(
    index: Path, store: str = FAISS, token: str = "", prefix: str = DEFAULT_PREFIX
) -> IndexNotFoundError:
    """The error of a command that only reads, pointed at a place without an index
    (``find`` says whether there is one)."""
    if is_milvus(store):
        return IndexNotFoundError(
            f"{store}: no khabar store with the collection prefix {prefix!r} there; check "
            "--store (KHABAR_STORE) and milvus_collection_prefix, or create it with "
            f"`khabar add PATH --store {store}`"
        )
    from khabar.store.index import no_index

    return no_index(index)


def open_store(
    index: Path,
    info: EncoderInfo,
    embed: Callable[[Sequence[str]], Matrix],
    khabar_version: str,
    *,
    store: str = FAISS,
    token: str = "",
    prefix: str = DEFAULT_PREFIX,
    rebuild_damaged: bool = False,
    build_settings: dict[str, Any] | None = None,
    create: bool = True,
) -> Store:
    """The index named by ``store``: the FAISS segments + SQLite in ``index``, or the
    collections under ``prefix`` in the Milvus at ``store``. ``rebuild_damaged`` (`khabar
    repair`) rebuilds what is damaged: a FAISS index's vector files; a Milvus store's rows
    left by adds that were cut short."""
    if is_milvus(store):
        from khabar.store.milvus import MilvusStore

        opened = MilvusStore.open(
            store, info, token=token, prefix=prefix, create=create, khabar_version=khabar_version
        )
        if rebuild_damaged:
            opened.sweep()
        return opened
    from khabar.store.index import SegmentStore

    return SegmentStore.open(
        index,
        info,
        embed,
        khabar_version,
        rebuild_damaged=rebuild_damaged,
        build_settings=build_settings,
        create=create,
    )


def drop_collections(store: str = FAISS, token: str = "", prefix: str = DEFAULT_PREFIX) -> None:
    """Remove the Milvus collections under ``prefix`` (``khabar eval``'s temporary store);
    nothing for the FAISS store (its folder is the caller's)."""
    if is_milvus(store):
        from khabar.store.milvus_client import drop

        drop(store, token, prefix)
