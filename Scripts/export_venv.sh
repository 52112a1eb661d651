#!/usr/bin/env bash
# The test-only Python virtualenv the export checks run in (Scripts/check_export.py): ONNX's
# checker, ONNX Runtime and LiteRT from PyPI, outside the repository (default
# ~/.cache/mobilenet-export-venv; `make test` calls this). An existing one with the pinned
# versions is kept as it is.
set -euo pipefail
venv="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/mobilenet-export-venv}"
python="${PYTHON:-python3}"
pins=('onnx==1.23.2' 'onnxruntime==1.31.1' 'ai-edge-litert==2.3.0' 'numpy<3')
probe='import onnx, onnxruntime, ai_edge_litert.interpreter; assert onnx.__version__ == "1.23.2" and onnxruntime.__version__ == "1.31.1"'
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$probe" 2>/dev/null; then
    echo "export checks: $venv"
    exit 0
fi
echo "export checks: creating $venv (onnx, onnxruntime, ai-edge-litert from PyPI)"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}"
"$venv/bin/python" -c "$probe"
echo "export checks: $venv"
