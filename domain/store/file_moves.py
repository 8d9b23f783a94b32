"""The journal of file renames and deletions that committed gallery changes still owe."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import aiosqlite

from domain.store.database import Store


@dataclass(frozen=True, slots=True)
class FileMove:
    """Rename `source` to `target` in the image folder, or delete `source` when no target."""

    id: int
    source: str
    target: str | None


async def plan_moves(
    conn: aiosqlite.Connection, sha256: str, moves: Iterable[tuple[str, str | None]]
) -> None:
    """Record moves in the caller's transaction; they are carried out in the order given."""
    await conn.executemany(
        "INSERT INTO file_moves (sha256, source, target) VALUES (?, ?, ?)",
        [(sha256, source, target) for source, target in moves],
    )


async def owed_moves(store: Store, sha256: str | None = None) -> list[FileMove]:
    """The moves still owed, for one gallery or for all, in the order they must be done."""
    rows = await store.fetch_all(
        "SELECT id, source, target FROM file_moves WHERE ? IS NULL OR sha256 = ? ORDER BY id",
        (sha256, sha256),
    )
    return [FileMove(row["id"], row["source"], row["target"]) for row in rows]


async def forget_moves(conn: aiosqlite.Connection, moves: Iterable[FileMove]) -> None:
    await conn.executemany("DELETE FROM file_moves WHERE id = ?", [(move.id,) for move in moves])
