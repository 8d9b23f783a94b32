"""Real images made with Pillow for the tests: every kind a user has, and some hostile ones."""

from __future__ import annotations

import io
import struct
from typing import Any

from PIL import Image

RED, GREEN, BLUE, YELLOW = (230, 30, 30), (30, 200, 30), (30, 30, 230), (230, 230, 30)


def encode(image: Image.Image, format: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **params)
    return buffer.getvalue()


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def solid(size: tuple[int, int], color: tuple[int, ...] = RED, mode: str = "RGB") -> Image.Image:
    return Image.new(mode, size, color)


def quadrants(size: tuple[int, int]) -> Image.Image:
    """Red, green / blue, yellow quadrants: any rotation or mirroring shows."""
    width, height = size
    image = Image.new("RGB", size)
    for (x, y), color in {(0, 0): RED, (1, 0): GREEN, (0, 1): BLUE, (1, 1): YELLOW}.items():
        image.paste(
            color, (x * width // 2, y * height // 2, (x + 1) * width // 2, (y + 1) * height // 2)
        )
    return image


def quadrant_colors(image: Image.Image) -> list[tuple[int, ...]]:
    """The colour at the centre of each quadrant: top left, top right, bottom left, bottom right."""
    rgb = image.convert("RGB")
    w, h = rgb.size
    points = [
        (w // 4, h // 4),
        (3 * w // 4, h // 4),
        (w // 4, 3 * h // 4),
        (3 * w // 4, 3 * h // 4),
    ]
    return [tuple(rgb.getpixel(point)) for point in points]  # type: ignore[arg-type]


def close(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 24) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=False))


def same_colors(actual: list[tuple[int, ...]], expected: list[tuple[int, int, int]]) -> bool:
    """Each picture's colour close to the expected one, in order."""
    return len(actual) == len(expected) and all(map(close, actual, expected))


def with_orientation(image: Image.Image, orientation: int, format: str = "JPEG") -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, format, exif=exif.tobytes(), quality=95)


def swapped_primaries_profile() -> bytes:
    """A minimal ICC v2 RGB profile whose red and green primaries are swapped, with linear
    curves: a pure red pixel tagged with it is, in sRGB, green."""
    d50 = (0.9642, 1.0, 0.8249)
    srgb_red, srgb_green, srgb_blue = (
        (0.4360, 0.2225, 0.0139),
        (0.3851, 0.7169, 0.0971),
        (0.1431, 0.0606, 0.7141),
    )

    def s15f16(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(values: tuple[float, float, float]) -> bytes:
        return b"XYZ " + b"\0" * 4 + b"".join(s15f16(v) for v in values)

    linear = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, 0x0100) + b"\0\0"
    tags = [
        (b"wtpt", xyz(d50)),
        (b"rXYZ", xyz(srgb_green)),
        (b"gXYZ", xyz(srgb_red)),
        (b"bXYZ", xyz(srgb_blue)),
        (b"rTRC", linear),
        (b"gTRC", linear),
        (b"bTRC", linear),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body + b"\0" * (-len(body) % 4)
    size = offset + len(data)
    header = (
        struct.pack(">I", size)
        + b"\0" * 4
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + b"\0" * 12
        + b"acsp"
        + b"\0" * 24
        + struct.pack(">I", 0)
        + b"".join(s15f16(v) for v in d50)
        + b"\0" * 48
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data
