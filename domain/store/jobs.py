"""Reading and writing jobs and their items."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import aiosqlite

from domain.jobs.model import ItemCounts, JobItem, JobKind, JobRow, JobState, Outcome
from domain.pagination import Page, PageRequest, build_page, page_request
from domain.records import JsonObject, from_epoch_ms, to_epoch_ms
from domain.store.database import Store
from domain.store.sql import json_list

LIST_NAME = "jobs"
# Jobs are listed newest first: by id, descending.
SORT_KEY_TYPES = (int,)
ITEMS_LIST_NAME = "jobItems"
ITEM_SORT_KEY_TYPES = (int,)

_JOB_COLUMNS = (
    "id, kind, state, params_json, planned, created_at, started_at, finished_at, error,"
    " progress_json, result_json"
)
_ITEM_COLUMNS = "job_id, item, position, name, size_bytes, outcome, message, sha256, finished_at"


def now_ms() -> int:
    return to_epoch_ms(datetime.now(UTC))


async def insert_job(conn: aiosqlite.Connection, kind: JobKind, params: JsonObject) -> int:
    async with conn.execute(
        "INSERT INTO jobs (kind, state, params_json, created_at) VALUES (?, 'QUEUED', ?, ?)"
        " RETURNING id",
        (kind.value, json.dumps(params), now_ms()),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None  # RETURNING always yields the inserted row
    return int(row[0])


async def set_state(
    conn: aiosqlite.Connection, job_id: int, state: JobState, error: str | None = None
) -> None:
    """Move a job to `state`; the first RUNNING stamps its start, a finish its end."""
    now = now_ms()
    await conn.execute(
        "UPDATE jobs SET state = ?, error = ?,"
        " started_at = CASE WHEN ? = 'RUNNING' THEN coalesce(started_at, ?) ELSE started_at END,"
        " finished_at = CASE WHEN ? IN ('CANCELLED', 'COMPLETED', 'FAILED') THEN ? END"
        " WHERE id = ?",
        (state.value, error, state.value, now, state.value, now, job_id),
    )


async def set_progress(conn: aiosqlite.Connection, job_id: int, counts: ItemCounts) -> None:
    """Keep the progress of a job that has no items, for when it no longer runs."""
    await conn.execute(
        "UPDATE jobs SET progress_json = ? WHERE id = ?",
        (json.dumps({"total": counts.total, "done": counts.done}), job_id),
    )


async def set_result(conn: aiosqlite.Connection, job_id: int, result: JsonObject) -> None:
    """Keep what a job answers, for clients that were not there when it ended."""
    await conn.execute("UPDATE jobs SET result_json = ? WHERE id = ?", (json.dumps(result), job_id))


async def unfinished_job(store: Store, kind: JobKind) -> JobRow | None:
    """The oldest job of `kind` that has not ended (queued, running or paused)."""
    row = await store.fetch_one(
        f"SELECT {_JOB_COLUMNS} FROM jobs WHERE kind = ?"
        " AND state IN ('QUEUED', 'RUNNING', 'PAUSED') ORDER BY id LIMIT 1",
        (kind.value,),
    )
    return None if row is None else _job(row)


async def plan_items(
    conn: aiosqlite.Connection,
    job_id: int,
    items: Iterable[tuple[int, str, int | None]],
    skipped: Iterable[tuple[int, str]] = (),
) -> None:
    """Write a job's items, (id, name, size) in order, and the ids it cannot work on with
    why; the job is planned once this commits."""
    rows = [
        (job_id, item, position, name, size) for position, (item, name, size) in enumerate(items)
    ]
    await conn.executemany(
        "INSERT INTO job_items (job_id, item, position, name, size_bytes) VALUES (?, ?, ?, ?, ?)",
        rows,
    )
    start, now = len(rows), now_ms()
    await conn.executemany(
        "INSERT OR IGNORE INTO job_items (job_id, item, position, name, outcome, message,"
        " finished_at) VALUES (?, ?, ?, ?, 'SKIPPED', ?, ?)",
        [
            (job_id, item, start + i, f"#{item}", message, now)
            for i, (item, message) in enumerate(skipped)
        ],
    )
    await conn.execute("UPDATE jobs SET planned = 1 WHERE id = ?", (job_id,))


async def record_outcome(
    conn: aiosqlite.Connection,
    job_id: int,
    item: int,
    outcome: Outcome,
    message: str | None = None,
    sha256: str | None = None,
) -> None:
    """Mark an item done, in the transaction that did its work."""
    await conn.execute(
        "UPDATE job_items SET outcome = ?, message = ?, sha256 = ?, finished_at = ?"
        " WHERE job_id = ? AND item = ?",
        (outcome.value, message, sha256, now_ms(), job_id, item),
    )


async def get_job_row(store: Store, job_id: int) -> JobRow | None:
    row = await store.fetch_one(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
    return None if row is None else _job(row)


async def runnable_job(store: Store, exclude: Iterable[int] = ()) -> JobRow | None:
    """The job to run next: one that was running (a restart resumes it), else the oldest
    queued one; none of `exclude`."""
    row = await store.fetch_one(
        f"SELECT {_JOB_COLUMNS} FROM jobs WHERE state IN ('RUNNING', 'QUEUED')"
        " AND id NOT IN (SELECT value FROM json_each(?)) ORDER BY state = 'QUEUED', id LIMIT 1",
        (json_list(exclude),),
    )
    return None if row is None else _job(row)


def jobs_page_request(first: int | None, after: str | None) -> PageRequest:
    return page_request(LIST_NAME, SORT_KEY_TYPES, first, after)


async def page_jobs(store: Store, request: PageRequest) -> Page[JobRow]:
    """One page of jobs, newest first, and how many there are."""
    before = 2**63 - 1 if request.after is None else request.after[0]
    async with store.snapshot() as conn:
        count_rows = await conn.execute_fetchall("SELECT count(*) FROM jobs")
        rows = await conn.execute_fetchall(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id < ? ORDER BY id DESC LIMIT ?",
            (before, request.first + 1),
        )
    jobs = [_job(row) for row in rows]
    keys: list[tuple[str | int, ...]] = [(job.id,) for job in jobs]
    return build_page(LIST_NAME, jobs, keys, request, next(iter(count_rows))[0])


async def item_counts(store: Store, job_ids: Sequence[int]) -> dict[int, ItemCounts]:
    """Each job's items counted: in all, done, their bytes, and per outcome."""
    rows = await store.fetch_all(
        "SELECT job_id, outcome, count(*), coalesce(sum(size_bytes), 0) FROM job_items"
        " WHERE job_id IN (SELECT value FROM json_each(?)) GROUP BY job_id, outcome",
        (json_list(job_ids),),
    )
    grouped: dict[int, list[sqlite3.Row]] = {job_id: [] for job_id in job_ids}
    for row in rows:
        grouped[row[0]].append(row)
    return {job_id: _counts(group) for job_id, group in grouped.items()}


async def unfinished_items(store: Store, job_id: int) -> list[JobItem]:
    """The items still to do, largest file first (the long hashes start while short ones
    fill the gaps)."""
    rows = await store.fetch_all(
        f"SELECT {_ITEM_COLUMNS} FROM job_items WHERE job_id = ? AND outcome IS NULL"
        " ORDER BY coalesce(size_bytes, 0) DESC, position",
        (job_id,),
    )
    return [_item(row) for row in rows]


def items_page_request(first: int | None, after: str | None) -> PageRequest:
    return page_request(ITEMS_LIST_NAME, ITEM_SORT_KEY_TYPES, first, after)


async def page_items(
    store: Store, job_id: int, outcome: Outcome | None, request: PageRequest
) -> Page[JobItem]:
    """One page of a job's items in planned order, of one outcome when given."""
    after = -1 if request.after is None else request.after[0]
    kind = None if outcome is None else outcome.value
    async with store.snapshot() as conn:
        count_rows = await conn.execute_fetchall(
            "SELECT count(*) FROM job_items WHERE job_id = ? AND (? IS NULL OR outcome = ?)",
            (job_id, kind, kind),
        )
        rows = await conn.execute_fetchall(
            f"SELECT {_ITEM_COLUMNS} FROM job_items WHERE job_id = ?"
            " AND (? IS NULL OR outcome = ?) AND position > ? ORDER BY position LIMIT ?",
            (job_id, kind, kind, after, request.first + 1),
        )
    items = [_item(row) for row in rows]
    keys: list[tuple[str | int, ...]] = [(item.position,) for item in items]
    return build_page(ITEMS_LIST_NAME, items, keys, request, next(iter(count_rows))[0])


def _counts(rows: list[sqlite3.Row]) -> ItemCounts:
    by_outcome = {Outcome(row[1]): row[2] for row in rows if row[1] is not None}
    return ItemCounts(
        total=sum(row[2] for row in rows),
        done=sum(by_outcome.values()),
        bytes_total=sum(row[3] for row in rows),
        bytes_done=sum(row[3] for row in rows if row[1] is not None),
        by_outcome=by_outcome,
    )


def _moment(value: int | None) -> datetime | None:
    return None if value is None else from_epoch_ms(value)


def _job(row: sqlite3.Row) -> JobRow:
    return JobRow(
        id=row["id"],
        kind=JobKind(row["kind"]),
        state=JobState(row["state"]),
        params=json.loads(row["params_json"]),
        planned=bool(row["planned"]),
        created_at=from_epoch_ms(row["created_at"]),
        started_at=_moment(row["started_at"]),
        finished_at=_moment(row["finished_at"]),
        error=row["error"],
        progress=_progress(row["progress_json"]),
        result=None if row["result_json"] is None else json.loads(row["result_json"]),
    )


def _progress(text: str | None) -> ItemCounts | None:
    if text is None:
        return None
    kept = json.loads(text)
    return ItemCounts(total=kept["total"], done=kept["done"])


def _item(row: sqlite3.Row) -> JobItem:
    return JobItem(
        job_id=row["job_id"],
        item=row["item"],
        position=row["position"],
        name=row["name"],
        size_bytes=row["size_bytes"],
        outcome=None if row["outcome"] is None else Outcome(row["outcome"]),
        message=row["message"],
        sha256=row["sha256"],
        finished_at=_moment(row["finished_at"]),
    )


async def pending_to_import(
    conn: aiosqlite.Connection, ids: Sequence[int] | None
) -> list[tuple[int, str, int | None]]:
    """(id, name, size) of the given pending imports that exist, or of every one."""
    if ids is None:
        rows = await conn.execute_fetchall(
            "SELECT id, name, size_bytes FROM pending_import ORDER BY id"
        )
    else:
        rows = await conn.execute_fetchall(
            "SELECT id, name, size_bytes FROM pending_import"
            " WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
            (json_list(ids),),
        )
    return [(row[0], row[1], row[2]) for row in rows]
