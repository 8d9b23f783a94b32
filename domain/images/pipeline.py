"""One source image in, three WebP tiers out: the only code that decides how a picture looks.

`encode_tiers` is pure CPU work on bytes (no files, no database), run by the image workers
off the event loop. Pillow releases the GIL while it decodes, resizes and encodes, so the
workers run truly in parallel on threads.

What it does, in order, and why:
- Identify the format among the raster formats we accept and refuse the rest, then refuse
  more than `MAX_SOURCE_PIXELS` before decoding a single pixel (decompression bombs).
- Read the generation parameters (they live in metadata that is dropped later).
- Decode the first frame only, and for JPEG at a reduced scale (DCT scaling) when the HIGH
  tier needs fewer pixels: a 20 MP photo never exists in memory at full size.
- Apply the EXIF orientation, then convert to sRGB through the embedded ICC profile (CMYK
  included), to 8-bit RGB, keeping alpha only when some pixel is not fully opaque.
- Resize once to HIGH (LANCZOS), derive MEDIUM and LOW from HIGH, encode each as WebP with
  no metadata at all.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Final

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from domain.errors import CorruptImage, ImageTooLarge, NotAnImage
from domain.images.generation import read_generation
from domain.images.tiers import TIERS, Quality, high_size, tier_size
from domain.records import JsonObject

ACCEPTED_FORMATS: Final = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")
MAX_SOURCE_PIXELS: Final = 64_000_000
# WebP's effort level: 4 (Pillow's default) encodes about 1.4 times as fast as 6 for about
# 1.5 % more bytes, and encoding is most of the pipeline's time; see bench/images.py.
WEBP_METHOD: Final = 4
# Shrink by whole factors with a box filter first when the factor is at least this, then
# finish with LANCZOS: much faster on large sources, indistinguishable in the result.
REDUCING_GAP: Final = 3.0

_ORIENTATION_TAG: Final = 0x0112
_SWAPPING_ORIENTATIONS: Final = {5, 6, 7, 8}  # those that turn the image by 90 degrees
_SRGB: Final = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))

# Register every format plugin now: `Image.open(..., formats=...)` looks the names up before
# Pillow would load the less common plugins (MPO, WebP, TIFF) on its own.
Image.init()


@dataclass(frozen=True, slots=True)
class EncodedTier:
    quality: Quality
    width: int
    height: int
    data: bytes


@dataclass(frozen=True, slots=True)
class EncodedImage:
    """Everything the gallery needs to store one picture."""

    source_digest: str  # SHA-256 of the source bytes: the same picture is never added twice
    source_format: str
    generation: JsonObject | None
    tiers: tuple[EncodedTier, ...]  # HIGH, MEDIUM, LOW

    def tier(self, quality: Quality) -> EncodedTier:
        return next(tier for tier in self.tiers if tier.quality is quality)


def encode_tiers(source: bytes) -> EncodedImage:
    """Turn the bytes of one image into its three WebP tiers, or raise an `ImageRejected`."""
    with _open(source) as image:
        source_format = str(image.format)
        generation = read_generation(image)
        # Sized from the source itself: a reduced decode is only a shortcut towards it.
        target = high_size(*_upright_size(image))
        pixels = _decode(image, target)
    high = _resize(pixels, target)
    tiers = tuple(
        _encode(
            quality,
            high if quality is Quality.HIGH else _resize(high, tier_size(quality, high.size)),
        )
        for quality in Quality
    )
    return EncodedImage(
        source_digest=hashlib.sha256(source).hexdigest(),
        source_format=source_format,
        generation=generation,
        tiers=tiers,
    )


def _open(source: bytes) -> Image.Image:
    """Identify the image from its header; nothing is decoded yet."""
    try:
        image = Image.open(io.BytesIO(source), formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageTooLarge(f"The image has too many pixels to process safely ({error}).") from None
    except UnidentifiedImageError:
        raise NotAnImage(
            "The file is not an image in a format Model Shelf reads "
            f"({', '.join(f for f in ACCEPTED_FORMATS if f != 'MPO')})."
        ) from None
    except Exception as error:  # Pillow's parsers raise many types on hostile headers
        raise CorruptImage(f"The image header cannot be read: {error}.") from None
    width, height = image.size
    if width * height > MAX_SOURCE_PIXELS:
        image.close()
        raise ImageTooLarge(
            f"The image is {width}×{height} pixels, more than the "
            f"{MAX_SOURCE_PIXELS // 1_000_000} megapixels Model Shelf accepts."
        )
    return image


def _decode(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    """The first frame, oriented, in sRGB, as 8-bit RGB or RGBA, decoded no smaller than
    `target` but no larger than needed."""
    try:
        _request_reduced_decode(image, target)
        image.load()
        oriented = ImageOps.exif_transpose(image)
        return _drop_opaque_alpha(_to_srgb(oriented))
    except Exception as error:  # truncated data, bad chunks, broken codecs: all the same to us
        raise CorruptImage(f"The image cannot be decoded: {error}.") from None


def _upright_size(image: Image.Image) -> tuple[int, int]:
    """The size as displayed: EXIF orientations 5 to 8 turn the picture by 90 degrees."""
    width, height = image.size
    return (height, width) if _is_turned(image) else (width, height)


def _is_turned(image: Image.Image) -> bool:
    return _orientation(image) in _SWAPPING_ORIENTATIONS


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation, read from the header only. (`Image.getexif()` would decode a
    whole PNG to look for an EXIF chunk after the pixels.) Unreadable EXIF counts as 1,
    as viewers treat it."""
    try:
        if image.format == "TIFF":  # TIFF tags live in the header
            return int(image.getexif().get(_ORIENTATION_TAG, 1))
        raw = image.info.get("exif")
        if not raw:
            return 1
        exif = Image.Exif()
        exif.load(raw)
        return int(exif.get(_ORIENTATION_TAG, 1))
    except Exception:  # malformed EXIF is common and harmless here
        return 1


def _request_reduced_decode(image: Image.Image, target: tuple[int, int]) -> None:
    """Ask the JPEG decoder to scale down by 1/2, 1/4 or 1/8 while decoding when `target`
    is that much smaller; the decoder keeps the result at least as large as `target`."""
    if image.format not in ("JPEG", "MPO"):
        return
    width, height = target
    image.draft(image.mode, (height, width) if _is_turned(image) else (width, height))


def _to_srgb(image: Image.Image) -> Image.Image:
    """8-bit RGB or RGBA in sRGB, whatever the source's mode, depth and colour profile."""
    profile = _embedded_profile(image)
    if image.mode == "CMYK":
        if profile is not None and _colour_space(profile) == "CMYK":
            return _convert_profile(image, profile, "RGB")
        return image.convert("RGB")
    rgb = _to_eight_bit_rgb(image)
    if profile is not None and _colour_space(profile) == "RGB":
        return _convert_profile(rgb, profile, rgb.mode)
    return rgb


def _convert_profile(
    image: Image.Image, profile: ImageCms.ImageCmsProfile, mode: str
) -> Image.Image:
    converted = ImageCms.profileToProfile(image, profile, _SRGB, outputMode=mode)
    assert converted is not None  # None only when converting in place, which we never do
    return converted


def _to_eight_bit_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGB", "RGBA"):
        return image
    if image.mode.startswith("I"):  # 16-bit greys: a plain conversion would clip above 255
        return image.convert("I").point(lambda value: value / 257).convert("L").convert("RGB")
    if image.mode == "F":  # float greys, by convention from 0 to 1
        return image.point(lambda value: value * 255).convert("L").convert("RGB")
    has_alpha = image.mode in ("RGBa", "LA", "La", "PA") or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _drop_opaque_alpha(image: Image.Image) -> Image.Image:
    """WebP stores an alpha plane only when we give it one: give it none when every pixel is
    fully opaque, which saves bytes and decoding time for every viewer."""
    if image.mode == "RGBA" and image.getchannel("A").getextrema() == (255, 255):
        return image.convert("RGB")
    return image


def _embedded_profile(image: Image.Image) -> ImageCms.ImageCmsProfile | None:
    icc = image.info.get("icc_profile")
    if not icc:
        return None
    try:
        return ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except (ImageCms.PyCMSError, OSError, ValueError):
        return None  # a broken profile: read the pixels as sRGB, as browsers do


def _colour_space(profile: ImageCms.ImageCmsProfile) -> str:
    return str(profile.profile.xcolor_space).strip()


def _resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)


def _encode(quality: Quality, image: Image.Image) -> EncodedTier:
    buffer = io.BytesIO()
    # Nothing but pixels: no EXIF, ICC or XMP is passed, and WebP takes none implicitly.
    image.save(buffer, "WEBP", quality=TIERS[quality].webp_quality, method=WEBP_METHOD)
    return EncodedTier(
        quality=quality, width=image.width, height=image.height, data=buffer.getvalue()
    )
