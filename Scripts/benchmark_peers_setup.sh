#!/usr/bin/env bash
# Sets up the Python environment for Scripts/benchmark_peers.py and Scripts/int8_peers.py (run by
# hand, never in CI).
#
# Creates a virtualenv outside the repository, by default ${XDG_CACHE_HOME:-~/.cache}/mobilenet-peers
# (override with MOBILENET_PEER_VENV), and installs the peer runtimes from PyPI. An existing
# virtualenv is reused as it is: pip keeps packages that already satisfy the pins and adds the
# rest, so pointing MOBILENET_PEER_VENV at the fixture generators' torch virtualenv
#
#     MOBILENET_PEER_VENV=path/to/torch-venv Scripts/benchmark_peers_setup.sh
#
# turns it into the benchmark environment without downloading torch again (that is how the
# numbers in BENCHMARKS.md were taken).
#
# torch is the CUDA build on purpose: torchvision 0.28.0 fails to import against the CPU-only
# wheel 2.13.0+cpu, which also resolves from the local wheel folder. The benchmark never uses
# the GPU. The other pins are the versions the published numbers were measured with; bump them
# together with a re-run.
#
# The int8 peers of Scripts/int8_peers.py add NNCF (OpenVINO's post-training quantizer) and the
# LiteRT route: litert-torch (formerly ai-edge-torch) converts the PyTorch module to .tflite and
# ai-edge-quantizer makes the full-integer model from it; ai-edge-litert is the interpreter (with
# XNNPACK). litert-torch brings jax, transformers and torchao with it (about 1 GB more); it accepts
# torch < 2.15, so the torch pin above holds. onnx2tf, the other route to a .tflite, needs
# Python >= 3.12 from its 2.x releases and pins onnx, onnxruntime and numpy to older versions.
set -euo pipefail

venv="${MOBILENET_PEER_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/mobilenet-peers}"
python="${PYTHON:-python3}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

venv_abs="$(realpath -m "$venv")"
case "$venv_abs/" in
    "$repo"/*) echo "benchmark_peers_setup: put the virtualenv outside the repository, not at $venv_abs" >&2; exit 1 ;;
esac

if [ ! -x "$venv_abs/bin/python" ]; then
    echo "creating virtualenv $venv_abs"
    "$python" -m venv "$venv_abs"
else
    echo "reusing virtualenv $venv_abs"
fi

"$venv_abs/bin/python" -m pip install \
    'torch==2.13.0,!=2.13.0+cpu' 'torchvision==0.28.0' 'timm==1.0.31' \
    'onnx==1.23.2' 'onnxruntime==1.31.1' 'openvino==2026.4.1' \
    'nncf==3.4.0' 'ai-edge-litert==2.3.0' 'litert-torch==0.10.0' 'ai-edge-quantizer==0.10.0' 'torchao==0.18.0' \
    'pillow==13.0.0'

"$venv_abs/bin/python" - <<'PYTHON'
from importlib.metadata import version
import onnx, onnxruntime, openvino, timm, torch, torchvision
print("torch", torch.__version__, "| torchvision", torchvision.__version__, "| timm", timm.__version__)
print("onnx", onnx.__version__, "| onnxruntime", onnxruntime.__version__, "| openvino", openvino.__version__)
print(" | ".join(f"{name} {version(name)}" for name in
                 ("nncf", "ai-edge-litert", "litert-torch", "ai-edge-quantizer", "torchao", "pillow")))
PYTHON
echo "ready: MOBILENET_PEER_VENV=$venv_abs; $venv_abs/bin/python Scripts/benchmark_peers.py --help (fp32), Scripts/int8_peers.py --help (int8)"
