"""Which tags models and pending imports carry: set one's tags, or retag many at once.

Each function is a fixed number of statements however many models or tags it is given:
lists travel as one JSON parameter read with `json_each` (`domain.store.sql.json_list`).
"""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

from domain.store.sql import json_list


async def unknown_tag_ids(conn: aiosqlite.Connection, tag_ids: Sequence[int]) -> list[int]:
    """The ids of `tag_ids` that are no tag, in order."""
    rows = await conn.execute_fetchall(
        "SELECT DISTINCT value FROM json_each(?)"
        " WHERE NOT EXISTS (SELECT 1 FROM tags WHERE id = value) ORDER BY value",
        (json_list(tag_ids),),
    )
    return [row[0] for row in rows]


async def set_model_tags(conn: aiosqlite.Connection, sha256: str, tag_ids: Sequence[int]) -> bool:
    """Make `tag_ids` exactly the model's tags; whether that changed any link."""
    unlinked = await conn.execute(
        "DELETE FROM model_tags WHERE sha256 = ?"
        " AND tag_id NOT IN (SELECT value FROM json_each(?))",
        (sha256, json_list(tag_ids)),
    )
    linked = await conn.execute(
        "INSERT OR IGNORE INTO model_tags (sha256, tag_id) SELECT ?, value FROM json_each(?)",
        (sha256, json_list(tag_ids)),
    )
    return unlinked.rowcount + linked.rowcount > 0


async def set_pending_tags(
    conn: aiosqlite.Connection, pending_id: int, tag_ids: Sequence[int]
) -> None:
    """Make `tag_ids` exactly the pending import's tags."""
    await conn.execute(
        "DELETE FROM pending_model_tags WHERE pending_id = ?"
        " AND tag_id NOT IN (SELECT value FROM json_each(?))",
        (pending_id, json_list(tag_ids)),
    )
    await conn.execute(
        "INSERT OR IGNORE INTO pending_model_tags (pending_id, tag_id)"
        " SELECT ?, value FROM json_each(?)",
        (pending_id, json_list(tag_ids)),
    )


async def retag_models(
    conn: aiosqlite.Connection, sha256s: Sequence[str], add: Sequence[int], remove: Sequence[int]
) -> list[str]:
    """Give every model of `sha256s` the tags of `add` and take those of `remove` (the two
    disjoint), in three statements; the digests of the models whose tags changed, in order."""
    models, added, removed = json_list(sha256s), json_list(add), json_list(remove)
    changing = await conn.execute_fetchall(
        "SELECT m.value FROM json_each(:models) AS m"
        " WHERE EXISTS (SELECT 1 FROM json_each(:add) AS a WHERE NOT EXISTS"
        "   (SELECT 1 FROM model_tags WHERE sha256 = m.value AND tag_id = a.value))"
        " OR EXISTS (SELECT 1 FROM model_tags WHERE sha256 = m.value"
        "   AND tag_id IN (SELECT value FROM json_each(:remove)))"
        " ORDER BY m.value",
        {"models": models, "add": added, "remove": removed},
    )
    changed = [row[0] for row in changing]
    if not changed:
        return []
    await conn.execute(
        "INSERT OR IGNORE INTO model_tags (sha256, tag_id)"
        " SELECT m.value, a.value FROM json_each(?) AS m, json_each(?) AS a",
        (json_list(changed), added),
    )
    await conn.execute(
        "DELETE FROM model_tags WHERE sha256 IN (SELECT value FROM json_each(?))"
        " AND tag_id IN (SELECT value FROM json_each(?))",
        (json_list(changed), removed),
    )
    return changed
