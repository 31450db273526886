"""The Milvus store on a real Milvus standalone server (the `milvus` package, 2.3.5).

Milvus's server listens on every interface (its ports cannot be bound to one address), so
this test runs pytest again inside a network namespace of its own (`unshare --net`), whose
only interface is the loopback: there tests/conftest.py starts the server, and the store
contract (tests/test_store_contract.py, its "milvus-server" backend) and the scaling-out
tests of tests/milvus_server_suite.py run against it. Nothing outside this machine can
reach that server."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ISOLATED_ENV, MILVUS_URI_ENV

ROOT = Path(__file__).resolve().parents[1]


def _can_isolate() -> str | None:
    """Why the server cannot be run off the network here (None: it can)."""
    if importlib.util.find_spec("milvus") is None or importlib.util.find_spec("pymilvus") is None:
        return 'the Milvus server and client are not installed (pip install -e ".[test]")'
    if shutil.which("unshare") is None:
        return "`unshare` (util-linux) is missing"
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"cannot make a network namespace ({probe.stderr.strip()})"
    return None


@pytest.mark.milvus
def test_the_milvus_store_on_a_real_milvus_server() -> None:
    if os.environ.get(ISOLATED_ENV) == "1":
        pytest.skip("already inside the isolated run")
    reason = _can_isolate()
    if reason:
        pytest.skip(reason)
    env = {**os.environ, MILVUS_URI_ENV: "http://127.0.0.1:19530", ISOLATED_ENV: "1"}
    env.pop("PYTEST_ADDOPTS", None)
    command = [
        "unshare",
        "--net",
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/test_store_contract.py",
        "tests/milvus_server_suite.py",
        "-m",
        "",  # not the default "not slow and not milvus": these are those
        "-k",
        "milvus-server or test_server_",
    ]
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    tail = run.stdout[-6000:] + run.stderr[-3000:]
    assert run.returncode == 0, tail
    passed = re.search(r"(\d+) passed", run.stdout)
    assert passed and int(passed.group(1)) >= 10, tail  # the contract's 7, the suite's 3
    assert "skipped" not in run.stdout.splitlines()[-1], tail
