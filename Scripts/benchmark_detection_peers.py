#!/usr/bin/env python3
"""Time SSDLite detection on the CPU in the peer runtimes beside `mobilenet bench --task detection`.

Not part of CI: run it by hand on a quiet machine, from the repository root, with
a Python that has torch, torchvision, onnx and onnxruntime (the fixture
generators' virtualenv, e.g. ~/.cache/mobilenet-torch)::

    python Scripts/benchmark_detection_peers.py --weights RUN/epoch-14.safetensors \\
        --photo Examples/cat.jpg --batches 1 8 --threads 2 --swift .build/release/mobilenet

What is measured, the same for every runtime, in one sitting (interleaved
rounds, the median of each runtime's rounds reported):

* The model: torchvision's ``ssdlite320_mobilenet_v3_large`` (reduced tail)
  with the class count of ``--weights`` (a state dictionary with torchvision's
  keys, such as the ``epoch-N.safetensors`` a ``train --task detection`` run
  writes), or 91 classes with torchvision's from-scratch initialization.
* The work: from the photo's pixels to the final boxes: the transform (to
  [0, 1], normalization, bilinear resize to 320x320), the network and the
  post-processing (softmax, decoding, score threshold 0.001, top 300 per
  class, per-class NMS at 0.55, at most 300 detections, boxes scaled back),
  for a batch of B copies of the photo.
* PyTorch eager: ``torch.set_num_threads(T)``, one inter-op thread, eval mode,
  ``torch.inference_mode()``, ``model(list_of_images)``.
* ONNX Runtime: the whole model (transform and post-processing included)
  exported by ``torch.onnx.export`` (TorchScript exporter, opset 17) for a
  list of B images of the photo's size, CPU provider with
  ``intra_op_num_threads=T``, ``inter_op_num_threads=1``, all graph
  optimizations; its outputs are checked against PyTorch's.
* This project: ``mobilenet bench --task detection --weights W --image PHOTO
  --batch B --threads T --json`` (same weights, photo, thresholds).

Each line printed is JSON: runtime, batch, threads, p50 milliseconds per batch,
and the instruction set oneDNN reported (for ours).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torchvision
from PIL import Image


def build(weights: str | None) -> torch.nn.Module:
    classes = 91
    state = None
    if weights:
        from safetensors.torch import load_file

        state = load_file(weights)
        classes = state["head.classification_head.module_list.0.1.weight"].shape[0] // 6
    model = torchvision.models.detection.ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=classes)
    if state is not None:
        missing, unexpected = model.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.endswith("num_batches_tracked")]
        if missing or unexpected:
            raise SystemExit(f"{weights}: missing {missing[:3]}, unexpected {unexpected[:3]}")
    return model.eval()


def time_it(run, warmup: int, iterations: int) -> list[float]:
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights")
    parser.add_argument("--photo", default="Examples/cat.jpg")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--swift", default=".build/release/mobilenet")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    model = build(args.weights)
    photo = Image.open(args.photo).convert("RGB")
    image = torch.from_numpy(np.asarray(photo, dtype=np.uint8).copy()).permute(2, 0, 1).float().div(255)

    import onnxruntime as ort

    results: dict[tuple[str, int], list[float]] = {}
    folder = tempfile.mkdtemp(prefix="ssdlite-onnx-")
    sessions = {}
    for batch in args.batches:
        images = [image.clone() for _ in range(batch)]
        path = os.path.join(folder, f"ssdlite_b{batch}.onnx")
        with torch.no_grad():
            torch.onnx.export(model, (images,), path, opset_version=17, dynamo=False,
                              input_names=[f"image{i}" for i in range(batch)])
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        feeds = {f"image{i}": images[i].numpy() for i in range(batch)}
        # The exported graph computes what PyTorch does.
        with torch.inference_mode():
            expected = model(images)[0]
        got = session.run(None, feeds)
        if len(got[0]) != len(expected["boxes"]) or not np.allclose(got[0], expected["boxes"].numpy(), atol=1e-2):
            print(json.dumps({"warning": "ONNX Runtime's boxes differ from PyTorch's", "batch": batch}), file=sys.stderr)
        sessions[batch] = (session, feeds, images)

    for _ in range(args.rounds):
        for batch in args.batches:
            session, feeds, images = sessions[batch]
            with torch.inference_mode():
                results.setdefault(("pytorch", batch), []).extend(
                    time_it(lambda: model(images), warmup=3, iterations=args.iterations))
            results.setdefault(("onnxruntime", batch), []).extend(
                time_it(lambda: session.run(None, feeds), warmup=3, iterations=args.iterations))
            if args.weights and os.path.exists(args.swift):
                command = [args.swift, "bench", "--task", "detection", "--weights", args.weights, "--image", args.photo,
                           "--batch", str(batch), "--threads", str(args.threads), "--iterations", str(args.iterations),
                           "--warmup", "3", "--json"]
                report = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
                results.setdefault(("swift-mobilenet " + report["instruction_set"], batch), []).append(report["latency_ms_p50"])
    for (runtime, batch), samples in sorted(results.items()):
        print(json.dumps({"runtime": runtime, "batch": batch, "threads": args.threads,
                          "p50_ms": round(statistics.median(samples), 2)}))


if __name__ == "__main__":
    main()
