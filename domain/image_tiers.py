"""The three qualities every sample image is stored in, and the file names they use."""

from __future__ import annotations

from enum import StrEnum


class Quality(StrEnum):
    """A tier of a sample image: `high` for viewing, `medium` and `low` for grids and lists."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


def gallery_name(sha256: str, seq: int) -> str:
    """The public name of a gallery image, the same for every tier: `<sha256>_<seq>.webp`."""
    return f"{sha256}_{seq}.webp"


def tier_file_name(sha256: str, seq: int, quality: Quality) -> str:
    """The file that holds one tier on disk: `<sha256>_<seq>_<quality>.webp`."""
    return f"{sha256}_{seq}_{quality.value}.webp"
