#!/usr/bin/env bash
# swift-mobilenet's int8 fidelity on the crops of Scripts/generate_fidelity_crops.py: quantizes
# the pretrained MobileNetV2 on the 36 calibration crops and counts the 99 evaluation crops whose
# int8 top-1 class equals our fp32 top-1 (the figure Scripts/int8_peers.py gives for the peers).
# Run after `make release` and `make weights`; extra arguments go to `mobilenet quantize`:
#     Scripts/int8_fidelity.sh [CROPS_FOLDER] [--no-bias-correction]
set -euo pipefail
mobilenet="${MOBILENET:-.build/release/mobilenet}"
crops="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/mobilenet-peers/fidelity-crops}"
shift || true
[ -x "$mobilenet" ] || { echo "int8_fidelity: $mobilenet not found; run make release first" >&2; exit 1; }
[ -d "$crops/calibration" ] && [ -d "$crops/evaluation" ] || {
    echo "int8_fidelity: no crops in $crops; run Scripts/generate_fidelity_crops.py" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$mobilenet" quantize --calibration "$crops/calibration" --resize 224 --crop 224 --output "$work/int8.safetensors" "$@"
# The crops are 224x224 already: --resize 224 --crop 224 passes them unchanged.
top1() { grep -o '"index":[0-9]*' | cut -d: -f2; }
"$mobilenet" classify "$crops"/evaluation/*.png --resize 224 --crop 224 --top 1 --json | top1 > "$work/fp32"
"$mobilenet" classify --model "$work/int8.safetensors" "$crops"/evaluation/*.png --resize 224 --crop 224 --top 1 --json | top1 > "$work/int8"
total=$(wc -l < "$work/fp32")
same=$(paste "$work/fp32" "$work/int8" | awk '$1 == $2' | wc -l)
echo "int8 top-1 = fp32 top-1 on $same of $total crops ($("$mobilenet" bench --iterations 1 --warmup 0 --json | grep -o '"isa":"[^"]*"'))"
