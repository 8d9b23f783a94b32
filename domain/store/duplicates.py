"""Files of the library that hold the same content: every SHA-256 more than one file has.

A model's digest is unique among models, so every duplicate involves a pending import whose
digest is known (cached once hashed: a conflict, or a scan's file imported without a
strategy). The groups are therefore read from the pending imports' digest index, joined to
the model with that digest: the cost follows the number of hashed pending imports, not the
size of the library.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from domain.pagination import Page, PageRequest, build_page, page_request
from domain.records import Model, PendingImport
from domain.store.database import Store
from domain.store.models import models_with
from domain.store.pending import pending_with_digests

LIST_NAME = "duplicates"
SORT_KEY_TYPES = (int, str)  # bytes freed (descending), then the digest

# Keeping one copy frees every copy's bytes but the largest's (the copies are the same
# content, so their sizes only differ when one was recorded before the file changed, or is
# unknown: counted as 0).
_GROUPS = """
WITH groups AS (
    SELECT pending_import.sha256 AS sha256,
           count(*) + max(models.sha256 IS NOT NULL) AS copies,
           coalesce(sum(pending_import.size_bytes), 0) + coalesce(max(models.size_bytes), 0)
             - max(coalesce(max(pending_import.size_bytes), 0),
                   coalesce(max(models.size_bytes), 0)) AS freed
    FROM pending_import INDEXED BY pending_by_sha256
    LEFT JOIN models ON models.sha256 = pending_import.sha256
    WHERE pending_import.sha256 IS NOT NULL
    GROUP BY pending_import.sha256
    HAVING copies > 1
)
SELECT sha256, copies, freed, (SELECT count(*) FROM groups) AS total_count FROM groups
"""


@dataclass(frozen=True, slots=True)
class DuplicateGroup:
    sha256: str
    copies: int
    bytes_freed: int
    model: Model | None  # the library's model with this digest, when there is one
    pending: list[PendingImport]  # by id


def duplicates_page_request(first: int | None, after: str | None) -> PageRequest:
    return page_request(LIST_NAME, SORT_KEY_TYPES, first, after)


async def page_duplicates(store: Store, request: PageRequest) -> Page[DuplicateGroup]:
    """One page of groups, most bytes freed first, and how many groups there are: one
    statement for the groups, one for their models, one for their pending imports."""
    if request.after is None:
        rows = await store.fetch_all(
            f"{_GROUPS} ORDER BY freed DESC, sha256 LIMIT ?", (request.first + 1,)
        )
    else:
        freed, sha256 = request.after
        rows = await store.fetch_all(
            f"{_GROUPS} WHERE freed < ? OR (freed = ? AND sha256 > ?)"
            " ORDER BY freed DESC, sha256 LIMIT ?",
            (freed, freed, sha256, request.first + 1),
        )
    total = rows[0]["total_count"] if rows else await _count(store)
    digests = [row["sha256"] for row in rows]
    models = {model.sha256: model for model in await models_with(store, digests)}
    pending = await pending_with_digests(store, digests)
    groups = [_group(row, models.get(row["sha256"]), pending) for row in rows]
    keys: list[tuple[str | int, ...]] = [(g.bytes_freed, g.sha256) for g in groups]
    return build_page(LIST_NAME, groups, keys, request, total)


async def _count(store: Store) -> int:
    rows = await store.fetch_all(f"SELECT count(*) FROM ({_GROUPS})")
    count: int = rows[0][0]
    return count


def _group(
    row: sqlite3.Row, model: Model | None, pending: dict[str, list[PendingImport]]
) -> DuplicateGroup:
    sha256 = row["sha256"]
    return DuplicateGroup(sha256, row["copies"], row["freed"], model, pending.get(sha256, []))
