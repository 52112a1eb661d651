"""Generate reference fixtures for the MobileNetModels Swift tests.

Run from the repository root with a Python that has torch, torchvision and
timm installed (not needed by CI; the fixtures are committed):

    python Scripts/generate_model_fixtures.py    # the fixture virtualenv's python

Reference implementations: torchvision for MobileNet V2 / V3 (large, small) and
timm's ``_gen_mobilenet_v1`` for MobileNet V1.

Two kinds of fixtures are written to Tests/MobileNetModelsTests/Fixtures/:

``counts.json``
    For each (variant, width) at 1000 classes: the trainable parameter count
    (BatchNorm affine included, running statistics excluded), the
    multiply-accumulate count of every Conv2d and Linear layer for a batch-1
    input at 224 (plus 96/128/160/192 for V2 1.0), and the NHWC output shape
    (batch 1, 224x224 input) after every backbone stage; at width 1.0 also every
    state-dict key with its shape (``state``).  For torchvision
    models a stage is ``features[i]``; for timm V1 stage 0 is
    ``conv_stem + bn1`` and stages 1..5 are ``blocks[0..4]``.

``parity_<name>.json``
    Logits of a model whose weights and input are filled with a deterministic
    pseudo-random scheme that the Swift tests reproduce, so the fixture does
    not need to carry weights:

    * SplitMix64 (all arithmetic mod 2**64)::

          state += 0x9E3779B97F4A7C15
          z = state
          z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
          z = (z ^ (z >> 27)) * 0x94D049BB133111EB
          return z ^ (z >> 31)

    * Each state-dict tensor gets its own generator, seeded with the FNV-1a 64
      hash of its key's UTF-8 bytes, and draws one value per element in
      row-major order: ``u = float64(next() >> 40) * 2**-24`` in [0, 1).
    * The value (computed in float64, then rounded to float32) depends on the
      key:  ``running_var`` -> ``0.5 + u``; ``running_mean`` ->
      ``(2u - 1) * 0.1``; ``num_batches_tracked`` -> untouched; 1-D ``weight``
      (BatchNorm scale) -> ``0.5 + u``; ``bias`` -> ``(2u - 1) * 0.1``;
      anything else (conv / linear weights) -> ``(2u - 1) * sqrt(3 / fan_in)``
      with ``fan_in = numel / shape[0]``.
    * The input, NCHW ``[batch, 3, R, R]``, uses the seed FNV-1a 64("input")
      and the value ``2u - 1``.
    * ``input_checksum`` is the float64 sum of the input values;
      ``weight_checksum`` adds, over the filled tensors in sorted key order,
      the float64 sum of each tensor's values.  Both sums are computed with
      ``math.fsum`` (correctly rounded), so compare them with a small relative
      tolerance on the Swift side.

    The model runs in eval mode, float32, on the CPU.  Logits are written as
    ``repr(float(np.float32(x)))``, which round-trips to the exact float32.

Running the script twice produces byte-identical files.
"""

from __future__ import annotations

import json
import math
import os
from typing import Callable

import numpy as np
import timm  # noqa: F401  (imported for its model registry side effects)
import torch
import torch.nn as nn
import torchvision
from timm.models.efficientnet import _gen_mobilenet_v1

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE_DIR = os.path.join(REPO_ROOT, "Tests", "MobileNetModelsTests", "Fixtures")
GENERATOR = "Scripts/generate_model_fixtures.py"

MASK64 = (1 << 64) - 1
SPLITMIX_GAMMA = 0x9E3779B97F4A7C15
SPLITMIX_MUL1 = 0xBF58476D1CE4E5B9
SPLITMIX_MUL2 = 0x94D049BB133111EB
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3

# Numerator of the conv / linear weight range sqrt(WEIGHT_GAIN / fan_in).  The
# Swift tests must use the same value.
WEIGHT_GAIN = 5.0


# ---------------------------------------------------------------------------
# Deterministic numbers
# ---------------------------------------------------------------------------

def fnv1a64(text: str) -> int:
    """FNV-1a 64-bit hash of the UTF-8 bytes of ``text``."""
    h = FNV_OFFSET
    for byte in text.encode("utf-8"):
        h ^= byte
        h = (h * FNV_PRIME) & MASK64
    return h


def splitmix_uniform(seed: int, count: int) -> np.ndarray:
    """The first ``count`` SplitMix64 draws from ``seed`` mapped to [0, 1).

    The k-th draw (k = 1, 2, ...) mixes ``seed + k * gamma``, so the whole
    sequence is computed at once with wrapping uint64 arithmetic.
    """
    steps = np.arange(1, count + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + steps * np.uint64(SPLITMIX_GAMMA)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(SPLITMIX_MUL1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(SPLITMIX_MUL2)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(40)).astype(np.float64) * 2.0 ** -24


def deterministic_value(key: str, shape: tuple[int, ...]) -> np.ndarray | None:
    """Fill value for the state-dict entry ``key``; ``None`` means leave it."""
    if key.endswith("num_batches_tracked"):
        return None
    count = int(np.prod(shape, dtype=np.int64))
    u = splitmix_uniform(fnv1a64(key), count)
    if key.endswith("running_var"):
        values = 0.5 + u
    elif key.endswith("running_mean"):
        values = (u * 2.0 - 1.0) * 0.1
    elif key.endswith("weight") and len(shape) == 1:
        values = 0.5 + u
    elif key.endswith("bias"):
        values = (u * 2.0 - 1.0) * 0.1
    else:
        fan_in = count // shape[0]
        values = (u * 2.0 - 1.0) * math.sqrt(WEIGHT_GAIN / fan_in)
    return values.astype(np.float32).reshape(shape)


def fill_deterministic(model: nn.Module) -> float:
    """Overwrite the model's state with the scheme above; return the checksum."""
    state = model.state_dict()
    filled = {}
    checksum = 0.0
    for key in sorted(state):
        values = deterministic_value(key, tuple(state[key].shape))
        if values is None:
            filled[key] = state[key]
            continue
        filled[key] = torch.from_numpy(values)
        checksum += math.fsum(values.astype(np.float64).ravel().tolist())
    model.load_state_dict(filled, strict=True)
    return checksum


def deterministic_input(batch: int, resolution: int) -> np.ndarray:
    shape = (batch, 3, resolution, resolution)
    u = splitmix_uniform(fnv1a64("input"), batch * 3 * resolution * resolution)
    return (u * 2.0 - 1.0).astype(np.float32).reshape(shape)


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------

def build_model(variant: str, width: float, classes: int = 1000) -> nn.Module:
    if variant == "v1":
        return _gen_mobilenet_v1(
            "mobilenetv1_100", channel_multiplier=width, pretrained=False, num_classes=classes
        )
    if variant == "v2":
        return torchvision.models.mobilenet_v2(width_mult=width, num_classes=classes, dropout=0.2)
    if variant == "v3-large":
        return torchvision.models.mobilenet_v3_large(width_mult=width, num_classes=classes, dropout=0.2)
    if variant == "v3-small":
        return torchvision.models.mobilenet_v3_small(width_mult=width, num_classes=classes, dropout=0.2)
    raise ValueError(f"unknown variant {variant!r}")


def backbone_stages(model: nn.Module, variant: str) -> list[Callable[[torch.Tensor], torch.Tensor]]:
    """The backbone as a list of callables applied one after another."""
    if variant == "v1":
        return [lambda x: model.bn1(model.conv_stem(x))] + list(model.blocks)
    return list(model.features)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, resolution: int) -> int:
    """Multiply-accumulates of all Conv2d / Linear layers for one image."""
    total = 0

    def on_conv(module: nn.Conv2d, _inputs, output: torch.Tensor) -> None:
        nonlocal total
        kh, kw = module.kernel_size
        total += output.numel() * (module.in_channels // module.groups) * kh * kw

    def on_linear(module: nn.Linear, _inputs, output: torch.Tensor) -> None:
        nonlocal total
        rows = output.numel() // module.out_features
        total += module.in_features * module.out_features * rows

    handles = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            handles.append(module.register_forward_hook(on_conv))
        elif isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(on_linear))
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, resolution, resolution))
    finally:
        for handle in handles:
            handle.remove()
    return total


def stage_shapes(model: nn.Module, variant: str, resolution: int = 224) -> list[list[int]]:
    shapes = []
    x = torch.zeros(1, 3, resolution, resolution)
    with torch.no_grad():
        for stage in backbone_stages(model, variant):
            x = stage(x)
            n, c, h, w = x.shape
            shapes.append([n, h, w, c])
    return shapes


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------

COUNT_CONFIGS = (
    [("v1", w) for w in (0.25, 0.5, 0.75, 1.0)]
    + [("v2", w) for w in (0.35, 0.5, 0.75, 1.0, 1.4)]
    + [("v3-large", w) for w in (0.75, 1.0)]
    + [("v3-small", w) for w in (0.75, 1.0)]
)
EXTRA_RESOLUTIONS = {("v2", 1.0): (96, 128, 160, 192)}

# name: (variant, width, resolution, classes, batch)
PARITY_CASES = {
    "v1_100_224": ("v1", 1.0, 224, 1000, 2),
    "v2_100_224": ("v2", 1.0, 224, 1000, 2),
    "v3large_100_224": ("v3-large", 1.0, 224, 1000, 2),
    "v3small_100_224": ("v3-small", 1.0, 224, 1000, 2),
    "v2_035_96": ("v2", 0.35, 96, 10, 3),
    "v1_025_128": ("v1", 0.25, 128, 16, 2),
    "v3small_075_64": ("v3-small", 0.75, 64, 10, 2),
    "v3large_075_160": ("v3-large", 0.75, 160, 5, 2),
}


def float32_literal(x: float) -> str:
    """Shortest float64 text of the float32 value ``x`` (exact round trip)."""
    return repr(float(np.float32(x)))


def write_json(path: str, fields: list[tuple[str, str]]) -> None:
    """Write an object whose values are already JSON text, one key per line."""
    body = ",\n".join(f"  {json.dumps(key)}: {value}" for key, value in fields)
    with open(path, "w", encoding="utf-8") as f:
        f.write("{\n" + body + "\n}\n")
    print(f"wrote {os.path.relpath(path, REPO_ROOT)} ({os.path.getsize(path)} bytes)")


def generate_counts() -> None:
    entries = []
    for variant, width in COUNT_CONFIGS:
        model = build_model(variant, width).eval()
        resolutions = (224,) + EXTRA_RESOLUTIONS.get((variant, width), ())
        macs = {str(r): count_macs(model, r) for r in resolutions}
        entry = {
            "variant": variant,
            "width": width,
            "parameters": count_parameters(model),
            "macs": macs,
            "stages": stage_shapes(model, variant),
        }
        if width == 1.0:
            # Every state-dict key with its shape, in the reference's order, so the Swift
            # module tree is checked key by key (num_batches_tracked is not kept there).
            entry["state"] = [
                [key, list(tensor.shape)]
                for key, tensor in model.state_dict().items()
                if not key.endswith("num_batches_tracked")
            ]
        print(f"{variant:8s} {width:<4} params={entry['parameters']:>9,d} "
              + " ".join(f"macs@{r}={m:,d}" for r, m in macs.items()))
        entries.append("    " + json.dumps(entry))
    models = "[\n" + ",\n".join(entries) + "\n  ]"
    write_json(os.path.join(FIXTURE_DIR, "counts.json"), [("models", models)])


def generate_parity(name: str, variant: str, width: float, resolution: int,
                    classes: int, batch: int) -> None:
    model = build_model(variant, width, classes)
    weight_checksum = fill_deterministic(model)
    model.eval()

    inputs = deterministic_input(batch, resolution)
    input_checksum = math.fsum(inputs.astype(np.float64).ravel().tolist())
    with torch.no_grad():
        logits = model(torch.from_numpy(inputs)).numpy()
    assert logits.shape == (batch, classes), logits.shape
    assert np.all(np.isfinite(logits)), f"{name}: non-finite logits"

    magnitude = np.abs(logits.astype(np.float64))
    print(f"{name:16s} max|logit|={magnitude.max():.4g} mean|logit|={magnitude.mean():.4g}")

    rows = ",\n".join(
        "    [" + ", ".join(float32_literal(v) for v in row) + "]" for row in logits
    )
    write_json(
        os.path.join(FIXTURE_DIR, f"parity_{name}.json"),
        [
            ("generator", json.dumps(GENERATOR)),
            ("variant", json.dumps(variant)),
            ("width", json.dumps(width)),
            ("resolution", json.dumps(resolution)),
            ("classes", json.dumps(classes)),
            ("batch", json.dumps(batch)),
            ("input_checksum", repr(input_checksum)),
            ("weight_checksum", repr(weight_checksum)),
            ("logits", "[\n" + rows + "\n  ]"),
        ],
    )


def main() -> None:
    torch.set_num_threads(2)
    os.makedirs(FIXTURE_DIR, exist_ok=True)
    generate_counts()
    for name, case in PARITY_CASES.items():
        generate_parity(name, *case)


if __name__ == "__main__":
    main()
