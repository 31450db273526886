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


# The Milvus server tests (tests/test_milvus_server.py) run pytest again inside a network
# namespace of its own (only a loopback interface), with these set: the server started here
# listens on every interface of that namespace, so only this machine's tests can reach it.
MILVUS_URI_ENV = "KHABAR_TEST_MILVUS_URI"
ISOLATED_ENV = "KHABAR_TEST_ISOLATED_NET"
# The server requires a token (authorization on, Milvus's default root user), so that a
# wrong one is tested too.
MILVUS_TOKEN = "root:Milvus"


def _loopback_up() -> None:
    """Bring up ``lo`` in a new network namespace (it starts down), as `ip link set lo up`."""
    import fcntl
    import socket
    import struct

    get_flags, set_flags, up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        flags = struct.unpack("16sh", fcntl.ioctl(sock, get_flags, struct.pack("16sh", b"lo", 0)))
        fcntl.ioctl(sock, set_flags, struct.pack("16sh", b"lo", flags[1] | up))


@pytest.fixture(scope="session", autouse=True)
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """A real Milvus standalone server (the `milvus` package) at $KHABAR_TEST_MILVUS_URI,
    started for the session, when pytest runs in its isolated namespace; else None."""
    uri = os.environ.get(MILVUS_URI_ENV)
    if not uri or os.environ.get(ISOLATED_ENV) != "1":
        yield None
        return
    from milvus import default_server

    _loopback_up()
    default_server.set_base_dir(str(tmp_path_factory.mktemp("milvus-server")))
    default_server.listen_port = int(uri.rsplit(":", 1)[1])
    default_server.config.set("authorization_enabled", True)
    default_server.start()
    try:
        yield uri
    finally:
        default_server.stop()
