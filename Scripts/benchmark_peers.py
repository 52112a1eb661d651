#!/usr/bin/env python3
"""Time MobileNet CPU inference in the peer runtimes, for BENCHMARKS.md.

Not part of CI: run it by hand on a quiet machine.  It measures PyTorch
eager, ONNX Runtime and OpenVINO (and the Swift CLI, once its ``bench``
command can print JSON) on the same model, input, batch size and thread
count, so the numbers in BENCHMARKS.md compare like with like.

Setup (once; creates a virtualenv outside the repository, by default
${XDG_CACHE_HOME:-~/.cache}/mobilenet-peers, or another named by
MOBILENET_PEER_VENV)::

    Scripts/benchmark_peers_setup.sh

An existing torch virtualenv (the fixture generators') can be reused instead
of downloading torch again; the setup script adds the other peers to it::

    MOBILENET_PEER_VENV=path/to/torch-venv Scripts/benchmark_peers_setup.sh

Run from the repository root (``venv`` is that virtualenv)::

    venv="${MOBILENET_PEER_VENV:-$HOME/.cache/mobilenet-peers}"
    "$venv"/bin/python Scripts/benchmark_peers.py                   # v2, batch 1 and 32, 1 and 2 threads
    "$venv"/bin/python Scripts/benchmark_peers.py --markdown        # the same as a Markdown table
    "$venv"/bin/python Scripts/benchmark_peers.py \\
        --variants v2 v1 v3-large v3-small --batches 1 --threads 2 --json peers.json

What is measured
----------------
* Models: MobileNetV2 from torchvision with its ImageNet checkpoint
  (``$MOBILENET_HOME`` or ``~/.cache/mobilenet/mobilenet_v2-b0353104.pth``,
  fetched by Scripts/fetch_weights.sh; random weights with a warning if it is
  missing), MobileNetV1 as timm's ``mobilenetv1_100``, and torchvision's
  MobileNetV3-Large and -Small.  V1 and V3 get random weights, which is fine
  for timing, but their BatchNorm running statistics are first set from a
  random batch: with the default statistics (mean 0, variance 1) the
  activations of a random V3 shrink to ~1e-10 by the logits, which would run
  into denormal numbers and time something no real model does.
* Each model is exported once to ONNX (opset 17, dynamic batch axis, the
  TorchScript exporter, ``dynamo=False``, because the new exporter needs the
  extra package onnxscript) into a temporary folder that is removed at exit.
* PyTorch eager: ``torch.set_num_threads(T)``, one inter-op thread, the
  module in eval mode under ``torch.inference_mode()``, NCHW input.
* ONNX Runtime: CPU execution provider, ``intra_op_num_threads=T``,
  ``inter_op_num_threads=1``, all graph optimisations, sequential execution.
  Thread spinning is left at its default (on), as the library ships.
* OpenVINO: the ONNX model reshaped to the static input shape of the batch
  (``[B, 3, 224, 224]``), compiled for "CPU" with ``INFERENCE_NUM_THREADS=T``,
  ``PERFORMANCE_HINT=LATENCY`` (one stream) and
  ``INFERENCE_PRECISION_HINT=f32``; one synchronous infer request.  The f32
  hint matters: on a CPU with AVX512-BF16 or AMX, OpenVINO runs in bfloat16
  by default, which is faster and no longer the same arithmetic.  Pass
  ``--openvino-bf16`` to add that default as an extra row ("openvino-bf16");
  it is shown for reference and never counts as the best peer.  Pass
  ``--openvino-streams`` to add OpenVINO's throughput mode at batches > 1
  ("openvino-streams": ``PERFORMANCE_HINT=THROUGHPUT``, one single-thread
  stream per thread, the batch split into that many asynchronous requests),
  the way OpenVINO itself spreads a batch over cores; it is shown beside the
  one-request peers, not counted among them, because the caller has to split
  the batch for it.
* Swift: ``.build/release/mobilenet bench --variant V --batch B --threads T
  --iterations N --json``, read back as ``latency_ms_p50`` /
  ``images_per_second`` (and ``latency_ms_p90`` when present).  Skipped, with
  a note, while the binary is missing or its ``bench --help`` has no
  ``--json``.

Before each measurement the script pauses (``--settle``, 2 s): runtimes' worker
threads spin for a while after their last job (ONNX Runtime's, OpenVINO's,
PyTorch's and oneDNN's OpenMP threads alike), and a measurement that starts
while the previous runtime's threads still spin on the two cores is slowed by
them.

Each runtime runs the warm-up calls (default 20 at batch 1, 5 at larger
batches), then N timed calls (default 200 at batch 1, 30 otherwise), each
timed on its own with ``time.perf_counter_ns``.  Reported: median (p50) and
90th-percentile latency of one call in ms, and images/s = batch / p50.  The
ratio column is p50 divided by the best fp32 peer's p50 in the same
(variant, batch, threads) group: 1.00 is the best peer, below 1 beats it.

Before timing, every runtime's output on the timed input is compared with
PyTorch's; the largest absolute difference is printed and must be <= 1e-3
for fp32 runtimes, so all runtimes compute the same function.

OMP_WAIT_POLICY=passive is set for this process before torch is imported
(it is read once, when the OpenMP runtime starts): with the default policy,
PyTorch's idle OpenMP workers spin after every parallel region and steal the
cores that the next runtime being timed needs.  The Swift CLI runs in its own
process with OMP_WAIT_POLICY as the caller's environment had it (unset:
libgomp's default, spin for a while, then sleep), as a user runs it;
``passive`` would put its oneDNN threads to sleep after every primitive, which
costs about 25 % of its batch-1 speed on V2 and over 3x on V3-Small.
"""

from __future__ import annotations

import os

# The caller's setting, which the Swift CLI gets; this process (PyTorch) runs
# passive. Read by the OpenMP runtime when it starts, so this must come before
# torch (and anything else that might load libgomp) is imported.
CALLER_OMP_WAIT_POLICY = os.environ.get("OMP_WAIT_POLICY")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import gc
import json
import platform
import re
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
import onnxruntime as ort
import openvino as ov
import timm
import torch
import torchvision

REPO_ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("v1", "v2", "v3-large", "v3-small")
PEERS = ("pytorch", "onnxruntime", "openvino")  # the fp32 runtimes the ratio is taken against
RESOLUTION = 224
TOLERANCE = 1e-3
V2_CHECKPOINT = "mobilenet_v2-b0353104.pth"


# --------------------------------------------------------------------------- models


def set_batchnorm_statistics(model: torch.nn.Module, seed: int = 1) -> None:
    """Replace default BN running stats by the statistics of one random batch."""
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None  # cumulative average: one batch sets the stats exactly
    generator = torch.Generator().manual_seed(seed)
    model.train()
    with torch.no_grad():
        model(torch.randn(8, 3, RESOLUTION, RESOLUTION, generator=generator))
    model.eval()


def v2_checkpoint_path() -> Path:
    """Where Scripts/fetch_weights.sh puts torchvision's MobileNetV2 checkpoint."""
    cache = Path(os.environ.get("MOBILENET_HOME", Path.home() / ".cache" / "mobilenet"))
    return cache / V2_CHECKPOINT


def build_model(variant: str) -> tuple[torch.nn.Module, str]:
    """Return the model in eval mode and a short description of its weights."""
    torch.manual_seed(0)
    if variant == "v2":
        model = torchvision.models.mobilenet_v2()
        checkpoint = v2_checkpoint_path()
        if checkpoint.is_file():
            model.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
            return model.eval(), f"ImageNet ({checkpoint})"
        print(f"warning: {checkpoint} not found (Scripts/fetch_weights.sh fetches it); "
              "timing MobileNetV2 with random weights", file=sys.stderr)
    elif variant == "v1":
        model = timm.create_model("mobilenetv1_100", pretrained=False)
    elif variant == "v3-large":
        model = torchvision.models.mobilenet_v3_large()
    elif variant == "v3-small":
        model = torchvision.models.mobilenet_v3_small()
    else:
        raise ValueError(f"unknown variant {variant!r}")
    set_batchnorm_statistics(model)
    return model, "random (BN statistics from a random batch)"


def export_onnx(model: torch.nn.Module, path: Path) -> None:
    example = torch.zeros(1, 3, RESOLUTION, RESOLUTION)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            model,
            (example,),
            str(path),
            opset_version=17,
            dynamo=False,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        )
    onnx.checker.check_model(str(path))


# --------------------------------------------------------------------------- runtimes
#
# Each factory returns a zero-argument callable that runs one inference on the
# input it was given and returns the logits (as something numpy can read).


def pytorch_runner(model: torch.nn.Module, x: np.ndarray, threads: int) -> Callable[[], object]:
    torch.set_num_threads(threads)
    tensor = torch.from_numpy(x)

    def run():
        with torch.inference_mode():
            return model(tensor)

    return run


def onnxruntime_runner(onnx_path: Path, x: np.ndarray, threads: int) -> Callable[[], object]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x}

    def run():
        return session.run(None, feed)[0]

    return run


OPENVINO_PROPERTIES = ("INFERENCE_NUM_THREADS", "PERFORMANCE_HINT", "INFERENCE_PRECISION_HINT", "NUM_STREAMS")


def openvino_runner(core: ov.Core, onnx_path: Path, x: np.ndarray, threads: int,
                    precision: str) -> tuple[Callable[[], object], dict]:
    """Compile for the static shape of x; also return the properties the plugin settled on."""
    supported = core.get_property("CPU", "SUPPORTED_PROPERTIES")
    missing = [name for name in OPENVINO_PROPERTIES if name not in supported]
    if missing:
        raise RuntimeError(f"this OpenVINO ({ov.__version__}) has no CPU properties {missing}")
    model = core.read_model(str(onnx_path))
    model.reshape({model.inputs[0]: ov.PartialShape(list(x.shape))})
    compiled = core.compile_model(model, "CPU", {
        "INFERENCE_NUM_THREADS": threads,
        "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_PRECISION_HINT": precision,
    })
    settled = {name: str(compiled.get_property(name)) for name in OPENVINO_PROPERTIES}
    settled["kernels"] = openvino_kernels(compiled)
    request = compiled.create_infer_request()

    def run():
        return request.infer({0: x}, share_inputs=True)[0]

    return run, settled


def openvino_kernels(compiled: ov.CompiledModel) -> dict[str, int]:
    """How many convolution and fully-connected layers run each of the CPU plugin's kernels, as it
    names them (e.g. ``brgconv_avx512_1x1_f32``, ``jit_avx512_amx_I8``): its choice of ISA and precision."""
    counts: dict[str, int] = {}
    for op in compiled.get_runtime_model().get_ordered_ops():
        info = op.get_rt_info()
        if info["layerType"].astype(str) in ("Convolution", "GroupConvolution", "FullyConnected"):
            kernel = info["primitiveType"].astype(str)
            counts[kernel] = counts.get(kernel, 0) + 1
    return counts


def openvino_streams_runner(core: ov.Core, onnx_path: Path, x: np.ndarray,
                            threads: int) -> tuple[Callable[[], object], dict]:
    """OpenVINO's throughput mode: the batch split into one request per thread, each on a stream
    of one thread, run asynchronously (what ``PERFORMANCE_HINT=THROUGHPUT`` is for)."""
    chunks = np.split(x, threads)
    model = core.read_model(str(onnx_path))
    model.reshape({model.inputs[0]: ov.PartialShape(list(chunks[0].shape))})
    compiled = core.compile_model(model, "CPU", {
        "INFERENCE_NUM_THREADS": threads,
        "PERFORMANCE_HINT": "THROUGHPUT",
        "NUM_STREAMS": threads,
        "INFERENCE_PRECISION_HINT": "f32",
    })
    settled = {name: str(compiled.get_property(name)) for name in OPENVINO_PROPERTIES}
    requests = [compiled.create_infer_request() for _ in chunks]

    def run():
        for request, chunk in zip(requests, chunks):
            request.start_async({0: chunk}, share_inputs=True)
        for request in requests:
            request.wait()
        return np.concatenate([request.get_output_tensor(0).data for request in requests])

    return run, settled


# --------------------------------------------------------------------------- timing


@dataclass
class Result:
    variant: str
    batch: int
    threads: int
    runtime: str
    p50_ms: float
    p90_ms: float | None
    mean_ms: float | None
    images_per_second: float
    iterations: int
    warmup: int | None  # None: the Swift CLI chose
    max_abs_diff: float | None = None  # against PyTorch's logits on the same input
    max_abs_reference: float | None = None  # the largest |logit| of PyTorch, for scale
    loadavg_before: list[float] = field(default_factory=list)
    loadavg_after: list[float] = field(default_factory=list)
    details: dict = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)


def time_calls(run: Callable[[], object], warmup: int, iterations: int) -> list[float]:
    for _ in range(warmup):
        run()
    latencies = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        run()
        latencies.append((time.perf_counter_ns() - start) / 1e6)
    return latencies


def measure(variant: str, threads: int, runtime: str, run: Callable[[], object], details: dict,
            reference: np.ndarray, warmup: int, iterations: int) -> Result:
    """Compare run's output with the reference (PyTorch's logits on the same input), then time it."""
    output = np.asarray(run())
    loadavg_before = list(os.getloadavg())
    latencies = time_calls(run, warmup, iterations)
    p50 = float(np.percentile(latencies, 50))
    batch = reference.shape[0]
    return Result(
        variant=variant, batch=batch, threads=threads, runtime=runtime,
        p50_ms=p50,
        p90_ms=float(np.percentile(latencies, 90)),
        mean_ms=float(np.mean(latencies)),
        images_per_second=batch * 1000.0 / p50,
        iterations=iterations,
        warmup=warmup,
        max_abs_diff=float(np.max(np.abs(output - reference))),
        max_abs_reference=float(np.max(np.abs(reference))),
        loadavg_before=loadavg_before,
        loadavg_after=list(os.getloadavg()),
        details=details,
        latencies_ms=latencies,
    )


# --------------------------------------------------------------------------- Swift CLI


def swift_bench_supported(cli: Path) -> tuple[bool, str]:
    if not cli.is_file():
        return False, f"{cli} not built (swift build -c release)"
    try:
        done = subprocess.run([str(cli), "bench", "--help"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, f"{cli} bench --help failed: {error}"
    if done.returncode != 0:
        return False, f"{cli} has no bench command yet"
    if "--json" not in done.stdout + done.stderr:
        return False, f"{cli} bench has no --json option yet"
    return True, ""


def optional_float(value) -> float | None:
    return None if value is None else float(value)


def swift_bench(cli: Path, variant: str, batch: int, threads: int, iterations: int) -> Result:
    command = [str(cli), "bench", "--variant", variant, "--batch", str(batch),
               "--threads", str(threads), "--iterations", str(iterations), "--json"]
    environment = dict(os.environ)
    if CALLER_OMP_WAIT_POLICY is None:
        environment.pop("OMP_WAIT_POLICY", None)
    else:
        environment["OMP_WAIT_POLICY"] = CALLER_OMP_WAIT_POLICY
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=True, env=environment)
    # The JSON object is the last thing printed; anything before it is ignored.
    report = json.loads(done.stdout[done.stdout.index("{"):])
    return Result(variant, batch, threads, "swift",
                  p50_ms=float(report["latency_ms_p50"]),
                  p90_ms=optional_float(report.get("latency_ms_p90")),
                  mean_ms=optional_float(report.get("latency_ms_mean")),
                  images_per_second=float(report["images_per_second"]),
                  iterations=iterations, warmup=None, details=report)


# --------------------------------------------------------------------------- machine


def machine_info() -> dict:
    cpu, flags = platform.processor() or "unknown", set()
    try:
        text = Path("/proc/cpuinfo").read_text()
        if match := re.search(r"^model name\s*:\s*(.+)$", text, re.M):
            cpu = match.group(1).strip()
        if match := re.search(r"^flags\s*:\s*(.+)$", text, re.M):
            flags = set(match.group(1).split())
    except OSError:
        pass
    isa = [flag for flag in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")
           if flag in flags]
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "isa": isa,
        "os": platform.platform(),
        "loadavg": list(os.getloadavg()),
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
        "OMP_WAIT_POLICY_swift": CALLER_OMP_WAIT_POLICY,
    }


def library_versions() -> dict:
    onednn = re.search(r"MKL-DNN v([\d.]+)", torch.__config__.show())
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "torch_onednn": onednn.group(1) if onednn else "unknown",
        "torchvision": torchvision.__version__,
        "timm": timm.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
        "openvino": ov.__version__,
    }


# --------------------------------------------------------------------------- reporting


def ratios_to_best_peer(results: list[Result]) -> dict[int, float | None]:
    """p50 over the best fp32 peer's p50 in the same (variant, batch, threads) group."""
    best: dict[tuple, float] = {}
    for r in results:
        if r.runtime in PEERS:
            key = (r.variant, r.batch, r.threads)
            best[key] = min(best.get(key, float("inf")), r.p50_ms)
    ratios = {}
    for index, r in enumerate(results):
        reference = best.get((r.variant, r.batch, r.threads))
        ratios[index] = r.p50_ms / reference if reference else None
    return ratios


def render_table(header: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |",
                 "|" + "|".join("---" if i < 4 else "---:" for i in range(len(header))) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]
    def line(cells):
        return "  ".join(cell.ljust(w) if i < 4 else cell.rjust(w) for i, (cell, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(row) for row in rows])


def results_table(results: list[Result], markdown: bool) -> str:
    ratios = ratios_to_best_peer(results)
    header = ["variant", "batch", "threads", "runtime", "p50 ms", "p90 ms", "images/s", "ratio to best peer"]
    rows = []
    for index, r in enumerate(results):
        ratio = ratios[index]
        rows.append([r.variant, str(r.batch), str(r.threads), r.runtime, f"{r.p50_ms:.2f}",
                     f"{r.p90_ms:.2f}" if r.p90_ms is not None else "n/a", f"{r.images_per_second:.1f}",
                     f"{ratio:.2f}" if ratio is not None else "n/a"])
    return render_table(header, rows, markdown)


# --------------------------------------------------------------------------- main


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=["v2"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 32])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--iterations", type=int,
                        help="timed calls per measurement (default: 200 at batch 1, 30 otherwise)")
    parser.add_argument("--warmup", type=int, help="untimed calls first (default: 20 at batch 1, 5 otherwise)")
    parser.add_argument("--markdown", action="store_true", help="print the results as a Markdown table")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every result, latencies included, here")
    parser.add_argument("--openvino-bf16", action="store_true",
                        help="also time OpenVINO with bfloat16 inference (its default on BF16-capable CPUs)")
    parser.add_argument("--settle", type=float, default=2.0, metavar="SECONDS",
                        help="pause before each measurement, so the previous runtime's worker threads (which spin "
                             "for a while after their last job) have gone to sleep (default: 2)")
    parser.add_argument("--openvino-streams", action="store_true",
                        help="also time OpenVINO's throughput mode at batches > 1: the batch split into one "
                             "asynchronous request per thread, one single-thread stream each (\"openvino-streams\")")
    parser.add_argument("--runtimes", nargs="+", choices=(*PEERS, "swift"), default=[*PEERS, "swift"],
                        help="which runtimes to time (PyTorch always runs once, as the numerical reference)")
    parser.add_argument("--swift-cli", type=Path, default=REPO_ROOT / ".build" / "release" / "mobilenet")
    return parser.parse_args()


def main() -> int:
    args = parse_arguments()
    machine, versions = machine_info(), library_versions()
    print(f"machine: {machine['cpu']}, {machine['logical_cores']} logical cores "
          f"({machine['usable_cores']} usable), ISA {' '.join(machine['isa']) or 'unknown'}")
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in machine['loadavg'])}")
    print("versions: " + ", ".join(f"{name} {version}" for name, version in versions.items()))
    print(f"OMP_WAIT_POLICY={machine['OMP_WAIT_POLICY']} here, {machine['OMP_WAIT_POLICY_swift'] or 'unset'} for the Swift CLI")

    swift_ok = False
    if "swift" in args.runtimes:
        swift_ok, why = swift_bench_supported(args.swift_cli)
        if not swift_ok:
            print(f"swift: skipped, {why}")

    torch.set_num_interop_threads(1)
    ort.set_default_logger_severity(3)
    core = ov.Core()
    ov_precisions = [("openvino", "f32")] if "openvino" in args.runtimes else []
    if args.openvino_bf16:
        if "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
            ov_precisions.append(("openvino-bf16", "bf16"))
        else:
            print("openvino-bf16: skipped, this CPU has no bfloat16 support")

    runtimes = [name for name in ("pytorch", "onnxruntime") if name in args.runtimes] + [name for name, _ in ov_precisions]
    if args.openvino_streams:
        runtimes.append("openvino-streams")
    precision_of = dict(ov_precisions)
    results: list[Result] = []
    mismatches: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="mobilenet-peers-") as folder:
        for variant in args.variants:
            model, weights = build_model(variant)
            onnx_path = Path(folder) / f"{variant}.onnx"
            export_onnx(model, onnx_path)
            print(f"\n{variant}: weights {weights}; ONNX opset 17 exported")
            for batch in args.batches:
                iterations = args.iterations or (200 if batch == 1 else 30)
                warmup = args.warmup if args.warmup is not None else (20 if batch == 1 else 5)
                x = np.random.default_rng(batch).standard_normal((batch, 3, RESOLUTION, RESOLUTION), dtype=np.float32)
                with torch.inference_mode():
                    reference = model(torch.from_numpy(x)).numpy().copy()
                for threads in args.threads:
                    for name in runtimes:
                        if name == "openvino-streams" and (threads < 2 or batch % threads != 0):
                            continue
                        # One runtime at a time: its session (and thread pool) is gone before the next is built.
                        if name == "openvino-streams":
                            run, details = openvino_streams_runner(core, onnx_path, x, threads)
                        elif name == "pytorch":
                            run, details = pytorch_runner(model, x, threads), {}
                        elif name == "onnxruntime":
                            run, details = onnxruntime_runner(onnx_path, x, threads), {}
                        else:
                            run, details = openvino_runner(core, onnx_path, x, threads, precision_of[name])
                        time.sleep(args.settle)
                        result = measure(variant, threads, name, run, details, reference, warmup, iterations)
                        results.append(result)
                        if "bf16" in name:
                            verdict = "bf16, reference only"
                        elif result.max_abs_diff <= TOLERANCE:
                            verdict = "ok"
                        else:
                            verdict = "MISMATCH"
                            mismatches.append(result)
                        print(f"  batch {batch:>2}  threads {threads}  {name:<13} p50 {result.p50_ms:8.2f} ms"
                              f"  p90 {result.p90_ms:8.2f} ms  {result.images_per_second:8.1f} img/s"
                              f"  max|diff| {result.max_abs_diff:.1e} of max|logit| {result.max_abs_reference:.2g}"
                              f" ({verdict})")
                        del run
                        gc.collect()
                    if swift_ok:
                        time.sleep(args.settle)
                        result = swift_bench(args.swift_cli, variant, batch, threads, iterations)
                        results.append(result)
                        print(f"  batch {batch:>2}  threads {threads}  {'swift':<13} p50 {result.p50_ms:8.2f} ms"
                              f"  {result.images_per_second:8.1f} img/s")
            del model
            gc.collect()

    end_load = list(os.getloadavg())
    print(f"\nload average at end: {' '.join(f'{v:.2f}' for v in end_load)}\n")
    print(results_table(results, args.markdown))
    if args.json:
        ratios = ratios_to_best_peer(results)
        payload = {
            "machine": machine,
            "versions": versions,
            "loadavg_end": end_load,
            "results": [{**asdict(r), "ratio_to_best_peer": ratios[i]} for i, r in enumerate(results)],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    if mismatches:
        print(f"\nerror: {len(mismatches)} runtime(s) differ from PyTorch by more than {TOLERANCE}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
