#!/usr/bin/env python3
"""OpenVINO reads and runs ONNX files `mobilenet export` wrote (issue 12; a peer check, never in CI):
compiles each on the CPU plugin in f32 (OpenVINO otherwise picks bf16 where the CPU has it) and
compares its logits on a random NCHW batch with ONNX Runtime's.

    ~/.cache/mobilenet-peers/bin/python Scripts/export_openvino.py v2.onnx [more.onnx ...]
"""
import sys

import numpy as np
import onnxruntime
import openvino


def main(files):
    core = openvino.Core()
    batch = np.random.default_rng(0).standard_normal((2, 3, 224, 224)).astype(np.float32)
    for file in files:
        compiled = core.compile_model(core.read_model(file), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        theirs = compiled(batch)[compiled.output(0)]
        session = onnxruntime.InferenceSession(file, providers=["CPUExecutionProvider"])
        reference = session.run(["logits"], {"input": batch})[0]
        print(f"{file}: OpenVINO {openvino.__version__} compiled and ran it, logits {list(theirs.shape)}, "
              f"max |OpenVINO - ONNX Runtime| = {float(np.max(np.abs(theirs - reference))):.3g}")


if __name__ == "__main__":
    main(sys.argv[1:])
