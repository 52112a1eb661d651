#!/usr/bin/env python3
"""Training throughput of swift-mobilenet against PyTorch eager, in one sitting (not part of CI).

Both take the same step on the same model: MobileNetV2 (torchvision's structure, 10 classes) in
training mode, a fixed random batch, softmax cross-entropy, backward, and an SGD update with
Nesterov momentum 0.9 and weight decay 4e-5; the same batch size and thread count. Data loading is
left out of both. Run from the repository root on a quiet machine, after
`swift build -c release --product mobilenet`, with a Python that has torch and torchvision (the
virtualenv of Scripts/benchmark_peers_setup.sh, ``$MOBILENET_PEER_VENV``, by default
``~/.cache/mobilenet-peers``):

    "${MOBILENET_PEER_VENV:-$HOME/.cache/mobilenet-peers}"/bin/python Scripts/benchmark_training_peers.py [--batch 128] [--resolution 32] [--threads 2]
"""

import argparse
import json
import os
import statistics
import subprocess
import time

os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # before torch loads its OpenMP runtime

import torch  # noqa: E402
import torchvision  # noqa: E402


def pytorch_images_per_second(batch: int, resolution: int, threads: int, warmup: int, iterations: int) -> float:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v2(num_classes=10)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=4e-5)
    loss_function = torch.nn.CrossEntropyLoss()
    images = torch.rand(batch, 3, resolution, resolution) * 4 - 2
    labels = torch.randint(0, 10, (batch,))

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_function(model(images), labels).backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return batch / statistics.median(times)


def swift_images_per_second(cli: str, batch: int, resolution: int, threads: int, warmup: int, iterations: int) -> float:
    output = subprocess.run(
        [cli, "bench", "--train", "--variant", "v2", "--classes", "10", "--resolution", str(resolution),
         "--batch", str(batch), "--threads", str(threads), "--warmup", str(warmup), "--iterations", str(iterations), "--json"],
        check=True, capture_output=True, text=True).stdout
    return json.loads(output)["images_per_second"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--swift-cli", default=".build/release/mobilenet")
    args = parser.parse_args()

    print(f"load before: {os.getloadavg()}")
    torch_rate = pytorch_images_per_second(args.batch, args.resolution, args.threads, args.warmup, args.iterations)
    swift_rate = swift_images_per_second(args.swift_cli, args.batch, args.resolution, args.threads, args.warmup, args.iterations)
    print(f"load after: {os.getloadavg()}")
    print(f"| runtime | images/s (MobileNetV2, {args.resolution}x{args.resolution}, batch {args.batch}, "
          f"{args.threads} threads) | ratio to PyTorch |")
    print("|---|---:|---:|")
    print(f"| PyTorch {torch.__version__} eager | {torch_rate:.1f} | 1.00 |")
    print(f"| swift-mobilenet | {swift_rate:.1f} | {swift_rate / torch_rate:.2f} |")


if __name__ == "__main__":
    main()
