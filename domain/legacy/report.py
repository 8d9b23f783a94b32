"""What a Stage 1 run tells: its report when it ends, its progress while it runs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from domain.legacy.rules import Issue
from domain.records import JsonObject


@dataclass(slots=True)
class MigrationReport:
    """What one migration of a legacy database did: the run that found rows to import and,
    if it was cut short, the run that completed it (the report is the same either way). A
    run with nothing new and nothing owed reports only the rows it skipped."""

    legacy_db_path: str
    legacy_images_dir: str | None
    models_imported: int = 0
    pending_created: int = 0
    tags_imported: int = 0
    duplicates: int = 0
    already_imported: int = 0
    images_converted: int = 0
    images_copied: int = 0
    images_missing: int = 0
    images_failed: int = 0
    issues: list[Issue] = field(default_factory=list)
    recognized_from: str | None = None  # the path it was known under, when found elsewhere
    rows_seconds: float = 0.0
    images_seconds: float = 0.0
    migration_id: int | None = None  # the ledger's, whose issues these are; None: nothing new

    def summary(self) -> JsonObject:
        """The report without its issues (the ledger keeps them, however many), as JSON."""
        kept = asdict(self)
        del kept["issues"]
        return kept

    @classmethod
    def from_summary(cls, summary: JsonObject, issues: list[Issue]) -> MigrationReport:
        return cls(**summary, issues=issues)


@dataclass(slots=True)
class MigrationProgress:
    legacy_db_path: str
    started_at: datetime
    phase: str = "READING"  # READING, ROWS, IMAGES, DONE, FAILED
    rows_total: int = 0
    rows_done: int = 0
    images_total: int = 0
    images_done: int = 0
