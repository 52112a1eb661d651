"""Generate the reference fixtures of the MobileNetSegmentation Swift tests.

Run by hand from the repository root with a Python that has torch and
torchvision (not needed by CI; the fixtures are committed):

    python Scripts/generate_segmentation_fixtures.py   # e.g. ~/.cache/mobilenet-torch/bin/python

Reference: torchvision's ``lraspp_mobilenet_v3_large`` built from scratch
(``weights=None, weights_backbone=None``: MobileNetV3-Large with ``dilated=True``,
the "low" features at stride 8, the "high" ones at stride 16). Written to
Tests/MobileNetSegmentationTests/Fixtures/:

``lraspp_structure.json``
    For 21 and 11 classes: the trainable parameter count, the multiply-adds of
    every Conv2d for one 512x512 image, every state-dict key with its shape
    (``num_batches_tracked`` left out), and the shapes of the low and high
    features for a 512x512 input.

``lraspp_parity.json``
    The 11-class model with the deterministic weights of
    ``Scripts/generate_model_fixtures.py`` (SplitMix64 per key, seeded with the
    FNV-1a hash of the key), in eval mode, on the photo ``Examples/cat.jpg``
    (PIL-decoded RGB, 451x300, to [0, 1] and normalized with ImageNet's mean and
    standard deviation, as torchvision's segmentation presets do; no resize, so
    the upsampling goes to an odd size): the output logits ``out`` as every
    ``SAMPLE``-th value of the NCHW tensor, float64 sums and absolute sums per
    class, and the arg-max class of every ``PIXEL_SAMPLE``-th pixel.

``cross_entropy_ignore.json``
    ``F.cross_entropy(logits, target, ignore_index=255)`` on NCHW logits of
    shape 2x5x3x4 (SplitMix64 seeded with FNV-1a("segmentation logits"),
    ``(2u - 1) * 3``) and a target with some pixels at 255: the loss and the
    gradient with respect to the logits (NHWC order, as the Swift tensor holds
    them).

Running the script twice produces byte-identical files.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate_model_fixtures import fill_deterministic, fnv1a64, splitmix_uniform  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "Tests", "MobileNetSegmentationTests", "Fixtures")
GENERATOR = "Scripts/generate_segmentation_fixtures.py"
SAMPLE = 997
PIXEL_SAMPLE = 41
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def f32(x) -> float:
    return float(np.float32(x))


def build(classes: int) -> torch.nn.Module:
    torch.manual_seed(0)
    model = torchvision.models.segmentation.lraspp_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=classes)
    return model.eval()


def conv_macs(model: torch.nn.Module, image: torch.Tensor) -> int:
    total = 0

    def on_conv(module, _inputs, output):
        nonlocal total
        kh, kw = module.kernel_size
        total += output.numel() * (module.in_channels // module.groups) * kh * kw

    hooks = [m.register_forward_hook(on_conv) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        model(image)
    for hook in hooks:
        hook.remove()
    return total


def structure() -> dict:
    models = []
    image = torch.zeros(1, 3, 512, 512)
    for classes in (21, 11):
        model = build(classes)
        state = [[k, list(v.shape)] for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")]
        models.append({
            "classes": classes,
            "parameters": sum(p.numel() for p in model.parameters()),
            "macs": conv_macs(model, image),
            "state": state,
        })
    with torch.no_grad():
        features = build(11).backbone(image)
    return {
        "generator": GENERATOR,
        "models": models,
        "low_shape": list(features["low"].shape),
        "high_shape": list(features["high"].shape),
    }


def parity() -> dict:
    model = build(11)
    checksum = fill_deterministic(model)
    photo = Image.open(os.path.join(REPO, "Examples", "cat.jpg")).convert("RGB")
    image = torch.from_numpy(np.asarray(photo, dtype=np.uint8).copy()).permute(2, 0, 1).float().div(255)
    image = (image - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1)
    with torch.no_grad():
        out = model(image.unsqueeze(0))["out"][0]
    flat = out.reshape(-1)
    classes, height, width = out.shape
    argmax = out.argmax(0).reshape(-1)
    return {
        "generator": GENERATOR,
        "photo": "Examples/cat.jpg",
        "classes": int(classes),
        "height": int(height),
        "width": int(width),
        "mean": list(MEAN),
        "std": list(STD),
        "weight_checksum": checksum,
        "input_sum": float(image.double().sum()),
        "sample_every": SAMPLE,
        "sample": [f32(v) for v in flat[::SAMPLE].tolist()],
        "class_sums": [float(v) for v in out.double().sum(dim=(1, 2)).tolist()],
        "class_abs_sums": [float(v) for v in out.double().abs().sum(dim=(1, 2)).tolist()],
        "pixel_sample_every": PIXEL_SAMPLE,
        "argmax_sample": [int(v) for v in argmax[::PIXEL_SAMPLE].tolist()],
    }


def cross_entropy_ignore() -> dict:
    n, k, h, w = 2, 5, 3, 4
    logits = (splitmix_uniform(fnv1a64("segmentation logits"), n * k * h * w) * 2 - 1) * 3
    logits = torch.from_numpy(logits.astype(np.float32).reshape(n, k, h, w)).requires_grad_(True)
    target = torch.tensor([
        [[0, 1, 2, 255], [4, 4, 3, 0], [255, 255, 1, 2]],
        [[3, 3, 3, 3], [0, 255, 1, 4], [2, 2, 0, 1]],
    ])
    loss = F.cross_entropy(logits, target, ignore_index=255)
    loss.backward()
    return {
        "generator": GENERATOR,
        "logits_nhwc": [f32(v) for v in logits.detach().permute(0, 2, 3, 1).reshape(-1).tolist()],
        "target": [int(v) for v in target.reshape(-1).tolist()],
        "shape_nhwc": [n, h, w, k],
        "loss": f32(loss.item()),
        "gradient_nhwc": [f32(v) for v in logits.grad.permute(0, 2, 3, 1).reshape(-1).tolist()],
    }


def write(name: str, payload: dict) -> None:
    os.makedirs(FIXTURES, exist_ok=True)
    with open(os.path.join(FIXTURES, name), "w") as handle:
        json.dump(payload, handle, indent=1, sort_keys=True)
        handle.write("\n")


def main() -> None:
    torch.set_num_threads(1)
    write("lraspp_structure.json", structure())
    write("lraspp_parity.json", parity())
    write("cross_entropy_ignore.json", cross_entropy_ignore())


if __name__ == "__main__":
    main()
