"""The Stage 1 ledger: which legacy databases were imported (by real path, and by a digest
of each row), which rows, which images are owed, and each migration's counts and issues."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import aiosqlite

from domain.legacy.identity import SourceMatch
from domain.legacy.rules import Issue
from domain.store.database import Store
from domain.store.sql import json_list


@dataclass(frozen=True, slots=True)
class ImageTask:
    """One legacy image still to be put in a gallery (`sha256`) or copied (`pending_id`)."""

    id: int
    legacy_id: int
    source_path: str
    sha256: str | None
    pending_id: int | None


@dataclass(frozen=True, slots=True)
class LegacySource:
    """A legacy database the ledger knows, and the path it last had."""

    id: int
    path: str


async def source_at(store: Store, paths: Sequence[str]) -> LegacySource | None:
    """The legacy database the ledger knows under the first of `paths` that it has."""
    for path in dict.fromkeys(paths):
        row = await store.fetch_one("SELECT id, path FROM legacy_sources WHERE path = ?", (path,))
        if row is not None:
            return LegacySource(row[0], row[1])
    return None


async def sources_sharing_rows(store: Store, digests: Sequence[int]) -> list[SourceMatch]:
    """Every known legacy database holding one of these row digests, with how many of them
    it holds and how many rows it holds in all."""
    rows = await store.fetch_all(
        "SELECT s.id, s.path, count(*),"
        " (SELECT count(*) FROM legacy_rows WHERE source_id = s.id)"
        " FROM (SELECT DISTINCT value FROM json_each(?)) AS wanted"
        " JOIN legacy_rows AS r ON r.row_digest = wanted.value"
        " JOIN legacy_sources AS s ON s.id = r.source_id"
        " GROUP BY s.id",
        (json_list(digests),),
    )
    return [SourceMatch(row[0], row[1], row[2], row[3]) for row in rows]


async def register_source(conn: aiosqlite.Connection, path: str, now_ms: int) -> int:
    """Enter a legacy database in the ledger on its first run; returns its id."""
    cursor = await conn.execute(
        "INSERT INTO legacy_sources (path, first_run_at, last_run_at) VALUES (?, ?, ?)",
        (path, now_ms, now_ms),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def note_run(conn: aiosqlite.Connection, source_id: int, path: str, now_ms: int) -> None:
    """Record a run of a known legacy database, found at `path` (perhaps a new one)."""
    await conn.execute(
        "UPDATE legacy_sources SET path = ?, last_run_at = ? WHERE id = ?",
        (path, now_ms, source_id),
    )


async def imported_legacy_ids(store: Store, source_id: int) -> set[int]:
    rows = await store.fetch_all(
        "SELECT legacy_id FROM legacy_rows WHERE source_id = ?", (source_id,)
    )
    return {row[0] for row in rows}


async def record_rows(
    conn: aiosqlite.Connection, source_id: int, outcomes: Iterable[tuple[int, str, int]]
) -> None:
    """Note (legacy id, outcome, row digest) triples as carried over."""
    await conn.executemany(
        "INSERT INTO legacy_rows (source_id, legacy_id, outcome, row_digest) VALUES (?, ?, ?, ?)",
        [(source_id, *outcome) for outcome in outcomes],
    )


async def fill_row_digests(
    conn: aiosqlite.Connection, source_id: int, digests: Iterable[tuple[int, int]]
) -> None:
    """Give (legacy id, digest) to rows recorded without one (by a version 3 run)."""
    lacking = await conn.execute_fetchall(
        "SELECT 1 FROM legacy_rows WHERE source_id = ? AND row_digest IS NULL LIMIT 1",
        (source_id,),
    )
    if not list(lacking):
        return
    await conn.executemany(
        "UPDATE legacy_rows SET row_digest = ?"
        " WHERE source_id = ? AND legacy_id = ? AND row_digest IS NULL",
        [(digest, source_id, legacy_id) for legacy_id, digest in digests],
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


@dataclass(frozen=True, slots=True)
class MigrationCounts:
    """What one migration did, as the ledger counted it."""

    already_imported: int = 0
    models_imported: int = 0
    pending_created: int = 0
    tags_imported: int = 0
    duplicates: int = 0
    images_converted: int = 0
    images_copied: int = 0
    images_missing: int = 0
    images_failed: int = 0


COUNTS = tuple(MigrationCounts.__dataclass_fields__)  # the columns of legacy_migrations


async def open_migration(conn: aiosqlite.Connection, source_id: int) -> int | None:
    """The migration of this legacy database that still owes images, if there is one."""
    rows = list(
        await conn.execute_fetchall(
            "SELECT id FROM legacy_migrations WHERE source_id = ? AND finished_at IS NULL",
            (source_id,),
        )
    )
    return int(rows[0][0]) if rows else None


async def start_migration(conn: aiosqlite.Connection, source_id: int, now_ms: int) -> int:
    cursor = await conn.execute(
        "INSERT INTO legacy_migrations (source_id, started_at) VALUES (?, ?)", (source_id, now_ms)
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def owes_images(conn: aiosqlite.Connection, source_id: int) -> bool:
    rows = await conn.execute_fetchall(
        "SELECT 1 FROM legacy_image_tasks WHERE source_id = ? LIMIT 1", (source_id,)
    )
    return bool(list(rows))


async def add_counts(conn: aiosqlite.Connection, migration_id: int, **deltas: int) -> None:
    """Add to a migration's counts (`images_converted=1`), in the caller's transaction: the
    one that does the work counted."""
    unknown = set(deltas) - set(COUNTS)
    if unknown:
        raise ValueError(f"no such migration count: {', '.join(sorted(unknown))}")
    changes = {name: delta for name, delta in deltas.items() if delta}
    if not changes:
        return
    assignments = ", ".join(f"{name} = {name} + ?" for name in changes)
    await conn.execute(
        f"UPDATE legacy_migrations SET {assignments} WHERE id = ?",
        (*changes.values(), migration_id),
    )


async def record_issues(
    conn: aiosqlite.Connection, migration_id: int, issues: Iterable[Issue]
) -> None:
    await conn.executemany(
        "INSERT INTO legacy_issues (migration_id, legacy_id, kind, message) VALUES (?, ?, ?, ?)",
        [(migration_id, issue.legacy_id, issue.kind, issue.message) for issue in issues],
    )


async def finish_migration(conn: aiosqlite.Connection, migration_id: int, now_ms: int) -> None:
    """Mark the migration finished if its legacy database owes no image any more."""
    await conn.execute(
        "UPDATE legacy_migrations SET finished_at = ? WHERE id = ? AND finished_at IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM legacy_image_tasks"
        " WHERE legacy_image_tasks.source_id = legacy_migrations.source_id)",
        (now_ms, migration_id),
    )


async def migration_summary(store: Store, migration_id: int) -> tuple[MigrationCounts, list[Issue]]:
    """A migration's counts and its issues, row by row (issues of no row first), each row's
    in the order they were met."""
    async with store.snapshot() as conn:
        counts = list(
            await conn.execute_fetchall(
                f"SELECT {', '.join(COUNTS)} FROM legacy_migrations WHERE id = ?",
                (migration_id,),
            )
        )
        issues = await conn.execute_fetchall(
            "SELECT legacy_id, kind, message FROM legacy_issues WHERE migration_id = ?"
            " ORDER BY legacy_id IS NOT NULL, legacy_id, id",
            (migration_id,),
        )
    return MigrationCounts(*counts[0]), [Issue(*row) for row in issues]
