"""The types of Stage 1, the legacy import: its report, its progress, its refusals."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from enum import Enum

import strawberry

from api.scalars import BigInt
from domain.legacy import migrator
from domain.legacy.rules import Issue


@strawberry.type(
    description="Something about one legacy row the user should know; it did not stop the run."
)
class MigrationIssue:
    legacy_id: BigInt | None = strawberry.field(
        description="The legacy row's id (the legacy database's, which may exceed 32 bits); "
        "null for issues of no single row (a tag, the image search)."
    )
    kind: str = strawberry.field(
        description="What kind: INVALID_JSON, INVALID_HASH, INVALID_DATE, "
        "MISSING_MODEL_FILE, MISSING_IMAGE, UNREADABLE_IMAGE, UNDECODABLE_IMAGE, UNKNOWN_TAG, "
        "TAG_ID_CHANGED, TAG_MERGED (two legacy tags whose names differ only in letter case "
        "became one tag), PENDING_ID_CHANGED, ALREADY_PENDING, IMAGE_SEARCH_LIMITED (the search "
        "for listed images below the images folder reached its bound, of depth or of entries "
        "looked at, with some not found; no legacyId)."
    )
    message: str = strawberry.field(description="What happened, for people.")

    @classmethod
    def of(cls, issue: Issue) -> MigrationIssue:
        return cls(
            legacy_id=None if issue.legacy_id is None else BigInt(issue.legacy_id),
            kind=issue.kind,
            message=issue.message,
        )


@strawberry.type(description="How many issues of one kind a run met.")
class MigrationIssueCount:
    kind: str = strawberry.field(description="The kind of issue, as in MigrationIssue.kind.")
    count: int = strawberry.field(description="How many of them.")


@strawberry.type(
    description="What one migration of a legacy database did: the run that found rows to "
    "import and, when it was cut short, the run that completed it; the report is the same "
    "either way. A run with nothing new reports only the rows it skipped."
)
class MigrationReport:
    legacy_db_path: str = strawberry.field(description="The legacy database, as an absolute path.")
    legacy_images_dir: str | None = strawberry.field(
        description="The legacy images folder used, if any."
    )
    recognized_from: str | None = strawberry.field(
        description="The path under which this legacy database was imported before, when it "
        "was found under a new one (moved or copied elsewhere) and known again by its rows; "
        "the ledger knows it under the new path from now on. Null otherwise."
    )
    models_imported: int = strawberry.field(
        description="Rows with a SHA-256 that became library models."
    )
    pending_created: int = strawberry.field(description="Rows that became pending imports.")
    tags_imported: int = strawberry.field(
        description="Tags added to the library (names it had are reused)."
    )
    duplicates: int = strawberry.field(
        description="Rows whose SHA-256 another row or a library model already had: "
        "pending imports with the digest known."
    )
    already_imported: int = strawberry.field(
        description="Rows an earlier migration of the same legacy database carried over, "
        "skipped (the same database reached by another path, or moved or copied elsewhere, "
        "is known again)."
    )
    images_converted: int = strawberry.field(
        description="Images of models stored as WebP tiers in galleries."
    )
    images_copied: int = strawberry.field(
        description="Images of pending imports copied as they are."
    )
    images_missing: int = strawberry.field(description="Listed images not found or not readable.")
    images_failed: int = strawberry.field(
        description="Images found but not decodable as raster images."
    )
    issues: list[MigrationIssue] = strawberry.field(
        description="Every issue of the rows this migration imported and of their images, row "
        "by row (issues of no single row first), each row's in the order they were met."
    )
    rows_seconds: float = strawberry.field(
        description="Time this run spent reading and writing rows."
    )
    images_seconds: float = strawberry.field(description="Time this run spent on images.")

    @strawberry.field(
        description="The issues counted by kind, in kind order: a long list, summed up."
    )
    def issue_counts(self) -> list[MigrationIssueCount]:
        counts = Counter(issue.kind for issue in self.issues)
        return [MigrationIssueCount(kind=kind, count=counts[kind]) for kind in sorted(counts)]

    @strawberry.field(
        description="True when this run found nothing left to do: the database was imported before."
    )
    def nothing_new(self) -> bool:
        return (
            self.models_imported
            == self.pending_created
            == self.images_converted
            == self.images_copied
            == 0
            and (self.already_imported > 0)
        )

    @classmethod
    def of(cls, report: migrator.MigrationReport) -> MigrationReport:
        return cls(
            legacy_db_path=report.legacy_db_path,
            legacy_images_dir=report.legacy_images_dir,
            recognized_from=report.recognized_from,
            models_imported=report.models_imported,
            pending_created=report.pending_created,
            tags_imported=report.tags_imported,
            duplicates=report.duplicates,
            already_imported=report.already_imported,
            images_converted=report.images_converted,
            images_copied=report.images_copied,
            images_missing=report.images_missing,
            images_failed=report.images_failed,
            issues=[MigrationIssue.of(issue) for issue in report.issues],
            rows_seconds=report.rows_seconds,
            images_seconds=report.images_seconds,
        )


@strawberry.enum(description="Where a legacy import stands.")
class MigrationPhase(Enum):
    READING = strawberry.enum_value(
        "READING", description="Reading the legacy database and image folder."
    )
    ROWS = strawberry.enum_value("ROWS", description="Writing tags, models and pending imports.")
    IMAGES = strawberry.enum_value("IMAGES", description="Converting and copying images.")
    DONE = strawberry.enum_value("DONE", description="Finished; the mutation returned the report.")
    FAILED = strawberry.enum_value(
        "FAILED", description="Stopped by an error; a new run picks up where it stopped."
    )


@strawberry.type(description="How far the current (or last) legacy import is.")
class MigrationProgress:
    legacy_db_path: str = strawberry.field(description="The legacy database being imported.")
    started_at: datetime = strawberry.field(description="When the run started.")
    phase: MigrationPhase = strawberry.field(description="What the run is doing.")
    rows_total: int = strawberry.field(description="Legacy rows to carry over.")
    rows_done: int = strawberry.field(description="Legacy rows carried over so far.")
    images_total: int = strawberry.field(description="Images owed when the image phase began.")
    images_done: int = strawberry.field(
        description="Images handled so far (stored, copied or reported)."
    )

    @strawberry.field(description="True while the run is going on.")
    def running(self) -> bool:
        return self.phase not in (MigrationPhase.DONE, MigrationPhase.FAILED)

    @classmethod
    def of(cls, progress: migrator.MigrationProgress) -> MigrationProgress:
        return cls(
            legacy_db_path=progress.legacy_db_path,
            started_at=progress.started_at,
            phase=MigrationPhase(progress.phase),
            rows_total=progress.rows_total,
            rows_done=progress.rows_done,
            images_total=progress.images_total,
            images_done=progress.images_done,
        )
