"""What a folder scan reads and writes: the files the library knows under a folder, their
status, and the pending imports a scan finds."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import aiosqlite

from domain.jobs.model import Outcome
from domain.records import FileStatus, PendingImport
from domain.store import Store
from domain.store.jobs import now_ms
from domain.store.pending import insert_many_pending


class KnownFile(NamedTuple):
    """A file the library has a row for: a model's (`sha256`) or a pending import's
    (`pending_id`), with the size and mtime its digest was computed for, when known. A
    tuple: a rescan reads one per file of the library."""

    path: str
    sha256: str | None
    pending_id: int | None
    size_bytes: int | None
    mtime_ns: int | None
    status: FileStatus

    def status_now(self, size_bytes: int, mtime_ns: int) -> FileStatus:
        """PRESENT, or CHANGED when the file is not the one that was hashed. A file never
        hashed (a pending import without a digest) cannot have changed since."""
        if self.size_bytes is not None and self.size_bytes != size_bytes:
            return FileStatus.CHANGED
        if self.mtime_ns is not None and self.mtime_ns != mtime_ns:
            return FileStatus.CHANGED
        return FileStatus.PRESENT


@dataclass(frozen=True, slots=True)
class Refusal:
    """A file a scan found not to be a model file, as it was then."""

    path: str
    size_bytes: int
    mtime_ns: int
    message: str


def _range(folder: str) -> tuple[str, str]:
    """The paths under `folder` as a range of the path index: from `folder/` up to, not
    including, `folder0` ('0' follows '/' in every collation SQLite uses here)."""
    stem = folder.rstrip("/")
    return f"{stem}/", f"{stem}0"


async def files_under(store: Store, folders: Sequence[str]) -> dict[str, KnownFile]:
    """Every model and pending import whose path is under one of `folders`, by path: two
    range reads of the path indexes per folder."""
    known: dict[str, KnownFile] = {}
    async with store.read() as conn:
        for folder in folders:
            low, high = _range(folder)
            models = await conn.execute_fetchall(
                "SELECT sha256, path, size_bytes, hashed_mtime_ns, file_status FROM models"
                " WHERE path >= ? AND path < ?",
                (low, high),
            )
            for sha256, path, size, mtime, status in models:
                known[path] = KnownFile(path, sha256, None, size, mtime, FileStatus(status))
            pending = await conn.execute_fetchall(
                "SELECT id, path, CASE WHEN sha256 IS NULL THEN NULL ELSE hashed_size_bytes END,"
                " CASE WHEN sha256 IS NULL THEN NULL ELSE hashed_mtime_ns END, file_status"
                " FROM pending_import WHERE path >= ? AND path < ?",
                (low, high),
            )
            for pending_id, path, size, mtime, status in pending:
                known[path] = KnownFile(path, None, pending_id, size, mtime, FileStatus(status))
    return known


async def refusals_under(store: Store, folders: Sequence[str]) -> dict[str, Refusal]:
    refused: dict[str, Refusal] = {}
    async with store.read() as conn:
        for folder in folders:
            rows = await conn.execute_fetchall(
                "SELECT path, size_bytes, mtime_ns, message FROM scan_refusals"
                " WHERE path >= ? AND path < ?",
                _range(folder),
            )
            refused.update((row[0], Refusal(*row)) for row in rows)
    return refused


async def keep_refusals(conn: aiosqlite.Connection, refusals: Iterable[Refusal]) -> None:
    await conn.executemany(
        "INSERT OR REPLACE INTO scan_refusals (path, size_bytes, mtime_ns, message)"
        " VALUES (?, ?, ?, ?)",
        [(r.path, r.size_bytes, r.mtime_ns, r.message) for r in refusals],
    )


async def forget_refusals(conn: aiosqlite.Connection, paths: Iterable[str]) -> None:
    await conn.executemany("DELETE FROM scan_refusals WHERE path = ?", [(p,) for p in paths])


async def set_statuses(
    conn: aiosqlite.Connection, changes: Iterable[tuple[KnownFile, FileStatus]]
) -> None:
    """Write the statuses that differ from what the rows hold."""
    models, pending = [], []
    for file, status in changes:
        if file.sha256 is not None:
            models.append((status.value, file.sha256))
        else:
            pending.append((status.value, file.pending_id))
    await conn.executemany("UPDATE models SET file_status = ? WHERE sha256 = ?", models)
    await conn.executemany("UPDATE pending_import SET file_status = ? WHERE id = ?", pending)


async def add_found(
    conn: aiosqlite.Connection,
    job_id: int,
    found: Sequence[PendingImport],
    outcome: Outcome | None,
) -> list[PendingImport]:
    """Make `found` pending imports (their ids given here: one statement for the lot, in the
    writer's transaction, so no other writer can take an id meanwhile) and items of the job,
    with `outcome` (FOUND) or to do (None)."""
    rows = await conn.execute_fetchall("SELECT coalesce(max(id), 0) FROM pending_import")
    first_id = next(iter(rows))[0] + 1
    numbered = [
        PendingImport(
            first_id + n,
            row.path,
            row.name,
            row.type,
            row.size_bytes,
            row.created_at,
            row.meta,
            None,
            row.file_status,
            row.base_model,
        )
        for n, row in enumerate(found)
    ]
    await insert_many_pending(conn, numbered)
    rows = await conn.execute_fetchall(
        "SELECT coalesce(max(position) + 1, 0) FROM job_items WHERE job_id = ?", (job_id,)
    )
    start, finished = next(iter(rows))[0], None if outcome is None else now_ms()
    await conn.executemany(
        "INSERT INTO job_items (job_id, item, position, name, size_bytes, outcome, finished_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                job_id,
                row.id,
                start + n,
                row.name,
                row.size_bytes,
                None if outcome is None else outcome.value,
                finished,
            )
            for n, row in enumerate(numbered)
        ],
    )
    return numbered
