"""The Milvus client: the only module that imports ``pymilvus`` (the ``milvus`` extra).

Connecting (with clear errors for a missing pymilvus, an unreachable address, a refused
token, a Milvus Lite file another process has open), every call's failure as khabar's own
error, and the collections' schema (``milvus.py`` is the store over them).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from khabar.config import DEFAULT_PREFIX
from khabar.errors import BackendMissingError, StoreUnavailableError
from khabar.store.milvus_expr import MAX_TERM

try:
    from pymilvus import DataType, MilvusClient, MilvusException
except ImportError:  # pragma: no cover - the extra is missing
    MilvusClient = None
else:  # their failures reach the person as khabar's own messages, not as their log lines
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
    logging.getLogger("milvus_lite").setLevel(logging.CRITICAL)


KINDS = ("meta", "articles", "chunks", "spans", "postings")
CONSISTENCY = "Session"
BATCH = 1000  # rows a call inserts or an `in` list names
WINDOW = 16_384  # Milvus's largest offset + limit of one query
HNSW = {"M": 16, "efConstruction": 200}
TEXT = 65_535
NAME = 1_024
DAY = 64
INSTALL = 'pip install "khabar[milvus]"  (or: pip install -e ".[milvus]")'


class Guarded:
    """The client, with every failure of a call turned into a StoreUnavailableError that
    names the address and the setting (never a gRPC traceback)."""

    def __init__(self, client: Any, address: str) -> None:
        self._client = client
        self._address = address

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except MilvusException as exc:
                raise StoreUnavailableError(
                    f"{self._address}: Milvus refused {name} ({_reason(exc)})"
                ) from exc

        return call


def _reason(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return str(message).splitlines()[0][:300]


def connect(address: str, token: str = "", timeout: float = 10.0) -> tuple[Any, str]:
    """A client of the Milvus at ``address`` and its version, or a clear error: pymilvus
    missing (BackendMissingError with the install command), a Milvus Lite file another
    process has open, the address unreachable or the token refused (StoreUnavailableError
    naming the address and the settings)."""
    if MilvusClient is None:
        raise BackendMissingError(
            f"store {address}: the Milvus store needs pymilvus; install it with {INSTALL}"
        )
    try:
        client = MilvusClient(uri=address, token=token, timeout=timeout)
        version = client.get_server_version()
    except Exception as exc:  # MilvusException, grpc errors, OSError of a Lite file
        if _lite(address) and _locked(address):
            raise StoreUnavailableError(
                f"{address}: the Milvus Lite file is open in another process (Milvus Lite "
                "serves one process at a time); stop that one, or use a Milvus server "
                "(http://HOST:19530) to serve several"
            ) from exc
        raise StoreUnavailableError(
            f"{address}: cannot reach Milvus ({_reason(exc)}); check the store setting "
            "(--store or KHABAR_STORE) and, for a server that requires one, milvus_token "
            "(KHABAR_MILVUS_TOKEN)"
        ) from exc
    if _lite(address):
        _LITE_USERS[os.path.abspath(address)] = _LITE_USERS.get(os.path.abspath(address), 0) + 1
    return client, str(version)


# The open stores of each Milvus Lite file in this process: Milvus Lite runs a server
# thread per file until the process ends, holding the file's lock; the last store to close
# stops it, so that another process (the next `khabar` command of a test) may open it.
_LITE_USERS: dict[str, int] = {}


def _lite(address: str) -> bool:
    return not address.startswith(("http://", "https://"))


def _locked(address: str) -> bool:
    """Whether another process holds the lock of the Milvus Lite data folder."""
    import fcntl

    lock = Path(address) / "LOCK"
    if not lock.exists():
        return False
    with lock.open("rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def release(client: Any, address: str) -> None:
    """Close a client; the last of a Milvus Lite file's stops its server thread."""
    with contextlib.suppress(Exception):
        client.close()
    if not _lite(address):
        return
    path = os.path.abspath(address)
    _LITE_USERS[path] = _LITE_USERS.get(path, 1) - 1
    if _LITE_USERS[path] <= 0:
        _LITE_USERS.pop(path, None)
        with contextlib.suppress(Exception):
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(path)


def create_collections(client: Any, names: Mapping[str, str], dim: int, version: str) -> None:
    """Make khabar's collections (any left by a create cut short are dropped first): dense
    vectors under HNSW on a server (FLAT on Milvus Lite, which is for small stores), and
    scalar indexes on what filters and deletes look up (Trie and STL_SORT before Milvus 2.4,
    INVERTED after)."""
    lite = version.startswith("milvus_lite")
    old = not lite and version.lstrip("v").split(".")[:2] < ["2", "4"]
    text_index = "Trie" if old else "INVERTED"
    number_index = "STL_SORT" if old else "INVERTED"
    for kind in KINDS:
        if client.has_collection(names[kind]):
            client.drop_collection(names[kind])
    fields = _fields(dim)
    for kind in ("articles", "chunks", "spans", "postings", "meta"):
        schema = MilvusClient.create_schema(auto_id=kind == "postings")
        for name, kwargs in fields[kind]:
            schema.add_field(name, **kwargs)
        index = client.prepare_index_params()
        dense = kind in ("chunks", "spans") and not lite
        index.add_index(
            "vector",
            index_type="HNSW" if dense else "FLAT",
            metric_type="IP",
            params=HNSW if dense else {},
        )
        for name, scalar in () if lite else _SCALAR_INDEXES.get(kind, ()):
            index.add_index(name, index_type=text_index if scalar == "text" else number_index)
        client.create_collection(
            names[kind], schema=schema, index_params=index, consistency_level=CONSISTENCY
        )


def drop(address: str, token: str = "", prefix: str = DEFAULT_PREFIX) -> None:
    """Remove every khabar collection under ``prefix`` at ``address`` (``khabar eval``'s
    temporary store)."""
    client, _ = connect(address, token)
    try:
        for kind in KINDS:
            if client.has_collection(prefix + kind):
                client.drop_collection(prefix + kind)
    finally:
        release(client, address)


_SCALAR_INDEXES: dict[str, tuple[tuple[str, str], ...]] = {
    "articles": (("source", "text"), ("url", "text")),
    "chunks": (("article_id", "text"),),
    "spans": (("article_id", "text"), ("chunk_id", "number")),
    "postings": (("term", "text"), ("article_id", "text")),
}


def _fields(dim: int) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    def text(size: int) -> dict[str, Any]:
        return {"datatype": DataType.VARCHAR, "max_length": size}

    number = {"datatype": DataType.INT64}
    filterable = [("article_id", text(NAME)), ("source", text(NAME)), ("published", text(DAY))]
    dense = ("vector", {"datatype": DataType.FLOAT_VECTOR, "dim": dim})
    mark = ("vector", {"datatype": DataType.FLOAT_VECTOR, "dim": 2})
    return {
        "meta": [("key", {**text(NAME), "is_primary": True}), ("value", text(TEXT)), mark],
        "articles": [
            ("id", {**text(NAME), "is_primary": True}),
            ("source", text(NAME)),
            ("published", text(DAY)),
            ("url", text(4 * NAME)),
            ("seq", number),
            ("key", number),
            ("row", text(TEXT)),
            mark,
        ],
        "chunks": [
            ("id", {**number, "is_primary": True}),
            *filterable,
            ("ordinal", number),
            ("paragraph", number),
            ("part", number),
            ("section", text(4 * NAME)),
            ("text", text(TEXT)),
            ("terms", text(TEXT)),
            dense,
        ],
        "spans": [
            ("id", {**number, "is_primary": True}),
            *filterable,
            ("chunk_id", number),
            ("start", number),
            ("end", number),
            ("kind", text(16)),
            dense,
        ],
        "postings": [
            ("id", {**number, "is_primary": True}),
            *filterable,
            ("term", text(4 * MAX_TERM)),
            ("chunk_id", number),
            mark,
        ],
    }
