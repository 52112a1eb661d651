"""Generate the image fixtures for the MobileNetIO and MobileNetData Swift tests.

Run from the repository root with the fixture virtualenv (Pillow, numpy, torch,
torchvision; not needed by CI, the fixtures are committed):

    python Scripts/generate_image_fixtures.py    # the fixture virtualenv's python

Pillow is the reference for decoding and torchvision (on PIL images) for the
transforms, because that is what ``torchvision.datasets.ImageFolder`` and the
ImageNet evaluation recipe do: ``Image.open(f).convert("RGB")``, then
``Resize(256)``, ``CenterCrop(224)``, ``ToTensor()``, ``Normalize(mean, std)``.

Every picture is synthetic (numpy, seeded), small, and written twice: the
encoded file the Swift decoder reads, and the bytes Pillow decodes from it.

``Tests/MobileNetIOTests/Fixtures/images/``
    ``<name>.jpg`` / ``<name>.png`` and ``<name>.rgb``: the raw interleaved
    8-bit RGB bytes of ``Image.open(f).convert("RGB")`` (row-major, no header),
    plus ``manifest.json`` naming each file with its size and the SHA-256 of the
    expected bytes.  JPEGs cover baseline 4:2:0 / 4:2:2 / 4:4:4, progressive,
    grayscale, odd sizes, CMYK (Pillow writes Adobe-inverted CMYK), YCCK (written
    through the system's libturbojpeg with ctypes, as Pillow cannot) and EXIF
    orientations 2..8 (expected = ``ImageOps.exif_transpose`` first), one with
    a big-endian TIFF header.  PNGs written by Pillow cover 1/8-bit gray,
    gray+alpha, RGB, RGBA, palette + tRNS and 16-bit gray; a small PNG writer
    below adds what Pillow cannot write: 16-bit RGB/RGBA/gray+alpha, 2/4-bit
    gray, 4-bit palette, gray + tRNS and Adam7 interlacing.

    16-bit grayscale is the one documented difference: Pillow opens it as mode
    ``I;16`` and ``convert("RGB")`` clips each sample at 255, so almost every
    pixel turns white.  The Swift decoder keeps the high byte, as Pillow does
    for every other 16-bit PNG; ``<name>.highbyte.rgb`` holds that expectation
    and the manifest records both.

``Tests/MobileNetDataTests/Fixtures/transforms/``
    ``manifest.json`` lists the cases; sources are raw ``.rgb`` (or ``.jpg`` for
    the end-to-end evaluation cases), expected results are raw ``.rgb`` or, for
    the 224x224 crops, a PNG of the exact bytes (to keep each file small), and
    ``.f32`` files hold little-endian float32 tensors in HWC order.

    * ``resize``: ``PIL.Image.resize((w, h), Image.BILINEAR)`` (antialiased)
      at non-integer down- and up-scales, one axis only, 1-pixel-wide images,
      and both pass orders (Pillow 13 runs the vertical pass first when the
      height shrinks by more than twice as many pixels as the width).
    * ``resize_shorter_side``: ``torchvision.transforms.Resize(n)``.
    * ``resize_sweep``: 160 random sizes (inputs up to 64x64, outputs up to
      96x96, or ``Resize(n)``) on noise the Swift test regenerates itself, so
      only a hash of each Pillow result is stored: the input bytes are
      ``splitmix64(seed) >> 56`` one per byte (the SplitMix64 of
      ``generate_model_fixtures.py``), the hash is FNV-1a 64 of the output.
    * ``center_crop``: ``torchvision.transforms.CenterCrop((h, w))``, including
      half-pixel offsets (Python rounds half to even) and crops larger than the
      image (torchvision pads with zeros).
    * ``evaluation``: ``Resize(256)`` + ``CenterCrop(224)`` on decoded JPEGs.
    * ``tensor``: ``ToTensor()`` + ``Normalize(ImageNet mean, std)``.

Running the script twice produces byte-identical files.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import io
import json
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import PIL
import torch
import torchvision
from PIL import Image, ImageOps
from torchvision import transforms as T

ROOT = Path(__file__).resolve().parent.parent
IO_DIR = ROOT / "Tests/MobileNetIOTests/Fixtures/images"
DATA_DIR = ROOT / "Tests/MobileNetDataTests/Fixtures/transforms"
GENERATOR = "Scripts/generate_image_fixtures.py"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# convert("RGB") of a palette picture with tRNS drops the alpha, which is what the fixture wants.
warnings.filterwarnings("ignore", message="Palette images with Transparency")


# ---------------------------------------------------------------------------
# Synthetic pictures


def photo(width: int, height: int, seed: int, noise: float = 3.0) -> np.ndarray:
    """A smooth, photo-like RGB picture with a few sharp-edged discs."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = x / max(width, 1), y / max(height, 1)
    red = 120 + 80 * np.sin(2 * np.pi * (1.3 * u + 0.4 * v)) + 40 * v
    green = 100 + 70 * np.cos(2 * np.pi * (0.7 * u - 1.1 * v)) + 30 * u
    blue = 140 + 60 * np.sin(2 * np.pi * (2.1 * u * v + 0.3))
    picture = np.stack([red, green, blue], axis=-1)
    for _ in range(6):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        radius = rng.uniform(0.05, 0.3) * min(width, height)
        color = rng.uniform(0, 255, 3)
        mask = (x - cx) ** 2 + (y - cy) ** 2 < radius**2
        picture[mask] = 0.3 * picture[mask] + 0.7 * color
    picture += rng.normal(0, noise, picture.shape)
    return np.clip(np.rint(picture), 0, 255).astype(np.uint8)


def noise(shape: tuple[int, ...], seed: int, high: int = 256, dtype=np.uint8) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, high, shape, dtype=np.int64).astype(dtype)


# ---------------------------------------------------------------------------
# A minimal PNG writer for the formats Pillow cannot save


def png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def pack_row(samples: np.ndarray, bit_depth: int) -> bytes:
    """One scanline of samples (already interleaved), packed MSB first."""
    flat = samples.reshape(-1).astype(np.int64)
    if bit_depth == 16:
        return flat.astype(">u2").tobytes()
    if bit_depth == 8:
        return flat.astype(np.uint8).tobytes()
    per_byte = 8 // bit_depth
    padded = np.zeros(-(-len(flat) // per_byte) * per_byte, dtype=np.int64)
    padded[: len(flat)] = flat
    groups = padded.reshape(-1, per_byte)
    shifts = np.arange(per_byte - 1, -1, -1) * bit_depth
    return (groups << shifts).sum(axis=1).astype(np.uint8).tobytes()


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def encode_png(
    samples: np.ndarray,
    bit_depth: int,
    color_type: int,
    palette: np.ndarray | None = None,
    transparency: bytes | None = None,
    interlaced: bool = False,
) -> bytes:
    """Encodes ``samples`` (height x width x channels) with filter type 0 on every row."""
    height, width = samples.shape[:2]
    samples = samples.reshape(height, width, -1)
    raw = bytearray()
    passes = ADAM7 if interlaced else [(0, 0, 1, 1)]
    for x0, y0, dx, dy in passes:
        sub = samples[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        for row in sub:
            raw += b"\x00" + pack_row(row, bit_depth)
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 1 if interlaced else 0)
    chunks = png_chunk(b"IHDR", header)
    if palette is not None:
        chunks += png_chunk(b"PLTE", palette.astype(np.uint8).tobytes())
    if transparency is not None:
        chunks += png_chunk(b"tRNS", transparency)
    chunks += png_chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


MASK64 = (1 << 64) - 1


def splitmix_bytes(seed: int, count: int) -> bytes:
    """``count`` bytes, each the top byte of the next SplitMix64 output."""
    state, out = seed & MASK64, bytearray(count)
    for index in range(count):
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        out[index] = (z ^ (z >> 31)) >> 56
    return bytes(out)


def fnv1a64(data: bytes) -> str:
    value = 0xCBF29CE484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001B3) & MASK64
    return f"{value:016x}"


def encode_ycck(cmyk: np.ndarray) -> bytes:
    """A YCCK JPEG of ``cmyk`` (TurboJPEG turns CMYK pixels into YCCK), 4:4:4, quality 95."""
    library = ctypes.util.find_library("turbojpeg") or "libturbojpeg.so.0"
    turbo = ctypes.CDLL(library)  # libturbojpeg0-dev, which the Swift package builds against
    turbo.tjInitCompress.restype = ctypes.c_void_p
    handle = ctypes.c_void_p(turbo.tjInitCompress())
    height, width = cmyk.shape[:2]
    pixels = np.ascontiguousarray(cmyk, dtype=np.uint8)
    jpeg, size = ctypes.POINTER(ctypes.c_ubyte)(), ctypes.c_ulong(0)
    tjpf_cmyk, tjsamp_444 = 11, 0
    status = turbo.tjCompress2(handle, pixels.ctypes.data_as(ctypes.POINTER(ctypes.c_ubyte)), width, 0, height,
                               tjpf_cmyk, ctypes.byref(jpeg), ctypes.byref(size), tjsamp_444, 95, 0)
    assert status == 0, "tjCompress2 failed"
    data = ctypes.string_at(jpeg, size.value)
    turbo.tjFree(jpeg)
    turbo.tjDestroy(handle)
    return data


# ---------------------------------------------------------------------------
# Writing helpers


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pillow_rgb(encoded: bytes, transpose: bool = False) -> Image.Image:
    image = Image.open(io.BytesIO(encoded))
    if transpose:
        image = ImageOps.exif_transpose(image)
    return image.convert("RGB")


def encode_with_pillow(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()


def tiff_orientation(orientation: int, big_endian: bool) -> bytes:
    """A TIFF header and IFD0 with a Make tag (stored at an offset) before the orientation tag."""
    e = ">" if big_endian else "<"
    make = b"Swift MobileNet\x00"
    entries = 2
    ifd_size = 2 + entries * 12 + 4
    make_offset = 8 + ifd_size
    tiff = (b"MM" if big_endian else b"II") + struct.pack(e + "HI", 42, 8)
    tiff += struct.pack(e + "H", entries)
    tiff += struct.pack(e + "HHII", 0x010F, 2, len(make), make_offset)
    tiff += struct.pack(e + "HHI", 0x0112, 3, 1) + struct.pack(e + "HH", orientation, 0)
    tiff += struct.pack(e + "I", 0) + make
    return tiff


class Manifest:
    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.iterdir():
            old.unlink()
        self.entries: dict[str, list] = {}

    def write(self, name: str, data: bytes) -> str:
        assert len(data) <= 100_000, f"{name} is {len(data)} bytes; fixtures stay under 100 KB"
        (self.directory / name).write_bytes(data)
        return name

    def add(self, section: str, entry: dict) -> None:
        self.entries.setdefault(section, []).append(entry)

    def finish(self) -> None:
        document = {
            "generator": GENERATOR,
            "pillow": PIL.__version__,
            "torchvision": torchvision.__version__,
            **self.entries,
        }
        text = json.dumps(document, indent=1, sort_keys=True) + "\n"
        (self.directory / "manifest.json").write_text(text)


# ---------------------------------------------------------------------------
# Decoding fixtures (MobileNetIO)


def add_decoded(manifest: Manifest, name: str, encoded: bytes, format: str, note: str, transpose: bool = False):
    file = manifest.write(f"{name}.{format}", encoded)
    image = pillow_rgb(encoded, transpose)
    expected = image.tobytes()
    manifest.write(f"{name}.rgb", expected)
    manifest.add(
        "images",
        {
            "file": file,
            "expected": f"{name}.rgb",
            "width": image.width,
            "height": image.height,
            "sha256": sha256(expected),
            "note": note,
        },
    )
    return image


def generate_decoding_fixtures() -> None:
    manifest = Manifest(IO_DIR)
    base = Image.fromarray(photo(64, 48, seed=1))
    odd = Image.fromarray(photo(37, 23, seed=2))

    # JPEG: the chroma subsamplings Pillow can write, progressive, gray, odd sizes and CMYK.
    for subsampling, label in [(2, "420"), (1, "422"), (0, "444")]:
        encoded = encode_with_pillow(base, "JPEG", quality=90, subsampling=subsampling)
        add_decoded(manifest, f"jpeg_baseline_{label}", encoded, "jpg", f"baseline, 4:{label[1]}:{label[2]}")
    add_decoded(manifest, "jpeg_odd_420", encode_with_pillow(odd, "JPEG", quality=85, subsampling=2), "jpg", "37x23, 4:2:0")
    progressive = encode_with_pillow(base, "JPEG", quality=90, progressive=True)
    add_decoded(manifest, "jpeg_progressive", progressive, "jpg", "progressive, 4:2:0")
    add_decoded(manifest, "jpeg_gray", encode_with_pillow(base.convert("L"), "JPEG", quality=90), "jpg", "grayscale")
    cmyk = Image.fromarray(noise((24, 32, 4), seed=3), "CMYK")
    add_decoded(manifest, "jpeg_cmyk", encode_with_pillow(cmyk, "JPEG", quality=95), "jpg", "Adobe CMYK (inverted)")
    ycck = encode_ycck(noise((24, 32, 4), seed=18))
    assert Image.open(io.BytesIO(ycck)).info.get("adobe_transform") == 2, "expected an Adobe YCCK JPEG"
    add_decoded(manifest, "jpeg_ycck", ycck, "jpg", "Adobe YCCK")

    # EXIF orientations: an asymmetric 40x24 picture so every transposition is distinguishable.
    oriented = Image.fromarray(photo(40, 24, seed=4))
    for orientation in range(2, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        encoded = encode_with_pillow(oriented, "JPEG", quality=90, exif=exif.tobytes())
        add_decoded(manifest, f"jpeg_exif_{orientation}", encoded, "jpg", f"EXIF orientation {orientation}, II", True)
    exif = b"Exif\x00\x00" + tiff_orientation(8, big_endian=True)
    encoded = encode_with_pillow(oriented, "JPEG", quality=90, exif=exif)
    add_decoded(manifest, "jpeg_exif_8_big_endian", encoded, "jpg", "EXIF orientation 8, MM, Make tag first", True)
    exif = Image.Exif()
    exif[0x0112] = 6
    encoded = encode_with_pillow(oriented, "PNG", exif=exif.tobytes())
    add_decoded(manifest, "png_exif_6", encoded, "png", "PNG eXIf orientation 6", True)

    # PNG written by Pillow.
    rgb = photo(23, 17, seed=5, noise=20)
    alpha = noise((17, 23), seed=6)
    gray = rgb[..., 1]
    add_decoded(manifest, "png_gray8", encode_with_pillow(Image.fromarray(gray, "L"), "PNG"), "png", "gray 8")
    add_decoded(manifest, "png_gray1", encode_with_pillow(Image.fromarray(gray > 128), "PNG"), "png", "gray 1-bit")
    la = np.stack([gray, alpha], -1)
    add_decoded(manifest, "png_gray_alpha8", encode_with_pillow(Image.fromarray(la, "LA"), "PNG"), "png", "gray+alpha 8")
    add_decoded(manifest, "png_rgb8", encode_with_pillow(Image.fromarray(rgb), "PNG"), "png", "RGB 8")
    rgba = np.concatenate([rgb, alpha[..., None]], -1)
    add_decoded(manifest, "png_rgba8", encode_with_pillow(Image.fromarray(rgba, "RGBA"), "PNG"), "png", "RGBA 8")
    palette_image = Image.fromarray(rgb).quantize(colors=37, method=Image.Quantize.MEDIANCUT)
    transparency = bytes(noise((37,), seed=7))
    encoded = encode_with_pillow(palette_image, "PNG", transparency=transparency)
    add_decoded(manifest, "png_palette_trns", encoded, "png", "palette 8 + tRNS")

    # 16-bit gray: Pillow clips; the Swift decoder keeps the high byte (see the module docstring).
    gray16 = noise((17, 23), seed=8, high=65536, dtype=np.uint16)
    gray16[0, :6] = [0, 255, 256, 0x1234, 0x80FF, 0xFFFF]
    encoded = encode_with_pillow(Image.fromarray(gray16), "PNG")
    add_decoded(manifest, "png_gray16", encoded, "png", "gray 16: Pillow clips at 255, we keep the high byte")
    high = (gray16 >> 8).astype(np.uint8)
    manifest.write("png_gray16.highbyte.rgb", np.repeat(high[..., None], 3, -1).tobytes())

    # PNG written by hand.
    rgb16 = noise((17, 23, 3), seed=9, high=65536, dtype=np.uint16)
    add_decoded(manifest, "png_rgb16", encode_png(rgb16, 16, 2), "png", "RGB 16")
    rgba16 = noise((17, 23, 4), seed=10, high=65536, dtype=np.uint16)
    add_decoded(manifest, "png_rgba16", encode_png(rgba16, 16, 6), "png", "RGBA 16")
    la16 = noise((17, 23, 2), seed=11, high=65536, dtype=np.uint16)
    add_decoded(manifest, "png_gray_alpha16", encode_png(la16, 16, 4), "png", "gray+alpha 16")
    for depth in (2, 4):
        samples = noise((17, 23), seed=12 + depth, high=1 << depth)
        add_decoded(manifest, f"png_gray{depth}", encode_png(samples, depth, 0), "png", f"gray {depth}-bit")
    palette = noise((16, 3), seed=15)
    indices = noise((17, 23), seed=16, high=16)
    encoded = encode_png(indices, 4, 3, palette=palette, transparency=bytes(noise((9,), seed=17)))
    add_decoded(manifest, "png_palette4_trns", encoded, "png", "palette 4-bit + short tRNS")
    encoded = encode_png(gray, 8, 0, transparency=struct.pack(">H", int(gray[0, 0])))
    add_decoded(manifest, "png_gray_trns", encoded, "png", "gray 8 + tRNS")
    add_decoded(manifest, "png_rgb8_interlaced", encode_png(rgb, 8, 2, interlaced=True), "png", "RGB 8, Adam7")
    add_decoded(manifest, "png_rgb16_interlaced", encode_png(rgb16, 16, 2, interlaced=True), "png", "RGB 16, Adam7")
    manifest.finish()


# ---------------------------------------------------------------------------
# Transform fixtures (MobileNetData)


def raw_source(manifest: Manifest, name: str, array: np.ndarray) -> Image.Image:
    manifest.write(f"{name}.rgb", array.tobytes())
    return Image.fromarray(array)


def expected_rgb(manifest: Manifest, name: str, image: Image.Image) -> dict:
    data = image.convert("RGB").tobytes()
    if len(data) > 60_000:
        # Large results travel as a lossless PNG of the exact bytes.
        file = manifest.write(f"{name}.png", encode_with_pillow(image, "PNG", optimize=True))
    else:
        file = manifest.write(f"{name}.rgb", data)
    return {"expected": file, "width": image.width, "height": image.height, "sha256": sha256(data)}


def tensor_hwc_f32(tensor: torch.Tensor) -> bytes:
    return tensor.permute(1, 2, 0).contiguous().numpy().astype("<f4").tobytes()


def generate_transform_fixtures() -> None:
    manifest = Manifest(DATA_DIR)

    # Heavy noise over a photo: every fixed-point rounding shows up.
    source = raw_source(manifest, "source_97x61", photo(97, 61, seed=20, noise=40))
    tall = raw_source(manifest, "source_1x50", noise((50, 1, 3), seed=21))
    wide = raw_source(manifest, "source_50x1", noise((1, 50, 3), seed=22))
    dot = raw_source(manifest, "source_1x1", noise((1, 1, 3), seed=23))
    square = raw_source(manifest, "source_33x33", photo(33, 33, seed=24, noise=25))
    # Taller than twice its width: a uniform shrink runs the vertical pass first.
    narrow = raw_source(manifest, "source_19x70", photo(19, 70, seed=26, noise=25))
    sources = {"source_97x61": source, "source_1x50": tall, "source_50x1": wide, "source_1x1": dot,
               "source_33x33": square, "source_19x70": narrow}
    resize_cases = [
        ("source_97x61", 40, 29, "downscale by 2.43 x 2.10"),
        ("source_97x61", 200, 150, "upscale"),
        ("source_97x61", 50, 100, "down horizontally, up vertically"),
        ("source_97x61", 97, 30, "vertical pass only"),
        ("source_97x61", 31, 61, "horizontal pass only"),
        ("source_97x61", 3, 2, "extreme downscale"),
        ("source_97x61", 97, 61, "same size: a copy"),
        ("source_97x61", 120, 20, "wider and much shorter: Pillow 13 runs the vertical pass first"),
        ("source_97x61", 87, 40, "height shrinks 21 > 2 x 10: vertical pass first"),
        ("source_97x61", 87, 41, "height shrinks 20 = 2 x 10: horizontal pass first"),
        ("source_1x50", 1, 17, "1 pixel wide"),
        ("source_1x50", 4, 80, "1 pixel wide, upscaled"),
        ("source_50x1", 7, 1, "1 pixel tall"),
        ("source_1x1", 5, 3, "single pixel"),
        ("source_33x33", 120, 90, "upscale to a non-square size"),
    ]
    for name, width, height, note in resize_cases:
        image = sources[name]
        result = image.resize((width, height), Image.BILINEAR)
        entry = {"source": f"{name}.rgb", "source_width": image.width, "source_height": image.height, "note": note}
        manifest.add("resize", {**entry, **expected_rgb(manifest, f"resize_{name}_to_{width}x{height}", result)})

    for name, size in [("source_97x61", 45), ("source_33x33", 64), ("source_33x33", 20), ("source_1x50", 3),
                       ("source_19x70", 11)]:
        image = sources[name]
        result = T.Resize(size)(image)
        entry = {"source": f"{name}.rgb", "source_width": image.width, "source_height": image.height, "size": size}
        manifest.add("resize_shorter_side", {**entry, **expected_rgb(manifest, f"shorter_{name}_to_{size}", result)})

    rng = np.random.default_rng(77)
    for index in range(160):
        width, height = int(rng.integers(1, 65)), int(rng.integers(1, 65))
        seed = 1000 + index
        image = Image.frombytes("RGB", (width, height), splitmix_bytes(seed, width * height * 3))
        if index % 4 == 3:
            shorter = int(rng.integers(1, 65))
            result, shorter_side = T.Resize(shorter)(image), shorter
        else:
            size = (int(rng.integers(1, 97)), int(rng.integers(1, 97)))
            result, shorter_side = image.resize(size, Image.BILINEAR), None
        manifest.add("resize_sweep", {"seed": seed, "source_width": width, "source_height": height,
                                      "shorter_side": shorter_side, "width": result.width,
                                      "height": result.height, "fnv1a64": fnv1a64(result.tobytes())})

    crop_source = raw_source(manifest, "source_12x11", noise((11, 12, 3), seed=25))
    crop_cases = [(4, 5, "half-pixel offsets round to even (2.5 -> 2, 3.5 -> 4)"), (11, 12, "whole image"),
                  (6, 7, "odd margins"), (15, 16, "larger than the image: zero padding"),
                  (8, 20, "wider than the image, shorter"), (1, 1, "one pixel")]
    for height, width, note in crop_cases:
        result = T.CenterCrop((height, width))(crop_source)
        entry = {"source": "source_12x11.rgb", "source_width": 12, "source_height": 11, "note": note}
        manifest.add("center_crop", {**entry, **expected_rgb(manifest, f"crop_12x11_to_{width}x{height}", result)})

    # End to end from JPEG bytes: the torchvision ImageNet evaluation transform.
    evaluation = T.Compose([T.Resize(256), T.CenterCrop(224)])
    for name, width, height, seed in [("photo_landscape", 320, 240, 30), ("photo_portrait", 180, 270, 31)]:
        encoded = encode_with_pillow(Image.fromarray(photo(width, height, seed)), "JPEG", quality=90)
        file = manifest.write(f"{name}.jpg", encoded)
        result = evaluation(pillow_rgb(encoded))
        entry = {"source": file, "resize": 256, "crop": 224}
        manifest.add("evaluation", {**entry, **expected_rgb(manifest, f"evaluation_{name}", result)})

    # Tensors: ToTensor + Normalize, on raw pixels and after a small evaluation pipeline.
    normalize = T.Compose([T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
    small = raw_source(manifest, "source_7x5", noise((5, 7, 3), seed=32))
    small.putpixel((0, 0), (0, 128, 255))
    manifest.write("source_7x5.rgb", small.tobytes())
    manifest.write("tensor_7x5.f32", tensor_hwc_f32(normalize(small)))
    manifest.add("tensor", {"source": "source_7x5.rgb", "width": 7, "height": 5, "resize": None, "crop": None,
                            "expected": "tensor_7x5.f32"})
    encoded = encode_with_pillow(Image.fromarray(photo(48, 40, seed=33)), "JPEG", quality=90)
    manifest.write("photo_small.jpg", encoded)
    pipeline = T.Compose([T.Resize(32), T.CenterCrop(28), normalize])
    manifest.write("tensor_photo_small.f32", tensor_hwc_f32(pipeline(pillow_rgb(encoded))))
    manifest.add("tensor", {"source": "photo_small.jpg", "width": 28, "height": 28, "resize": 32, "crop": 28,
                            "expected": "tensor_photo_small.f32"})
    manifest.finish()


if __name__ == "__main__":
    # The resize fixtures pin Pillow 13's pass order; other versions may round a few pixels apart.
    if not PIL.__version__.startswith("13."):
        print(f"warning: the fixtures were made with Pillow 13, this is Pillow {PIL.__version__}")
    generate_decoding_fixtures()
    generate_transform_fixtures()
    for directory in (IO_DIR, DATA_DIR):
        files = sorted(directory.iterdir())
        total = sum(file.stat().st_size for file in files)
        largest = max(files, key=lambda file: file.stat().st_size)
        print(f"{directory.relative_to(ROOT)}: {len(files)} files, {total} bytes, largest {largest.name} "
              f"({largest.stat().st_size} bytes)")
