"""The image pipeline on every kind of image users have, and on hostile files."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageCms, PngImagePlugin

from domain.errors import CorruptImage, ImageTooLarge, NotAnImage
from domain.images.pipeline import EncodedImage, encode_tiers
from domain.images.tiers import Quality
from tests.images import (
    BLUE,
    GREEN,
    RED,
    YELLOW,
    close,
    decode,
    encode,
    quadrant_colors,
    quadrants,
    solid,
    swapped_primaries_profile,
    with_orientation,
)


def tiers(encoded: EncodedImage) -> dict[Quality, Image.Image]:
    return {tier.quality: decode(tier.data) for tier in encoded.tiers}


def assert_webp_without_metadata(data: bytes) -> None:
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    chunks, offset = set(), 12
    while offset + 8 <= len(data):
        name, size = (
            data[offset : offset + 4],
            struct.unpack("<I", data[offset + 4 : offset + 8])[0],
        )
        chunks.add(name)
        offset += 8 + size + (size & 1)
    assert not chunks & {b"EXIF", b"ICCP", b"XMP "}, chunks


# --- sizes and qualities -------------------------------------------------------------------


def test_a_large_image_is_capped_at_two_megapixels_with_its_aspect() -> None:
    encoded = encode_tiers(encode(solid((4000, 3000)), "PNG"))
    high = encoded.tier(Quality.HIGH)
    assert high.width * high.height <= 2_000_000
    assert high.width * high.height > 1_990_000
    assert abs(high.width / high.height - 4 / 3) < 0.01


def test_medium_and_low_are_two_thirds_and_one_third_of_high() -> None:
    encoded = encode_tiers(encode(solid((1200, 900)), "PNG"))
    sizes = {t.quality: (t.width, t.height) for t in encoded.tiers}
    assert sizes == {Quality.HIGH: (1200, 900), Quality.MEDIUM: (792, 594), Quality.LOW: (396, 297)}
    decoded = tiers(encoded)
    assert {q: image.size for q, image in decoded.items()} == sizes


def test_a_small_image_is_never_upscaled_and_no_tier_is_below_one_pixel() -> None:
    encoded = encode_tiers(encode(solid((2, 1)), "PNG"))
    assert [(t.width, t.height) for t in encoded.tiers] == [(2, 1), (1, 1), (1, 1)]


def test_lower_tiers_are_smaller_files() -> None:
    encoded = encode_tiers(encode(quadrants((1600, 1200)).effect_spread(8), "PNG"))
    high, medium, low = (len(encoded.tier(q).data) for q in Quality)
    assert high > medium > low


def test_every_tier_is_webp_without_metadata() -> None:
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    source = encode(
        quadrants((300, 200)), "JPEG", exif=exif.tobytes(), icc_profile=swapped_primaries_profile()
    )
    for tier in encode_tiers(source).tiers:
        assert_webp_without_metadata(tier.data)
        assert "exif" not in decode(tier.data).info and "icc_profile" not in decode(tier.data).info


# --- every kind of source --------------------------------------------------------------------


def _png_16_bit_grey() -> bytes:
    return encode(Image.new("I;16", (64, 32), 40000), "PNG")


def _palette_with_transparency() -> bytes:
    image = Image.new("P", (40, 40), 0)
    image.putpalette([*RED, *BLUE] + [0] * 762)
    image.paste(1, (20, 0, 40, 40))
    return encode(image, "PNG", transparency=1)


def _animated(format: str) -> bytes:
    frames = [solid((32, 32), RED), solid((32, 32), BLUE)]
    return encode(frames[0], format, save_all=True, append_images=frames[1:], duration=100, loop=0)


SOURCES: dict[str, Callable[[], bytes]] = {
    "png rgb": lambda: encode(quadrants((64, 48)), "PNG"),
    "png 16-bit rgb": lambda: encode(quadrants((64, 48)), "PNG", bits=16),
    "png 16-bit grey": _png_16_bit_grey,
    "png palette": lambda: encode(quadrants((64, 48)).quantize(8), "PNG"),
    "png grey + alpha": lambda: encode(Image.new("LA", (30, 30), (128, 100)), "PNG"),
    "jpeg baseline": lambda: encode(quadrants((64, 48)), "JPEG", quality=95),
    "jpeg progressive": lambda: encode(quadrants((64, 48)), "JPEG", quality=95, progressive=True),
    "jpeg grey": lambda: encode(quadrants((64, 48)).convert("L"), "JPEG"),
    "webp still": lambda: encode(quadrants((64, 48)), "WEBP", quality=95),
    "webp animated": lambda: _animated("WEBP"),
    "gif animated": lambda: _animated("GIF"),
    "bmp": lambda: encode(quadrants((64, 48)), "BMP"),
    "tiff": lambda: encode(quadrants((64, 48)), "TIFF"),
    "tiff cmyk": lambda: encode(solid((20, 20), (0, 255, 255, 0), "CMYK"), "TIFF"),
}


@pytest.mark.parametrize("kind", SOURCES)
def test_every_source_kind_becomes_three_webp_tiers(kind: str) -> None:
    encoded = encode_tiers(SOURCES[kind]())
    for tier, image in zip(encoded.tiers, tiers(encoded).values(), strict=True):
        assert image.format == "WEBP"
        assert image.mode in ("RGB", "RGBA")
        assert image.size == (tier.width, tier.height)


@pytest.mark.parametrize(
    "kind",
    ["png rgb", "png 16-bit rgb", "jpeg baseline", "jpeg progressive", "webp still", "bmp", "tiff"],
)
def test_colours_survive(kind: str) -> None:
    high = tiers(encode_tiers(SOURCES[kind]()))[Quality.HIGH]
    for actual, expected in zip(quadrant_colors(high), [RED, GREEN, BLUE, YELLOW], strict=True):
        assert close(actual, expected), (actual, expected)


def test_16_bit_grey_is_scaled_not_clipped() -> None:
    high = tiers(encode_tiers(_png_16_bit_grey()))[Quality.HIGH]
    value = high.convert("L").getpixel((10, 10))
    assert isinstance(value, int) and abs(value - 40000 // 257) <= 3


def test_animations_keep_their_first_frame() -> None:
    for kind in ("webp animated", "gif animated"):
        high = tiers(encode_tiers(SOURCES[kind]()))[Quality.HIGH]
        assert close(high.convert("RGB").getpixel((5, 5)), RED), kind  # type: ignore[arg-type]


def test_cmyk_jpeg_becomes_rgb_with_its_colours() -> None:
    source = encode(solid((40, 40), (0, 255, 255, 0), "CMYK"), "JPEG", quality=95)
    assert decode(source).mode == "CMYK"
    high = tiers(encode_tiers(source))[Quality.HIGH]
    assert high.mode == "RGB"
    assert close(high.getpixel((20, 20)), (255, 0, 0), tolerance=40)  # type: ignore[arg-type]


# --- alpha -----------------------------------------------------------------------------------


def test_real_alpha_is_kept() -> None:
    image = solid((40, 40), (*RED, 255), "RGBA")
    image.paste((0, 0, 0, 0), (0, 0, 20, 40))
    high = tiers(encode_tiers(encode(image, "PNG")))[Quality.HIGH]
    assert high.mode == "RGBA"
    assert high.getpixel((5, 20))[3] == 0  # type: ignore[index]
    assert high.getpixel((30, 20))[3] == 255  # type: ignore[index]


def test_fully_opaque_alpha_is_dropped() -> None:
    high = tiers(encode_tiers(encode(solid((40, 40), (*RED, 255), "RGBA"), "PNG")))[Quality.HIGH]
    assert high.mode == "RGB"


def test_palette_transparency_is_kept() -> None:
    high = tiers(encode_tiers(_palette_with_transparency()))[Quality.HIGH]
    assert high.mode == "RGBA"
    assert high.getpixel((30, 20))[3] == 0  # type: ignore[index]
    assert close(high.getpixel((5, 20)), (*RED, 255))  # type: ignore[arg-type]


# --- orientation -----------------------------------------------------------------------------

# How to store a picture so that a viewer applying each EXIF orientation shows it upright.
STORE_FOR_ORIENTATION = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(orientation: int) -> None:
    upright = quadrants((80, 40))
    transpose = STORE_FOR_ORIENTATION[orientation]
    stored = upright if transpose is None else upright.transpose(transpose)
    high = tiers(encode_tiers(with_orientation(stored, orientation)))[Quality.HIGH]
    assert high.size == (80, 40)
    for actual, expected in zip(quadrant_colors(high), [RED, GREEN, BLUE, YELLOW], strict=True):
        assert close(actual, expected), (orientation, actual, expected)


def test_a_rotated_large_jpeg_is_decoded_reduced_and_upright() -> None:
    stored = quadrants((4000, 2000)).transpose(Image.Transpose.ROTATE_90)  # 2000 × 4000
    encoded = encode_tiers(with_orientation(stored, 6))
    high = tiers(encoded)[Quality.HIGH]
    assert high.width > high.height and high.width * high.height <= 2_000_000
    assert [
        close(a, e) for a, e in zip(quadrant_colors(high), [RED, GREEN, BLUE, YELLOW], strict=True)
    ] == [True] * 4


# --- colour profiles ---------------------------------------------------------------------------


def test_an_embedded_profile_is_converted_to_srgb() -> None:
    source = encode(solid((20, 20), (255, 0, 0)), "PNG", icc_profile=swapped_primaries_profile())
    high = tiers(encode_tiers(source))[Quality.HIGH]
    assert close(high.getpixel((10, 10)), (0, 255, 0), tolerance=10)  # type: ignore[arg-type]


def test_an_srgb_profile_changes_nothing_and_a_broken_one_is_ignored() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for profile in (srgb, b"not a profile at all"):
        source = encode(solid((20, 20), RED), "PNG", icc_profile=profile)
        high = tiers(encode_tiers(source))[Quality.HIGH]
        assert close(high.getpixel((10, 10)), RED, tolerance=6)  # type: ignore[arg-type]


# --- what the index keeps ----------------------------------------------------------------------


def test_the_source_digest_identifies_the_bytes() -> None:
    first = encode(solid((10, 10), RED), "PNG")
    second = encode(solid((10, 10), BLUE), "PNG")
    assert encode_tiers(first).source_digest == encode_tiers(first).source_digest
    assert encode_tiers(first).source_digest != encode_tiers(second).source_digest
    assert len(encode_tiers(first).source_digest) == 64


def test_generation_parameters_are_read_before_metadata_is_dropped() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text(
        "parameters",
        "a cat\nNegative prompt: dog\n"
        "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 64x48",
    )
    encoded = encode_tiers(encode(quadrants((64, 48)), "PNG", pnginfo=info))
    assert encoded.generation is not None
    assert encoded.generation["prompt"] == "a cat" and encoded.generation["seed"] == 42
    assert_webp_without_metadata(encoded.tier(Quality.HIGH).data)


# --- hostile and broken input ------------------------------------------------------------------


def test_a_truncated_file_is_corrupt() -> None:
    whole = encode(quadrants((400, 300)).effect_spread(5), "PNG")
    with pytest.raises(CorruptImage):
        encode_tiers(whole[: len(whole) // 2])
    jpeg = encode(quadrants((400, 300)), "JPEG")
    with pytest.raises(CorruptImage):
        encode_tiers(jpeg[: len(jpeg) // 2])


def test_a_damaged_png_is_corrupt() -> None:
    data = bytearray(encode(quadrants((100, 100)).effect_spread(5), "PNG"))
    data[100:140] = b"\xff" * 40  # inside the image data: its checksum no longer holds
    with pytest.raises(CorruptImage):
        encode_tiers(bytes(data))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, this is text",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>",
        b"%PDF-1.4\n",
        b"\x89PNG\r\n\x1a\n",  # a signature and nothing else
    ],
    ids=["empty", "text", "svg", "html", "pdf", "png signature only"],
)
def test_what_is_not_a_raster_image_is_refused(data: bytes) -> None:
    with pytest.raises((NotAnImage, CorruptImage)):
        encode_tiers(data)


def test_svg_and_html_are_not_images() -> None:
    for data in (b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"<html></html>"):
        with pytest.raises(NotAnImage):
            encode_tiers(data)


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width × height pixels."""
    data = bytearray(encode(solid((1, 1)), "PNG"))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr : ihdr + 17])))
    return bytes(data)


@pytest.mark.parametrize("size", [(10_000, 10_000), (8_001, 8_000), (100_000, 100_000)])
def test_a_decompression_bomb_is_refused_before_decoding(size: tuple[int, int]) -> None:
    with pytest.raises(ImageTooLarge):
        encode_tiers(_png_declaring(*size))


def test_just_under_the_pixel_limit_is_not_a_bomb() -> None:
    with pytest.raises(CorruptImage):  # it is refused for its missing pixels, not its size
        encode_tiers(_png_declaring(8_000, 8_000))


PEAK_SCRIPT = """
import resource, sys
from domain.images.pipeline import encode_tiers
source = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
encode_tiers(source)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def test_a_20_megapixel_jpeg_is_never_decoded_at_full_size(tmp_path: Path) -> None:
    """Peak resident memory of a fresh process: a full decode alone would take 60 MiB."""
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(encode(quadrants((5472, 3648)).effect_spread(3), "JPEG", quality=90))
    run = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, str(photo)], capture_output=True, text=True, check=True
    )
    growth_mib = int(run.stdout) / 1024  # ru_maxrss is in KiB on Linux
    assert growth_mib < 48, f"peak grew by {growth_mib:.0f} MiB"


def test_the_pipeline_never_writes_into_the_source_buffer() -> None:
    source = encode(quadrants((64, 48)), "PNG")
    before = bytes(source)
    encode_tiers(source)
    assert source == before and io.BytesIO(source).getvalue() == before


@pytest.mark.parametrize("size", [(5148, 3681), (4032, 3024), (3681, 5148)])
def test_a_reduced_jpeg_decode_gives_the_same_tier_sizes_as_a_full_one(
    size: tuple[int, int],
) -> None:
    from domain.images.tiers import high_size

    encoded = encode_tiers(encode(solid(size), "JPEG"))
    assert (encoded.tier(Quality.HIGH).width, encoded.tier(Quality.HIGH).height) == high_size(*size)
