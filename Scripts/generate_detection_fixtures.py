"""Generate the reference fixtures of the MobileNetDetection Swift tests.

Run by hand from the repository root with a Python that has torch and
torchvision (not needed by CI; the fixtures are committed):

    python Scripts/generate_detection_fixtures.py   # e.g. ~/.cache/mobilenet-torch/bin/python

Reference: torchvision's ``ssdlite320_mobilenet_v3_large`` built from scratch
(``weights=None, weights_backbone=None``, so with the reduced tail) and
``mobilenet_v3_large(dilated=True)``. Written to
Tests/MobileNetDetectionTests/Fixtures/:

``ssdlite_structure.json``
    For 91 and 11 classes: the trainable parameter count, the multiply-adds of
    every Conv2d for one 320x320 image, and every state-dict key with its shape
    (``num_batches_tracked`` left out); the anchors' count and a sample of them
    (every 97th, xyxy in pixels of the 320x320 input).

``ssdlite_parity.json``
    The 11-class model with the deterministic weights of
    ``Scripts/generate_model_fixtures.py`` (SplitMix64 per key, seeded with the
    FNV-1a hash of the key; see its docstring), in eval mode, on the photo
    ``Examples/cat.jpg`` (PIL-decoded RGB): the raw head outputs, as a sample
    of anchor rows (every 17th) plus float64 sums over all of them; and the
    final detections of ``model([image])`` (boxes in the photo's pixels,
    labels, scores), with the score threshold raised to ``SCORE_THRESHOLD`` so
    the list stays short.

``ssdlite_postprocess.json``
    torchvision's post-processing alone (``postprocess_detections`` and the
    transform's box rescaling, default thresholds) on synthetic head outputs:
    regression ``(2u - 1) * 2`` and logits ``(2u - 1) * 6`` from SplitMix64
    seeded with FNV-1a("regression") and FNV-1a("logits"), for 6 classes and
    an original image of 500x375: every detection.

``ssd_loss.json``
    torchvision's ``SSD.compute_loss`` (after its matching: ``SSDMatcher`` at
    IoU 0.5 with each ground truth's best anchor forced) for a batch of three
    320x320 inputs of 6 classes: synthetic head outputs (regression
    ``(2u - 1) * 2``, logits ``(2u - 1) * 4``, SplitMix64 seeded with
    FNV-1a("loss regression") and FNV-1a("loss logits")), targets written out
    (the third image has none); the two losses, the matched anchor of each
    anchor (as a run-length list), and the gradients of their sum with respect
    to both outputs (float64 sums, sums of squares and every 41st value).

``dilated_v3.json``
    ``mobilenet_v3_large(dilated=True, num_classes=10)`` with the deterministic
    weights on the deterministic 1x3x96x96 input: the logits and the last
    feature map's shape.

Running the script twice produces byte-identical files.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch
import torchvision
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate_model_fixtures import (  # noqa: E402
    deterministic_input,
    fill_deterministic,
    fnv1a64,
    splitmix_uniform,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "Tests", "MobileNetDetectionTests", "Fixtures")
GENERATOR = "Scripts/generate_detection_fixtures.py"
SCORE_THRESHOLD = 0.2
ANCHOR_SAMPLE = 97
ROW_SAMPLE = 17


def f32(x) -> float:
    return float(np.float32(x))


def build(classes: int) -> torch.nn.Module:
    torch.manual_seed(0)
    model = torchvision.models.detection.ssdlite320_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=classes)
    return model.eval()


def conv_macs(model: torch.nn.Module, images: list[torch.Tensor]) -> int:
    total = 0

    def on_conv(module, _inputs, output):
        nonlocal total
        kh, kw = module.kernel_size
        total += output.numel() * (module.in_channels // module.groups) * kh * kw

    hooks = [m.register_forward_hook(on_conv) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        model(images)
    for hook in hooks:
        hook.remove()
    return total


def structure() -> dict:
    models = []
    for classes in (91, 11):
        model = build(classes)
        state = [[k, list(v.shape)] for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")]
        image = torch.zeros(3, 320, 320)
        models.append({
            "classes": classes,
            "parameters": sum(p.numel() for p in model.parameters()),
            "macs": conv_macs(model, [image]),
            "state": state,
        })
    model = build(11)
    with torch.no_grad():
        images, _ = model.transform([torch.zeros(3, 320, 320)])
        features = list(model.backbone(images.tensors).values())
        anchors = model.anchor_generator(images, features)[0]
    return {
        "generator": GENERATOR,
        "models": models,
        "feature_shapes": [list(f.shape) for f in features],
        "anchor_count": int(anchors.shape[0]),
        "anchor_sample_every": ANCHOR_SAMPLE,
        "anchors": [[f32(v) for v in row] for row in anchors[::ANCHOR_SAMPLE].tolist()],
    }


def detections_json(detection: dict) -> dict:
    return {
        "boxes": [[f32(v) for v in box] for box in detection["boxes"].tolist()],
        "labels": [int(v) for v in detection["labels"].tolist()],
        "scores": [f32(v) for v in detection["scores"].tolist()],
    }


def parity() -> dict:
    model = build(11)
    checksum = fill_deterministic(model)
    model.score_thresh = SCORE_THRESHOLD
    photo = Image.open(os.path.join(REPO, "Examples", "cat.jpg")).convert("RGB")
    image = torch.from_numpy(np.asarray(photo, dtype=np.uint8).copy()).permute(2, 0, 1).float().div(255)
    with torch.no_grad():
        images, _ = model.transform([image])
        features = list(model.backbone(images.tensors).values())
        head = model.head(features)
        detections = model([image])[0]
    regression = head["bbox_regression"][0].double()
    logits = head["cls_logits"][0].double()
    return {
        "generator": GENERATOR,
        "photo": "Examples/cat.jpg",
        "classes": 11,
        "weight_checksum": checksum,
        "score_threshold": SCORE_THRESHOLD,
        "input_sum": float(images.tensors.double().sum()),
        "row_sample_every": ROW_SAMPLE,
        "regression_rows": [[f32(v) for v in row] for row in regression[::ROW_SAMPLE].tolist()],
        "logit_rows": [[f32(v) for v in row] for row in logits[::ROW_SAMPLE].tolist()],
        "regression_sum": float(regression.sum()),
        "regression_abs_sum": float(regression.abs().sum()),
        "logit_sum": float(logits.sum()),
        "logit_abs_sum": float(logits.abs().sum()),
        "detections": detections_json(detections),
    }


def postprocess() -> dict:
    classes, width, height = 6, 500, 375
    model = build(classes)
    with torch.no_grad():
        images, _ = model.transform([torch.zeros(3, height, width)])
        features = list(model.backbone(images.tensors).values())
        anchors = model.anchor_generator(images, features)
        count = anchors[0].shape[0]
        regression = (splitmix_uniform(fnv1a64("regression"), count * 4) * 2 - 1) * 2
        logits = (splitmix_uniform(fnv1a64("logits"), count * classes) * 2 - 1) * 6
        head = {
            "bbox_regression": torch.from_numpy(regression.astype(np.float32).reshape(1, count, 4)),
            "cls_logits": torch.from_numpy(logits.astype(np.float32).reshape(1, count, classes)),
        }
        detections = model.postprocess_detections(head, anchors, images.image_sizes)
        detections = model.transform.postprocess(detections, images.image_sizes, [(height, width)])[0]
    return {
        "generator": GENERATOR,
        "classes": classes,
        "width": width,
        "height": height,
        "anchor_count": int(count),
        "detections": detections_json(detections),
    }


LOSS_TARGETS = [
    ([[20.0, 30.0, 120.0, 160.0], [150.0, 40.0, 300.0, 110.0], [60.0, 200.0, 90.0, 230.0]], [1, 4, 2]),
    ([[0.0, 0.0, 320.0, 320.0], [100.0, 100.0, 104.0, 180.0]], [5, 3]),
    ([], []),
]
GRADIENT_SAMPLE = 41


def loss() -> dict:
    classes = 6
    model = build(classes)
    model.train()
    with torch.no_grad():
        images, _ = model.transform([torch.zeros(3, 320, 320)] * 3)
        features = list(model.backbone(images.tensors).values())
        anchors = model.anchor_generator(images, features)
    count = anchors[0].shape[0]
    regression = (splitmix_uniform(fnv1a64("loss regression"), 3 * count * 4) * 2 - 1) * 2
    logits = (splitmix_uniform(fnv1a64("loss logits"), 3 * count * classes) * 2 - 1) * 4
    regression = torch.from_numpy(regression.astype(np.float32).reshape(3, count, 4)).requires_grad_()
    logits = torch.from_numpy(logits.astype(np.float32).reshape(3, count, classes)).requires_grad_()
    targets = [
        {"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4), "labels": torch.tensor(labels, dtype=torch.int64)}
        for boxes, labels in LOSS_TARGETS
    ]
    matched = []
    for anchors_per_image, target in zip(anchors, targets):
        if target["boxes"].numel() == 0:
            matched.append(torch.full((count,), -1, dtype=torch.int64))
            continue
        quality = torchvision.ops.box_iou(target["boxes"], anchors_per_image)
        matched.append(model.proposal_matcher(quality))
    losses = model.compute_loss(targets, {"bbox_regression": regression, "cls_logits": logits}, anchors, matched)
    (losses["bbox_regression"] + losses["classification"]).backward()

    def runs(values: list[int]) -> list[list[int]]:
        result: list[list[int]] = []
        for value in values:
            if result and result[-1][0] == value:
                result[-1][1] += 1
            else:
                result.append([value, 1])
        return result

    def summary(gradient: torch.Tensor) -> dict:
        flat = gradient.double().flatten()
        return {
            "sum": float(flat.sum()),
            "square_sum": float((flat * flat).sum()),
            "sample": [f32(v) for v in flat[::GRADIENT_SAMPLE].tolist()],
        }

    return {
        "generator": GENERATOR,
        "classes": classes,
        "targets": [{"boxes": boxes, "labels": labels} for boxes, labels in LOSS_TARGETS],
        "regression_loss": float(losses["bbox_regression"].detach()),
        "classification_loss": float(losses["classification"].detach()),
        "matches": [runs(m.tolist()) for m in matched],
        "gradient_sample_every": GRADIENT_SAMPLE,
        "regression_gradient": summary(regression.grad),
        "logit_gradient": summary(logits.grad),
    }


def dilated() -> dict:
    model = torchvision.models.mobilenet_v3_large(dilated=True, num_classes=10).eval()
    checksum = fill_deterministic(model)
    x = torch.from_numpy(deterministic_input(1, 96))
    with torch.no_grad():
        features = model.features(x)
        logits = model(x)
    return {
        "generator": GENERATOR,
        "classes": 10,
        "resolution": 96,
        "weight_checksum": checksum,
        "feature_shape": list(features.shape),
        "logits": [f32(v) for v in logits[0].tolist()],
    }


def write(name: str, value: dict) -> None:
    path = os.path.join(FIXTURES, name)
    with open(path, "w") as file:
        json.dump(value, file, separators=(",", ":"))
        file.write("\n")
    print(f"{path}: {os.path.getsize(path)} bytes")


def main() -> None:
    torch.set_num_threads(1)
    os.makedirs(FIXTURES, exist_ok=True)
    write("ssdlite_structure.json", structure())
    write("ssdlite_parity.json", parity())
    write("ssdlite_postprocess.json", postprocess())
    write("ssd_loss.json", loss())
    write("dilated_v3.json", dilated())


if __name__ == "__main__":
    main()
