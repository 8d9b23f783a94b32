"""The three qualities every sample image is stored in: their sizes, encodings and names.

HIGH is for viewing: at most 2 megapixels (and no side over WebP's 16,383 pixels), WebP
quality 80. MEDIUM and LOW are for grids and lists: about 2/3 and 1/3 of HIGH's width and
height, at lower WebP qualities, because their pixels are viewed smaller. No tier is ever
larger than the source, and none is smaller than one pixel in either direction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class Quality(StrEnum):
    """A tier of a sample image."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True, slots=True)
class TierSpec:
    scale: float  # of HIGH's width and height
    webp_quality: int


HIGH_MAX_PIXELS = 2_000_000
# The longest side a WebP image can have (its header stores width and height in 14 bits).
WEBP_MAX_SIDE = 16_383
TIERS: dict[Quality, TierSpec] = {
    Quality.HIGH: TierSpec(scale=1.0, webp_quality=80),
    Quality.MEDIUM: TierSpec(scale=0.66, webp_quality=60),
    Quality.LOW: TierSpec(scale=0.33, webp_quality=45),
}


def high_size(width: int, height: int) -> tuple[int, int]:
    """The HIGH tier's size for a source of this size: the source itself when it fits, else
    the largest size of the same aspect that fits. To fit is to hold at most 2 megapixels
    and no side over WebP's limit (a 16384×1 panorama is a real sample image)."""
    factor = min(
        1.0,
        math.sqrt(HIGH_MAX_PIXELS / (width * height)),
        WEBP_MAX_SIDE / max(width, height),
    )
    if factor == 1.0:
        return width, height
    return max(1, math.floor(width * factor)), max(1, math.floor(height * factor))


def tier_size(quality: Quality, high: tuple[int, int]) -> tuple[int, int]:
    """A tier's size, derived from HIGH's."""
    scale = TIERS[quality].scale
    width, height = high
    return max(1, round(width * scale)), max(1, round(height * scale))


def tier_sizes(high: tuple[int, int]) -> dict[Quality, tuple[int, int]]:
    """Every tier's size, given HIGH's."""
    return {quality: tier_size(quality, high) for quality in Quality}


def gallery_name(sha256: str, seq: int) -> str:
    """The public name of a gallery image, the same for every tier: `<sha256>_<seq>.webp`."""
    return f"{sha256}_{seq}.webp"


def tier_file_name(sha256: str, seq: int, quality: Quality) -> str:
    """The file that holds one tier on disk: `<sha256>_<seq>_<quality>.webp`."""
    return f"{sha256}_{seq}_{quality.value}.webp"
