#!/usr/bin/env python3
"""Time LR-ASPP segmentation on the CPU in the peer runtimes beside `mobilenet bench --task segmentation`.

Not part of CI: run it by hand on a quiet machine, from the repository root, with
a Python that has torch, torchvision, onnx and onnxruntime (the fixture
generators' virtualenv, e.g. ~/.cache/mobilenet-torch)::

    python Scripts/benchmark_segmentation_peers.py --weights RUN/epoch-11.safetensors \\
        --photo Examples/cat.jpg --size 512 --threads 2 --swift .build/release/mobilenet

What is measured, the same for every runtime, in one sitting (interleaved
rounds, the median of each runtime's rounds reported):

* The model: torchvision's ``lraspp_mobilenet_v3_large`` with the class count
  of ``--weights`` (a state dictionary with torchvision's keys, such as the
  ``epoch-N.safetensors`` a ``train --task segmentation`` run writes), or 21
  classes with torchvision's initialization.
* The photo: the centre square of ``--photo`` (written to a temporary PNG that
  our command reads too), so that its shorter side resized to ``--size`` makes
  a square network input of ``--size`` x ``--size``.
* The work, batch 1: from the photo's pixels to its class map at the photo's
  size: to [0, 1], the bilinear resize to the size, ImageNet's normalization,
  the network (its logits resized to the input's size, as torchvision's model
  returns them), the arg-max over classes and the map resized back to the
  photo by nearest neighbour.
* PyTorch eager: ``torch.set_num_threads(T)``, one inter-op thread, eval mode,
  ``torch.inference_mode()``.
* ONNX Runtime: that whole pipeline exported by ``torch.onnx.export``
  (TorchScript exporter, opset 17) for the photo's size, CPU provider with
  ``intra_op_num_threads=T``, ``inter_op_num_threads=1``, all graph
  optimizations; its map is checked against PyTorch's.
* This project: ``mobilenet bench --task segmentation --weights W --image PHOTO
  --resolution SIZE --threads T --json`` (same weights, photo and steps), whose
  JSON names the instruction set oneDNN runs on.

Each line printed is JSON: runtime, threads, size, p50 milliseconds per photo.
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

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def build(weights: str | None) -> torch.nn.Module:
    classes = 21
    state = None
    if weights:
        from safetensors.torch import load_file

        state = load_file(weights)
        classes = state["classifier.low_classifier.weight"].shape[0]
    model = torchvision.models.segmentation.lraspp_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=classes)
    if state is not None:
        missing, unexpected = model.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.endswith("num_batches_tracked")]
        if missing or unexpected:
            raise SystemExit(f"{weights}: missing {missing[:3]}, unexpected {unexpected[:3]}")
    return model.eval()


class Pipeline(torch.nn.Module):
    """A photo's [3, H, W] floats in [0, 1] to its class map [H, W]."""

    def __init__(self, model: torch.nn.Module, size: int, photo_size: tuple[int, int]):
        super().__init__()
        self.model = model
        height, width = photo_size
        scale = size / min(height, width)
        self.input_size = (round(height * scale), round(width * scale))
        self.photo_size = photo_size
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = torch.nn.functional.interpolate(image[None], size=self.input_size, mode="bilinear", align_corners=False)
        x = (x - self.mean) / self.std
        labels = self.model(x)["out"].argmax(1, keepdim=True).float()
        return torch.nn.functional.interpolate(labels, size=self.photo_size, mode="nearest")[0, 0].to(torch.uint8)


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
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--swift", default=".build/release/mobilenet")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    model = build(args.weights)
    photo = Image.open(args.photo).convert("RGB")
    side = min(photo.size)
    left, top = (photo.width - side) // 2, (photo.height - side) // 2
    photo = photo.crop((left, top, left + side, top + side))
    folder = tempfile.mkdtemp(prefix="lraspp-peers-")
    photo_path = os.path.join(folder, "photo.png")
    photo.save(photo_path)
    image = torch.from_numpy(np.asarray(photo, dtype=np.uint8).copy()).permute(2, 0, 1).float().div(255)
    pipeline = Pipeline(model, args.size, (photo.height, photo.width)).eval()

    import onnxruntime as ort

    path = os.path.join(folder, "lraspp.onnx")
    with torch.no_grad():
        torch.onnx.export(pipeline, (image,), path, opset_version=17, dynamo=False, input_names=["image"])
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    feeds = {"image": image.numpy()}
    with torch.inference_mode():
        expected = pipeline(image).numpy()
    got = session.run(None, feeds)[0]
    agreement = float((got == expected).mean())
    if agreement < 0.99:
        print(json.dumps({"warning": "ONNX Runtime's map differs from PyTorch's", "agreeing_pixels": agreement}), file=sys.stderr)

    results: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        with torch.inference_mode():
            results.setdefault("pytorch", []).extend(time_it(lambda: pipeline(image), warmup=3, iterations=args.iterations))
        results.setdefault("onnxruntime", []).extend(time_it(lambda: session.run(None, feeds), warmup=3, iterations=args.iterations))
        if os.path.exists(args.swift):
            command = [args.swift, "bench", "--task", "segmentation", "--image", photo_path, "--resolution", str(args.size),
                       "--batch", "1", "--threads", str(args.threads), "--iterations", str(args.iterations),
                       "--warmup", "3", "--json"]
            if args.weights:
                command += ["--weights", args.weights]
            report = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            name = f"swift-mobilenet {report['instruction_set']}"
            results.setdefault(name, []).append(report["latency_ms_p50"])
            results.setdefault(name + " network", []).append(report["parts_ms_p50"]["network"])
    for runtime, samples in sorted(results.items()):
        print(json.dumps({"runtime": runtime, "threads": args.threads, "size": args.size,
                          "p50_ms": round(statistics.median(samples), 2)}))


if __name__ == "__main__":
    main()
