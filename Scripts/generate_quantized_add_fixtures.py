"""Generate the int8 add fixture: what ONNX Runtime and LiteRT compute for a uint8 add.

Run from the repository root with the export checks' virtualenv (onnx, onnxruntime,
ai-edge-litert; ``make export-venv`` makes it; not needed by CI, the fixture is committed):

    ~/.cache/mobilenet-export-venv/bin/python Scripts/generate_quantized_add_fixtures.py

For 64 seeded draws of scales and zero points ``(s_a, z_a, s_b, z_b, s_c, z_c)`` it runs
every one of the 65,536 pairs ``(q_a, q_b)`` through

- ONNX Runtime: DequantizeLinear(a), DequantizeLinear(b) -> Add -> QuantizeLinear, uint8,
  which its graph optimizer fuses into QLinearAdd (the layout of our QDQ export), one thread;
- LiteRT: a one-operator int8 ``ADD`` (XNNPACK), the uint8 values shifted by 128 with their
  zero points (the integer arithmetic is unchanged by the shift), one thread;

and keeps the pairs where the two runtimes disagree, or where either differs from the exact
sum rounded half to even, plus 16 seeded pairs per draw. It writes
``Tests/MobileNetTensorTests/QuantizedAddFixture.swift``: per draw the scales (as their exact
float32 values), zero points, and ``(q_a, q_b, onnxruntime, litert)`` rows.

It also prints, over all pairs, how many sums each runtime rounds differently from the other
and from the exact value (the figures ``GraphQuantization.AddArithmetic`` cites).
"""

import importlib.metadata
import pathlib

import flatbuffers
import numpy as np
import onnxruntime as ort
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter
from onnx import TensorProto, helper, numpy_helper

OUTPUT = pathlib.Path("Tests/MobileNetTensorTests/QuantizedAddFixture.swift")
DRAWS = 64


def onnx_add(params, a, b):
    sa, za, sb, zb, sc, zc = params
    initializers = [
        numpy_helper.from_array(np.array(value, dtype=dtype), name)
        for name, value, dtype in [
            ("sa", sa, np.float32), ("za", za, np.uint8), ("sb", sb, np.float32),
            ("zb", zb, np.uint8), ("sc", sc, np.float32), ("zc", zc, np.uint8),
        ]
    ]
    nodes = [
        helper.make_node("DequantizeLinear", ["A", "sa", "za"], ["fa"]),
        helper.make_node("DequantizeLinear", ["B", "sb", "zb"], ["fb"]),
        helper.make_node("Add", ["fa", "fb"], ["sum"]),
        helper.make_node("QuantizeLinear", ["sum", "sc", "zc"], ["C"]),
    ]
    n = a.size
    graph = helper.make_graph(
        nodes, "add",
        [helper.make_tensor_value_info("A", TensorProto.UINT8, [n]), helper.make_tensor_value_info("B", TensorProto.UINT8, [n])],
        [helper.make_tensor_value_info("C", TensorProto.UINT8, [n])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, {"A": a, "B": b})[0].astype(np.int64)


def tflite_add(params, a, b):
    sa, za, sb, zb, sc, zc = params
    model = schema.ModelT()
    model.version = 3
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.ADD
    code.version = 1
    model.operatorCodes = [code]
    model.buffers = [schema.BufferT() for _ in range(4)]
    subgraph = schema.SubGraphT()
    subgraph.tensors = []
    for index, (name, scale, zero) in enumerate([("A", sa, za), ("B", sb, zb), ("C", sc, zc)]):
        tensor = schema.TensorT()
        tensor.name, tensor.shape, tensor.type, tensor.buffer = name, [1, a.size], schema.TensorType.INT8, index + 1
        quantization = schema.QuantizationParametersT()
        quantization.scale, quantization.zeroPoint = [float(scale)], [int(zero) - 128]
        tensor.quantization = quantization
        subgraph.tensors.append(tensor)
    operator = schema.OperatorT()
    operator.opcodeIndex, operator.inputs, operator.outputs = 0, [0, 1], [2]
    operator.builtinOptionsType, operator.builtinOptions = schema.BuiltinOptions.AddOptions, schema.AddOptionsT()
    subgraph.operators, subgraph.inputs, subgraph.outputs = [operator], [0, 1], [2]
    model.subgraphs = [subgraph]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    interpreter = Interpreter(model_content=bytes(builder.Output()), num_threads=1)
    interpreter.allocate_tensors()
    inputs = interpreter.get_input_details()
    interpreter.set_tensor(inputs[0]["index"], (a.astype(np.int16) - 128).astype(np.int8)[None])
    interpreter.set_tensor(inputs[1]["index"], (b.astype(np.int16) - 128).astype(np.int8)[None])
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0].astype(np.int64) + 128


def main():
    rng = np.random.default_rng(20261202)
    a = np.repeat(np.arange(256), 256).astype(np.uint8)
    b = np.tile(np.arange(256), 256).astype(np.uint8)
    draws = []
    totals = {"onnxruntime vs litert": 0, "onnxruntime vs exact": 0, "litert vs exact": 0}
    for _ in range(DRAWS):
        # Ratios s_a / s_c and s_b / s_c between about 1/8 and 8, as residual adds have.
        sc = np.float32(np.exp(rng.uniform(-5, -1)))
        sa = np.float32(sc * np.exp(rng.uniform(-2, 2)))
        sb = np.float32(sc * np.exp(rng.uniform(-2, 2)))
        za, zb, zc = (int(z) for z in rng.integers(0, 256, 3))
        params = (sa, za, sb, zb, sc, zc)
        onnx = onnx_add(params, a, b)
        lite = tflite_add(params, a, b)
        real = (np.float64(sa) * (a.astype(np.int64) - za) + np.float64(sb) * (b.astype(np.int64) - zb)) / np.float64(sc) + zc
        exact = np.clip(np.rint(real), 0, 255).astype(np.int64)
        totals["onnxruntime vs litert"] += int((onnx != lite).sum())
        totals["onnxruntime vs exact"] += int((onnx != exact).sum())
        totals["litert vs exact"] += int((lite != exact).sum())
        chosen = set(np.flatnonzero((onnx != lite) | (onnx != exact) | (lite != exact)).tolist())
        chosen.update(rng.choice(a.size, 16, replace=False).tolist())
        rows = [(int(a[i]), int(b[i]), int(onnx[i]), int(lite[i])) for i in sorted(chosen)]
        draws.append((params, rows))
    pairs = DRAWS * a.size
    for name, count in totals.items():
        print(f"{name}: {count} of {pairs} sums differ")

    lines = [
        "// Generated by Scripts/generate_quantized_add_fixtures.py; do not edit.",
        f"// ONNX Runtime {ort.__version__} (QDQ add fused to QLinearAdd) and LiteRT {importlib.metadata.version('ai-edge-litert')}"
        " (XNNPACK int8 ADD) on",
        f"// {DRAWS} draws of scales and zero points; the rows where the runtimes or the exact sum disagree,",
        "// and 16 seeded rows per draw: (q_a, q_b, onnxruntime, litert).",
        "",
        "struct QuantizedAddFixture {",
        "    let scales: (a: Float, b: Float, c: Float)",
        "    let zeroPoints: (a: Int32, b: Int32, c: Int32)",
        "    let rows: [(a: Int32, b: Int32, onnxRuntime: Int32, liteRT: Int32)]",
        "",
        "    static let draws: [QuantizedAddFixture] = [",
    ]
    for (sa, za, sb, zb, sc, zc), rows in draws:
        lines.append("        QuantizedAddFixture(")
        lines.append(f"            scales: ({float(sa)!r}, {float(sb)!r}, {float(sc)!r}), zeroPoints: ({za}, {zb}, {zc}),")
        lines.append("            rows: [")
        for index in range(0, len(rows), 6):
            chunk = ", ".join(f"({r[0]}, {r[1]}, {r[2]}, {r[3]})" for r in rows[index:index + 6])
            lines.append(f"                {chunk},")
        lines.append("            ]),")
    lines += ["    ]", "}", ""]
    OUTPUT.write_text("\n".join(lines))
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
