"""A read-only index (a read-only mount, another user's archive) is asked, never written.

The commands run as a process that file permissions bind: as the test user when it is
not root, else as root without the capabilities that let it ignore them (setpriv).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

NO_OVERRIDE = "-dac_override,-dac_read_search"


def bound_by_permissions() -> list[str]:
    """The command prefix of a process that may not write what it has no write bit for."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv (util-linux) to drop DAC override")
    return [setpriv, f"--inh-caps={NO_OVERRIDE}", f"--bounding-set={NO_OVERRIDE}"]


def khabar_ro(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*bound_by_permissions(), sys.executable, "-m", "khabar.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file's size and modification time (nothing may change or appear)."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
    }


def set_writable(folder: Path, writable: bool) -> None:
    for path in [folder, *folder.rglob("*")]:
        mode = path.stat().st_mode
        bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
        path.chmod(mode | stat.S_IWUSR if writable else mode & ~bits)


@pytest.fixture
def read_only_index(fresh_index: Path) -> Iterator[Path]:
    set_writable(fresh_index, False)
    yield fresh_index
    set_writable(fresh_index, True)


def test_a_read_only_index_is_asked_and_not_written(read_only_index: Path) -> None:
    before = snapshot(read_only_index)
    index = str(read_only_index)
    ask = khabar_ro("ask", "What did Putin say about Israel?", "--json", "--index", index)
    assert ask.returncode == 0, ask.stderr
    first = json.loads(ask.stdout)["hits"][0]
    assert first["text"].startswith("وجدد بوتين موقف موسكو") and first["paragraph"] == 7
    info = khabar_ro("info", "--index", index)
    assert info.returncode == 0, info.stderr
    assert "articles:   1" in info.stdout and "access:     read-only" in info.stdout
    assert snapshot(read_only_index) == before  # no journal, lock or manifest written


@pytest.mark.parametrize(
    ("command", "what"),
    [
        (["remove", "putin-syria-ministers"], "cannot be changed"),
        (["add", str(Path(__file__).resolve().parents[1] / "README.md")], "cannot be changed"),
        (["repair"], "cannot be repaired"),
        (["compact"], "cannot be compacted"),
    ],
)
def test_a_write_on_a_read_only_index_says_so(
    read_only_index: Path, command: list[str], what: str
) -> None:
    before = snapshot(read_only_index)
    result = khabar_ro(
        *command, "--index", str(read_only_index), *(["--quiet"] if command[0] == "add" else [])
    )
    assert result.returncode == 2
    assert f"{read_only_index}: the index is read-only" in result.stderr
    assert what in result.stderr and "Traceback" not in result.stderr
    assert snapshot(read_only_index) == before
