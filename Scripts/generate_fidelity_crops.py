#!/usr/bin/env python3
"""Cut the fidelity photos into 224x224 evaluation and calibration crops, reproducibly.

Run by hand, never in CI (Pillow and numpy from the peer virtualenv, see
Scripts/benchmark_peers_setup.sh)::

    venv="${MOBILENET_PEER_VENV:-$HOME/.cache/mobilenet-peers}"
    "$venv"/bin/python Scripts/generate_fidelity_crops.py [OUTPUT]

OUTPUT defaults to ``${XDG_CACHE_HOME:-~/.cache}/mobilenet-peers/fidelity-crops``.
It is not committed: the photos and this script are, and the same seed gives the
same crops, byte for byte.

The nine photos are listed in ``PHOTOS`` (licences in Benchmarks/Fidelity/LICENSE.md
and Examples/LICENSE.md).  For each photo, in this order:

* ``evaluation/NAME-center.png``: torchvision's evaluation transform, the shorter
  side resized to 256 (PIL bilinear, as torchvision's ``Resize(256)`` does on a PIL
  image), then the centred 224x224 crop (``CenterCrop(224)``);
* ``evaluation/NAME-random01.png`` ... ``random10.png``: ``RandomResizedCrop(224)``
  with torchvision's defaults (area 8 %-100 % of the photo, aspect ratio 3/4-4/3,
  ten tries, then the centre-crop fallback), crop then bilinear resize;
* ``calibration/NAME-calibration1.png`` ... ``calibration4.png``: four more
  random-resized crops, drawn after all evaluation crops so that the two sets
  never share a draw.

That is 9 x 11 = 99 evaluation crops and 9 x 4 = 36 calibration crops, written as
lossless 8-bit RGB PNG.  A 224x224 crop passes unchanged through a resize of the
shorter side to 224 and a 224 centre crop, so the Swift CLI reads the same pixels
with ``--resize 224 --crop 224``.  ``crops.json`` lists every crop in order with
its photo, its box in the photo (left, top, width, height, in the photo's pixels;
for the centre crop in the 256-resized photo) and the seed.

The random draws come from numpy's PCG64 generator seeded with ``--seed``
(default 0); this is not torchvision's RNG, so the boxes are this script's own,
reproducible without torch.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
PHOTOS = (
    "Examples/cat.jpg",
    "Examples/coffee.jpg",
    "Benchmarks/Fidelity/photos/astronaut.jpg",
    "Benchmarks/Fidelity/photos/rocket.jpg",
    "Benchmarks/Fidelity/photos/hubble.jpg",
    "Benchmarks/Fidelity/photos/retina.jpg",
    "Benchmarks/Fidelity/photos/camera.jpg",
    "Benchmarks/Fidelity/photos/clock.jpg",
    "Benchmarks/Fidelity/photos/brick.jpg",
)
CROP = 224
RESIZE = 256
RANDOM_EVALUATION_CROPS = 10
CALIBRATION_CROPS = 4
SCALE = (0.08, 1.0)
RATIO = (3 / 4, 4 / 3)
MANIFEST = "crops.json"


def default_output() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "mobilenet-peers" / "fidelity-crops"


def resize_shorter_side(image: Image.Image, size: int) -> Image.Image:
    """torchvision's Resize(size) on a PIL image: the shorter side becomes size, the
    longer one size * long / short rounded down, bilinear."""
    width, height = image.size
    if width <= height:
        new = (size, int(size * height / width))
    else:
        new = (int(size * width / height), size)
    return image.resize(new, Image.BILINEAR)


def center_crop(image: Image.Image, size: int) -> tuple[Image.Image, tuple[int, int, int, int]]:
    width, height = image.size
    top = int(round((height - size) / 2.0))
    left = int(round((width - size) / 2.0))
    return image.crop((left, top, left + size, top + size)), (left, top, size, size)


def random_resized_box(width: int, height: int, rng: np.random.Generator) -> tuple[int, int, int, int]:
    """A box (left, top, width, height) drawn as torchvision's RandomResizedCrop draws one."""
    area = width * height
    log_ratio = (math.log(RATIO[0]), math.log(RATIO[1]))
    for _ in range(10):
        target_area = area * rng.uniform(*SCALE)
        aspect = math.exp(rng.uniform(*log_ratio))
        w = int(round(math.sqrt(target_area * aspect)))
        h = int(round(math.sqrt(target_area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top = int(rng.integers(0, height - h + 1))
            left = int(rng.integers(0, width - w + 1))
            return left, top, w, h
    # Fallback: the largest centred box within the ratio bounds.
    ratio = width / height
    if ratio < RATIO[0]:
        w, h = width, int(round(width / RATIO[0]))
    elif ratio > RATIO[1]:
        h, w = height, int(round(height * RATIO[1]))
    else:
        w, h = width, height
    return (width - w) // 2, (height - h) // 2, w, h


def resized_crop(image: Image.Image, box: tuple[int, int, int, int]) -> Image.Image:
    left, top, w, h = box
    return image.crop((left, top, left + w, top + h)).resize((CROP, CROP), Image.BILINEAR)


def load_photo(relative: str) -> Image.Image:
    path = REPO_ROOT / relative
    if not path.is_file():
        raise SystemExit(f"generate_fidelity_crops: photo {path} is missing (it is committed; is the checkout complete?)")
    with Image.open(path) as image:
        return image.convert("RGB")


def generate(output: Path, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    photos = {relative: load_photo(relative) for relative in PHOTOS}
    entries: list[dict] = []
    for split in ("evaluation", "calibration"):
        (output / split).mkdir(parents=True, exist_ok=True)
    # Every evaluation draw first, then every calibration draw, so that adding
    # calibration crops never changes the evaluation set.
    for relative, image in photos.items():
        name = Path(relative).stem
        crop, box = center_crop(resize_shorter_side(image, RESIZE), CROP)
        entries.append(save(output, "evaluation", f"{name}-center.png", crop, relative, "center", box))
        for index in range(1, RANDOM_EVALUATION_CROPS + 1):
            box = random_resized_box(*image.size, rng)
            entries.append(save(output, "evaluation", f"{name}-random{index:02d}.png",
                                resized_crop(image, box), relative, "random-resized", box))
    for relative, image in photos.items():
        name = Path(relative).stem
        for index in range(1, CALIBRATION_CROPS + 1):
            box = random_resized_box(*image.size, rng)
            entries.append(save(output, "calibration", f"{name}-calibration{index}.png",
                                resized_crop(image, box), relative, "random-resized", box))
    return entries


def save(output: Path, split: str, file_name: str, crop: Image.Image, photo: str, kind: str,
         box: tuple[int, int, int, int]) -> dict:
    assert crop.size == (CROP, CROP) and crop.mode == "RGB"
    crop.save(output / split / file_name, format="PNG", optimize=False)
    return {"file": f"{split}/{file_name}", "split": split, "photo": photo, "kind": kind, "box": list(box)}


def read_manifest(folder: Path) -> dict:
    """The crops.json of a folder this script wrote; a clear error when there is none."""
    path = folder / MANIFEST
    if not path.is_file():
        raise SystemExit(f"{path} not found: make the crops first with "
                         f"Scripts/generate_fidelity_crops.py {folder}")
    manifest = json.loads(path.read_text())
    missing = [entry["file"] for entry in manifest["crops"] if not (folder / entry["file"]).is_file()]
    if missing:
        raise SystemExit(f"{folder}: {len(missing)} crop(s) listed in {MANIFEST} are missing, e.g. {missing[0]}; "
                         "run Scripts/generate_fidelity_crops.py again")
    return manifest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", nargs="?", type=Path, default=default_output(),
                        help=f"folder for evaluation/, calibration/ and {MANIFEST} (default: {default_output()})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random-resized crops (default: 0)")
    args = parser.parse_args()
    output = args.output.expanduser().resolve()
    if output == REPO_ROOT or REPO_ROOT in output.parents:
        print(f"generate_fidelity_crops: write the crops outside the repository, not to {output}", file=sys.stderr)
        return 1
    entries = generate(output, args.seed)
    manifest = {"seed": args.seed, "crop": CROP, "resize": RESIZE, "photos": list(PHOTOS), "crops": entries}
    (output / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    counts = {split: sum(entry["split"] == split for entry in entries) for split in ("evaluation", "calibration")}
    print(f"wrote {counts['evaluation']} evaluation and {counts['calibration']} calibration crops "
          f"({CROP}x{CROP} PNG, seed {args.seed}) to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
