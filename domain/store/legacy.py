"""The Stage 1 ledger: which legacy databases were imported, which rows, which images are owed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import aiosqlite

from domain.store.database import Store


@dataclass(frozen=True, slots=True)
class ImageTask:
    """One legacy image still to be put in a gallery (`sha256`) or copied (`pending_id`)."""

    id: int
    legacy_id: int
    source_path: str
    sha256: str | None
    pending_id: int | None


async def legacy_source_id(conn: aiosqlite.Connection, path: str, now_ms: int) -> int:
    """The ledger id of the legacy database at `path`, registering it on its first run."""
    await conn.execute(
        "INSERT INTO legacy_sources (path, first_run_at, last_run_at) VALUES (?, ?, ?)"
        " ON CONFLICT (path) DO UPDATE SET last_run_at = excluded.last_run_at",
        (path, now_ms, now_ms),
    )
    rows = list(
        await conn.execute_fetchall("SELECT id FROM legacy_sources WHERE path = ?", (path,))
    )
    return int(rows[0][0])


async def imported_legacy_ids(conn: aiosqlite.Connection, source_id: int) -> set[int]:
    rows = await conn.execute_fetchall(
        "SELECT legacy_id FROM legacy_rows WHERE source_id = ?", (source_id,)
    )
    return {row[0] for row in rows}


async def record_rows(
    conn: aiosqlite.Connection, source_id: int, outcomes: Iterable[tuple[int, str]]
) -> None:
    """Note (legacy id, outcome) pairs as carried over."""
    await conn.executemany(
        "INSERT INTO legacy_rows (source_id, legacy_id, outcome) VALUES (?, ?, ?)",
        [(source_id, legacy_id, outcome) for legacy_id, outcome in outcomes],
    )


async def plan_image_tasks(
    conn: aiosqlite.Connection,
    source_id: int,
    tasks: Iterable[tuple[int, int, str, str | None, int | None]],
) -> None:
    """Owe images: (legacy id, position, source path, sha256 or None, pending id or None)."""
    await conn.executemany(
        "INSERT INTO legacy_image_tasks (source_id, legacy_id, position, source_path, sha256,"
        " pending_id) VALUES (?, ?, ?, ?, ?, ?)",
        [(source_id, *task) for task in tasks],
    )


async def owed_image_tasks(store: Store, source_id: int) -> list[ImageTask]:
    """The images still owed for one legacy database, each row's in listed order."""
    rows = await store.fetch_all(
        "SELECT id, legacy_id, source_path, sha256, pending_id FROM legacy_image_tasks"
        " WHERE source_id = ? ORDER BY legacy_id, position",
        (source_id,),
    )
    return [ImageTask(*row) for row in rows]


async def images_owed_to_pending(store: Store, pending_id: int) -> int:
    """How many legacy images Stage 1 has still to copy for this pending import."""
    row = await store.fetch_one(
        "SELECT count(*) FROM legacy_image_tasks WHERE pending_id = ?", (pending_id,)
    )
    return 0 if row is None else int(row[0])


async def finish_image_task(conn: aiosqlite.Connection, task_id: int) -> None:
    await conn.execute("DELETE FROM legacy_image_tasks WHERE id = ?", (task_id,))
