"""Small pieces of SQL that several store modules need."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")

LIKE_ESCAPE = "\\"


def like_contains(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with `%` and `_` taken literally
    (use with `ESCAPE '\\'`)."""
    escaped = (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
    return f"%{escaped}%"


def json_list(values: Iterable[Any]) -> str:
    """One parameter that holds a whole list, read back with `json_each(?)`.

    Binding a list this way keeps one statement per batch whatever its size, where
    `IN (?, ?, …)` would hit SQLite's limit on the number of parameters."""
    return json.dumps(list(values))


def where(clauses: list[str]) -> str:
    return f"WHERE {' AND '.join(clauses)}" if clauses else ""


def group_rows(
    rows: Iterable[Any], key_column: str, keys: Iterable[Any], convert: Callable[[Any], T]
) -> dict[Any, list[T]]:
    """Group the rows of a batched query by `key_column`, with an empty list for every
    asked-for key that has no rows; row order is kept within each group."""
    grouped: dict[Any, list[T]] = {key: [] for key in keys}
    for row in rows:
        grouped[row[key_column]].append(convert(row))
    return grouped
