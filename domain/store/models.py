"""Reading and writing the library's models and their tag links."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence, Sized
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

import aiosqlite

from domain.errors import InvalidFilter, InvalidPath, quoted
from domain.pagination import (
    Page,
    PageRequest,
    SortDirection,
    SortKey,
    build_page,
    page_request,
)
from domain.records import FileStatus, Model, ModelTypeCount, from_epoch_ms, to_epoch_ms
from domain.store.database import Store
from domain.store.file_filter import FileFilter
from domain.store.sql import json_list, like_contains, where

# Filter bounds. A search is a few words typed into a box; a type is one word; a model
# carries a handful of tags. Beyond these nothing matches that would not match a shorter
# filter, and SQLite refuses LIKE patterns past 50,000 bytes.
MAX_SEARCH_CHARS = 256
MAX_TYPE_CHARS = 64
MAX_FILTER_TAGS = 100
# Windows' longest path (the \\?\ form); POSIX systems allow 4,095 bytes.
MAX_PATH_CHARS = 32_767

# The `updated_at` of a change: now, or just after the last one (see `touch_models`).
_LATER_THAN_BEFORE = "max(?, updated_at + 1)"

_COLUMNS = (
    "sha256, path, name, type, size_bytes, created_at, updated_at, meta_json,"
    " file_status, base_model, hashed_mtime_ns"
)


class ModelSort(Enum):
    """What the model list is ordered by; the digest breaks ties, so every order is total."""

    NAME = "NAME"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    SIZE = "SIZE"


@dataclass(frozen=True, slots=True)
class ModelOrder:
    """One order of the model list: the columns of its keyset key, compared as one row value
    and walked along one index (schema.py, `_BROWSING`), and the direction they run.

    Descending is the exact reverse of ascending (ties by digest included), except that
    models of unknown size come last both ways, as people expect of a size column: for SIZE
    the key is the virtual columns that make the size never NULL, one pair per direction."""

    sort: ModelSort
    direction: SortDirection
    columns: tuple[str, ...]
    key_types: tuple[type, ...]

    @property
    def list_name(self) -> str:
        """What its cursors are signed with: a cursor of another order, another direction
        or another list is refused rather than read as a position it is not."""
        return f"models by {self.sort.value} {self.direction.value}"

    @property
    def descending(self) -> bool:
        return self.direction is SortDirection.DESC

    def order_by(self) -> str:
        suffix = " DESC" if self.descending else ""
        return ", ".join(column + suffix for column in self.columns)

    def after(self) -> str:
        """The condition of the rows after a key: one row-value comparison, which SQLite
        turns into a seek into the order's index (never a scan from the start)."""
        operator = "<" if self.descending else ">"
        marks = ", ".join("?" * len(self.columns))
        return f"({', '.join(self.columns)}) {operator} ({marks})"

    def key(self, row: sqlite3.Row) -> SortKey:
        return tuple(row[column] for column in self.columns)


def _orders() -> dict[tuple[ModelSort, SortDirection], ModelOrder]:
    by_name = ("name", "sha256"), (str, str)
    by_created = ("created_at", "sha256"), (int, str)
    by_updated = ("updated_at", "sha256"), (int, str)
    keys = {
        (ModelSort.NAME, SortDirection.ASC): by_name,
        (ModelSort.NAME, SortDirection.DESC): by_name,
        (ModelSort.CREATED_AT, SortDirection.ASC): by_created,
        (ModelSort.CREATED_AT, SortDirection.DESC): by_created,
        (ModelSort.UPDATED_AT, SortDirection.ASC): by_updated,
        (ModelSort.UPDATED_AT, SortDirection.DESC): by_updated,
        # Known sizes (size_unknown = 0) before unknown ones, smallest first.
        (ModelSort.SIZE, SortDirection.ASC): (
            ("size_unknown", "size_or_minus_one", "sha256"),
            (int, int, str),
        ),
        # Largest first; unknown sizes are -1, below every size, so last.
        (ModelSort.SIZE, SortDirection.DESC): (("size_or_minus_one", "sha256"), (int, str)),
    }
    return {
        (sort, direction): ModelOrder(sort, direction, columns, types)
        for (sort, direction), (columns, types) in keys.items()
    }


ORDERS = _orders()


@dataclass(frozen=True, slots=True)
class ModelFilter:
    """Narrows the model list; every given condition must hold.

    `search` matches anywhere in the name, ignoring case; `tag_ids` keeps models that carry
    every one of the tags; `type` matches the model type, ignoring case; `path` keeps the
    model recorded at that path (see `lookup_paths`); `file_status` and `base_model` (see
    `FileFacts`) match exactly."""

    search: str | None = None
    tag_ids: tuple[int, ...] = field(default=())
    type: str | None = None
    paths: tuple[str, ...] | None = None
    files: FileFilter = field(default_factory=lambda: FileFilter())

    @classmethod
    def of(
        cls,
        search: str | None,
        tag_ids: Iterable[int] | None,
        type: str | None,
        path: str | None = None,
        files: FileFilter | None = None,
    ) -> ModelFilter:
        """Normalize what a client sent: blank text means no condition, repeated tags count
        once. Bounded, so that no filter costs more than a person could mean by it. A path
        is the exception: it names one file, so a blank or malformed one is refused rather
        than read as no condition (which would list the whole library)."""
        search = (search or "").strip() or None
        type = (type or "").strip().lower() or None
        unique_tags = tuple(dict.fromkeys(tag_ids or ()))
        _refuse_beyond(search, MAX_SEARCH_CHARS, "`search`", "characters")
        _refuse_beyond(type, MAX_TYPE_CHARS, "`type`", "characters")
        _refuse_beyond(unique_tags, MAX_FILTER_TAGS, "`tagIds`", "tags")
        paths = None if path is None else lookup_paths(path)
        files = files or FileFilter()
        return cls(search=search, tag_ids=unique_tags, type=type, paths=paths, files=files)

    def clauses(self) -> tuple[list[str], list[Any]]:
        clauses, params = self.files.clauses()
        if self.search is not None:
            clauses.append("name LIKE ? ESCAPE '\\'")
            params.append(like_contains(self.search))
        if self.type is not None:
            clauses.append("type = ?")
            params.append(self.type)
        if self.paths is not None:
            clauses.append("path IN (SELECT value FROM json_each(?))")
            params.append(json_list(self.paths))
        if self.tag_ids:
            clauses.append(
                "sha256 IN (SELECT sha256 FROM model_tags"
                " WHERE tag_id IN (SELECT value FROM json_each(?))"
                " GROUP BY sha256 HAVING count(*) = ?)"
            )
            params += [json_list(self.tag_ids), len(self.tag_ids)]
        return clauses, params


def lookup_paths(text: str) -> tuple[str, ...]:
    """The stored spellings `text` may name as a model path, or `InvalidPath` when no stored
    path can be it.

    Paths are matched character for character, because that is how they are mostly
    stored: Stage 1 keeps the legacy row's path as the legacy app wrote it (often a Windows
    path, `C:\\ComfyUI\\models\\loras\\style.safetensors`), and importing keeps the pending
    import's path. Nothing is normalized on the way in, so nothing is here either: no case
    folding (POSIX names are case-sensitive, and the server cannot tell which stored paths
    came from a case-insensitive system), no `/` for `\\`, no `..` or symbolic link resolved
    (the file need not exist on this machine), no spaces trimmed (a name may end in one).
    A ComfyUI node builds a model's path the way the legacy app did (its folder joined with
    the file name), so the path it knows is the stored text. The one other spelling is the
    one `updateModel` stores (`domain/editing/values.py`): a POSIX path trimmed, with `//`,
    `/./` and a trailing `/` collapsed; so a path as a user typed it into an edit finds the
    model the edit moved.

    Refused: empty, holding a NUL (no path can), longer than any system allows, or relative:
    every stored path is absolute, POSIX (`/…`) or Windows (`C:\\…`, `C:/…`, or UNC,
    `\\\\server\\share\\…`), and a relative one would name a different file for the server
    than for the caller."""
    if not text:
        raise InvalidPath("`path` is empty: give the model file's absolute path.")
    if "\0" in text:
        raise InvalidPath(f"`path` {quoted(text)} holds a NUL character, which no path can hold.")
    if len(text) > MAX_PATH_CHARS:
        raise InvalidPath(
            f"`path` holds at most {MAX_PATH_CHARS:,} characters (the longest path Windows "
            f"allows); got {len(text):,}."
        )
    edited = PurePosixPath(text.strip())
    if not (edited.is_absolute() or PureWindowsPath(text).is_absolute()):
        raise InvalidPath(
            f"`path` {quoted(text)} is not absolute: give the model file's full path, as the "
            "library records it (`/…`, or `C:\\…` for a Windows library)."
        )
    return (text, str(edited)) if edited.is_absolute() and str(edited) != text else (text,)


def _refuse_beyond(value: Sized | None, limit: int, name: str, unit: str) -> None:
    if value is not None and len(value) > limit:
        raise InvalidFilter(f"{name} holds at most {limit} {unit}; got {len(value):,}.")


def models_page_request(order: ModelOrder, first: int | None, after: str | None) -> PageRequest:
    return page_request(order.list_name, order.key_types, first, after)


async def page_models(
    store: Store, filters: ModelFilter, order: ModelOrder, request: PageRequest
) -> Page[Model]:
    """One page of the models that pass `filters`, in `order`, and how many pass in all.

    The page and its total come from one statement: they see the same committed state
    without a read transaction, and a page costs one trip to a reader's thread instead of
    four (a page is what a browsing client asks for most). Only a page with no row at all
    counts again, on its own."""
    clauses, params = filters.clauses()
    page_clauses, page_params = list(clauses), list(params)
    if request.after is not None:
        page_clauses.append(order.after())
        page_params += list(request.after)
    key_columns = "".join(f", {c}" for c in order.columns if c not in _COLUMNS.split(", "))
    count = f"SELECT count(*) FROM models {where(clauses)}"
    rows = await store.fetch_all(
        f"SELECT {_COLUMNS}{key_columns}, ({count}) AS total_count FROM models"
        f" {where(page_clauses)} ORDER BY {order.order_by()} LIMIT ?",
        (*params, *page_params, request.first + 1),
    )
    total = rows[0]["total_count"] if rows else (await store.fetch_all(count, tuple(params)))[0][0]
    models = [_model(row) for row in rows]
    keys = [order.key(row) for row in rows]
    return build_page(order.list_name, models, keys, request, total)


async def count_models_by_type(store: Store) -> list[ModelTypeCount]:
    """Every type the library holds with its number of models, by type name: one walk of
    the type index (which covers the query), never of the table."""
    rows = await store.fetch_all(
        "SELECT type, count(*) AS models FROM models GROUP BY type ORDER BY type"
    )
    return [ModelTypeCount(type=row["type"], count=row["models"]) for row in rows]


async def get_model_at(store: Store, paths: tuple[str, ...]) -> Model | None:
    """The model recorded at one of `paths`, spellings of one path (`lookup_paths`): paths
    are unique among models, and the spellings name one file, so at most one model."""
    row = await store.fetch_one(
        f"SELECT {_COLUMNS} FROM models WHERE path IN (SELECT value FROM json_each(?))",
        (json_list(paths),),
    )
    return None if row is None else _model(row)


async def get_model(store: Store, sha256: str) -> Model | None:
    row = await store.fetch_one(f"SELECT {_COLUMNS} FROM models WHERE sha256 = ?", (sha256,))
    return None if row is None else _model(row)


async def insert_model(conn: aiosqlite.Connection, model: Model) -> None:
    """Add a model; the caller's transaction decides when it becomes visible."""
    await insert_models(conn, [model])


async def insert_models(conn: aiosqlite.Connection, models: Iterable[Model]) -> None:
    """Add many models in one statement batch."""
    await conn.executemany(
        f"INSERT INTO models ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                model.sha256,
                model.path,
                model.name,
                model.type.lower(),
                model.size_bytes,
                to_epoch_ms(model.created_at),
                to_epoch_ms(model.updated_at),
                json.dumps(model.meta),
                model.file_status.value,
                model.base_model,
                model.hashed_mtime_ns,
            )
            for model in models
        ],
    )


async def update_model(conn: aiosqlite.Connection, model: Model) -> None:
    """Write every column of an existing model (its digest names it)."""
    await conn.execute(
        "UPDATE models SET path = ?, name = ?, type = ?, size_bytes = ?, updated_at = ?,"
        " meta_json = ?, file_status = ?, base_model = ?, hashed_mtime_ns = ? WHERE sha256 = ?",
        (
            model.path,
            model.name,
            model.type.lower(),
            model.size_bytes,
            to_epoch_ms(model.updated_at),
            json.dumps(model.meta),
            model.file_status.value,
            model.base_model,
            model.hashed_mtime_ns,
            model.sha256,
        ),
    )


async def link_model_tags(conn: aiosqlite.Connection, sha256: str, tag_ids: Iterable[int]) -> None:
    """Give a model these tags, keeping the ones it already has."""
    await link_many_model_tags(conn, [(sha256, tag_id) for tag_id in tag_ids])


async def link_many_model_tags(
    conn: aiosqlite.Connection, links: Iterable[tuple[str, int]]
) -> None:
    """(sha256, tag id) links, in one statement batch; existing links are kept."""
    await conn.executemany("INSERT OR IGNORE INTO model_tags (sha256, tag_id) VALUES (?, ?)", links)


async def all_model_keys(conn: aiosqlite.Connection) -> tuple[set[str], set[str]]:
    """Every digest and every path the library's models hold."""
    rows = await conn.execute_fetchall("SELECT sha256, path FROM models")
    pairs = list(rows)
    return {row[0] for row in pairs}, {row[1] for row in pairs}


async def other_model_at(conn: aiosqlite.Connection, path: str, sha256: str) -> str | None:
    """The digest of a model other than `sha256` recorded at `path`, if there is one."""
    rows = list(
        await conn.execute_fetchall(
            "SELECT sha256 FROM models WHERE path = ? AND sha256 <> ?", (path, sha256)
        )
    )
    return rows[0][0] if rows else None


async def model_exists(conn: aiosqlite.Connection, sha256: str) -> bool:
    rows = await conn.execute_fetchall("SELECT 1 FROM models WHERE sha256 = ?", (sha256,))
    return bool(list(rows))


async def touch_model(conn: aiosqlite.Connection, sha256: str) -> None:
    """Mark the model as changed now (its gallery, tags or fields changed)."""
    await touch_models(conn, [sha256])


async def touch_models(conn: aiosqlite.Connection, sha256s: Sequence[str]) -> None:
    """Mark models as changed now, in one statement. `updatedAt` is what an edit's
    `expectedUpdatedAt` is checked against, so it always moves forward: a second change
    within the same millisecond (or after the clock stepped back) still gets a later one."""
    await conn.execute(
        f"UPDATE models SET updated_at = {_LATER_THAN_BEFORE}"
        " WHERE sha256 IN (SELECT value FROM json_each(?))",
        (to_epoch_ms(datetime.now(UTC)), json_list(sha256s)),
    )


def later_than(updated_at: datetime) -> datetime:
    """Now, or a millisecond after `updated_at` when now is not later (see `touch_models`)."""
    now_ms = max(to_epoch_ms(datetime.now(UTC)), to_epoch_ms(updated_at) + 1)
    return from_epoch_ms(now_ms)


async def model_in(conn: aiosqlite.Connection, sha256: str) -> Model | None:
    """The model, read inside the caller's transaction."""
    async with conn.execute(f"SELECT {_COLUMNS} FROM models WHERE sha256 = ?", (sha256,)) as cur:
        row = await cur.fetchone()
    return None if row is None else _model(row)


async def models_with(store: Store, sha256s: Sequence[str]) -> list[Model]:
    """The models with these digests that exist, in digest order, in one statement."""
    rows = await store.fetch_all(
        f"SELECT {_COLUMNS} FROM models WHERE sha256 IN (SELECT value FROM json_each(?))"
        " ORDER BY sha256",
        (json_list(sha256s),),
    )
    return [_model(row) for row in rows]


async def missing_models(
    conn: aiosqlite.Connection, sha256s: Sequence[str], shown: int
) -> tuple[list[str], int]:
    """Of `sha256s`, the first `shown` (in digest order) that are no model, and how many
    are not, in one statement."""
    rows = list(
        await conn.execute_fetchall(
            "SELECT value, count(*) OVER () FROM json_each(?)"
            " WHERE NOT EXISTS (SELECT 1 FROM models WHERE sha256 = value)"
            " ORDER BY value LIMIT ?",
            (json_list(sha256s), shown),
        )
    )
    return [row[0] for row in rows], (rows[0][1] if rows else 0)


async def delete_model(conn: aiosqlite.Connection, sha256: str) -> None:
    """Remove a model's row; its tag links, gallery rows and owed legacy images cascade
    (its files are the gallery's to remove)."""
    await conn.execute("DELETE FROM models WHERE sha256 = ?", (sha256,))


def _model(row: sqlite3.Row) -> Model:
    return Model(
        sha256=row["sha256"],
        path=row["path"],
        name=row["name"],
        type=row["type"],
        size_bytes=row["size_bytes"],
        created_at=from_epoch_ms(row["created_at"]),
        updated_at=from_epoch_ms(row["updated_at"]),
        meta=json.loads(row["meta_json"]),
        file_status=FileStatus(row["file_status"]),
        base_model=row["base_model"],
        hashed_mtime_ns=row["hashed_mtime_ns"],
    )
