"""What makes the ONNX engine's int8 as good as fp32: per-token quantisation and smoothing.

ONNX Runtime's dynamic int8 takes one scale for a whole activation tensor. Two kinds of
outliers defeat that in this model (measured as the mean of 1 - cosine to the fp32 vectors
over the XQuAD passages, bench/encoders.py):

- the FFN output projections' inputs (after GELU) hold a few *tokens* with activations far
  above the rest: those MatMuls are quantised per token (``per_token_matmul``);
- the inputs of the attention and the FFN input projections (LayerNorm outputs) hold a few
  *channels* far above the rest (up to 30 times the median channel): each channel is
  divided by a factor that the projection's weights take on instead, as in SmoothQuant (Xiao
  et al., 2023), so that activations and weights share the range (``smoothing``). The
  factors come from the channel ranges on a few calibration texts (``channel_ranges``):
  the bundled sample article's paragraphs, which are not part of any evaluation set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

# The FFN output projection's input is GELU's output, which is never below -0.17: shifted
# by this much it is non-negative and fits uint8 with zero point 0 (all 8 bits of range).
GELU_MIN = 0.17
# How the range moves from activations to weights: 0.5 shares it evenly (SmoothQuant's
# default); 0.4 and 0.6 measured the same.
SMOOTH_ALPHA = 0.5
Floats = npt.NDArray[np.float64]


def per_token_matmul(
    x: str, w: Any, like: str, out: str, prefix: str
) -> tuple[list[Any], list[Any]]:
    """Nodes and initialisers for ``out = (x + GELU_MIN) @ w`` ([batch, tokens, k] by
    [k, n]; ``like`` a tensor of out's shape), in int8 with one scale per token.

    Each token's row, shifted to be non-negative, is quantised to uint8 with its own scale
    (its maximum / 255) by QuantizeLinear per axis; ``w`` is int8 per output channel;
    MatMulInteger multiplies them, and the int32 result is scaled back by the token's and
    the channel's scales."""
    from onnx import TensorProto, helper, numpy_helper

    w_scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / 127.0
    w_int8 = np.clip(np.round(w / w_scale), -127, 127).astype(np.int8)

    values = {
        "w_int8": w_int8,
        "w_scale": w_scale.astype(np.float32),
        "shift": np.array(GELU_MIN, np.float32),
        "per_level": np.array(1.0 / 255.0, np.float32),
        "tiny": np.array(1e-12, np.float32),
        "rows": np.array([-1, w.shape[0]], np.int64),
        "axis1": np.array([1], np.int64),
    }
    inits = [numpy_helper.from_array(v, prefix + k) for k, v in values.items()]

    def n(name: str) -> str:
        return prefix + name

    node = helper.make_node
    nodes = [
        node("Reshape", [x, n("rows")], [n("x2d")]),
        node("Add", [n("x2d"), n("shift")], [n("shifted")]),
        node("ReduceMax", [n("shifted")], [n("row_max")], keepdims=0, axes=[1]),
        node("Mul", [n("row_max"), n("per_level")], [n("scale_0")]),
        node("Max", [n("scale_0"), n("tiny")], [n("scale")]),
        node("QuantizeLinear", [n("shifted"), n("scale")], [n("x_uint8")], axis=0),
        node("MatMulInteger", [n("x_uint8"), n("w_int8")], [n("y_int32")]),
        node("Cast", [n("y_int32")], [n("y_float")], to=TensorProto.FLOAT),
        node("Mul", [n("y_float"), n("w_scale")], [n("y_channels")]),
        node("Unsqueeze", [n("scale"), n("axis1")], [n("scale_column")]),
        node("Mul", [n("y_channels"), n("scale_column")], [n("y2d")]),
        node("Shape", [like], [n("out_shape")]),
        node("Reshape", [n("y2d"), n("out_shape")], [out]),
    ]
    return nodes, inits


def smoothing(activation_range: Floats, w: Floats, alpha: float = SMOOTH_ALPHA) -> Floats:
    """Per-channel factors s for ``x @ w`` = ``(x / s) @ (s w)``: each input channel's
    range (``activation_range``, its largest magnitude) and the largest magnitude of its
    row of ``w`` ([k, n]) are brought to the same scale."""
    rows = np.maximum(np.abs(w).max(axis=1), 1e-5)
    factors: Floats = np.maximum(activation_range, 1e-5) ** alpha / rows ** (1 - alpha)
    return factors


def calibration_texts() -> list[str]:
    """The paragraphs of the sample articles bundled with khabar, as passages."""
    from khabar.samples import sample_paths

    texts = []
    for path in sample_paths():
        lines = path.read_text(encoding="utf-8").splitlines()
        texts += ["passage: " + line.strip() for line in lines if line.strip()]
    return texts


def channel_ranges(
    fp32_model: Any, names: Sequence[str], token_ids: Sequence[Sequence[int]]
) -> dict[str, Floats]:
    """The largest magnitude of each channel of the tensors ``names`` of ``fp32_model``
    (an ``onnx.ModelProto`` with inputs input_ids and attention_mask) over the texts."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    probe = type(fp32_model)()
    probe.CopyFrom(fp32_model)
    for name in names:
        probe.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    ranges: dict[str, Floats] = {}
    for ids in token_ids:
        feed = np.asarray([ids], dtype=np.int64)
        outputs = session.run(
            list(names), {"input_ids": feed, "attention_mask": np.ones_like(feed)}
        )
        for name, value in zip(names, outputs, strict=True):
            here = np.abs(value.reshape(-1, value.shape[-1])).max(axis=0).astype(np.float64)
            ranges[name] = np.maximum(ranges[name], here) if name in ranges else here
    return ranges
