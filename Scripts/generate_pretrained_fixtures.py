"""Reference results of torchvision's pretrained MobileNetV2 on the bundled photos.

Run by hand from the repository root, in a virtualenv with torch 2.13 and torchvision 0.28
(never in CI; the output is committed):

    python Scripts/generate_pretrained_fixtures.py [path/to/mobilenet_v2-b0353104.pth]

The checkpoint defaults to $MOBILENET_HOME or ~/.cache/mobilenet (fetch it with `make weights`).
For every photo in Examples/, torchvision's ImageNet evaluation transform on the PIL image
(Resize(256) with antialiased bilinear, CenterCrop(224), ToTensor, Normalize) feeds the model in
eval mode at float32. Written to Tests/MobileNetTests/Fixtures/pretrained_mobilenet_v2.json:

* ``crop_fnv1a64``: FNV-1a 64 of the 224x224 RGB crop's bytes (row-major, RGB interleaved), so the
  Swift test can check it fed the identical crop;
* ``resized_size``: (width, height) after Resize(256);
* ``logits``: all 1000 logits; ``top5``: indices and softmax probabilities.
"""

import glob
import json
import os
import sys

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.join(REPO, "Tests", "MobileNetTests", "Fixtures", "pretrained_mobilenet_v2.json")


def fnv1a64(data: bytes) -> int:
    value = 0xCBF29CE484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001B3) & ((1 << 64) - 1)
    return value


def main() -> None:
    cache = os.environ.get("MOBILENET_HOME") or os.path.expanduser("~/.cache/mobilenet")
    checkpoint = sys.argv[1] if len(sys.argv) > 1 else os.path.join(cache, "mobilenet_v2-b0353104.pth")
    torch.set_num_threads(2)
    model = torchvision.models.mobilenet_v2()
    model.load_state_dict(torch.load(checkpoint, weights_only=True))
    model.eval()

    resize = transforms.Resize(256)
    crop = transforms.CenterCrop(224)
    to_input = transforms.Compose([
        transforms.ToTensor(),
        transforms.Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)),
    ])

    photos = []
    for path in sorted(glob.glob(os.path.join(REPO, "Examples", "*.jpg"))):
        image = Image.open(path).convert("RGB")
        resized = resize(image)
        cropped = crop(resized)
        with torch.no_grad():
            logits = model(to_input(cropped)[None])[0]
        probabilities = logits.softmax(0)
        top = probabilities.topk(5)
        photos.append({
            "file": os.path.relpath(path, REPO),
            "resized_size": list(resized.size),
            "crop_fnv1a64": str(fnv1a64(np.asarray(cropped, dtype=np.uint8).tobytes())),
            "top5": [{"index": int(i), "probability": float(p)} for p, i in zip(top.values, top.indices)],
            "logits": [float(np.float32(v)) for v in logits.numpy()],
        })
        print(os.path.basename(path), [(int(i), round(float(p), 4)) for p, i in zip(top.values, top.indices)])

    with open(OUTPUT, "w", encoding="utf-8") as output:
        json.dump({"generator": "Scripts/generate_pretrained_fixtures.py", "weights": "mobilenet_v2-b0353104.pth",
                   "photos": photos}, output, indent=1)
        output.write("\n")
    print(f"wrote {os.path.relpath(OUTPUT, REPO)} ({os.path.getsize(OUTPUT)} bytes)")


if __name__ == "__main__":
    main()
