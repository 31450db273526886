"""manifest.json: what an index is (format, encoder, counts) so that a mismatch is caught."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from khabar.errors import EncoderMismatchError, IndexFormatError
from khabar.store.atomic import write_atomic

# 2: vector segments and FTS5 (1: two whole FAISS files and a bm25s folder, migrated on open)
FORMAT_VERSION = 2
OLDEST_READABLE = 1
MANIFEST_NAME = "manifest.json"


@dataclass
class Manifest:
    """The contents of manifest.json."""

    format_version: int
    khabar_version: str
    encoder: str
    encoder_fingerprint: str
    dim: int
    metric: str = "cosine"
    articles: int = 0
    chunks: int = 0
    spans: int = 0
    settings: dict[str, Any] = field(default_factory=dict)
    segments: list[dict[str, Any]] = field(default_factory=list)
    # the encoder's question weights, [width, weight] pairs (``EncoderInfo.question_weights``):
    # kept so that a process that opens the index without the model (`khabar migrate`) seals
    # in the same space as one that has it
    question_weights: list[list[float]] = field(default_factory=list)

    def to_json(self) -> str:
        """The manifest as pretty JSON."""
        return json.dumps(asdict(self), ensure_ascii=False, indent=2) + "\n"

    def save(self, folder: Path) -> None:
        """Write atomically into ``folder``."""
        write_atomic(folder / MANIFEST_NAME, self.to_json().encode("utf-8"))

    @classmethod
    def load(cls, folder: Path) -> Manifest:
        """Read ``folder``/manifest.json.

        A newer or older format, or a damaged file, is an IndexFormatError.
        """
        path = folder / MANIFEST_NAME
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise IndexFormatError(f"{path}: cannot read the index manifest ({exc})") from exc
        version = raw.get("format_version") if isinstance(raw, dict) else None
        if not isinstance(version, int):
            raise IndexFormatError(f"{path}: no integer format_version; not a khabar index")
        if version > FORMAT_VERSION:
            raise IndexFormatError(
                f"{path}: index format {version} is newer than this khabar reads "
                f"({FORMAT_VERSION}); upgrade khabar"
            )
        if version < OLDEST_READABLE:
            raise IndexFormatError(
                f"{path}: index format {version} is older than {OLDEST_READABLE}; "
                "rebuild it with `khabar add` into a new --index folder"
            )
        known = {f for f in cls.__dataclass_fields__}
        try:
            return cls(**{k: v for k, v in raw.items() if k in known})
        except TypeError as exc:
            raise IndexFormatError(f"{path}: incomplete manifest ({exc})") from exc

    def check_encoder(self, name: str, fingerprint: str, dim: int, folder: Path) -> None:
        """Refuse to search or extend this index with another encoder than the one that built it."""
        if (self.encoder, self.encoder_fingerprint, self.dim) != (name, fingerprint, dim):
            raise EncoderMismatchError(
                f"{folder}: the index was built with encoder {self.encoder!r} "
                f"(fingerprint {self.encoder_fingerprint}, dim {self.dim}), not {name!r} "
                f"(fingerprint {fingerprint}, dim {dim}); ask with that model "
                "(--model / KHABAR_MODEL, --second-model / KHABAR_SECOND_MODEL) "
                "or build a new index"
            )
