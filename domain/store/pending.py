"""Reading and writing pending imports, their tag links and their original images."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import aiosqlite

from domain.pagination import Page, PageRequest, build_page, page_request
from domain.records import FileStatus, PendingImage, PendingImport, from_epoch_ms, to_epoch_ms
from domain.store.database import Store
from domain.store.file_filter import FileFilter
from domain.store.sql import group_rows, json_list, where

LIST_NAME = "pendingImports"
# Pending imports are listed by id: the legacy row order users already know.
SORT_KEY_TYPES = (int,)

_COLUMNS = (
    "id, path, name, type, size_bytes, created_at, meta_json, sha256, file_status, base_model"
)


def pending_page_request(first: int | None, after: str | None) -> PageRequest:
    return page_request(LIST_NAME, SORT_KEY_TYPES, first, after)


async def page_pending(
    store: Store, request: PageRequest, files: FileFilter | None = None
) -> Page[PendingImport]:
    """One page of the pending imports that pass `files`, in id order, and how many pass."""
    after = -1 if request.after is None else request.after[0]
    clauses, params = (files or FileFilter()).clauses()
    async with store.snapshot() as conn:
        count_rows = await conn.execute_fetchall(
            f"SELECT count(*) FROM pending_import {where(clauses)}", params
        )
        rows = await conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM pending_import {where([*clauses, 'id > ?'])}"
            " ORDER BY id LIMIT ?",
            (*params, after, request.first + 1),
        )
    pending = [_pending(row) for row in rows]
    keys: list[tuple[str | int, ...]] = [(p.id,) for p in pending]
    total = next(iter(count_rows))[0]
    return build_page(LIST_NAME, pending, keys, request, total)


async def pending_with_digests(
    store: Store, sha256s: Sequence[str]
) -> dict[str, list[PendingImport]]:
    """The pending imports whose known digest is one of these, by digest, each list by id:
    one statement."""
    rows = await store.fetch_all(
        f"SELECT {_COLUMNS} FROM pending_import"
        " WHERE sha256 IN (SELECT value FROM json_each(?)) ORDER BY id",
        (json_list(sha256s),),
    )
    found: dict[str, list[PendingImport]] = {}
    for row in rows:
        found.setdefault(row["sha256"], []).append(_pending(row))
    return found


async def get_pending(store: Store, pending_id: int) -> PendingImport | None:
    row = await store.fetch_one(
        f"SELECT {_COLUMNS} FROM pending_import WHERE id = ?", (pending_id,)
    )
    return None if row is None else _pending(row)


async def images_of_pending(
    store: Store, pending_ids: Sequence[int]
) -> dict[int, list[PendingImage]]:
    """The original images of many pending imports in one statement, each one's in seq order."""
    rows = await store.fetch_all(
        "SELECT pending_id, seq, file_name, size_bytes FROM pending_images"
        " WHERE pending_id IN (SELECT value FROM json_each(?)) ORDER BY pending_id, seq",
        (json_list(pending_ids),),
    )
    return group_rows(rows, "pending_id", pending_ids, _pending_image)


async def pending_image_exists(store: Store, file_name: str) -> bool:
    row = await store.fetch_one("SELECT 1 FROM pending_images WHERE file_name = ?", (file_name,))
    return row is not None


async def all_pending_image_names(conn: aiosqlite.Connection) -> set[str]:
    rows = await conn.execute_fetchall("SELECT file_name FROM pending_images")
    return {row[0] for row in rows}


@dataclass(frozen=True, slots=True)
class HashCache:
    """A digest computed for the file as it was: valid while size and mtime still match."""

    sha256: str
    size_bytes: int
    mtime_ns: int


async def hash_cache(store: Store, pending_id: int) -> HashCache | None:
    row = await store.fetch_one(
        "SELECT sha256, hashed_size_bytes, hashed_mtime_ns FROM pending_import WHERE id = ?",
        (pending_id,),
    )
    if row is None or None in (row[0], row[1], row[2]):
        return None
    return HashCache(row[0], row[1], row[2])


async def save_hash_cache(conn: aiosqlite.Connection, pending_id: int, cache: HashCache) -> None:
    await conn.execute(
        "UPDATE pending_import SET sha256 = ?, hashed_size_bytes = ?, hashed_mtime_ns = ?"
        " WHERE id = ?",
        (cache.sha256, cache.size_bytes, cache.mtime_ns, pending_id),
    )


async def pending_tag_ids(conn: aiosqlite.Connection, pending_id: int) -> list[int]:
    rows = await conn.execute_fetchall(
        "SELECT tag_id FROM pending_model_tags WHERE pending_id = ? ORDER BY tag_id", (pending_id,)
    )
    return [row[0] for row in rows]


async def pending_in(conn: aiosqlite.Connection, pending_id: int) -> PendingImport | None:
    """The pending import, read inside the caller's transaction."""
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM pending_import WHERE id = ?", (pending_id,)
    ) as cursor:
        row = await cursor.fetchone()
    return None if row is None else _pending(row)


async def pending_images_in(conn: aiosqlite.Connection, pending_id: int) -> list[PendingImage]:
    """One pending import's original images in seq order, inside the caller's transaction."""
    rows = await conn.execute_fetchall(
        "SELECT pending_id, seq, file_name, size_bytes FROM pending_images"
        " WHERE pending_id = ? ORDER BY seq",
        (pending_id,),
    )
    return [_pending_image(row) for row in rows]


async def update_pending(conn: aiosqlite.Connection, pending: PendingImport) -> None:
    """Write the fields an edit may change (name, type, meta) of an existing pending import."""
    await conn.execute(
        "UPDATE pending_import SET name = ?, type = ?, meta_json = ? WHERE id = ?",
        (pending.name, pending.type.lower(), json.dumps(pending.meta), pending.id),
    )


async def delete_pending(conn: aiosqlite.Connection, pending_id: int) -> None:
    """Remove a pending import with its tag links and image rows (not its files)."""
    await conn.execute("DELETE FROM pending_import WHERE id = ?", (pending_id,))


async def insert_pending(conn: aiosqlite.Connection, pending: PendingImport) -> None:
    await insert_many_pending(conn, [pending])


async def insert_many_pending(conn: aiosqlite.Connection, pending: Iterable[PendingImport]) -> None:
    await conn.executemany(
        f"INSERT INTO pending_import ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                row.id,
                row.path,
                row.name,
                row.type.lower(),
                row.size_bytes,
                to_epoch_ms(row.created_at),
                json.dumps(row.meta),
                row.sha256,
                row.file_status.value,
                row.base_model,
            )
            for row in pending
        ],
    )


async def link_pending_tags(
    conn: aiosqlite.Connection, pending_id: int, tag_ids: Iterable[int]
) -> None:
    await link_many_pending_tags(conn, [(pending_id, tag_id) for tag_id in tag_ids])


async def link_many_pending_tags(
    conn: aiosqlite.Connection, links: Iterable[tuple[int, int]]
) -> None:
    """(pending id, tag id) links, in one statement batch; existing links are kept."""
    await conn.executemany(
        "INSERT OR IGNORE INTO pending_model_tags (pending_id, tag_id) VALUES (?, ?)", links
    )


async def all_pending_keys(conn: aiosqlite.Connection) -> tuple[set[int], set[str]]:
    """Every id and every path the pending imports hold."""
    rows = list(await conn.execute_fetchall("SELECT id, path FROM pending_import"))
    return {row[0] for row in rows}, {row[1] for row in rows}


async def pending_exists(conn: aiosqlite.Connection, pending_id: int) -> bool:
    rows = await conn.execute_fetchall("SELECT 1 FROM pending_import WHERE id = ?", (pending_id,))
    return bool(list(rows))


async def next_pending_image_seq(conn: aiosqlite.Connection, pending_id: int) -> int:
    rows = list(
        await conn.execute_fetchall(
            "SELECT coalesce(max(seq) + 1, 0) FROM pending_images WHERE pending_id = ?",
            (pending_id,),
        )
    )
    return int(rows[0][0])


async def insert_pending_image(conn: aiosqlite.Connection, image: PendingImage) -> None:
    await conn.execute(
        "INSERT INTO pending_images (pending_id, seq, file_name, size_bytes) VALUES (?, ?, ?, ?)",
        (image.pending_id, image.seq, image.file_name, image.size_bytes),
    )


def _pending(row: sqlite3.Row) -> PendingImport:
    return PendingImport(
        id=row["id"],
        path=row["path"],
        name=row["name"],
        type=row["type"],
        size_bytes=row["size_bytes"],
        created_at=from_epoch_ms(row["created_at"]),
        meta=json.loads(row["meta_json"]),
        sha256=row["sha256"],
        file_status=FileStatus(row["file_status"]),
        base_model=row["base_model"],
    )


def _pending_image(row: sqlite3.Row) -> PendingImage:
    return PendingImage(
        pending_id=row["pending_id"],
        seq=row["seq"],
        file_name=row["file_name"],
        size_bytes=row["size_bytes"],
    )
