#!/usr/bin/env bash
# The exported files on the fidelity crops (Scripts/generate_fidelity_crops.py): our fp32 ONNX, and
# our int8 models as QDQ ONNX run by ONNX Runtime and as full-integer TFLite run by LiteRT, top-1
# against the model exported and against our fp32.
# Run after `make release` and `make weights`, with the peer virtualenv's python (PYTHON):
#     PYTHON=~/.cache/mobilenet-peers/bin/python Scripts/export_fidelity.sh [CROPS_FOLDER]
set -euo pipefail
mobilenet="${MOBILENET:-.build/release/mobilenet}"
python="${PYTHON:-python3}"
crops="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/mobilenet-peers/fidelity-crops}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Two int8 models, the same but for the adds' arithmetic: ONNX Runtime's (the default, exported as
# QDQ ONNX) and XNNPACK's (exported as TFLite); each file is also run from the other model.
top1() { grep -o '"index":[0-9]*' | cut -d: -f2; }
"$mobilenet" export --format onnx --output "$work/fp32.onnx" >/dev/null
"$mobilenet" classify "$crops"/evaluation/*.png --resize 224 --crop 224 --top 1 --json | top1 > "$work/fp32.txt"
for adds in onnxruntime xnnpack; do
    "$mobilenet" quantize --calibration "$crops/calibration" --resize 224 --crop 224 --add-arithmetic "$adds" \
        --output "$work/int8-$adds.safetensors" >/dev/null
    "$mobilenet" export --format onnx --model "$work/int8-$adds.safetensors" --output "$work/int8-$adds.onnx" >/dev/null
    "$mobilenet" export --format tflite --model "$work/int8-$adds.safetensors" --output "$work/int8-$adds.tflite" >/dev/null
    "$mobilenet" classify --model "$work/int8-$adds.safetensors" "$crops"/evaluation/*.png --resize 224 --crop 224 --top 1 --json \
        | top1 > "$work/int8-$adds.txt"
done
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
names = ("fp32", "int8-onnxruntime", "int8-xnnpack")
ours = {name: np.loadtxt(work / f"{name}.txt", dtype=int) for name in names}
def report(runtime, name, top1):
    print(f"{runtime}, our {name} export: top-1 = ours {name} on {(top1 == ours[name]).sum()}/{len(files)},"
          f" = our fp32 on {(top1 == ours['fp32']).sum()}/{len(files)}")
for name in names:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    session = onnxruntime.InferenceSession(str(work / f"{name}.onnx"), options, providers=["CPUExecutionProvider"])
    report(f"ONNX Runtime {onnxruntime.__version__}", name, session.run(["logits"], {"input": batch})[0].argmax(1))
from importlib.metadata import version
from ai_edge_litert.interpreter import Interpreter
for name in names[1:]:
    top1 = []
    interpreter = Interpreter(model_path=str(work / f"{name}.tflite"), num_threads=2)
    interpreter.allocate_tensors()
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    for image in batch:
        interpreter.set_tensor(source["index"], image.transpose(1, 2, 0)[None].copy())
        interpreter.invoke()
        top1.append(interpreter.get_tensor(target["index"]).argmax())
    report(f"LiteRT {version('ai-edge-litert')}", name, np.array(top1))
PYTHON
