"""The on-disk index: manifest, FAISS vectors, SQLite metadata."""

from khabar.store.index import IndexStore, StoredChunk, StoredSpan
from khabar.store.manifest import FORMAT_VERSION, Manifest

__all__ = ["FORMAT_VERSION", "IndexStore", "Manifest", "StoredChunk", "StoredSpan"]
