"""Generate the fixtures of the MobileNetTraining and MobileNetData Swift tests.

Run from the repository root with the fixture virtualenv (torch, torchvision, timm, numpy; not
needed by CI, the fixtures are committed):

    python Scripts/generate_training_fixtures.py    # the fixture virtualenv's python

``Tests/MobileNetTrainingTests/Fixtures/training.json``
    optimizers
        Three small float32 parameters (a 3x4 weight and a 2x2 weight, which take weight decay,
        and a 4-element bias, which does not: torch parameter groups split by ``ndim``, the
        Swift default) updated for five steps with fixed gradients and a learning rate that
        changes every step. The 2x2 weight has no gradient in the third step (PyTorch skips
        it, which matters for AdamW's per-parameter step count). Recorded: every parameter
        after every step and the optimizer state after the last. SGD (plain, momentum with
        dampening, Nesterov) and AdamW are ``torch.optim`` with ``foreach=False``; RMSProp is
        timm's ``RMSpropTF`` (epsilon inside the square root, square average starting at 1,
        learning rate inside the momentum buffer), ``foreach=False``.
    clipping
        ``torch.nn.utils.clip_grad_norm_`` of the first step's gradients at two limits.
    schedules
        Learning rates of torchvision's classification reference recipe
        (``references/classification/train.py``): ``LinearLR`` warm-up chained to
        ``CosineAnnealingLR`` / ``StepLR`` / ``ExponentialLR`` by ``SequentialLR``, stepped
        once per epoch, and the same stepped once per iteration (every length multiplied by
        the steps per epoch). The rate recorded for step t is the one in the optimizer while
        step t runs.

``Tests/MobileNetDataTests/Fixtures/augmentation.json``
    torchvision's own ``RandomResizedCrop.get_params``, ``RandomCrop.get_params`` and
    ``RandomHorizontalFlip`` decisions, with PyTorch's random draws replaced by a SplitMix64
    twin of the Swift generator: ``uniform_`` computes ``u * (b - a) + a`` in float32 from a
    24-bit unit value (what PyTorch's CPU kernel does with its own bits), ``randint(0, n)``
    takes the high 64 bits of ``next() * n``. So the Swift port must pick the same rectangles
    from the same draws; the fallback after ten failed attempts is covered by narrow scales
    and extreme aspect ratios.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
import timm
import torch
import torchvision
import torchvision.transforms.transforms as tvt
from timm.optim import RMSpropTF

MASK64 = (1 << 64) - 1
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class SplitMix64:
    """The twin of MobileNetTensor's SplitMix64 and of MobileNetData's sampling helpers."""

    def __init__(self, seed: int) -> None:
        self.state = seed & MASK64

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def unit(self) -> float:
        return (self.next() >> 40) * 2.0**-24

    def index_below(self, bound: int) -> int:
        return (self.next() * bound) >> 64

    def float_in(self, lower: float, upper: float) -> np.float32:
        lower32, upper32 = np.float32(lower), np.float32(upper)
        return np.float32(np.float32(self.unit()) * (upper32 - lower32) + lower32)


def values(tensor: torch.Tensor) -> list[float]:
    """Float32 values as the doubles that represent them exactly."""
    return [float(x) for x in tensor.detach().reshape(-1).tolist()]


def deterministic(seed: int, shape: tuple[int, ...], scale: float = 1.0) -> torch.Tensor:
    generator = SplitMix64(seed)
    count = math.prod(shape)
    data = [np.float32(scale * (2.0 * generator.unit() - 1.0)) for _ in range(count)]
    return torch.tensor(np.array(data, dtype=np.float32).reshape(shape))


# ---------------------------------------------------------------------------------------------
# Optimizers

PARAMETER_SHAPES = {"a.weight": (3, 4), "a.bias": (4,), "c.weight": (2, 2)}
STEPS = 5
LEARNING_RATE_FACTORS = [1.0, 0.9, 0.8, 1.1, 0.5]


def initial_parameters() -> dict[str, torch.Tensor]:
    return {key: deterministic(100 + index, shape) for index, (key, shape) in enumerate(PARAMETER_SHAPES.items())}


def gradients(step: int) -> dict[str, torch.Tensor | None]:
    result: dict[str, torch.Tensor | None] = {}
    for index, (key, shape) in enumerate(PARAMETER_SHAPES.items()):
        result[key] = deterministic(1000 + 10 * step + index, shape, scale=0.5)
    result["c.weight"] = None if step == 2 else result["c.weight"]
    return result


def run_optimizer(name: str, make, base_lr: float, weight_decay: float, state_names: list[str]) -> dict:
    parameters = {key: torch.nn.Parameter(value.clone()) for key, value in initial_parameters().items()}
    decayed = [p for p in parameters.values() if p.ndim > 1]
    undecayed = [p for p in parameters.values() if p.ndim <= 1]
    optimizer = make([
        {"params": decayed, "weight_decay": weight_decay},
        {"params": undecayed, "weight_decay": 0.0},
    ])
    rates, after = [], []
    for step in range(STEPS):
        rate = base_lr * LEARNING_RATE_FACTORS[step]
        for group in optimizer.param_groups:
            group["lr"] = rate
        for key, gradient in gradients(step).items():
            parameters[key].grad = None if gradient is None else gradient.clone()
        optimizer.step()
        rates.append(rate)
        after.append({key: values(p) for key, p in parameters.items()})
    state = {}
    for key, p in parameters.items():
        entry = optimizer.state[p]
        state[key] = {slot: values(entry[slot]) for slot in state_names if slot in entry and entry[slot] is not None}
        if "step" in entry:
            state[key]["step"] = int(entry["step"])
    return {"name": name, "learning_rates": rates, "weight_decay": weight_decay, "after_step": after, "state": state}


def optimizer_fixtures() -> list[dict]:
    fixtures = []

    def sgd(name, momentum, dampening, nesterov, lr, wd):
        fixture = run_optimizer(
            name,
            lambda groups: torch.optim.SGD(groups, lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov, foreach=False),
            lr, wd, ["momentum_buffer"])
        fixture.update(kind="sgd", momentum=momentum, dampening=dampening, nesterov=nesterov)
        fixtures.append(fixture)

    sgd("sgd", 0.0, 0.0, False, 0.1, 0.0)
    sgd("sgd-momentum-dampening", 0.9, 0.1, False, 0.1, 1e-2)
    sgd("sgd-nesterov", 0.9, 0.0, True, 0.05, 4e-5)

    def rmsprop(name, momentum, lr, wd, eps, alpha):
        fixture = run_optimizer(
            name,
            lambda groups: RMSpropTF(groups, lr=lr, alpha=alpha, eps=eps, momentum=momentum, foreach=False),
            lr, wd, ["square_avg", "momentum_buffer"])
        fixture.update(kind="rmsprop", momentum=momentum, decay=alpha, epsilon=eps)
        fixtures.append(fixture)

    rmsprop("rmsprop-tf", 0.9, 0.016, 1e-5, 1e-3, 0.9)
    rmsprop("rmsprop-tf-no-momentum", 0.0, 0.01, 0.0, 1e-3, 0.9)

    def adamw(name, lr, wd, betas, eps):
        fixture = run_optimizer(
            name,
            lambda groups: torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps, foreach=False),
            lr, wd, ["exp_avg", "exp_avg_sq"])
        fixture.update(kind="adamw", beta1=betas[0], beta2=betas[1], epsilon=eps)
        fixtures.append(fixture)

    adamw("adamw", 1e-3, 0.05, (0.9, 0.999), 1e-8)
    adamw("adamw-large-lr", 0.1, 0.3, (0.8, 0.99), 1e-6)
    return fixtures


def clipping_fixtures() -> list[dict]:
    fixtures = []
    for max_norm in (1.0, 100.0):
        grads = {key: g.clone() for key, g in gradients(0).items()}
        parameters = []
        for key, g in grads.items():
            p = torch.nn.Parameter(torch.zeros(PARAMETER_SHAPES[key]))
            p.grad = g
            parameters.append(p)
        total = torch.nn.utils.clip_grad_norm_(parameters, max_norm, foreach=False)
        fixtures.append({
            "max_norm": max_norm,
            "total_norm": float(total),
            "clipped": {key: values(p.grad) for key, p in zip(grads, parameters)},
        })
    return fixtures


# ---------------------------------------------------------------------------------------------
# Schedules, as torchvision's classification reference builds them


def schedule_rates(decay: str, *, base: float, epochs: int, warmup_epochs: int, warmup_start: float,
                   steps_per_epoch: int, per_step: bool, step_size: int = 0, gamma: float = 0.0,
                   minimum: float = 0.0) -> list[float]:
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=base)
    unit = steps_per_epoch if per_step else 1
    if decay == "cosine":
        main = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=(epochs - warmup_epochs) * unit, eta_min=minimum)
    elif decay == "step":
        main = torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size * unit, gamma=gamma)
    elif decay == "exponential":
        main = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=gamma)
    else:
        main = torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
    if warmup_epochs > 0:
        warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=warmup_start, total_iters=warmup_epochs * unit)
        scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, schedulers=[warmup, main], milestones=[warmup_epochs * unit])
    else:
        scheduler = main
    rates = []
    for _epoch in range(epochs):
        for _step in range(steps_per_epoch):
            rates.append(float(optimizer.param_groups[0]["lr"]))
            optimizer.step()
            if per_step:
                scheduler.step()
        if not per_step:
            scheduler.step()
    return rates


def schedule_fixtures() -> list[dict]:
    fixtures = []
    cases = [
        dict(decay="cosine", minimum=1e-4),
        dict(decay="step", step_size=3, gamma=0.5),
        dict(decay="exponential", gamma=0.9),
        dict(decay="constant"),
    ]
    for case in cases:
        for warmup in (0, 2):
            for per_step in (False, True):
                settings = dict(base=0.1, epochs=9, warmup_epochs=warmup, warmup_start=0.01,
                                steps_per_epoch=4, per_step=per_step, **case)
                fixture = dict(settings)
                fixture["rates"] = schedule_rates(**settings)
                fixtures.append(fixture)
    return fixtures


# ---------------------------------------------------------------------------------------------
# Augmentation: torchvision's own code with SplitMix64 draws


class TwinDraws:
    """Stands in for the ``torch`` functions that torchvision's random transforms call."""

    def __init__(self, generator: SplitMix64) -> None:
        self.generator = generator

    def empty(self, *_shape):
        draws = self

        class Uniform:
            def uniform_(self, lower, upper):
                return torch.tensor([draws.generator.float_in(float(lower), float(upper))], dtype=torch.float32)

        return Uniform()

    def randint(self, low, high, size):
        return torch.tensor([low + self.generator.index_below(high - low)])

    def rand(self, *_shape):
        return torch.tensor([self.generator.float_in(0.0, 1.0)], dtype=torch.float32)

    def __getattr__(self, name):
        return getattr(torch, name)


def augmentation_fixtures() -> dict:
    real_torch = tvt.torch
    resized_crops, crops, flips = [], [], []
    try:
        cases = [
            (224, 224, (0.08, 1.0), (3 / 4, 4 / 3)),
            (500, 375, (0.08, 1.0), (3 / 4, 4 / 3)),
            (28, 28, (0.08, 1.0), (3 / 4, 4 / 3)),
            (640, 101, (0.08, 1.0), (3 / 4, 4 / 3)),   # very wide: tries fail, then the fallback
            (37, 300, (0.9, 1.0), (3 / 4, 4 / 3)),     # very tall
            (64, 48, (0.95, 1.0), (1.2, 1.3)),         # narrow ranges: the fallback clamps the ratio
            (33, 33, (0.5, 0.6), (0.5, 2.0)),
        ]
        for case_index, (width, height, scale, ratio) in enumerate(cases):
            seed = 7000 + case_index
            generator = SplitMix64(seed)
            tvt.torch = TwinDraws(generator)
            picture = torch.zeros(3, height, width)
            regions = []
            for _ in range(40):
                top, left, h, w = tvt.RandomResizedCrop.get_params(picture, list(scale), list(ratio))
                regions.append([left, top, w, h])
            resized_crops.append(dict(seed=seed, width=width, height=height, scale=list(scale), ratio=list(ratio),
                                      regions=regions))
        for case_index, (width, height, crop_width, crop_height, padding) in enumerate(
                [(28, 28, 28, 28, 4), (32, 32, 32, 32, 4), (30, 20, 24, 16, 0), (5, 5, 5, 5, 0)]):
            seed = 8000 + case_index
            generator = SplitMix64(seed)
            tvt.torch = TwinDraws(generator)
            picture = torch.zeros(3, height + 2 * padding, width + 2 * padding)
            offsets = []
            for _ in range(40):
                top, left, _, _ = tvt.RandomCrop.get_params(picture, (crop_height, crop_width))
                offsets.append([left, top])
            crops.append(dict(seed=seed, width=width, height=height, crop_width=crop_width, crop_height=crop_height,
                              padding=padding, offsets=offsets))
        seed = 9000
        generator = SplitMix64(seed)
        tvt.torch = TwinDraws(generator)
        flip = tvt.RandomHorizontalFlip(0.5)
        marker = torch.arange(2.0).reshape(1, 1, 2)
        flips = dict(seed=seed, probability=0.5, flipped=[bool(flip(marker)[0, 0, 0] == 1.0) for _ in range(64)])
    finally:
        tvt.torch = real_torch
    return dict(random_resized_crop=resized_crops, random_crop=crops, horizontal_flip=flips)


def write(path: str, document: dict) -> None:
    full = os.path.join(ROOT, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as file:
        json.dump(document, file, indent=1)
        file.write("\n")
    print(f"{path}: {os.path.getsize(full)} bytes")


def main() -> None:
    header = dict(generator="Scripts/generate_training_fixtures.py", torch=torch.__version__, timm=timm.__version__,
                  torchvision=torchvision.__version__)
    write("Tests/MobileNetTrainingTests/Fixtures/training.json", dict(
        header,
        parameters={key: dict(shape=list(t.shape), values=values(t)) for key, t in initial_parameters().items()},
        gradients=[{key: (None if g is None else values(g)) for key, g in gradients(step).items()} for step in range(STEPS)],
        optimizers=optimizer_fixtures(),
        clipping=clipping_fixtures(),
        schedules=schedule_fixtures(),
    ))
    write("Tests/MobileNetDataTests/Fixtures/augmentation.json", dict(header, **augmentation_fixtures()))


if __name__ == "__main__":
    main()
