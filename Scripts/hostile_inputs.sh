#!/usr/bin/env bash
# Runs the release CLI against the hostile files and flags of the hardening issue and prints, for
# each, the exit status, the seconds it took, its peak memory and its one line on stderr.
#
#   Scripts/hostile_inputs.sh [path/to/mobilenet]      (default: .build/release/mobilenet)
#
# Every case must end with exactly one stderr line, an exit status in 1...127 (never a signal),
# within seconds and well under a gigabyte; the script says FAIL otherwise and exits non-zero.
# python3 (standard library only) writes the hostile files; nothing else needs Python.
set -uo pipefail
cd "$(dirname "$0")/.."
binary=${1:-.build/release/mobilenet}
[ -x "$binary" ] || { echo "no CLI at $binary: make release first" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A case that goes wrong must not take the machine with it.
limit_seconds=60
limit_kb=$((4 * 1024 * 1024))

python3 - "$work" <<'PYTHON'
import struct, sys, zipfile, zlib, os
work = sys.argv[1]

def torch_zip(path, pickle, storages=(), compress=False):
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method) as archive:
        archive.writestr("archive/data.pkl", pickle)
        archive.writestr("archive/byteorder", "little")
        for name, data in storages:
            archive.writestr("archive/data/" + name, data)

# 1. 50,000 nested tuples, zip and legacy layouts.
nested = b"\x80\x02)" + b"\x85" * 50000 + b"."
torch_zip(f"{work}/nested.pth", nested)
legacy_magic = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19."
with open(f"{work}/nested-legacy.pth", "wb") as f:
    # magic, protocol version 1001, an empty system-information dict, then the object
    f.write(legacy_magic + b"\x80\x02M\xe9\x03." + b"\x80\x02}." + nested)
# 2. 20 M DUP opcodes, deflated.
torch_zip(f"{work}/dup.pth", b"\x80\x02N" + b"2" * 20_000_000 + b".", compress=True)
# 2. a 512 MiB storage that deflates to half a megabyte.
# The state dict {"w": a 2^27-element float tensor} as torch.save pickles it, without torch:
# stand-ins named like torch's globals, and the storage as a persistent id.
import collections, io, pickle, types
torch_module, utils_module = types.ModuleType("torch"), types.ModuleType("torch._utils")
class FloatStorage: pass
FloatStorage.__module__, FloatStorage.__qualname__ = "torch", "FloatStorage"
def _rebuild_tensor_v2(*arguments): pass
_rebuild_tensor_v2.__module__ = "torch._utils"
torch_module.FloatStorage, utils_module._rebuild_tensor_v2 = FloatStorage, _rebuild_tensor_v2
sys.modules["torch"], sys.modules["torch._utils"] = torch_module, utils_module
class Storage: pass
class Tensor:
    def __reduce__(self):
        return (_rebuild_tensor_v2, (Storage(), 0, (1 << 27,), (1,), False, collections.OrderedDict()))
class Pickler(pickle.Pickler):
    def persistent_id(self, value):
        return ("storage", FloatStorage, "0", "cpu", 1 << 27) if isinstance(value, Storage) else None
buffer = io.BytesIO()
Pickler(buffer, protocol=2).dump(collections.OrderedDict([("w", Tensor())]))
state = buffer.getvalue()
torch_zip(f"{work}/bomb.pth", state, [("0", bytes(512 << 20))], compress=True)
# 7. "PK" and 56 MB of zeros: a zip without its end record.
with open(f"{work}/truncated.pth", "wb") as f:
    f.write(b"PK\x03\x04" + bytes(56 << 20))

# 2. PNGs of 1x20000 and 100000x1 pixels (grey, 8 bits), a few hundred bytes each.
def png(path, width, height):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + bytes(width) for _ in range(height))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
png(f"{work}/tall.png", 1, 20000)
# 2. a 16384x16384 header and no pixel data: 57 bytes that once zero-filled 805 MB.
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
with open(f"{work}/huge-header.png", "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 16384, 16384, 8, 2, 0, 0, 0)) + chunk(b"IEND", b""))
png(f"{work}/wide.png", 100000, 1)

# 9. run folders: junk, a bad shape, and a latest.json that points outside the folder.
for name, text in [("junk", "{}"), ("shape", '{"checkpoint": 3}'), ("garbage", "\x00\x01 not json"),
                   ("escape", '{"checkpoint": "../../../../etc/passwd"}')]:
    os.makedirs(f"{work}/run-{name}")
    with open(f"{work}/run-{name}/latest.json", "w") as f:
        f.write(text)
with open(f"{work}/a-file", "w") as f:
    f.write("not a folder\n")
PYTHON
mkfifo "$work/fifo"
mkdir "$work/loop" && ln -s loop-b "$work/loop/loop-a" && ln -s loop-a "$work/loop/loop-b"

cases=(
    "convert $work/nested.pth $work/out1.safetensors"
    "convert $work/nested-legacy.pth $work/out2.safetensors"
    "classify Examples/cat.jpg --weights $work/nested.pth"
    "bench --weights $work/nested.pth --iterations 1 --warmup 0"
    "convert $work/dup.pth $work/out3.safetensors"
    "convert $work/bomb.pth $work/out4.safetensors"
    "convert $work/truncated.pth $work/out5.safetensors"
    "classify $work/tall.png"
    "classify $work/wide.png"
    "classify $work/huge-header.png"
    "info --width 100"
    "info --width 1e10"
    "info --resolution 100000"
    "info --resolution 99999999999"
    "info --classes 100000000"
    "train --dataset fashion-mnist --epochs 1 --batch-size 8 --resolution 5000 --output $work/r1"
    "train --dataset fashion-mnist --epochs 1 --batch-size 8 --ema 1.5 --output $work/r2"
    "train --dataset fashion-mnist --epochs 1 --batch-size 8 --ema nan --output $work/r3"
    "train --dataset fashion-mnist --epochs 1 --batch-size 8 --ema=-1 --output $work/r4"
    "train --dataset fashion-mnist --epochs 1 --batch-size 8 --clip-norm 0 --output $work/r5"
    "train --dataset fashion-mnist --epochs 1 --batch-size 8 --clip-norm nan --output $work/r6"
    "train --dataset fashion-mnist --epochs 9223372036854775807 --batch-size 8 --output $work/r7"
    "bench --threads 100000 --iterations 1 --warmup 0"
    "convert $work/fifo $work/out6.safetensors"
    "classify Examples/cat.jpg --weights $work/fifo"
    "classify $work/fifo"
    "convert $work/loop/loop-a $work/out7.safetensors"
    "train --dataset fashion-mnist --epochs 1 --batch-size 8 --output $work/a-file"
    "train --dataset fashion-mnist --epochs 1 --batch-size 8 --output $work/a-file/run"
    "evaluate --checkpoint $work/run-junk --dataset fashion-mnist"
    "evaluate --checkpoint $work/run-shape --dataset fashion-mnist"
    "evaluate --checkpoint $work/run-garbage --dataset fashion-mnist"
    "evaluate --checkpoint $work/run-escape --dataset fashion-mnist"
    "train --dataset fashion-mnist --epochs 1 --batch-size 8 --output $work/run-escape --resume"
)
# One case with an environment variable: libgomp reads it before any flag is parsed.
env_case="OMP_NUM_THREADS=100000"

failures=0
run_case() {  # $1: environment assignment or "", $2: arguments
    local stderr="$work/stderr" report="$work/time"
    # shellcheck disable=SC2086
    env $1 timeout -s KILL "$limit_seconds" /usr/bin/time -f "%e %M" -o "$report" \
        bash -c "ulimit -v $limit_kb; exec \"\$0\" \"\$@\"" "$binary" $2 >/dev/null 2>"$stderr" </dev/null
    local status=$? seconds kb lines verdict=ok
    read -r seconds kb < <(tail -1 "$report" 2>/dev/null || echo "? ?")
    lines=$(wc -l <"$stderr")
    if [ "$status" -eq 0 ] || [ "$status" -ge 128 ] || [ "$lines" -ne 1 ]; then verdict=FAIL; failures=$((failures + 1)); fi
    printf '%-4s exit %3d  %6ss  %5s MB  %s %s\n      %s\n' "$verdict" "$status" "$seconds" "$((${kb:-0} / 1024))" \
        "$1" "${2//$work/\$WORK}" "$(head -c 300 "$stderr" | tr '\n' ' ' | sed "s|$work|\$WORK|g")"
}
for arguments in "${cases[@]}"; do run_case "" "$arguments"; done
run_case "$env_case" "info --variant v1 --width 0.25 --resolution 32"
echo "$((${#cases[@]} + 1)) cases, $failures failed"
[ "$failures" -eq 0 ]
