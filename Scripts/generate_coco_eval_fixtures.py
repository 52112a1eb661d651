"""Generate the COCO evaluation fixture: what pycocotools' COCOeval says of seeded synthetic detections.

Run from the repository root with a Python that has pycocotools and numpy (the torch
virtualenv has both; not needed by CI, the fixture is committed):

    ~/.cache/mobilenet-torch/bin/python Scripts/generate_coco_eval_fixtures.py

Each scenario is a synthetic ground truth (images, categories, annotations with COCO's
``area`` and ``iscrowd``) and detections derived from it. pycocotools' ``COCO`` and
``COCOeval(gt, dt, "bbox")`` run ``evaluate``, ``accumulate`` and ``summarize``, and the
fixture keeps the inputs, the 12 ``stats`` and the per-category AP at area "all" and
maxDets 100 (the mean of ``eval["precision"][:, :, k, 0, -1]`` over values above -1, -1 when
none is), and the table ``summarize`` prints. ``COCOEvaluationTests`` checks ``COCOEvaluator`` against every number.

Scenarios:

- ``synthetic``: 40 images (ids unsorted and not contiguous), 5 categories (ids with gaps),
  boxes of all three area ranges with ``area`` below ``w * h`` as a polygon's would be, areas
  on the range boundaries (1024, 9216), crowd annotations with duplicate detections inside
  them, an image with no annotations but false positives, categories absent from images,
  misses, duplicates, wrong categories, false positives, scores rounded to two decimals so
  that many tie, and two images with more than 100 detections of one category.
- ``small-only``: every ground truth small, so AP and AR for medium and large are -1, and a
  listed category without annotations (its AP is -1).
- ``quirks``: an annotation with id 0 (pycocotools records matches by annotation id and
  reads 0 as "unmatched", so its detection counts as a false positive), every score tied,
  zero-area detections, a detection whose IoU is exactly 0.5, and a detection of a category
  the ground truth does not list (dropped).

Writes ``Tests/MobileNetDetectionTests/Fixtures/coco_eval.json`` (one annotation per line).
``--seed N --output PATH`` draw the first two scenarios from other seeds into another file, for
a wider check by hand than the committed fixture.
"""

import argparse
import contextlib
import importlib.metadata
import io
import json
import pathlib

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

OUTPUT = pathlib.Path("Tests/MobileNetDetectionTests/Fixtures/coco_eval.json")
WIDTH, HEIGHT = 640.0, 480.0


def box_of_size(rng, size):
    """A box [x, y, w, h] inside the picture, of a size class ("small", "medium", "large")."""
    low, high = {"small": (4, 30), "medium": (34, 94), "large": (100, 300)}[size]
    w = float(np.round(rng.uniform(low, high), 1))
    h = float(np.round(np.clip(w * rng.uniform(0.6, 1.6), low, min(high, HEIGHT - 1)), 1))
    x = float(np.round(rng.uniform(0, WIDTH - w), 1))
    y = float(np.round(rng.uniform(0, HEIGHT - h), 1))
    return [x, y, w, h]


def jittered(rng, box, scale):
    """The box moved and resized by noise proportional to its size."""
    x, y, w, h = box
    dx, dy, dw, dh = rng.normal(0, scale, 4)
    w2, h2 = max(w * (1 + dw), 1.0), max(h * (1 + dh), 1.0)
    return [float(np.round(v, 1)) for v in (x + dx * w, y + dy * h, w2, h2)]


def score(rng, low, high):
    return float(np.round(rng.uniform(low, high), 2))


def synthetic(seed=20240611):
    rng = np.random.default_rng(seed)
    categories = [1, 3, 7, 8, 12]
    images = [int(i) for i in rng.permutation(np.arange(40) * 3 + 5)]
    empty_image = images[7]
    crowded_images = images[11], images[23]
    annotations, detections = [], []

    def add_gt(image, category, box, crowd=False, area=None):
        if area is None:
            area = float(np.round(box[2] * box[3] * rng.uniform(0.6, 1.0), 2))
        annotations.append({
            "id": len(annotations) + 1, "image_id": image, "category_id": category,
            "bbox": box, "area": area, "iscrowd": int(crowd),
        })

    def add_dt(image, category, box, s):
        detections.append({"image_id": image, "category_id": category, "bbox": box, "score": s})

    for image in images:
        if image == empty_image:
            continue
        present = [c for c in categories if rng.random() < 0.55]
        for category in present:
            for _ in range(int(rng.integers(1, 5))):
                size = rng.choice(["small", "medium", "large"], p=[0.4, 0.35, 0.25])
                add_gt(image, category, box_of_size(rng, size))
        if rng.random() < 0.15:
            add_gt(image, int(rng.choice(categories)), box_of_size(rng, "large"), crowd=True,
                   area=None)
    # Areas on the range boundaries: an area of exactly 32² is both small and medium.
    add_gt(images[1], 3, [100.0, 100.0, 32.0, 32.0], area=1024.0)
    add_gt(images[2], 7, [200.0, 100.0, 96.0, 96.0], area=9216.0)

    for gt in annotations:
        image, category, box = gt["image_id"], gt["category_id"], gt["bbox"]
        if gt["iscrowd"]:
            # Several people inside the crowd region: none should count as a false positive.
            x, y, w, h = box
            for _ in range(int(rng.integers(2, 6))):
                sw, sh = w * rng.uniform(0.1, 0.4), h * rng.uniform(0.1, 0.4)
                sub = [float(np.round(v, 1)) for v in
                       (x + rng.uniform(0, w - sw), y + rng.uniform(0, h - sh), sw, sh)]
                add_dt(image, category, sub, score(rng, 0.3, 0.95))
            continue
        if rng.random() < 0.15:
            continue  # missed
        noise = float(rng.choice([0.01, 0.04, 0.08, 0.15]))
        label = category if rng.random() > 0.07 else int(rng.choice(categories))
        add_dt(image, label, jittered(rng, box, noise), score(rng, 0.3, 1.0))
        if rng.random() < 0.25:
            add_dt(image, label, jittered(rng, box, noise * 2), score(rng, 0.1, 0.8))

    for image in images:
        for _ in range(int(rng.integers(0, 4)) + (3 if image == empty_image else 0)):
            size = rng.choice(["small", "medium", "large"])
            add_dt(image, int(rng.choice(categories)), box_of_size(rng, size), score(rng, 0.05, 0.9))

    # More than maxDets 100 of one category on one image (pycocotools' limit is per image and
    # category): clutter around the ground truths, low scores, many ties.
    for image in crowded_images:
        gts = [a for a in annotations if a["image_id"] == image and not a["iscrowd"]]
        category = gts[0]["category_id"] if gts else categories[0]
        anchors = [a["bbox"] for a in gts if a["category_id"] == category]
        for index in range(115):
            if anchors and index % 3 == 0:
                box = jittered(rng, anchors[index % len(anchors)], 0.2)
            else:
                box = box_of_size(rng, rng.choice(["small", "medium"]))
            add_dt(image, category, box, score(rng, 0.01, 0.5))

    order = rng.permutation(len(detections))
    return images, categories, annotations, [detections[i] for i in order]


def small_only(seed=7):
    rng = np.random.default_rng(seed)
    images, categories = [1, 2, 3, 4, 5, 6], [1, 2, 3]
    annotations, detections = [], []
    for image in images:
        for _ in range(int(rng.integers(1, 4))):
            category = int(rng.choice([1, 2]))  # category 3 has no annotations
            box = box_of_size(rng, "small")
            annotations.append({
                "id": len(annotations) + 1, "image_id": image, "category_id": category,
                "bbox": box, "area": float(np.round(box[2] * box[3], 2)), "iscrowd": 0,
            })
            if rng.random() < 0.8:
                detections.append({"image_id": image, "category_id": category,
                                   "bbox": jittered(rng, box, 0.05), "score": score(rng, 0.2, 1)})
        # False positives of every size, and of the category without annotations.
        detections.append({"image_id": image, "category_id": int(rng.choice(categories)),
                           "bbox": box_of_size(rng, rng.choice(["small", "medium", "large"])),
                           "score": score(rng, 0.1, 0.9)})
    return images, categories, annotations, detections


def quirks():
    images, categories = [10, 20, 30], [1, 2]
    annotations = [
        {"id": 0, "image_id": 10, "category_id": 1, "bbox": [10.0, 10.0, 50.0, 50.0], "area": 2500.0, "iscrowd": 0},
        {"id": 5, "image_id": 10, "category_id": 1, "bbox": [100.0, 10.0, 50.0, 50.0], "area": 2500.0, "iscrowd": 0},
        {"id": 6, "image_id": 20, "category_id": 2, "bbox": [0.0, 0.0, 10.0, 10.0], "area": 100.0, "iscrowd": 0},
        {"id": 7, "image_id": 20, "category_id": 2, "bbox": [40.0, 40.0, 200.0, 100.0], "area": 15000.0, "iscrowd": 1},
        {"id": 8, "image_id": 30, "category_id": 1, "bbox": [5.0, 5.0, 20.0, 20.0], "area": 400.0, "iscrowd": 0},
    ]
    detections = [
        {"image_id": 10, "category_id": 1, "bbox": [10.0, 10.0, 50.0, 50.0], "score": 0.5},
        {"image_id": 10, "category_id": 1, "bbox": [101.0, 11.0, 50.0, 50.0], "score": 0.5},
        {"image_id": 20, "category_id": 2, "bbox": [0.0, 0.0, 10.0, 5.0], "score": 0.5},
        {"image_id": 20, "category_id": 2, "bbox": [50.0, 50.0, 20.0, 20.0], "score": 0.5},
        {"image_id": 20, "category_id": 2, "bbox": [60.0, 60.0, 0.0, 20.0], "score": 0.5},
        {"image_id": 30, "category_id": 1, "bbox": [5.0, 5.0, 20.0, 20.0], "score": 0.5},
        {"image_id": 30, "category_id": 1, "bbox": [6.0, 6.0, 0.0, 0.0], "score": 0.5},
        {"image_id": 30, "category_id": 9, "bbox": [5.0, 5.0, 20.0, 20.0], "score": 0.9},
    ]
    return images, categories, annotations, detections


def evaluate(images, categories, annotations, detections):
    gt = COCO()
    gt.dataset = {
        "images": [{"id": i, "width": int(WIDTH), "height": int(HEIGHT)} for i in images],
        "categories": [{"id": c, "name": f"class{c}"} for c in categories],
        "annotations": [dict(a) for a in annotations],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        dt = gt.loadRes([dict(d) for d in detections])
        evaluation = COCOeval(gt, dt, "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        summary = io.StringIO()
    with contextlib.redirect_stdout(summary):
        evaluation.summarize()
    per_category = []
    for k in range(len(evaluation.params.catIds)):
        precision = evaluation.eval["precision"][:, :, k, 0, -1]
        precision = precision[precision > -1]
        per_category.append(float(np.mean(precision)) if precision.size else -1.0)
    return [float(s) for s in evaluation.stats], per_category, summary.getvalue()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, help="seed of the synthetic and small-only scenarios")
    parser.add_argument("--output", type=pathlib.Path, default=OUTPUT)
    arguments = parser.parse_args()
    seeds = {} if arguments.seed is None else {"seed": arguments.seed}
    scenarios = []
    for name, make in [("synthetic", synthetic), ("small-only", small_only), ("quirks", quirks)]:
        images, categories, annotations, detections = make(**(seeds if name != "quirks" else {}))
        stats, per_category, table = evaluate(images, categories, annotations, detections)
        print(f"{name}: {len(images)} images, {len(annotations)} annotations, {len(detections)} detections")
        print(table)
        scenarios.append({
            "name": name, "imageIDs": images, "categoryIDs": categories,
            "stats": stats, "categoryAveragePrecision": per_category, "table": table.rstrip("\n"),
            "annotations": annotations, "detections": detections,
        })

    def line(value):
        return json.dumps(value, separators=(",", ":"))

    parts = []
    for scenario in scenarios:
        head = ",\n".join(f'  "{key}": {line(scenario[key])}' for key in
                          ["name", "imageIDs", "categoryIDs", "stats", "categoryAveragePrecision", "table"])
        annotations = ",\n".join("    " + line(a) for a in scenario["annotations"])
        detections = ",\n".join("    " + line(d) for d in scenario["detections"])
        parts.append(f'{{\n{head},\n  "annotations": [\n{annotations}\n  ],\n'
                     f'  "detections": [\n{detections}\n  ]\n}}')
    version = importlib.metadata.version("pycocotools")
    text = (f'{{"generator": "Scripts/generate_coco_eval_fixtures.py", "pycocotools": "{version}", '
            f'"numpy": "{np.__version__}",\n"scenarios": [\n' + ",\n".join(parts) + "\n]}\n")
    arguments.output.write_text(text)
    print(f"wrote {arguments.output} ({len(text)} bytes)")


if __name__ == "__main__":
    main()
