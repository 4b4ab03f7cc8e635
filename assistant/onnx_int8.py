"""Int8 quantisation of the exported embedding model with activations quantised per row (per token).

ONNX Runtime's dynamic quantisation (`quantize_dynamic`) quantises each MatMul's input with one scale and zero
point for the whole tensor (`DynamicQuantizeLinear`): the range of every token of every text in the run. A text's
vector then depends on the texts batched with it (measured: up to 0.05 per component), and a served model must give
a text one vector whatever runs beside it. Here every `DynamicQuantizeLinear` is replaced by the same uint8
quantisation computed over the last axis (one hidden vector: one token of one text), so a row's integers depend on
that row alone and integer matrix products are exact: bitwise the same vector alone or in any batch. It is also
finer than one range per run (cosine to fp32 0.998 against 0.990).

`MatMulInteger` takes only a scalar zero point for its input in ONNX Runtime, so the rows are multiplied without it
and `zero point x column sums of the weights` is subtracted after: the same integers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import ConfigError

OPSET = 17  # the export's opset; ReduceMin/ReduceMax take `axes` as an attribute up to opset 17


def quantize_per_row(fp32_model: Path, out: Path) -> None:
    """Write `fp32_model` with its weight MatMuls in int8 (per output channel) and activations per row to `out`."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = out.with_suffix(".tensor.tmp")
    # MatMul only, per channel: the token embedding table stays float (quantising it cost most accuracy).
    # 7-bit weights (reduce_range): on x86 CPUs without VNNI (AVX2 only) ONNX Runtime multiplies uint8 x int8 with
    # instructions that add pairs of products into int16 and saturate (2 x 255 x 127 > 32767); a wide activation
    # row then came out wrong (measured: cosine to fp32 0.95 on such a machine, 0.998 on one with VNNI). With weights
    # in [-64, 63] no pair can overflow: 0.994-0.998 here.
    quantize_dynamic(
        fp32_model,
        tmp,
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=True,
        op_types_to_quantize=["MatMul"],
    )
    try:
        rows_graph(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def rows_graph(per_tensor_model: Path, out: Path) -> None:
    """Rewrite a `quantize_dynamic` model (uint8 activations, int8 symmetric weights) to per-row activations."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(per_tensor_model))
    graph = model.graph
    if any(o.domain in ("", "ai.onnx") and o.version > OPSET for o in model.opset_import):
        raise ConfigError(f"{per_tensor_model}: opset above {OPSET}; the per-row rewrite needs `axes` attributes")
    weights = {i.name: i for i in graph.initializer}
    constants = {"rowq_0": 0.0, "rowq_255": 255.0, "rowq_eps": 1e-12}
    graph.initializer.extend(numpy_helper.from_array(np.array(v, np.float32), k) for k, v in constants.items())
    nodes: list[Any] = []
    zero_points: dict[str, str] = {}  # DynamicQuantizeLinear's zero-point output -> the per-row int32 zero points

    def add(op: str, inputs: list[str], output: str, **attrs: Any) -> None:
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))

    for node in graph.node:
        if node.op_type == "DynamicQuantizeLinear":
            x, (q, scale, zero) = node.input[0], node.output
            p = f"{node.name or q}_row"
            # As DynamicQuantizeLinear, per row: the range includes 0, scale = range / 255, zero = round(-min / scale)
            add("ReduceMin", [x], f"{p}_min0", axes=[-1], keepdims=1)
            add("ReduceMax", [x], f"{p}_max0", axes=[-1], keepdims=1)
            add("Min", [f"{p}_min0", "rowq_0"], f"{p}_min")
            add("Max", [f"{p}_max0", "rowq_0"], f"{p}_max")
            add("Sub", [f"{p}_max", f"{p}_min"], f"{p}_range")
            add("Div", [f"{p}_range", "rowq_255"], f"{p}_scale0")
            add("Max", [f"{p}_scale0", "rowq_eps"], scale)  # a row of zeros must not divide by zero
            add("Div", [f"{p}_min", scale], f"{p}_minq")
            add("Round", [f"{p}_minq"], f"{p}_minr")
            add("Neg", [f"{p}_minr"], f"{p}_zero")
            add("Div", [x, scale], f"{p}_xq")
            add("Round", [f"{p}_xq"], f"{p}_xr")
            add("Add", [f"{p}_xr", f"{p}_zero"], f"{p}_xz")
            add("Clip", [f"{p}_xz", "rowq_0", "rowq_255"], f"{p}_xc")
            add("Cast", [f"{p}_xc"], q, to=TensorProto.UINT8)
            add("Cast", [f"{p}_zero"], f"{p}_zero_i32", to=TensorProto.INT32)
            zero_points[zero] = f"{p}_zero_i32"
        elif node.op_type == "MatMulInteger":
            a, b, a_zero, b_zero = [*node.input, "", ""][:4]
            if a_zero not in zero_points or b not in weights:
                raise ConfigError(f"{per_tensor_model}: unexpected MatMulInteger {node.name!r}")
            weight = numpy_helper.to_array(weights[b]).astype(np.int64)
            if b_zero and numpy_helper.to_array(weights[b_zero]).any():
                raise ConfigError(f"{per_tensor_model}: weights of {node.name!r} are not symmetric")
            column_sums = f"{node.name}_colsum"
            graph.initializer.append(numpy_helper.from_array(weight.sum(axis=0).astype(np.int32), column_sums))
            product = node.output[0]
            nodes.append(helper.make_node("MatMulInteger", [a, b], [f"{product}_raw"], name=node.name))
            add("Mul", [zero_points[a_zero], column_sums], f"{product}_zero_part")
            add("Sub", [f"{product}_raw", f"{product}_zero_part"], product)
        else:
            nodes.append(node)
    if not zero_points:
        raise ConfigError(f"{per_tensor_model}: no DynamicQuantizeLinear node to rewrite")
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input}
    kept = [i for i in graph.initializer if i.name in used]  # the per-tensor zero points are gone
    del graph.initializer[:]
    graph.initializer.extend(kept)
    onnx.checker.check_model(model)
    onnx.save(model, str(out))
