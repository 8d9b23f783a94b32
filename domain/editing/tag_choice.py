"""A list of tag ids a client picks for an edit: each once, bounded, every one a tag."""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

from domain.errors import InvalidValue, TagNotFound
from domain.store.tag_links import unknown_tag_ids

# Far more tags than a model carries or a person picks at once; the list stays one parameter.
MAX_TAGS_PER_CALL = 1_000


def tag_choice(tag_ids: Sequence[int] | None, field: str) -> list[int]:
    """The ids in the order given, each once; `InvalidValue(field)` past the bound."""
    if tag_ids is None:
        raise InvalidValue(field, f"`{field}` cannot be null; send [] for no tags.")
    unique = list(dict.fromkeys(tag_ids))
    if len(unique) > MAX_TAGS_PER_CALL:
        raise InvalidValue(
            field, f"`{field}` lists {len(unique):,} tags; at most {MAX_TAGS_PER_CALL:,}."
        )
    return unique


async def refuse_unknown_tags(conn: aiosqlite.Connection, tag_ids: Sequence[int]) -> None:
    """`TagNotFound` for the lowest id that is no tag, read in the caller's transaction."""
    unknown = await unknown_tag_ids(conn, tag_ids) if tag_ids else []
    if unknown:
        raise TagNotFound(unknown[0])
