#!/usr/bin/env bash
# The exported files on the fidelity crops (Scripts/generate_fidelity_crops.py): our fp32 ONNX and
# our int8 QDQ ONNX run by ONNX Runtime, and our full-integer int8 TFLite run by LiteRT, top-1 against
# ours (fp32 and int8) and against our fp32.
# Run after `make release` and `make weights`, with the peer virtualenv's python (PYTHON):
#     PYTHON=~/.cache/mobilenet-peers/bin/python Scripts/export_fidelity.sh [CROPS_FOLDER]
set -euo pipefail
mobilenet="${MOBILENET:-.build/release/mobilenet}"
python="${PYTHON:-python3}"
crops="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/mobilenet-peers/fidelity-crops}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$mobilenet" quantize --calibration "$crops/calibration" --resize 224 --crop 224 --output "$work/int8.safetensors" >/dev/null
"$mobilenet" export --format onnx --output "$work/fp32.onnx" >/dev/null
"$mobilenet" export --format onnx --model "$work/int8.safetensors" --output "$work/int8.onnx" >/dev/null
"$mobilenet" export --format tflite --model "$work/int8.safetensors" --output "$work/int8.tflite" >/dev/null
top1() { grep -o '"index":[0-9]*' | cut -d: -f2; }
"$mobilenet" classify "$crops"/evaluation/*.png --resize 224 --crop 224 --top 1 --json | top1 > "$work/fp32.txt"
"$mobilenet" classify --model "$work/int8.safetensors" "$crops"/evaluation/*.png --resize 224 --crop 224 --top 1 --json | top1 > "$work/int8.txt"
"$python" - "$crops/evaluation" "$work" <<'PYTHON'
import sys
from pathlib import Path
import numpy as np
import onnxruntime
from PIL import Image
folder, work = Path(sys.argv[1]), Path(sys.argv[2])
files = sorted(folder.glob("*.png"))
mean, std = np.array([0.485, 0.456, 0.406], np.float32), np.array([0.229, 0.224, 0.225], np.float32)
batch = np.stack([((np.asarray(Image.open(f).convert("RGB"), np.float32) / 255 - mean) / std).transpose(2, 0, 1) for f in files])
ours = {name: np.loadtxt(work / f"{name}.txt", dtype=int) for name in ("fp32", "int8")}
for name in ("fp32", "int8"):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    session = onnxruntime.InferenceSession(str(work / f"{name}.onnx"), options, providers=["CPUExecutionProvider"])
    top1 = session.run(["logits"], {"input": batch})[0].argmax(1)
    print(f"ONNX Runtime {onnxruntime.__version__}, our {name} export: top-1 = ours {name} on {(top1 == ours[name]).sum()}/{len(files)},"
          f" = our fp32 on {(top1 == ours['fp32']).sum()}/{len(files)}")
from importlib.metadata import version
from ai_edge_litert.interpreter import Interpreter
top1 = []
interpreter = Interpreter(model_path=str(work / "int8.tflite"), num_threads=2)
interpreter.allocate_tensors()
source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
for image in batch:
    interpreter.set_tensor(source["index"], image.transpose(1, 2, 0)[None].copy())
    interpreter.invoke()
    top1.append(interpreter.get_tensor(target["index"]).argmax())
top1 = np.array(top1)
print(f"LiteRT {version('ai-edge-litert')}, our int8 TFLite export: top-1 = ours int8 on {(top1 == ours['int8']).sum()}/{len(files)},"
      f" = our fp32 on {(top1 == ours['fp32']).sum()}/{len(files)}")
PYTHON
