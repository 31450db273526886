"""The index: the Store protocol and its embedded backend (FAISS segments + SQLite)."""

from khabar.store.base import EncoderInfo, Filter, PendingArticle, Store
from khabar.store.index import SegmentStore
from khabar.store.manifest import FORMAT_VERSION, Manifest
from khabar.store.metadata import ArticleRow, StoredChunk, StoredSpan

__all__ = [
    "FORMAT_VERSION",
    "ArticleRow",
    "EncoderInfo",
    "Filter",
    "Manifest",
    "PendingArticle",
    "SegmentStore",
    "Store",
    "StoredChunk",
    "StoredSpan",
]
