"""Reading and writing tags."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import aiosqlite

from domain.records import Tag
from domain.store.database import Store
from domain.store.sql import group_rows, json_list

_COLUMNS = "tags.id, tags.name, tags.color"


async def list_tags(store: Store) -> list[Tag]:
    """Every tag, by name."""
    rows = await store.fetch_all(f"SELECT {_COLUMNS} FROM tags ORDER BY name, id")
    return [_tag(row) for row in rows]


async def all_tags(conn: aiosqlite.Connection) -> list[Tag]:
    """Every tag, read inside the caller's transaction."""
    return [_tag(row) for row in await conn.execute_fetchall(f"SELECT {_COLUMNS} FROM tags")]


async def tags_of_models(store: Store, sha256s: Sequence[str]) -> dict[str, list[Tag]]:
    """The tags of many models in one statement, each model's by name."""
    rows = await store.fetch_all(
        f"SELECT model_tags.sha256 AS owner, {_COLUMNS} FROM model_tags"
        " JOIN tags ON tags.id = model_tags.tag_id"
        " WHERE model_tags.sha256 IN (SELECT value FROM json_each(?))"
        " ORDER BY tags.name, tags.id",
        (json_list(sha256s),),
    )
    return group_rows(rows, "owner", sha256s, _tag)


async def tags_of_pending(store: Store, pending_ids: Sequence[int]) -> dict[int, list[Tag]]:
    """The tags of many pending imports in one statement, each one's by name."""
    rows = await store.fetch_all(
        f"SELECT pending_model_tags.pending_id AS owner, {_COLUMNS} FROM pending_model_tags"
        " JOIN tags ON tags.id = pending_model_tags.tag_id"
        " WHERE pending_model_tags.pending_id IN (SELECT value FROM json_each(?))"
        " ORDER BY tags.name, tags.id",
        (json_list(pending_ids),),
    )
    return group_rows(rows, "owner", pending_ids, _tag)


async def insert_tag(
    conn: aiosqlite.Connection, name: str, color: str | None = None, tag_id: int | None = None
) -> Tag:
    """Add a tag (with the given id, when one is given) and return it."""
    async with conn.execute(
        "INSERT INTO tags (id, name, color) VALUES (?, ?, ?) RETURNING id, name, color",
        (tag_id, name.strip(), color),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None  # RETURNING always yields the inserted row
    return _tag(row)


def _tag(row: sqlite3.Row) -> Tag:
    return Tag(id=row["id"], name=row["name"], color=row["color"])
