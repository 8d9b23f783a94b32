"""What a job is, as plain values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from domain.records import JsonObject


class JobKind(StrEnum):
    LEGACY_MIGRATION = "LEGACY_MIGRATION"
    IMPORT_PENDING = "IMPORT_PENDING"
    SCAN = "SCAN"


class JobState(StrEnum):
    QUEUED = "QUEUED"  # waiting for the job before it to end
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"  # stopped by a person (or a full disk); resumeJob goes on
    CANCELLED = "CANCELLED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"

    @property
    def finished(self) -> bool:
        return self in (JobState.CANCELLED, JobState.COMPLETED, JobState.FAILED)


class Outcome(StrEnum):
    """What became of one item."""

    CREATED = "CREATED"
    OVERRIDDEN = "OVERRIDDEN"
    MERGED = "MERGED"
    DELETED = "DELETED"
    CONFLICT = "CONFLICT"  # left pending, its digest known, for the user to decide
    FAILED = "FAILED"  # left as it was, with the reason
    SKIPPED = "SKIPPED"  # not there (any more): an unknown id, or imported meanwhile
    FOUND = "FOUND"  # a scan made it a pending import (and was not asked to import it)
    MOVED = "MOVED"  # the file of a model whose file was missing: the model moved to it


@dataclass(frozen=True, slots=True)
class JobRow:
    """A job as the library stores it."""

    id: int
    kind: JobKind
    state: JobState
    params: JsonObject
    planned: bool  # its items are written
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    progress: ItemCounts | None = None  # kept for work that is not made of items
    result: JsonObject | None = None  # what it answered, once it completed


@dataclass(frozen=True, slots=True)
class ItemCounts:
    total: int
    done: int
    bytes_total: int = 0
    bytes_done: int = 0
    by_outcome: dict[Outcome, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class JobItem:
    job_id: int
    item: int  # the pending import's id
    position: int
    name: str
    size_bytes: int | None
    outcome: Outcome | None
    message: str | None
    sha256: str | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class InFlight:
    """An item being worked on right now."""

    item: int
    name: str
    size_bytes: int | None
    bytes_hashed: int
    hashing: bool  # False once its digest is known (its pictures encode, then it is written)


@dataclass(frozen=True, slots=True)
class Job:
    """A job with its progress: the stored row, its items counted, and what runs now."""

    row: JobRow
    counts: ItemCounts
    in_flight: tuple[InFlight, ...]
    bytes_in_flight: int  # hashed so far of the items in flight
    seconds_left: float | None
