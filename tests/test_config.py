"""Unit tests: settings layering."""

from __future__ import annotations

from pathlib import Path

import pytest

from khabar.config import resolve
from khabar.errors import ConfigError


def test_layers_defaults_file_env_cli(tmp_path: Path) -> None:
    path = tmp_path / "khabar.toml"
    path.write_text('index = "from-file"\nk = 3\nport = 9000\n', encoding="utf-8")
    values = resolve(
        cli={"port": 9100, "host": None},
        env={"KHABAR_K": "7", "KHABAR_CONFIG": str(path)},
    )
    assert values["index"] == "from-file"
    assert values["k"] == 7
    assert values["port"] == 9100
    assert values["host"] == "127.0.0.1"


def test_bad_values_name_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="KHABAR_PORT"):
        resolve(env={"KHABAR_PORT": "seventy"})
    with pytest.raises(ConfigError, match=r"^-k: invalid value"):  # the flag as typed
        resolve(cli={"k": 0})
    path = tmp_path / "bad.toml"
    path.write_text("colour = 'red'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown setting 'colour'"):
        resolve(config_file=path)
