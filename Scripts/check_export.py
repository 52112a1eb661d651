#!/usr/bin/env python3
"""Runs an exported model in the runtime people deploy it with and compares its outputs with
swift-mobilenet's: `onnx.checker` and ONNX Runtime for .onnx files, LiteRT for .tflite files.

The test suite (ExportTests) writes the model, the input batch and our logits, and calls

    check_export.py MODEL --input input.f32 --shape N,3,H,W --expected logits.f32

The .f32 files are raw little-endian float32 (the input NCHW). Prints one JSON object: the
checker's verdict, the largest absolute difference of the logits, the top-1 agreement, and the
runtime's version. Exits 1 if the checker or the runtime fails. Runs in the test-only virtualenv
`make test` creates (onnx, onnxruntime); never imports anything of the repository.
"""
import argparse
import json
import sys

import numpy as np


def run_onnx(path, batch):
    import onnx
    import onnxruntime

    onnx.checker.check_model(onnx.load(path), full_check=True)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    (logits,) = session.run(["logits"], {"input": batch})
    return logits, f"onnxruntime {onnxruntime.__version__}", "ok"


def run_litert(path, batch):
    """LiteRT's interpreter (XNNPACK), the input NHWC and resized to the batch."""
    from importlib.metadata import version

    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path, num_threads=1)
    (source,) = interpreter.get_input_details()
    (target,) = interpreter.get_output_details()
    if source["name"] != "input" or target["name"] != "logits":
        raise ValueError(f"expected tensors input and logits, got {source['name']} and {target['name']}")
    nhwc = np.ascontiguousarray(batch.transpose(0, 2, 3, 1))
    interpreter.resize_tensor_input(source["index"], list(nhwc.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(source["index"], nhwc)
    interpreter.invoke()
    return interpreter.get_tensor(target["index"]), f"ai-edge-litert {version('ai-edge-litert')}", "n/a"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("--input", required=True)
    parser.add_argument("--shape", required=True, help="N,C,H,W of the input")
    parser.add_argument("--expected", required=True)
    args = parser.parse_args()
    shape = tuple(int(part) for part in args.shape.split(","))
    batch = np.fromfile(args.input, dtype="<f4").reshape(shape)
    expected = np.fromfile(args.expected, dtype="<f4").reshape(shape[0], -1)

    if args.model.endswith(".tflite"):
        logits, runtime, checker = run_litert(args.model, batch)
    else:
        logits, runtime, checker = run_onnx(args.model, batch)
    result = {
        "checker": checker,
        "runtime": runtime,
        "shape": list(logits.shape),
        "max_abs_diff": float(np.max(np.abs(logits - expected))),
        "top1_agreement": int(np.sum(np.argmax(logits, axis=1) == np.argmax(expected, axis=1))),
        "images": int(shape[0]),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # one line for the test's failure message
        print(f"check_export: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
