#!/usr/bin/env python3
"""Latency of swift-mobilenet and its peers, interleaved: round after round, ours, an ONNX file
in ONNX Runtime, a TFLite file in LiteRT, so that the machine's drift (up to 2x on a shared
machine) reaches every runtime alike. By default int8: the models Scripts/int8_peers.py --models
DIR kept (v2-int8-qdq.onnx, v2-b{B}-int8.tflite) against a file of ours from `mobilenet quantize`;
--onnx and --tflite time other files (our exports), and without --ours ours runs in fp32.

    Scripts/int8_peers.py --runtimes onnxruntime litert --batches 1 32 --models DIR   # once
    mobilenet quantize --calibration CROPS/calibration --resize 224 --crop 224 --output ours.safetensors
    Scripts/int8_interleaved.py --models DIR --ours ours.safetensors [--batch 1] [--rounds 5] [--threads 2]

Prints each round's p50s and the medians over rounds, with our ratio to the best peer.
Run in the peer virtualenv (Scripts/benchmark_peers_setup.sh); never in CI.
"""
import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np


def p50(call, iterations, warmup):
    for _ in range(warmup):
        call()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--ours", type=Path, help="our int8 model file; without it ours runs in fp32 (the published V2)")
    parser.add_argument("--onnx", type=Path, help="the ONNX file to time in ONNX Runtime (default: DIR/v2-int8-qdq.onnx, "
                        "ONNX Runtime's own quantization; e.g. `mobilenet export --model ours.safetensors`'s)")
    parser.add_argument("--tflite", type=Path, help="the TFLite file to time in LiteRT (default: DIR/v2-b{B}-int8.tflite; "
                        "e.g. `mobilenet export --format tflite`'s, with --ours left out for fp32)")
    parser.add_argument("--mobilenet", default=".build/release/mobilenet")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=None, help="timed calls (default: 300 at batch 1, 30 otherwise)")
    args = parser.parse_args()
    iterations = args.iterations or (300 if args.batch == 1 else 30)
    warmup = 20 if args.batch == 1 else 5

    import onnxruntime
    from ai_edge_litert.interpreter import Interpreter

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    ort = onnxruntime.InferenceSession(str(args.onnx or args.models / "v2-int8-qdq.onnx"), options, providers=["CPUExecutionProvider"])
    nchw = np.random.default_rng(0).standard_normal((args.batch, 3, 224, 224), dtype=np.float32)
    ort_input = ort.get_inputs()[0].name
    litert = Interpreter(model_path=str(args.tflite or args.models / f"v2-b{args.batch}-int8.tflite"), num_threads=args.threads)
    detail = litert.get_input_details()[0]
    if list(detail["shape"])[0] != args.batch:
        litert.resize_tensor_input(detail["index"], [args.batch] + list(detail["shape"])[1:])
    litert.allocate_tensors()
    detail = litert.get_input_details()[0]
    nhwc = np.zeros(detail["shape"], dtype=detail["dtype"])

    def litert_call():
        litert.set_tensor(detail["index"], nhwc)
        litert.invoke()

    def ours():
        model = ["--model", str(args.ours)] if args.ours else []
        output = subprocess.run(
            [args.mobilenet, "bench", *model, "--batch", str(args.batch), "--threads", str(args.threads),
             "--iterations", str(iterations), "--warmup", str(warmup), "--json"],
            check=True, capture_output=True, text=True).stdout
        result = json.loads(output)
        return result["latency_ms_p50"], result["isa"]

    rows = {"swift-mobilenet": [], "onnxruntime": [], "litert": []}
    isa = ""
    for round_index in range(args.rounds):
        ours_ms, isa = ours()
        rows["swift-mobilenet"].append(ours_ms)
        rows["onnxruntime"].append(p50(lambda: ort.run(None, {ort_input: nchw}), iterations, warmup))
        rows["litert"].append(p50(litert_call, iterations, warmup))
        print(f"round {round_index + 1}: " + ", ".join(f"{name} {times[-1]:.2f} ms" for name, times in rows.items()), flush=True)
    medians = {name: statistics.median(times) for name, times in rows.items()}
    best_peer = min(value for name, value in medians.items() if name != "swift-mobilenet")
    print(f"medians over {args.rounds} rounds, batch {args.batch}, {args.threads} threads, ours on {isa}: "
          + ", ".join(f"{name} {value:.2f} ms" for name, value in medians.items())
          + f"; ours / best peer = {medians['swift-mobilenet'] / best_peer:.2f}")


if __name__ == "__main__":
    main()
