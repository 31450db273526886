"""One registry of settings: name, default, help. Later layers win:
defaults < config file (TOML) < KHABAR_* environment < command-line flags.

Components never read the environment: they receive plain values from here.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from khabar.embed.base import SECOND_WEIGHT
from khabar.errors import ConfigError


@dataclass(frozen=True)
class Setting:
    """One setting: its name, default, type and help text."""

    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str

    @property
    def env(self) -> str:
        """The environment variable that sets it."""
        return "KHABAR_" + self.name.upper()


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("must be a positive whole number")
    return number


def _boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def _speaker_match(value: str) -> str:
    lowered = value.strip().lower()
    if lowered not in ("both", "spelling", "vectors", "off"):
        raise ValueError("must be both, spelling, vectors or off")
    return lowered


def _share(value: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 10.0:
        raise ValueError("must be a number from 0 to 10")
    return number


def _second_model(value: str) -> str:
    if value not in ("", "use", "none"):
        raise ValueError("must be 'use' or 'none'")
    return value


def _networks(value: str) -> str:
    import ipaddress

    for item in value.split(","):
        if item.strip():
            ipaddress.ip_network(item.strip(), strict=False)  # ValueError names the bad one
    return value


def _url(value: str) -> str:
    if value.strip() and not value.strip().lower().startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value.strip()


FAISS = "faiss"
DEFAULT_PREFIX = "khabar_"  # the milvus_collection_prefix setting's default
MAX_K = 50  # the most passages one question may ask for (the API, MCP, UI and khabar chat)


def is_milvus(store: str) -> bool:
    """Whether the ``store`` setting names a Milvus (anything but ``faiss`` or empty)."""
    return store.strip().lower() not in ("", FAISS)


def _store(value: str) -> str:
    """The ``store`` setting: ``faiss``, a Milvus Lite file (``.db``) or a server address."""
    address = value.strip()
    if not is_milvus(address):
        return FAISS
    if address.startswith(("http://", "https://")) or address.endswith(".db"):
        return address
    raise ValueError(
        "use 'faiss' (the index folder), a Milvus Lite file ending in .db (e.g. "
        "./archive.db) or a Milvus server address (http://HOST:19530 or https://…)"
    )


def _prefix(value: str) -> str:
    """A collection prefix Milvus accepts: letters, digits and _, not starting with a digit."""
    if (
        value
        and not value[0].isdigit()
        and all(c.isascii() and (c.isalnum() or c == "_") for c in value)
    ):
        return value
    raise ValueError("letters, digits and underscores, not starting with a digit")


def _port(value: str) -> int:
    number = int(value)
    if not 0 < number < 65536:
        raise ValueError("must be a port number from 1 to 65535")
    return number


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting("index", "./index", "folder of the index"),
        Setting(
            "store",
            "faiss",
            "where the index lives: 'faiss' (the index folder) or a Milvus: a Milvus Lite file "
            "ending in .db, or http(s)://HOST:19530 for a Milvus server or cluster (needs the "
            "milvus extra)",
            _store,
        ),
        Setting("milvus_token", "", "token of a Milvus server that requires one (USER:PASSWORD)"),
        Setting(
            "milvus_collection_prefix",
            DEFAULT_PREFIX,
            "the start of the names of khabar's collections in Milvus (several indexes can "
            "share one Milvus under different prefixes)",
            _prefix,
        ),
        Setting(
            "model",
            "",
            "encoder: 'bundled' (multilingual-e5-small, 4-bit), 'onnx:DIR' (the same weights on "
            "ONNX Runtime) or a sentence-transformers model id or path; empty: the one that "
            "built the index (bundled for a new one)",
        ),
        Setting(
            "export_dir",
            "~/.cache/khabar/multilingual-e5-small",
            "where `khabar export-model` writes by default, and where the ONNX engine "
            "(the bundled weights on ONNX Runtime) lives",
        ),
        Setting(
            "fast_engine",
            True,
            "index and serve with the ONNX engine (the bundled model's vectors, several times "
            "faster), building it in export_dir on first use (about 30 s, 430 MB); off: the "
            "bundled engine everywhere",
            _boolean,
        ),
        Setting(
            "second_model",
            "",
            "a second model beside the first: 'use' (Universal Sentence Encoder, "
            "multilingual v3, bundled; raises recall, bench/quality.py) or 'none'; empty: "
            "the index's own ('use' for a new index)",
            _second_model,
        ),
        Setting(
            "second_weight",
            SECOND_WEIGHT,
            "how much the second model's cosine counts beside the first's (tuned on XQuAD; "
            "takes effect without re-indexing)",
            _share,
        ),
        Setting(
            "cache_dir",
            "~/.cache/khabar",
            "where khabar keeps what it derives once from the bundled models: the second "
            "model's weights unpacked (about 80 MB, for a faster start)",
        ),
        Setting("k", 5, "how many passages to return", _positive_int),
        Setting("host", "127.0.0.1", "address the server listens on"),
        Setting("port", 7860, "port the server listens on", _port),
        Setting(
            "max_chars",
            1200,
            "longest chunk, in characters, before a paragraph is split",
            _positive_int,
        ),
        Setting(
            "max_file_bytes",
            20 * 1024 * 1024,
            "largest article file accepted, in bytes",
            _positive_int,
        ),
        Setting(
            "url_allow_networks",
            "",
            "comma-separated networks (e.g. 10.0.0.0/8) that `add URL` may fetch from although "
            "they are internal; none by default",
            _networks,
        ),
        Setting("url_timeout", 15, "seconds to wait for a web page", _positive_int),
        Setting(
            "api_token",
            "",
            "bearer token; when set, the API requires it for writes "
            "(and for reads too when public_read is off)",
        ),
        Setting("public_read", True, "allow asking and listing without the token", _boolean),
        Setting(
            "cors_origins",
            "",
            "comma-separated origins allowed to call the API from a browser (empty: none)",
        ),
        Setting(
            "frame_ancestors",
            "'self'",
            "space-separated sources allowed to frame the pages (CSP frame-ancestors)",
        ),
        Setting(
            "max_request_bytes",
            2 * 1024 * 1024,
            "largest API request body, in bytes (larger: 413)",
            _positive_int,
        ),
        Setting(
            "llm_url",
            "",
            "OpenAI-compatible endpoint of a language model, e.g. http://127.0.0.1:8080/v1 "
            "(empty: none; follow-ups rewritten, cited replies, English readings)",
            _url,
        ),
        Setting("llm_model", "", "the model's name at llm_url (empty: the server's default)"),
        Setting("llm_api_key", "", "the API key of llm_url, if it needs one"),
        Setting("llm_timeout", 20, "seconds to wait for the language model", _positive_int),
        Setting(
            "speaker_match",
            "spelling",
            "how 'what did X say' finds X among the quoted speakers: 'spelling' (names "
            "compared letter by letter, Putin ↔ بوتين; measured best, README), 'both' (and the "
            "model's vectors of the names when spelling finds no one), 'vectors', or 'off'",
            _speaker_match,
        ),
        Setting(
            "llm_rewrite",
            True,
            "let the language model rewrite follow-ups (off: khabar's own rules, which beat a "
            "small local model: README)",
            _boolean,
        ),
    )
}

CONFIG_ENV = "KHABAR_CONFIG"


def resolve(
    cli: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> dict[str, Any]:
    """Every setting's value after layering file, environment and CLI over the defaults.

    ``env`` is passed in by the caller (the CLI passes ``os.environ``); ``cli`` holds
    flags the person gave (None values are ignored).
    """
    env = env or {}
    values = {name: s.default for name, s in SETTINGS.items()}
    path = config_file or (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else None)
    if path is not None:
        values.update(_from_file(path))
    for name, setting in SETTINGS.items():
        if setting.env in env and env[setting.env] != "":
            values[name] = _parse(setting, env[setting.env], setting.env)
    for name, value in (cli or {}).items():
        if value is not None and name in SETTINGS:
            values[name] = _parse(SETTINGS[name], str(value), _flag(name))
    return values


# Settings whose command-line flag is not --NAME.
FLAGS = {"k": "-k"}


def _flag(name: str) -> str:
    """The command-line flag of a setting (``-k``, ``--second-model``)."""
    return FLAGS.get(name, f"--{name.replace('_', '-')}")


def _from_file(path: Path) -> dict[str, Any]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc})") from exc
    table = raw.get("khabar", raw)
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key not in SETTINGS:
            raise ConfigError(f"{path}: unknown setting {key!r}; known: {', '.join(SETTINGS)}")
        out[key] = _parse(SETTINGS[key], str(value), f"{path}: {key}")
    return out


def _parse(setting: Setting, raw: str, where: str) -> Any:
    try:
        return setting.parse(raw)
    except ValueError as exc:
        raise ConfigError(f"{where}: invalid value {raw!r} for {setting.name} ({exc})") from exc
