"""What the library holds, as plain values: the domain's answer to every read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from domain.images.tiers import Quality

JsonObject = dict[str, Any]


def from_epoch_ms(value: int) -> datetime:
    """Timestamps are stored as milliseconds since the epoch, as the legacy app stored them."""
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def to_epoch_ms(value: datetime) -> int:
    return round(value.timestamp() * 1000)


class FileStatus(StrEnum):
    """Whether a file is still where the library says, as the last scan of its folder saw."""

    PRESENT = "PRESENT"
    MISSING = "MISSING"
    CHANGED = "CHANGED"  # its size or mtime are not the ones it had when it was hashed


@dataclass(frozen=True, slots=True)
class Tag:
    id: int
    name: str
    color: str | None


@dataclass(frozen=True, slots=True)
class Model:
    """A model file in the library, known by the SHA-256 of its content."""

    sha256: str
    path: str
    name: str
    type: str
    size_bytes: int | None
    created_at: datetime
    updated_at: datetime
    meta: JsonObject
    file_status: FileStatus = FileStatus.PRESENT
    base_model: str | None = None  # as the file's header names it (`domain.scanning`)
    hashed_mtime_ns: int | None = None  # the file's mtime when it was hashed; None: unknown


@dataclass(frozen=True, slots=True)
class ModelTypeCount:
    """A type the library holds, and how many of its models have it."""

    type: str
    count: int


@dataclass(frozen=True, slots=True)
class PendingImport:
    """A model file waiting for Stage 2: imported from the legacy app but not yet hashed
    (or hashed, and in conflict with a model the library already has)."""

    id: int
    path: str
    name: str
    type: str
    size_bytes: int | None
    created_at: datetime
    meta: JsonObject
    sha256: str | None
    file_status: FileStatus = FileStatus.PRESENT
    base_model: str | None = None


@dataclass(frozen=True, slots=True)
class ImageTier:
    """One stored quality of a gallery picture."""

    quality: Quality
    width: int
    height: int
    size_bytes: int | None  # None for rows written before sizes were recorded


@dataclass(frozen=True, slots=True)
class SampleImage:
    """One picture of a model's gallery, stored as WebP in three tiers."""

    sha256: str
    seq: int
    width: int  # of the HIGH tier
    height: int
    source_digest: str  # SHA-256 of the source bytes
    generation: JsonObject | None
    created_at: datetime
    tiers: tuple[ImageTier, ...]  # HIGH, MEDIUM, LOW


@dataclass(frozen=True, slots=True)
class PendingImage:
    """An original image of a pending model, kept byte for byte until the model is imported."""

    pending_id: int
    seq: int
    file_name: str
    size_bytes: int
