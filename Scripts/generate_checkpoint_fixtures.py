"""Generate the checkpoint fixtures for the MobileNetIO Swift tests.

Run from the repository root with a Python that has torch and safetensors
installed (not needed by CI; the fixtures are committed):

    python Scripts/generate_checkpoint_fixtures.py    # the fixture virtualenv's python

Every file goes to Tests/MobileNetIOTests/Fixtures/checkpoints/ and is a few KB.
The values are simple formulas, repeated next to the assertions in
Tests/MobileNetIOTests/CheckpointReadingTests.swift:

``tiny.pth`` (torch.save, zip layout) and ``tiny_legacy.pth`` (the layout
before PyTorch 1.6, ``_use_new_zipfile_serialization=False``), an OrderedDict of

    conv.weight            float32 [2, 3]     arange(6) * 0.5 - 1
    half                   float16 [4]        1.5, -2.25, 65504, 2**-24 (a subnormal)
    bfloat                 bfloat16 [3]       1, -3.5, 0.15625
    double                 float64 [2]        0.25, 3
    counts                 int32 [2]          -5, 123456
    bn.num_batches_tracked int64 []           7
    transposed             float32 [3, 2]     arange(6).reshape(2, 3).t(), strides (1, 3)
    permuted               float32 [4, 2, 3]  arange(24).reshape(2, 3, 4).permute(2, 0, 1)
    window                 float32 [4]        arange(10)[2:6], storage offset 2
    window_tail            float32 [3]        the same storage, [7:10]
    scale                  float32 [2]        nn.Parameter([2, -2])

``nested_state_dict.pth``: {"epoch": 3, "state_dict": {"fc.weight": [[1, 2]]},
"optimizer": {"lr": 0.1, "betas": (0.9, 0.999)}}.
``nested_model.pth``: {"model": {"fc.bias": [0.5]}, "model_ema": {"fc.bias": [9]}}.

``tiny.safetensors`` (written by the safetensors package):
F32 ``a`` [2, 2] = 1, 2, 3, 4; F16 ``h`` [2] = 0.5, -1; BF16 ``b`` [1] = 2.5;
I64 ``n`` [] = 42; metadata {"format": "pt"}.

Hostile files, built by hand so that nothing is ever unpickled here:

``malicious_os_system.pth``: a zip whose data.pkl is GLOBAL 'os system',
('echo pwned',), REDUCE: what torch.load without weights_only would run.
``malicious_builtins_eval.pth``: the same with STACK_GLOBAL 'builtins' 'eval'.
``huge_shape.pth``: a tensor of size (2**40,) on a 4-element float storage.
``short_storage.pth``: a tensor of size (4,) at offset 3 on a 4-element storage.
"""

import collections
import os
import struct
import zipfile

import torch
from safetensors.torch import save_file

OUT = os.path.join("Tests", "MobileNetIOTests", "Fixtures", "checkpoints")


def tiny_state():
    state = collections.OrderedDict()
    state["conv.weight"] = torch.arange(6, dtype=torch.float32).reshape(2, 3) * 0.5 - 1
    state["half"] = torch.tensor([1.5, -2.25, 65504.0, 2.0**-24], dtype=torch.float16)
    state["bfloat"] = torch.tensor([1.0, -3.5, 0.15625], dtype=torch.bfloat16)
    state["double"] = torch.tensor([0.25, 3.0], dtype=torch.float64)
    state["counts"] = torch.tensor([-5, 123456], dtype=torch.int32)
    state["bn.num_batches_tracked"] = torch.tensor(7, dtype=torch.int64)
    state["transposed"] = torch.arange(6, dtype=torch.float32).reshape(2, 3).t()
    state["permuted"] = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4).permute(2, 0, 1)
    whole = torch.arange(10, dtype=torch.float32)
    state["window"] = whole[2:6]
    state["window_tail"] = whole[7:10]
    state["scale"] = torch.nn.Parameter(torch.tensor([2.0, -2.0]))
    assert not state["transposed"].is_contiguous()
    assert not state["permuted"].is_contiguous()
    assert state["window"].storage_offset() == 2
    return state


def pickle_program(*parts):
    """Concatenates opcodes and their arguments, all given as bytes."""
    return b"".join(parts)


def binunicode(text):
    data = text.encode("utf-8")
    return b"X" + struct.pack("<I", len(data)) + data


def short_binunicode(text):
    data = text.encode("utf-8")
    return b"\x8c" + bytes([len(data)]) + data


def write_archive(name, pickle_bytes, storages=()):
    """A .pth zip as torch.save lays it out, around a pickle built by hand."""
    with zipfile.ZipFile(os.path.join(OUT, name), "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", pickle_bytes)
        archive.writestr("archive/byteorder", "little")
        for key, data in storages:
            archive.writestr(f"archive/data/{key}", data)
        archive.writestr("archive/version", "3\n")


def forged_tensor_pickle(offset, size):
    """OrderedDict(x=_rebuild_tensor_v2(storage '0' of 4 floats, offset, (size,), (1,), False, OrderedDict()))."""
    def long1(value):
        data = value.to_bytes(8, "little", signed=True)
        return b"\x8a\x08" + data

    return pickle_program(
        b"\x80\x02",
        b"ccollections\nOrderedDict\n", b"q\x00", b")", b"R",
        b"(",
        binunicode("x"),
        b"ctorch._utils\n_rebuild_tensor_v2\n",
        b"(",
        b"(", binunicode("storage"), b"ctorch\nFloatStorage\n", binunicode("0"), binunicode("cpu"), b"K\x04", b"t",
        b"Q",
        long1(offset), b"(", long1(size), b"t", b"(", b"K\x01", b"t",
        b"\x89", b"h\x00", b")", b"R",
        b"t", b"R",
        b"u",
        b".",
    )


def main():
    os.makedirs(OUT, exist_ok=True)
    state = tiny_state()
    torch.save(state, os.path.join(OUT, "tiny.pth"))
    torch.save(state, os.path.join(OUT, "tiny_legacy.pth"), _use_new_zipfile_serialization=False)

    torch.save(
        {
            "epoch": 3,
            "state_dict": collections.OrderedDict(
                [("fc.weight", torch.tensor([[1.0, 2.0]]))]
            ),
            "optimizer": {"lr": 0.1, "betas": (0.9, 0.999)},
        },
        os.path.join(OUT, "nested_state_dict.pth"),
    )
    torch.save(
        {"model": {"fc.bias": torch.tensor([0.5])}, "model_ema": {"fc.bias": torch.tensor([9.0])}},
        os.path.join(OUT, "nested_model.pth"),
    )

    save_file(
        {
            "a": torch.tensor([[1.0, 2.0], [3.0, 4.0]]),
            "h": torch.tensor([0.5, -1.0], dtype=torch.float16),
            "b": torch.tensor([2.5], dtype=torch.bfloat16),
            "n": torch.tensor(42, dtype=torch.int64),
        },
        os.path.join(OUT, "tiny.safetensors"),
        metadata={"format": "pt"},
    )

    # GLOBAL os.system, ("echo pwned",), REDUCE: the classic pickle exploit.
    write_archive(
        "malicious_os_system.pth",
        pickle_program(b"\x80\x02", b"cos\nsystem\n", binunicode("echo pwned"), b"\x85", b"R", b"."),
    )
    # The protocol 4 spelling: module and name pushed as strings, then STACK_GLOBAL.
    write_archive(
        "malicious_builtins_eval.pth",
        pickle_program(
            b"\x80\x04", short_binunicode("builtins"), short_binunicode("eval"), b"\x93",
            short_binunicode("__import__('os').system('id')"), b"\x85", b"R", b".",
        ),
    )
    four_floats = struct.pack("<4f", 1.0, 2.0, 3.0, 4.0)
    write_archive("huge_shape.pth", forged_tensor_pickle(0, 2**40), [("0", four_floats)])
    write_archive("short_storage.pth", forged_tensor_pickle(3, 4), [("0", four_floats)])

    # The forged files must still be readable zips with the pickle torch expects to find.
    for name in ("huge_shape.pth", "short_storage.pth"):
        with zipfile.ZipFile(os.path.join(OUT, name)) as archive:
            assert archive.read("archive/data.pkl").endswith(b".")

    for name in sorted(os.listdir(OUT)):
        print(f"{name}: {os.path.getsize(os.path.join(OUT, name))} bytes")


if __name__ == "__main__":
    main()
