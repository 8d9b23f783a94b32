"""The types of jobs: long work that runs in the background, with its progress."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from api.context import Context
from api.enums import domain_enum
from api.scalars import BigInt
from api.types.connection import Connection
from api.types.migration import MigrationReport
from api.types.scan import ScanReport
from domain import errors
from domain.importing.promotion import Strategy
from domain.jobs import model, scan
from domain.records import JsonObject
from domain.store.jobs import items_page_request, page_items

domain_enum(
    model.JobKind,
    name="JobKind",
    description="What a job does.",
    values={
        model.JobKind.LEGACY_MIGRATION: "Imports a legacy library (Stage 1, migrateLegacyDb).",
        model.JobKind.IMPORT_PENDING: "Imports pending models (Stage 2, importPending).",
        model.JobKind.SCAN: "Looks for new model files in folders.",
    },
)
domain_enum(
    model.JobState,
    name="JobState",
    description="Where a job stands. CANCELLED, COMPLETED and FAILED are final.",
    values={
        model.JobState.QUEUED: "Waits for the job before it to end.",
        model.JobState.RUNNING: "At work; a server stopped meanwhile resumes it when it starts.",
        model.JobState.PAUSED: "Stopped by pauseJob, or by a full disk; resumeJob goes on.",
        model.JobState.CANCELLED: "Stopped for good by cancelJob; what it did stays done.",
        model.JobState.COMPLETED: "Every item done.",
        model.JobState.FAILED: "Could not go on; `error` says why.",
    },
)
domain_enum(
    model.Outcome,
    name="JobItemOutcome",
    description="What became of one item.",
    values={
        model.Outcome.CREATED: "It became a new model.",
        model.Outcome.OVERRIDDEN: "It overrode the model with its digest (OVERRIDE).",
        model.Outcome.MERGED: "It was merged into the model with its digest (MERGE).",
        model.Outcome.DELETED: "It was dropped as a duplicate (DELETE).",
        model.Outcome.CONFLICT: "Left pending with its digest known: decide with importAModel "
        "and a strategy.",
        model.Outcome.FAILED: "Left as it was; `message` says why.",
        model.Outcome.SKIPPED: "Not a pending import (any more), or imported meanwhile.",
        model.Outcome.FOUND: "A SCAN found this file and made it a pending import (a scan "
        "without importFound imports nothing).",
        model.Outcome.MOVED: "The file of a model whose file was missing: the model moved to "
        "its path (merged as MERGE does), and the pending import went.",
    },
)

JobIdArgument = Annotated[strawberry.ID, strawberry.argument(description="The job's id.")]
_FIRST = "How many rows to return: 0 to 500, 50 when omitted."
_AFTER = "Return the rows after this cursor (an `endCursor` or edge `cursor` of this list)."


@strawberry.type(description="An item a job is working on right now.")
class JobItemInFlight:
    pending_id: int = strawberry.field(description="The pending import's id.")
    name: str = strawberry.field(description="Its name.")
    size_bytes: BigInt | None = strawberry.field(description="Its file size, when known.")
    bytes_hashed: BigInt = strawberry.field(description="How much of the file is hashed so far.")
    hashing: bool = strawberry.field(
        description="True while the file is hashed; false once its digest is known (its "
        "pictures are encoded, then the import is written)."
    )


@strawberry.type(description="One item of a job, and what became of it.")
class JobItem:
    pending_id: int = strawberry.field(description="The pending import's id.")
    name: str = strawberry.field(description="Its name when the job started.")
    size_bytes: BigInt | None = strawberry.field(description="Its file size, when known.")
    outcome: model.Outcome | None = strawberry.field(
        description="What became of it; null while it is still to do."
    )
    message: str | None = strawberry.field(
        description="Why it failed, was skipped or is in conflict, or which images were left out."
    )
    sha256: str | None = strawberry.field(description="The file's SHA-256, once known.")
    finished_at: datetime | None = strawberry.field(description="When it was done.")

    @classmethod
    def of(cls, item: model.JobItem) -> JobItem:
        return cls(
            pending_id=item.item,
            name=item.name,
            size_bytes=None if item.size_bytes is None else BigInt(item.size_bytes),
            outcome=item.outcome,
            message=item.message,
            sha256=item.sha256,
            finished_at=item.finished_at,
        )


@strawberry.type(
    description="Long work that runs in the background: visible to every client, paused, "
    "resumed or cancelled by any of them, resumed by itself after a restart. Each item is "
    "done exactly once."
)
class Job:
    id: strawberry.ID = strawberry.field(description="The job's id.")
    kind: model.JobKind = strawberry.field(description="What the job does.")
    state: model.JobState = strawberry.field(description="Where it stands.")
    created_at: datetime = strawberry.field(description="When it was asked for.")
    started_at: datetime | None = strawberry.field(description="When it first ran.")
    finished_at: datetime | None = strawberry.field(
        description="When it ended (completed, cancelled or failed)."
    )
    error: str | None = strawberry.field(
        description="Why it failed, or why it paused by itself (a full disk, say)."
    )
    strategy: Strategy | None = strawberry.field(
        description="For IMPORT_PENDING: how conflicts are resolved; null leaves them pending."
    )
    total: int = strawberry.field(
        description="How many items the job covers (0 until it starts); for LEGACY_MIGRATION, "
        "the rows and images of its current run."
    )
    done: int = strawberry.field(description="How many of them are done, whatever their outcome.")
    bytes_total: BigInt = strawberry.field(description="The sizes of all its files, where known.")
    bytes_done: BigInt = strawberry.field(
        description="Bytes of the files done, and hashed so far of the files in flight."
    )
    created: int = strawberry.field(description="Items that became new models.")
    overridden: int = strawberry.field(description="Items that overrode a model.")
    merged: int = strawberry.field(description="Items merged into a model.")
    deleted: int = strawberry.field(description="Items dropped as duplicates (DELETE).")
    conflicts: int = strawberry.field(description="Items left pending in conflict.")
    failed: int = strawberry.field(description="Items that failed and were left as they were.")
    skipped: int = strawberry.field(description="Items that were not there (any more).")
    found: int = strawberry.field(
        description="For SCAN without importFound: files found and made pending imports."
    )
    moved: int = strawberry.field(
        description="Items that were a missing model's file, under a new path: the model moved."
    )
    result: strawberry.Private[JsonObject | None]  # what it answered, once completed
    in_flight: list[JobItemInFlight] = strawberry.field(
        description="The items being worked on right now."
    )
    seconds_left: float | None = strawberry.field(
        description="An estimate of the time left while it runs, from its pace so far; null "
        "when not running or too early to tell."
    )

    @strawberry.field(description="The job's items in the order it planned them, page by page.")
    async def items(
        self,
        info: strawberry.Info[Context, None],
        outcome: Annotated[
            model.Outcome | None,
            strawberry.argument(description="Only the items with this outcome."),
        ] = None,
        first: Annotated[int | None, strawberry.argument(description=_FIRST)] = None,
        after: Annotated[str | None, strawberry.argument(description=_AFTER)] = None,
    ) -> Connection[JobItem]:
        request = items_page_request(first, after)
        page = await page_items(info.context.store, int(self.id), outcome, request)
        return Connection.of(page, [JobItem.of(item) for item in page.items])

    @strawberry.field(
        description="For a completed LEGACY_MIGRATION: the report migrateLegacyDb answered "
        "(also when the job was resumed after a restart and nobody waited for it); else null."
    )
    async def migration_report(
        self, info: strawberry.Info[Context, None]
    ) -> MigrationReport | None:
        if self.kind is not model.JobKind.LEGACY_MIGRATION or self.result is None:
            return None
        return MigrationReport.of(await info.context.legacy_migration.report_of(self.result))

    @strawberry.field(
        description="For a SCAN whose walk is over: what it saw (the import of what it found, "
        "when asked for, is counted on the job itself); else null."
    )
    def scan_report(self) -> ScanReport | None:
        if self.kind is not model.JobKind.SCAN or self.result is None:
            return None
        return ScanReport.of(scan.ScanReport.kept(self.result))

    @classmethod
    def of(cls, job: model.Job) -> Job:
        row, counts = job.row, job.counts
        count = counts.by_outcome.get
        strategy = row.params.get("strategy")
        return cls(
            id=strawberry.ID(str(row.id)),
            kind=row.kind,
            state=row.state,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            error=row.error,
            strategy=None if strategy is None else Strategy(strategy),
            total=counts.total,
            done=counts.done,
            bytes_total=BigInt(counts.bytes_total),
            bytes_done=BigInt(counts.bytes_done + job.bytes_in_flight),
            created=count(model.Outcome.CREATED, 0),
            overridden=count(model.Outcome.OVERRIDDEN, 0),
            merged=count(model.Outcome.MERGED, 0),
            deleted=count(model.Outcome.DELETED, 0),
            conflicts=count(model.Outcome.CONFLICT, 0),
            failed=count(model.Outcome.FAILED, 0),
            skipped=count(model.Outcome.SKIPPED, 0),
            found=count(model.Outcome.FOUND, 0),
            moved=count(model.Outcome.MOVED, 0),
            in_flight=[
                JobItemInFlight(
                    pending_id=flight.item,
                    name=flight.name,
                    size_bytes=None if flight.size_bytes is None else BigInt(flight.size_bytes),
                    bytes_hashed=BigInt(flight.bytes_hashed),
                    hashing=flight.hashing,
                )
                for flight in job.in_flight
            ],
            seconds_left=job.seconds_left,
            result=row.result,
        )


@strawberry.type(description="A job was started (or queued behind the one running).")
class JobStarted:
    job: Job = strawberry.field(description="The new job.")


def job_id(value: strawberry.ID) -> int:
    """A job id from a client: the digits we hand out, else `JobNotFound`."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise errors.JobNotFound(text)
    return int(text)
