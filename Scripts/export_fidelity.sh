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
# Three int8 models: with ONNX Runtime's adds (the default), with XNNPACK's, and with XNNPACK's and
# 7-bit weights (no CPU saturates a pair sum, `quantize --weight-bits`); each exported both ways.
top1() { grep -o '"index":[0-9]*' | cut -d: -f2; }
"$mobilenet" export --format onnx --output "$work/fp32.onnx" >/dev/null
"$mobilenet" classify "$crops"/evaluation/*.png --resize 224 --crop 224 --top 1 --json | top1 > "$work/fp32.txt"
for adds in onnxruntime xnnpack xnnpack-7bit; do
    bits=8; [ "$adds" = xnnpack-7bit ] && bits=7
    "$mobilenet" quantize --calibration "$crops/calibration" --resize 224 --crop 224 --add-arithmetic "${adds%-7bit}" \
        --weight-bits "$bits" --output "$work/int8-$adds.safetensors" >/dev/null
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
names = ("fp32", "int8-onnxruntime", "int8-xnnpack", "int8-xnnpack-7bit")
ours = {name: np.loadtxt(work / f"{name}.txt", dtype=int) for name in names}
def report(runtime, name, top1):
    print(f"{runtime}, our {name} export: top-1 = ours {name} on {(top1 == ours[name]).sum()}/{len(files)},"
          f" = our fp32 on {(top1 == ours['fp32']).sum()}/{len(files)}")
for name in names:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    session = onnxruntime.InferenceSession(str(work / f"{name}.onnx"), options, providers=["CPUExecutionProvider"])
    report(f"ONNX Runtime {onnxruntime.__version__}", name, session.run(["logits"], {"input": batch})[0].argmax(1))
# ONNX Runtime's own int8: quantize_static of our fp32 export (QDQ, per-channel s8 weights, u8
# activations, MinMax), calibrated on the same 36 crops one at a time, as int8_peers.py does.
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process
class Crops(CalibrationDataReader):
    def __init__(self):
        crops = sorted((folder.parent / "calibration").glob("*.png"))
        self.items = iter([{"input": ((np.asarray(Image.open(f).convert("RGB"), np.float32) / 255 - mean) / std).transpose(2, 0, 1)[None]} for f in crops])
    def get_next(self):
        return next(self.items, None)
quant_pre_process(str(work / "fp32.onnx"), str(work / "fp32-pre.onnx"))
quantize_static(str(work / "fp32-pre.onnx"), str(work / "ort-int8.onnx"), Crops(), quant_format=QuantFormat.QDQ,
                per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
options = onnxruntime.SessionOptions()
options.intra_op_num_threads = 2
session = onnxruntime.InferenceSession(str(work / "ort-int8.onnx"), options, providers=["CPUExecutionProvider"])
top1 = session.run(["logits"], {"input": batch})[0].argmax(1)
print(f"ONNX Runtime {onnxruntime.__version__}, its own quantize_static: top-1 = our fp32 on {(top1 == ours['fp32']).sum()}/{len(files)}")
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
