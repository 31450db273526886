"""The sample articles bundled with khabar (the product's own demo data, and the ONNX
engine's calibration texts)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def sample_paths() -> list[Path]:
    """The sample articles bundled with the package."""
    folder = resources.files("khabar") / "samples"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".txt"))
