#!/usr/bin/env bash
# Regenerates Sources/MobileNetExport/Generated/onnx.pb.swift from ONNX's official schema. Run by
# hand, never in CI (building protoc-gen-swift takes minutes); commit the result.
#
# Needs protoc (Debian `protobuf-compiler`), the onnx PyPI package (its onnx.in.proto and
# gen_proto.py, e.g. in the peer virtualenv of Scripts/benchmark_peers_setup.sh) and
# swift-protobuf's plugin at the version Package.swift names:
#     PYTHON=~/.cache/mobilenet-peers/bin/python Scripts/generate_onnx_swift.sh
# The file of the repository came from onnx 1.23.2, protoc 3.21.12, protoc-gen-swift 1.39.0.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
protobuf_version="${SWIFT_PROTOBUF_VERSION:-1.39.0}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
onnx_dir="$("$python" -c 'import onnx, os; print(os.path.dirname(onnx.__file__))')"
cp "$onnx_dir/onnx.in.proto" "$work/"
(cd "$work" && "$python" "$onnx_dir/gen_proto.py" -o "$work" onnx >/dev/null)
git clone -q https://github.com/apple/swift-protobuf "$work/swift-protobuf"
git -C "$work/swift-protobuf" checkout -q "$protobuf_version"
swift build -c release --package-path "$work/swift-protobuf" --product protoc-gen-swift
(cd "$work" && protoc --plugin=protoc-gen-swift="$work/swift-protobuf/.build/release/protoc-gen-swift" \
    --swift_out="$repo/Sources/MobileNetExport/Generated" --swift_opt=Visibility=Public onnx.proto3)
echo "wrote $repo/Sources/MobileNetExport/Generated/onnx.pb.swift (onnx $("$python" -c 'import onnx; print(onnx.__version__)'))"
