"""Shared fixtures: a real index of the bundled sample, built once per session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from khabar.service import Khabar

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "khabar" / "samples"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index folder built from the bundled sample article (do not modify; copy it)."""
    folder = tmp_path_factory.mktemp("sample") / "index"
    service = Khabar.open(folder)
    report = service.ensure_samples()
    assert report is not None and report.added
    service.close()
    return folder


@pytest.fixture(scope="session")
def sample_service(sample_index: Path) -> Iterator[Khabar]:
    """A read-only service over the sample index."""
    service = Khabar.open(sample_index)
    yield service
    service.close()


@pytest.fixture
def fresh_index(sample_index: Path, tmp_path: Path) -> Path:
    """A private copy of the sample index that a test may change."""
    target = tmp_path / "index"
    shutil.copytree(sample_index, target)
    return target


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for screenshots and other test artifacts (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
