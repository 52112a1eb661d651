#!/usr/bin/env python3
"""int8 post-training quantization of MobileNetV2 in the peer runtimes: fidelity and speed.

Not part of CI: run it by hand on a quiet machine, from the repository root, with
the peer virtualenv (Scripts/benchmark_peers_setup.sh makes it) and the crops
(Scripts/generate_fidelity_crops.py makes them)::

    venv="${MOBILENET_PEER_VENV:-$HOME/.cache/mobilenet-peers}"
    "$venv"/bin/python Scripts/generate_fidelity_crops.py
    "$venv"/bin/python Scripts/int8_peers.py --markdown --json int8-peers.json
    ONEDNN_MAX_CPU_ISA=AVX2 "$venv"/bin/python Scripts/int8_peers.py --runtimes pytorch openvino --markdown

The model is torchvision's MobileNetV2 with its ImageNet checkpoint
(``mobilenet_v2-b0353104.pth`` under ``$MOBILENET_HOME`` or ``~/.cache/mobilenet``,
Scripts/fetch_weights.sh fetches it; unlike benchmark_peers.py this script
refuses to run with random weights, whose int8 agreement would mean nothing).
Every int8 model is calibrated on exactly the 36 calibration crops, one crop at
a time, as float32 NCHW normalised with ImageNet's mean and standard deviation.

The int8 peers (each beside its own fp32 model, in the same runtime)
--------------------------------------------------------------------
* ``onnxruntime-int8``: the fp32 ONNX export of benchmark_peers.py (opset 17,
  dynamic batch), pre-processed with ``quant_pre_process`` (shape inference and
  graph optimisation, as ONNX Runtime's documentation advises), then
  ``quantize_static``: QDQ format, per-channel weights, u8 activations, s8
  weights, MinMax calibration.  Run as the fp32 one is (CPU provider, all graph
  optimisations, which fold the QDQ pairs into integer kernels).
* ``openvino-int8``: ``nncf.quantize`` on the OpenVINO model read from the same
  ONNX file, default preset (for CPU: symmetric, "performance"), the 36 crops as
  its dataset (``subset_size=36``), then compiled as the fp32 one is, with
  ``INFERENCE_PRECISION_HINT=f32`` so the layers NNCF left in float run in f32
  rather than bf16.
* ``litert-int8``: LiteRT (``ai-edge-litert``'s interpreter, its default XNNPACK
  delegate, ``num_threads=T``).  Route: ``litert_torch.convert`` (the PyPI
  package formerly called ai-edge-torch) turns the PyTorch module into an fp32
  ``.tflite``, which is the ``litert`` fp32 peer; ``ai_edge_quantizer`` with its
  ``static_wi8_ai8`` recipe (per-channel int8 weights, int8 activations, min/max
  calibration with its default moving average) makes the full-integer model from
  it: every convolution, residual add, mean and fully-connected layer is int8,
  and so are the model's input and output.  The input is quantized with the
  model's input scale outside the timed call (ONNX Runtime and OpenVINO do that
  step inside theirs; it is one pass over 150 k values per image); the output is
  dequantized inside it.  LiteRT models have static shapes here (the converter
  does not lower a dynamic batch), so there is one model per batch size; the
  batch-B model is calibrated on batches that hold B copies of each crop, which
  give the same per-batch min/max as the crop alone and so the same scales.
  (litert_torch's own PT2E quantizer was tried first: it leaves the residual
  adds of consecutive blocks in float between DEQUANTIZE and QUANTIZE, so it is
  not full-integer.)
* ``pytorch-int8`` (eager ``torch.ao.quantization``): torchvision's quantizable
  MobileNetV2 with the same weights, modules fused, ``get_default_qconfig("x86")``
  and the ``x86`` quantized engine, prepared, calibrated, converted.

For each peer
-------------
* Fidelity: top-1 of the int8 model against top-1 of its own fp32 model (and
  whether it is among that model's top 5), and against torchvision's fp32
  module (PyTorch eager), over the 99 evaluation crops, each run at batch 1
  through the same runner that is timed.
* Timing as benchmark_peers.py does it (its ``measure``): a pause (``--settle``),
  then 20 warm-up and 200 timed calls at batch 1, 5 and 30 at batch 32, each
  call timed alone; p50, p90, images/s.  The input is the first B evaluation
  crops.  ``max|diff|`` is against torchvision fp32's logits on that input.
* ISA: which kernels ran, as far as the runtime tells.  oneDNN inside PyTorch:
  the implementation names from oneDNN's verbose log of one call (e.g.
  ``brg_conv_fwd:avx512_core``); no oneDNN line means another library ran (FBGEMM
  for eager int8).  OpenVINO: the CPU plugin's kernel names from the compiled
  model (``brgconv_avx512_1x1_I8`` ...).  ONNX Runtime (MLAS) and XNNPACK pick
  their kernels by CPUID and name none; for them the column shows the CPU's best
  relevant feature.  ``ONEDNN_MAX_CPU_ISA`` (e.g. ``AVX2``), when set, caps
  oneDNN's JIT in PyTorch; the column shows whether a runtime obeyed it.
"""

from __future__ import annotations

# benchmark_peers sets OMP_WAIT_POLICY before anything loads OpenMP, so it comes first.
import benchmark_peers as peers  # noqa: I001  (Scripts/ is on sys.path when run as a script)

import argparse
import contextlib
import ctypes
import gc
import json
import os
import sys
import tempfile
import time
import warnings
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import onnxruntime as ort
import openvino as ov
import torch
import torchvision
from PIL import Image

import generate_fidelity_crops as crops

RUNTIMES = ("onnxruntime", "openvino", "litert", "pytorch")
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


# --------------------------------------------------------------------------- data


def load_crops(folder: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The evaluation crops' names and both sets as float32 NCHW, normalised with ImageNet's statistics."""
    manifest = crops.read_manifest(folder)
    sets: dict[str, list[np.ndarray]] = {"evaluation": [], "calibration": []}
    names = []
    for entry in manifest["crops"]:
        with Image.open(folder / entry["file"]) as image:
            pixels = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
        if pixels.shape != (peers.RESOLUTION, peers.RESOLUTION, 3):
            raise SystemExit(f"{folder / entry['file']}: {pixels.shape[1]}x{pixels.shape[0]}, expected "
                             f"{peers.RESOLUTION}x{peers.RESOLUTION}; make the crops again")
        sets[entry["split"]].append(((pixels - MEAN) / STD).transpose(2, 0, 1))
        if entry["split"] == "evaluation":
            names.append(entry["file"])
    return names, np.stack(sets["evaluation"]), np.stack(sets["calibration"])


# --------------------------------------------------------------------------- runners
#
# A Bound runner computes on a fixed input buffer; load() puts new values into it, so that the
# fidelity loop goes through exactly the call that is timed.


@dataclass
class Bound:
    run: Callable[[], np.ndarray]
    load: Callable[[np.ndarray], None]
    details: dict


def bound_to_buffer(factory: Callable[[np.ndarray], tuple[Callable[[], object], dict]], batch: int) -> Bound:
    """For runtimes that read their input array afresh on every call (PyTorch, ONNX Runtime, OpenVINO)."""
    buffer = np.zeros((batch, 3, peers.RESOLUTION, peers.RESOLUTION), dtype=np.float32)
    run, details = factory(buffer)
    return Bound(run=lambda: np.asarray(run()), load=lambda x: np.copyto(buffer, x), details=details)


class Peer:
    """One runtime's fp32 and int8 MobileNetV2; make(precision, batch, threads) gives a Bound runner."""

    name: str

    def make(self, precision: str, batch: int, threads: int) -> Bound:
        raise NotImplementedError


def cpuid_isa(machine: dict) -> str:
    for flag in ("amx_tile", "avx512_vnni", "avx512f", "avx2"):
        if flag in machine["isa"]:
            return f"CPUID dispatch ({flag})"
    return "CPUID dispatch"


class OnnxRuntimePeer(Peer):
    name = "onnxruntime"

    def __init__(self, model: torch.nn.Module, calibration: np.ndarray, folder: Path, machine: dict):
        from onnxruntime import quantization as q

        self.fp32 = folder / "v2.onnx"
        peers.export_onnx(model, self.fp32)
        prepared = folder / "v2-prepared.onnx"
        self.int8 = folder / "v2-int8-qdq.onnx"
        q.quant_pre_process(str(self.fp32), str(prepared))

        class Reader(q.CalibrationDataReader):
            def __init__(self):
                self.items = iter(calibration[i:i + 1] for i in range(len(calibration)))

            def get_next(self):
                item = next(self.items, None)
                return None if item is None else {"input": item}

        q.quantize_static(str(prepared), str(self.int8), Reader(), quant_format=q.QuantFormat.QDQ,
                          per_channel=True, activation_type=q.QuantType.QUInt8, weight_type=q.QuantType.QInt8,
                          calibrate_method=q.CalibrationMethod.MinMax)
        self.isa = "MLAS, " + cpuid_isa(machine)

    def make(self, precision, batch, threads):
        path = self.int8 if precision == "int8" else self.fp32
        bound = bound_to_buffer(lambda x: (peers.onnxruntime_runner(path, x, threads), {}), batch)
        bound.details["isa"] = self.isa
        return bound


class OpenVinoPeer(Peer):
    name = "openvino"

    def __init__(self, model: torch.nn.Module, calibration: np.ndarray, folder: Path, core: ov.Core):
        import nncf

        self.core = core
        self.fp32 = folder / "v2-openvino.onnx"
        peers.export_onnx(model, self.fp32)
        dataset = nncf.Dataset([calibration[i:i + 1] for i in range(len(calibration))])
        quantized = nncf.quantize(core.read_model(str(self.fp32)), dataset, subset_size=len(calibration))
        self.int8 = folder / "v2-int8-nncf.xml"
        ov.save_model(quantized, str(self.int8), compress_to_fp16=False)

    def make(self, precision, batch, threads):
        path = self.int8 if precision == "int8" else self.fp32
        bound = bound_to_buffer(lambda x: peers.openvino_runner(self.core, path, x, threads, "f32"), batch)
        bound.details["isa"] = summarise_kernels(bound.details["kernels"])
        return bound


class LiteRtPeer(Peer):
    name = "litert"

    def __init__(self, model: torch.nn.Module, calibration: np.ndarray, folder: Path, batches: list[int],
                 machine: dict):
        self.paths: dict[tuple[str, int], Path] = {}
        self.isa = "XNNPACK, " + cpuid_isa(machine)
        for batch in sorted(set(batches) | {1}):
            self.paths["fp32", batch], self.paths["int8", batch] = self.convert(model, calibration, folder, batch)

    @staticmethod
    def convert(model, calibration, folder, batch) -> tuple[Path, Path]:
        import litert_torch
        from ai_edge_quantizer import quantizer, recipe

        fp32 = folder / f"v2-b{batch}.tflite"
        int8 = folder / f"v2-b{batch}-int8.tflite"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            litert_torch.convert(model, (torch.zeros(batch, 3, peers.RESOLUTION, peers.RESOLUTION),)).export(str(fp32))
        job = quantizer.Quantizer(str(fp32), recipe.static_wi8_ai8())
        (signature, described), = litert_signatures(fp32).items()
        (input_name,) = described["inputs"]
        samples = [{input_name: np.repeat(calibration[i:i + 1], batch, axis=0)} for i in range(len(calibration))]
        result = job.quantize(job.calibrate({signature: samples}, num_threads=2))
        result.export_model(str(int8), overwrite=True)
        return fp32, int8

    def make(self, precision, batch, threads):
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_path=str(self.paths[precision, batch]), num_threads=threads)
        interpreter.allocate_tensors()
        source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
        if tuple(source["shape"]) != (batch, 3, peers.RESOLUTION, peers.RESOLUTION):
            raise RuntimeError(f"LiteRT model {self.paths[precision, batch]} has input shape {source['shape']}")
        buffer = np.zeros(source["shape"], dtype=source["dtype"])
        in_scale, in_zero = source["quantization"]
        out_scale, out_zero = target["quantization"]
        integer_input = np.issubdtype(source["dtype"], np.integer)
        integer_output = np.issubdtype(target["dtype"], np.integer)
        limits = np.iinfo(source["dtype"]) if integer_input else None

        def load(x: np.ndarray) -> None:
            if integer_input:
                np.copyto(buffer, np.clip(np.rint(x / in_scale) + in_zero, limits.min, limits.max).astype(buffer.dtype))
            else:
                np.copyto(buffer, x)

        def run() -> np.ndarray:
            interpreter.set_tensor(source["index"], buffer)
            interpreter.invoke()
            output = interpreter.get_tensor(target["index"])
            return (output.astype(np.float32) - out_zero) * out_scale if integer_output else output

        details = {"isa": self.isa, "input_dtype": np.dtype(source["dtype"]).name,
                   "output_dtype": np.dtype(target["dtype"]).name, "ops": litert_op_types(interpreter)}
        return Bound(run=run, load=load, details=details)


def litert_signatures(path: Path) -> dict:
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_path=str(path)).get_signature_list()


def litert_op_types(interpreter) -> dict[str, int]:
    """Op name and the type of its first input, counted: shows whether any op still computes in float."""
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    counts: Counter = Counter()
    for op in interpreter._get_ops_details():  # the interpreter's only listing of its ops
        if op["op_name"] == "DELEGATE":
            continue
        first = next((i for i in op["inputs"] if i >= 0), None)
        dtype = np.dtype(tensors[first]["dtype"]).name if first is not None and first in tensors else "?"
        counts[f"{op['op_name']}:{dtype}"] += 1
    return dict(counts)


class PyTorchPeer(Peer):
    name = "pytorch"

    def __init__(self, model: torch.nn.Module, calibration: np.ndarray):
        from torch.ao import quantization as tq
        from torchvision.models import quantization as quantizable

        self.fp32 = model
        torch.backends.quantized.engine = "x86"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao's eager-mode deprecation notices
            int8 = quantizable.mobilenet_v2(weights=None, quantize=False)
            int8.load_state_dict(model.state_dict())
            int8.eval()
            int8.fuse_model(is_qat=False)
            int8.qconfig = tq.get_default_qconfig("x86")
            tq.prepare(int8, inplace=True)
            with torch.inference_mode():
                for i in range(len(calibration)):
                    int8(torch.from_numpy(calibration[i:i + 1]))
            tq.convert(int8, inplace=True)
        self.int8 = int8

    def make(self, precision, batch, threads):
        module = self.int8 if precision == "int8" else self.fp32
        bound = bound_to_buffer(lambda x: (peers.pytorch_runner(module, x, threads), {}), batch)
        bound.details["kernels"] = onednn_kernels(bound.run)
        bound.details["isa"] = summarise_kernels(bound.details["kernels"]) or "no oneDNN primitive (FBGEMM)"
        return bound


# --------------------------------------------------------------------------- ISA


def onednn_kernels(run: Callable[[], object]) -> dict[str, int]:
    """The oneDNN convolution / inner-product implementations one call of run executes, from oneDNN's
    verbose log, which it prints to the process's stdout (file descriptor 1), captured here."""
    libc = ctypes.CDLL(None)
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile(mode="w+") as log:
        os.dup2(log.fileno(), 1)
        try:
            with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
                run()
        finally:
            libc.fflush(None)
            os.dup2(saved, 1)
            os.close(saved)
        log.seek(0)
        lines = log.read().splitlines()
    counts: Counter = Counter()
    for line in lines:
        fields = line.split(",")
        if not fields[0].startswith("onednn_verbose") or "exec" not in fields:
            continue
        at = fields.index("exec")
        kind, implementation = fields[at + 2], fields[at + 3]
        if kind in ("convolution", "inner_product", "matmul"):
            counts[implementation] += 1
    return dict(counts)


def summarise_kernels(kernels: dict[str, int]) -> str:
    return ", ".join(f"{name}×{count}" for name, count in sorted(kernels.items(), key=lambda kv: -kv[1]))


# --------------------------------------------------------------------------- fidelity


@dataclass
class Fidelity:
    runtime: str
    crops: int
    int8_vs_own_fp32: int
    int8_in_own_fp32_top5: int
    int8_vs_torchvision: int
    fp32_vs_torchvision: int
    disagreements: list[str]


def classify(bound: Bound, images: np.ndarray) -> np.ndarray:
    """Each image's five best classes, best first, one call at batch 1 each."""
    labels = []
    for i in range(len(images)):
        bound.load(images[i:i + 1])
        labels.append(np.argsort(-bound.run()[0], kind="stable")[:5])
    return np.array(labels)


def fidelity(peer: Peer, names: list[str], images: np.ndarray, reference: np.ndarray, threads: int) -> Fidelity:
    fp32_top5 = classify(peer.make("fp32", 1, threads), images)
    int8_top5 = classify(peer.make("int8", 1, threads), images)
    fp32, int8 = fp32_top5[:, 0], int8_top5[:, 0]
    return Fidelity(runtime=peer.name, crops=len(images),
                    int8_vs_own_fp32=int(np.sum(int8 == fp32)),
                    int8_in_own_fp32_top5=int(np.sum(np.any(fp32_top5 == int8[:, None], axis=1))),
                    int8_vs_torchvision=int(np.sum(int8 == reference)),
                    fp32_vs_torchvision=int(np.sum(fp32 == reference)),
                    disagreements=[f"{names[i]}: fp32 {fp32[i]}, int8 {int8[i]}" for i in np.flatnonzero(int8 != fp32)])


# --------------------------------------------------------------------------- reporting


def timing_table(results: list[peers.Result], markdown: bool) -> str:
    own_fp32 = {(r.runtime, r.batch, r.threads): r.p50_ms for r in results if not r.runtime.endswith("-int8")}
    header = ["runtime", "batch", "threads", "ISA / kernels", "p50 ms", "p90 ms", "images/s", "fp32 p50 / int8 p50"]
    rows = []
    for r in results:
        base = own_fp32.get((r.runtime.removesuffix("-int8"), r.batch, r.threads)) if r.runtime.endswith("-int8") else None
        rows.append([r.runtime, str(r.batch), str(r.threads), r.details.get("isa", ""), f"{r.p50_ms:.2f}",
                     f"{r.p90_ms:.2f}", f"{r.images_per_second:.1f}", f"{base / r.p50_ms:.2f}×" if base else ""])
    return peers.render_table(header, rows, markdown)


def fidelity_table(entries: list[Fidelity], markdown: bool) -> str:
    header = ["runtime", "crops", "int8 top-1 = own fp32 top-1", "int8 top-1 in own fp32 top-5",
              "int8 top-1 = torchvision fp32", "own fp32 top-1 = torchvision fp32"]
    rows = [[f.runtime, str(f.crops), f"{f.int8_vs_own_fp32}/{f.crops}", f"{f.int8_in_own_fp32_top5}/{f.crops}",
             f"{f.int8_vs_torchvision}/{f.crops}", f"{f.fp32_vs_torchvision}/{f.crops}"] for f in entries]
    return peers.render_table(header, rows, markdown)


# --------------------------------------------------------------------------- main


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--crops", type=Path, default=crops.default_output(),
                        help=f"folder written by Scripts/generate_fidelity_crops.py (default: {crops.default_output()})")
    parser.add_argument("--runtimes", nargs="+", choices=RUNTIMES, default=list(RUNTIMES))
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 32])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, help="timed calls per measurement (default: 200 at batch 1, 30 otherwise)")
    parser.add_argument("--warmup", type=int, help="untimed calls first (default: 20 at batch 1, 5 otherwise)")
    parser.add_argument("--settle", type=float, default=2.0, metavar="SECONDS",
                        help="pause before each measurement (see benchmark_peers.py; default: 2)")
    parser.add_argument("--skip-timing", action="store_true", help="fidelity only")
    parser.add_argument("--models", type=Path, metavar="DIR",
                        help="keep the exported and quantized models here (default: a temporary folder, removed)")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write everything, latencies included, here")
    return parser.parse_args()


def main() -> int:
    args = parse_arguments()
    checkpoint = peers.v2_checkpoint_path()
    if not checkpoint.is_file():
        print(f"int8_peers: {checkpoint} not found; Scripts/fetch_weights.sh fetches it "
              "(int8 fidelity needs the real weights)", file=sys.stderr)
        return 1
    names, evaluation, calibration = load_crops(args.crops.expanduser())
    if any(batch > len(evaluation) for batch in args.batches):
        print(f"int8_peers: batches are at most {len(evaluation)}, the number of evaluation crops", file=sys.stderr)
        return 1

    machine, versions = peers.machine_info(), peers.library_versions()
    versions.update(int8_versions(args.runtimes))
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA")
    print(f"machine: {machine['cpu']}, {machine['logical_cores']} logical cores ({machine['usable_cores']} usable), "
          f"ISA {' '.join(machine['isa']) or 'unknown'}; ONEDNN_MAX_CPU_ISA={cap or 'unset'}")
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in machine['loadavg'])}")
    print("versions: " + ", ".join(f"{name} {version}" for name, version in versions.items()))
    print(f"crops: {len(evaluation)} evaluation, {len(calibration)} calibration, from {args.crops}")

    torch.set_num_interop_threads(1)
    ort.set_default_logger_severity(3)
    model, weights = peers.build_model("v2")
    with torch.inference_mode():
        reference_logits = model(torch.from_numpy(evaluation)).numpy()
    reference = reference_logits.argmax(axis=1)
    print(f"v2: weights {weights}")

    with contextlib.ExitStack() as stack:
        if args.models:
            folder = args.models.expanduser().resolve()
            folder.mkdir(parents=True, exist_ok=True)
        else:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mobilenet-int8-")))
        core = ov.Core()
        built: list[Peer] = []
        for name in args.runtimes:
            start = time.perf_counter()
            if name == "onnxruntime":
                built.append(OnnxRuntimePeer(model, calibration, folder, machine))
            elif name == "openvino":
                built.append(OpenVinoPeer(model, calibration, folder, core))
            elif name == "litert":
                built.append(LiteRtPeer(model, calibration, folder, args.batches, machine))
            else:
                built.append(PyTorchPeer(model, calibration))
            print(f"{name}: int8 model made in {time.perf_counter() - start:.0f} s")

        fidelities = []
        for peer in built:
            entry = fidelity(peer, names, evaluation, reference, args.threads)
            fidelities.append(entry)
            print(f"{peer.name}: int8 top-1 = own fp32 on {entry.int8_vs_own_fp32}/{entry.crops} "
                  f"(in its top-5 on {entry.int8_in_own_fp32_top5}), "
                  f"= torchvision fp32 on {entry.int8_vs_torchvision}/{entry.crops}; "
                  f"own fp32 = torchvision fp32 on {entry.fp32_vs_torchvision}/{entry.crops}")
            for line in entry.disagreements:
                print(f"    {line}")
            gc.collect()

        results: list[peers.Result] = []
        if not args.skip_timing:
            for batch in args.batches:
                iterations = args.iterations or (200 if batch == 1 else 30)
                warmup = args.warmup if args.warmup is not None else (20 if batch == 1 else 5)
                x = evaluation[:batch]
                for peer in built:
                    for precision in ("fp32", "int8"):
                        bound = peer.make(precision, batch, args.threads)
                        bound.load(x)
                        runtime = peer.name if precision == "fp32" else f"{peer.name}-int8"
                        time.sleep(args.settle)
                        result = peers.measure("v2", args.threads, runtime, bound.run, bound.details,
                                               reference_logits[:batch], warmup, iterations)
                        results.append(result)
                        print(f"  batch {batch:>2}  threads {args.threads}  {runtime:<16} p50 {result.p50_ms:8.2f} ms"
                              f"  p90 {result.p90_ms:8.2f} ms  {result.images_per_second:8.1f} img/s"
                              f"  max|diff| {result.max_abs_diff:.2g}  [{bound.details.get('isa', '')}]")
                        del bound
                        gc.collect()

    end_load = list(os.getloadavg())
    print(f"\nload average at end: {' '.join(f'{v:.2f}' for v in end_load)}")
    print(f"\nfidelity over {len(evaluation)} evaluation crops (calibrated on {len(calibration)}):\n")
    print(fidelity_table(fidelities, args.markdown))
    if results:
        print(f"\ntiming, ONEDNN_MAX_CPU_ISA={cap or 'unset'}:\n")
        print(timing_table(results, args.markdown))
    if args.json:
        payload = {"machine": machine, "versions": versions, "ONEDNN_MAX_CPU_ISA": cap, "loadavg_end": end_load,
                   "command": sys.argv, "fidelity": [asdict(f) for f in fidelities],
                   "results": [asdict(r) for r in results]}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


def int8_versions(runtimes: list[str]) -> dict[str, str]:
    from importlib import metadata

    wanted = {"openvino": ["nncf"], "litert": ["ai-edge-litert", "litert-torch", "ai-edge-quantizer"],
              "pytorch": [], "onnxruntime": []}
    versions = {}
    for runtime in runtimes:
        for package in wanted[runtime]:
            try:
                versions[package] = metadata.version(package)
            except metadata.PackageNotFoundError:
                raise SystemExit(f"int8_peers: {package} is not installed; run Scripts/benchmark_peers_setup.sh")
    return versions


if __name__ == "__main__":
    sys.exit(main())
