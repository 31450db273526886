"""Shared fixtures: a real index of the bundled sample, built once per session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from khabar.service import Khabar

# The CLI runs indexing on the ONNX engine when `khabar export-model --onnx` has written it
# to the export folder: pin the tests (and their subprocesses) to an empty one, so that a
# developer's own export never changes what they measure. test_export.py tests that choice.
# Nor is the ONNX engine built there on first use: test_engine.py tests that.
os.environ["KHABAR_EXPORT_DIR"] = str(Path(__file__).resolve().parent / "artifacts" / "no-export")
os.environ["KHABAR_FAST_ENGINE"] = "false"
# The second model's unpacked weights: kept beside the tests, not in the developer's cache.
os.environ["KHABAR_CACHE_DIR"] = str(Path(__file__).resolve().parent / "artifacts" / "cache")

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


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def server_url(sample_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real web app (Gradio on uvicorn) on 127.0.0.1, over a copy of the sample index."""
    from khabar.web import serve

    folder = tmp_path_factory.mktemp("served") / "index"
    shutil.copytree(sample_index, folder)
    service = Khabar.open(folder)
    port = free_port()
    app = serve(service, host="127.0.0.1", port=port, block=False)
    yield f"http://127.0.0.1:{port}/"
    app.close()
    service.close()
