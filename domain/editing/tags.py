"""Creating, renaming, recolouring, deleting and merging tags: each one transaction.

A tag is known by its `id` (clients' normalized caches key `Tag` by it); its name is unique
ignoring case in every script (`domain.tag_names`), which the database holds. Each operation
checks in the transaction that writes, so what it answers is what committed; a name taken
meanwhile by a racing request is still caught, by the database's UNIQUE index.

Tag changes do not touch the `updatedAt` of the models that carry the tag: a tag is an
object of its own, and renaming "anime" must not make every anime model look edited (nor
fail every open edit form's `expectedUpdatedAt`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from enum import Enum

import aiosqlite

from domain.editing.tag_values import tag_color, tag_name
from domain.errors import InvalidValue, TagNameTaken, TagNotFound
from domain.records import Tag
from domain.store import Store
from domain.store.tags import (
    delete_tags,
    insert_tag,
    move_tag_links,
    tag_with_key,
    tags_with_ids,
    update_tag_row,
)
from domain.tag_names import tag_name_key

# Enough sources for any merge a person picks; one statement moves them all anyway.
MAX_MERGE_SOURCES = 1_000


class Keep(Enum):
    """An argument the caller left out: the value stays as it is (unlike None, "clear")."""

    KEEP = "keep"


KEEP = Keep.KEEP


async def create_tag(store: Store, name: str, color: str | None = None) -> Tag:
    """A new tag; `TagNameTaken` when another tag has the name ignoring case."""
    name, color = tag_name(name), tag_color(color)
    async with store.transaction() as conn:
        await _refuse_taken(conn, name, None)
        try:
            return await insert_tag(conn, name, color)
        except sqlite3.IntegrityError:
            await _refuse_taken(conn, name, None)  # the index saw what the look-up did not
            raise


async def update_tag(
    store: Store,
    tag_id: int,
    *,
    name: str | Keep | None = KEEP,
    color: str | Keep | None = KEEP,
) -> Tag:
    """The tag renamed and/or recoloured. Renaming a tag to its own name in another case is
    allowed (it is the same tag); an omitted argument keeps its value, a null colour clears
    it, a null name is `InvalidValue`."""
    new_name = None if name is KEEP else tag_name(name)
    new_color = KEEP if color is KEEP else tag_color(color)
    async with store.transaction() as conn:
        tag = await _existing(conn, tag_id)
        if new_name is not None:
            await _refuse_taken(conn, new_name, tag_id)
            tag = replace(tag, name=new_name)
        if new_color is not KEEP:
            tag = replace(tag, color=new_color)
        try:
            await update_tag_row(conn, tag)
        except sqlite3.IntegrityError:
            await _refuse_taken(conn, tag.name, tag_id)
            raise
        return tag


async def delete_tag(store: Store, tag_id: int) -> int:
    """Delete the tag and its links to models and pending imports; answers its id."""
    async with store.transaction() as conn:
        await _existing(conn, tag_id)
        await delete_tags(conn, [tag_id])
    return tag_id


async def merge_tags(store: Store, source_ids: Sequence[int], target_id: int) -> Tag:
    """Every model and pending import of the sources ends up on the target (once each),
    and the sources are deleted; answers the target. Listing an id twice is the same as
    once; the target among the sources is `InvalidValue`, since merging a tag into itself
    would delete it."""
    sources = list(dict.fromkeys(source_ids))
    if not sources:
        raise InvalidValue("sourceIds", "`sourceIds` is empty: name the tags to merge.")
    if len(sources) > MAX_MERGE_SOURCES:
        raise InvalidValue(
            "sourceIds", f"`sourceIds` lists at most {MAX_MERGE_SOURCES:,} tags at once."
        )
    if target_id in sources:
        raise InvalidValue(
            "sourceIds",
            f"`sourceIds` holds the target {target_id}: a tag cannot be merged into itself.",
        )
    async with store.transaction() as conn:
        target = await _existing(conn, target_id)
        found = await tags_with_ids(conn, sources)
        missing = next((tag_id for tag_id in sources if tag_id not in found), None)
        if missing is not None:
            raise TagNotFound(missing)
        await move_tag_links(conn, sources, target_id)
        await delete_tags(conn, sources)
    return target


async def _existing(conn: aiosqlite.Connection, tag_id: int) -> Tag:
    tag = (await tags_with_ids(conn, [tag_id])).get(tag_id)
    if tag is None:
        raise TagNotFound(tag_id)
    return tag


async def _refuse_taken(conn: aiosqlite.Connection, name: str, own_id: int | None) -> None:
    """`TagNameTaken` when a tag other than `own_id` has this name, ignoring case."""
    holder = await tag_with_key(conn, tag_name_key(name))
    if holder is not None and holder.id != own_id:
        raise TagNameTaken(name, holder)
