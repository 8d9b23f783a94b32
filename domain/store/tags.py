"""Reading and writing tags."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import aiosqlite

from domain.records import Tag
from domain.store.database import Store
from domain.store.sql import group_rows, json_list
from domain.tag_names import clean_tag_name

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
    """Add a tag (with the given id, when one is given) and return it. A name another tag
    has, ignoring case, is refused by the database (`sqlite3.IntegrityError`)."""
    async with conn.execute(
        "INSERT INTO tags (id, name, color) VALUES (?, ?, ?) RETURNING id, name, color",
        (tag_id, clean_tag_name(name), color),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None  # RETURNING always yields the inserted row
    return _tag(row)


def _tag(row: sqlite3.Row) -> Tag:
    return Tag(id=row["id"], name=row["name"], color=row["color"])


async def tag_with_key(conn: aiosqlite.Connection, key: str) -> Tag | None:
    """The tag whose name folds to `key` (see `domain.tag_names`), inside the caller's
    transaction."""
    async with conn.execute(f"SELECT {_COLUMNS} FROM tags WHERE name_key = ?", (key,)) as cursor:
        row = await cursor.fetchone()
    return None if row is None else _tag(row)


async def tags_with_ids(conn: aiosqlite.Connection, tag_ids: Sequence[int]) -> dict[int, Tag]:
    """The tags among these ids that exist, by id, in one statement."""
    rows = await conn.execute_fetchall(
        f"SELECT {_COLUMNS} FROM tags WHERE id IN (SELECT value FROM json_each(?))",
        (json_list(tag_ids),),
    )
    return {row["id"]: _tag(row) for row in rows}


async def update_tag_row(conn: aiosqlite.Connection, tag: Tag) -> None:
    """Write the tag's name and colour; the database re-keys the name."""
    await conn.execute(
        "UPDATE tags SET name = ?, color = ? WHERE id = ?", (tag.name, tag.color, tag.id)
    )


async def delete_tags(conn: aiosqlite.Connection, tag_ids: Sequence[int]) -> None:
    """Delete the tags; their links to models and pending imports go with them (cascade)."""
    await conn.execute(
        "DELETE FROM tags WHERE id IN (SELECT value FROM json_each(?))", (json_list(tag_ids),)
    )


async def move_tag_links(
    conn: aiosqlite.Connection, source_ids: Sequence[int], target_id: int
) -> None:
    """Give every model and pending import of the sources the target tag (once: a holder of
    both keeps one link), in two statements whatever their number."""
    sources = json_list(source_ids)
    await conn.execute(
        "INSERT OR IGNORE INTO model_tags (sha256, tag_id)"
        " SELECT sha256, ? FROM model_tags WHERE tag_id IN (SELECT value FROM json_each(?))",
        (target_id, sources),
    )
    await conn.execute(
        "INSERT OR IGNORE INTO pending_model_tags (pending_id, tag_id)"
        " SELECT pending_id, ? FROM pending_model_tags"
        " WHERE tag_id IN (SELECT value FROM json_each(?))",
        (target_id, sources),
    )


async def model_counts_of_tags(store: Store, tag_ids: Sequence[int]) -> dict[int, int]:
    """How many models carry each tag, for many tags in one statement (an index walk of
    `model_tags_by_tag`); 0 for a tag no model carries."""
    rows = await store.fetch_all(
        "SELECT tag_id, count(*) AS models FROM model_tags"
        " WHERE tag_id IN (SELECT value FROM json_each(?)) GROUP BY tag_id",
        (json_list(tag_ids),),
    )
    counts = dict.fromkeys(tag_ids, 0)
    counts.update((row["tag_id"], row["models"]) for row in rows)
    return counts
