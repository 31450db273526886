"""Readers that turn files (and pasted text) into Articles.

``read_path`` dispatches on the file's extension; each reader raises an
:class:`~khabar.errors.InputError` that names the file and the reason.
"""

from khabar.ingest.files import (
    DEFAULT_MAX_BYTES,
    SUPPORTED_EXTENSIONS,
    article_from_text,
    collect_files,
    read_path,
    slugify,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SUPPORTED_EXTENSIONS",
    "article_from_text",
    "collect_files",
    "read_path",
    "slugify",
]
