"""Fetching the related rows of a whole page up front.

A list resolver knows every row of its page before the executor walks them. When the
client asked for a relation (a model's tags, say), the resolver fetches it for the whole
page through the request's DataLoader and hands each node its value. The field resolvers
then return plain values: the executor would spend more on one awaitable per node than the
SQL behind the relation costs. A node built without a prefetched value (a single `model`
lookup) falls back to the loader, which batches all such lookups of the request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import Any, TypeAlias, TypeVar

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types.nodes import Selection

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")
N = TypeVar("N")
T = TypeVar("T")

# What a field resolver returns when it may have its value at hand or may have to fetch it.
Resolved: TypeAlias = T | Awaitable[T]


def requested_fields(info: strawberry.Info[Any, Any]) -> set[str]:
    """The names of every field selected anywhere below the current one, through fragments."""
    names: set[str] = set()
    _collect(info.selected_fields, names)
    return names


async def prefetch(
    wanted: set[str],
    field: str,
    loader: DataLoader[K, list[R]],
    keys: Sequence[K],
    convert: Callable[[R], N],
) -> list[list[N] | None]:
    """Each key's converted values of `field` when the client asked for it; else a None for
    each key, which leaves the field to load on its own."""
    if field not in wanted:
        return [None] * len(keys)
    return [[convert(row) for row in rows] for rows in await loader.load_many(keys)]


def prefetched_or_loaded(
    prefetched: list[N] | None, loader: DataLoader[K, list[R]], key: K, convert: Callable[[R], N]
) -> Resolved[list[N]]:
    """What a relation field returns: the prefetched value, else an awaitable of the loaded one."""
    if prefetched is not None:
        return prefetched
    return _load(loader, key, convert)


async def _load(loader: DataLoader[K, list[R]], key: K, convert: Callable[[R], N]) -> list[N]:
    return [convert(row) for row in await loader.load(key)]


def _collect(selections: Iterable[Selection], names: set[str]) -> None:
    for selection in selections:
        name = getattr(selection, "name", None)
        if isinstance(name, str):
            names.add(name)
        _collect(selection.selections, names)
