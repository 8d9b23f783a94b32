"""Browsing the library over HTTP: `models` in every order and direction, `modelTypes`,
and finding a model by its file path."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest

from domain.records import Model
from domain.store import Store
from domain.store.models import insert_model
from tests.conftest import Shelf
from tests.seed import add_model, digest

PAGE = """
query Page($first: Int, $after: String, $sort: ModelSort, $direction: SortDirection,
           $type: String, $path: String) {
  models(first: $first, after: $after, sort: $sort, direction: $direction, type: $type,
         path: $path) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { sha256 name sizeBytes }
  }
}
"""

SORTS = ["NAME", "CREATED_AT", "UPDATED_AT", "SIZE"]
DIRECTIONS = ["ASC", "DESC"]
ORDERS = [(sort, direction) for sort in SORTS for direction in DIRECTIONS]

T0 = datetime(2024, 3, 1, tzinfo=UTC)
_serial = count()


async def put(
    store: Store,
    name: str,
    *,
    created: int = 0,
    updated: int | None = None,
    size: int | None = 1_000,
    type: str = "lora",
) -> Model:
    """A model whose every sort key is chosen (times as milliseconds after T0)."""
    serial = next(_serial)
    model = Model(
        sha256=digest(f"browse {name} {serial}"),
        path=f"/models/{type}/{name}.{serial}.safetensors",
        name=name,
        type=type,
        size_bytes=size,
        created_at=T0 + timedelta(milliseconds=created),
        updated_at=T0 + timedelta(milliseconds=created if updated is None else updated),
        meta={},
    )
    async with store.transaction() as conn:
        await insert_model(conn, model)
    return model


async def library_with_ties(store: Store) -> list[Model]:
    """Models that tie on every sort key somewhere, with unknown sizes among them."""
    return [
        await put(store, "same", created=5, updated=50, size=300),
        await put(store, "same", created=5, updated=10, size=None),
        await put(store, "Same", created=1, updated=50, size=300),
        await put(store, "alpha", created=9, updated=20, size=7 * 1024**3),
        await put(store, "Bravo", created=1, updated=30, size=0),
        await put(store, "charlie", created=3, updated=30, size=None),
        await put(store, "delta", created=7, updated=70, size=None),
        await put(store, "echo", created=2, updated=10, size=300),
        await put(store, "Foxtrot", created=8, updated=80, size=5),
    ]


def expected_order(models: list[Model], sort: str, direction: str) -> list[str]:
    """The order the API promises, computed independently: the digest breaks ties in the
    same direction, and unknown sizes come last either way."""
    keys: dict[str, Callable[[Model], tuple[Any, ...]]] = {
        "NAME": lambda m: (m.name.lower(), m.sha256),
        "CREATED_AT": lambda m: (m.created_at, m.sha256),
        "UPDATED_AT": lambda m: (m.updated_at, m.sha256),
    }
    descending = direction == "DESC"
    if sort == "SIZE":
        known = [m for m in models if m.size_bytes is not None]
        unknown = [m for m in models if m.size_bytes is None]
        ordered = sorted(known, key=lambda m: (m.size_bytes, m.sha256), reverse=descending)
        ordered += sorted(unknown, key=lambda m: m.sha256, reverse=descending)
    else:
        ordered = sorted(models, key=keys[sort], reverse=descending)
    return [m.sha256 for m in ordered]


async def walk(
    shelf: Shelf,
    first: int,
    between_pages: Callable[[dict[str, Any]], Any] | None = None,
    **arguments: Any,
) -> list[str]:
    """Every digest of a list, page by page; `between_pages` runs after each page."""
    seen: list[str] = []
    after = None
    while True:
        page = (await shelf.data(PAGE, first=first, after=after, **arguments))["models"]
        seen += [node["sha256"] for node in page["nodes"]]
        if between_pages is not None:
            await between_pages(page)
        if not page["pageInfo"]["hasNextPage"]:
            return seen
        after = page["pageInfo"]["endCursor"]


@pytest.mark.parametrize(("sort", "direction"), ORDERS)
async def test_every_order_walks_the_whole_list_in_its_order(
    shelf: Shelf, sort: str, direction: str
) -> None:
    models = await library_with_ties(shelf.store)
    seen = await walk(shelf, 2, sort=sort, direction=direction)
    assert seen == expected_order(models, sort, direction)


async def test_without_sort_the_order_is_by_name_ascending(shelf: Shelf) -> None:
    models = await library_with_ties(shelf.store)
    assert await walk(shelf, 4) == expected_order(models, "NAME", "ASC")
    assert await walk(shelf, 4, direction="DESC") == expected_order(models, "NAME", "DESC")
    assert await walk(shelf, 4, sort="SIZE") == expected_order(models, "SIZE", "ASC")


@pytest.mark.parametrize("direction", DIRECTIONS)
async def test_unknown_sizes_come_last_in_both_directions(shelf: Shelf, direction: str) -> None:
    for size in [None, 10, None, 0, 2**40, None]:
        await put(shelf.store, f"s{size}", size=size)
    seen = (await shelf.data(PAGE, first=3, sort="SIZE", direction=direction))["models"]
    rest = await shelf.data(
        PAGE, sort="SIZE", direction=direction, after=seen["pageInfo"]["endCursor"]
    )
    sizes = [node["sizeBytes"] for node in seen["nodes"] + rest["models"]["nodes"]]
    known = [0, 10, 2**40] if direction == "ASC" else [2**40, 10, 0]
    assert sizes == [*known, None, None, None]


def extreme(sort: str, direction: str, end: str) -> dict[str, Any]:
    """Field values that put a new model at the `end` ("first" or "last") of this order."""
    lowest = end == "first" if direction == "ASC" else end == "last"
    if sort == "NAME":
        return {"name": "!first" if lowest else "~~last"}
    if sort == "SIZE":  # unknown sizes are last whichever way
        if end == "last":
            return {"size": None}
        return {"size": 0 if direction == "ASC" else 2**50}
    moment = -10_000_000 if lowest else 10_000_000
    return {"created": moment, "updated": moment}


@pytest.mark.parametrize(("sort", "direction"), ORDERS)
async def test_rows_inserted_between_pages_neither_repeat_nor_skip_a_row(
    shelf: Shelf, sort: str, direction: str
) -> None:
    """Between every two pages one model lands before the cursor and one after it: every
    model that existed when paging began is seen once, in order; those inserted after
    the cursor are seen too, those before it never."""
    existing = await library_with_ties(shelf.store)
    before: list[str] = []
    after: list[str] = []

    async def insert_around_the_cursor(page: dict[str, Any]) -> None:
        first = await put(shelf.store, **{"name": "new", **extreme(sort, direction, "first")})
        last = await put(shelf.store, **{"name": "new", **extreme(sort, direction, "last")})
        before.append(first.sha256)
        after.append(last.sha256)

    seen = await walk(shelf, 2, insert_around_the_cursor, sort=sort, direction=direction)

    assert len(seen) == len(set(seen))
    assert [sha for sha in seen if sha not in before + after] == expected_order(
        existing, sort, direction
    )
    assert not set(before) & set(seen)
    assert after[0] in seen  # it landed after the cursor, among the rows still to come


@pytest.mark.parametrize(("sort", "direction"), ORDERS)
async def test_a_cursor_of_another_order_or_direction_is_refused(
    shelf: Shelf, sort: str, direction: str
) -> None:
    await library_with_ties(shelf.store)
    page = (await shelf.data(PAGE, first=2, sort=sort, direction=direction))["models"]
    cursor = page["pageInfo"]["endCursor"]
    for other_sort, other_direction in ORDERS:
        if (other_sort, other_direction) == (sort, direction):
            continue
        error = await shelf.error(
            PAGE, first=2, after=cursor, sort=other_sort, direction=other_direction
        )
        assert error["extensions"]["code"] == "INVALID_PAGE_REQUEST", (other_sort, error)
        assert "is not a cursor of models" in error["message"]
    same = await shelf.data(PAGE, first=2, after=cursor, sort=sort, direction=direction)
    assert same["models"]["nodes"]


async def test_sorting_combines_with_filters(shelf: Shelf) -> None:
    models = [
        await put(shelf.store, f"m{i}", size=size, type=kind)
        for i, (size, kind) in enumerate(
            [(5, "lora"), (None, "lora"), (9, "vae"), (7, "lora"), (1, "lora"), (None, "vae")]
        )
    ]
    loras = [m for m in models if m.type == "lora"]
    seen = await walk(shelf, 1, sort="SIZE", direction="DESC", type="LoRA")
    assert seen == expected_order(loras, "SIZE", "DESC")
    page = await shelf.data(PAGE, first=1, sort="SIZE", direction="DESC", type="lora")
    assert page["models"]["totalCount"] == 4


# The index each order walks (domain/store/schema.py): none may sort in a temp b-tree.
ORDER_INDEXES = {
    ("NAME", "ASC"): "models_by_name",
    ("NAME", "DESC"): "models_by_name",
    ("CREATED_AT", "ASC"): "models_by_created",
    ("CREATED_AT", "DESC"): "models_by_created",
    ("UPDATED_AT", "ASC"): "models_by_updated",
    ("UPDATED_AT", "DESC"): "models_by_updated",
    ("SIZE", "ASC"): "models_by_size",
    ("SIZE", "DESC"): "models_by_size_descending",
}


@pytest.mark.parametrize(("sort", "direction"), ORDERS)
async def test_every_order_is_an_index_walk_that_seeks_to_its_cursor(
    shelf: Shelf, sort: str, direction: str
) -> None:
    """The statements the server ran for a first and a later page, planned again: each
    walks its order's index (a seek for the later page, not a scan from the start), and
    none sorts in a temp b-tree. SQLite plans without statistics here, as it does in a
    library that was never ANALYZEd, so the plan does not depend on the library's size."""
    await library_with_ties(shelf.store)
    shelf.statements.clear()
    first = (await shelf.data(PAGE, first=2, sort=sort, direction=direction))["models"]
    first_statement = page_statement(shelf)
    await shelf.data(
        PAGE, first=2, after=first["pageInfo"]["endCursor"], sort=sort, direction=direction
    )
    index = ORDER_INDEXES[sort, direction]

    start = await plan(shelf.store, first_statement)
    later = await plan(shelf.store, page_statement(shelf))

    assert f"SEARCH models USING INDEX {index} (" in later[0], later
    assert start[0] == f"SCAN models USING INDEX {index}", start
    assert not [step for step in later + start if "TEMP B-TREE" in step]


def page_statement(shelf: Shelf) -> str:
    """The one statement that fetched the last page (its values bound in its text)."""
    (statement,) = [s for s in shelf.statements if "ORDER BY" in s and "FROM models" in s]
    shelf.statements.clear()
    return statement


async def plan(store: Store, statement: str) -> list[str]:
    return [row["detail"] for row in await store.fetch_all(f"EXPLAIN QUERY PLAN {statement}")]


TYPES = "{ modelTypes { type count } }"


async def test_model_types_counts_every_type_by_name(shelf: Shelf) -> None:
    assert await shelf.data(TYPES) == {"modelTypes": []}
    for name, kind in [("a", "lora"), ("b", "vae"), ("c", "LoRA"), ("d", "checkpoint")]:
        await add_model(shelf.store, name, type=kind)
    await add_model(shelf.store, "e", type="lora")
    assert (await shelf.data(TYPES))["modelTypes"] == [
        {"type": "checkpoint", "count": 1},
        {"type": "lora", "count": 3},
        {"type": "vae", "count": 1},
    ]


async def test_model_types_is_one_statement_over_the_type_index(shelf: Shelf) -> None:
    await add_model(shelf.store, "a", type="lora")
    shelf.statements.clear()
    await shelf.data(TYPES)
    (statement,) = [s for s in shelf.statements if "FROM models" in s]
    assert await plan(shelf.store, statement) == ["SCAN models USING COVERING INDEX models_by_type"]


BY_PATH = """
query ByPath($path: String!) { modelByPath(path: $path) { sha256 path name } }
"""
WINDOWS_PATH = "C:\\ComfyUI\\models\\loras\\Style.safetensors"


async def model_at(shelf: Shelf, path: str) -> Model:
    model = await add_model(shelf.store, "at a path")
    async with shelf.store.transaction() as conn:
        await conn.execute("UPDATE models SET path = ? WHERE sha256 = ?", (path, model.sha256))
    return model


async def test_model_by_path_finds_the_model_at_exactly_that_path(shelf: Shelf) -> None:
    windows = await model_at(shelf, WINDOWS_PATH)
    posix = await add_model(shelf.store, "posix")
    await add_model(shelf.store, "other")

    found = (await shelf.data(BY_PATH, path=WINDOWS_PATH))["modelByPath"]
    assert found == {"sha256": windows.sha256, "path": WINDOWS_PATH, "name": "at a path"}
    assert (await shelf.data(BY_PATH, path=posix.path))["modelByPath"]["sha256"] == posix.sha256


async def test_a_path_typed_into_an_edit_finds_the_model_the_edit_moved(shelf: Shelf) -> None:
    model = await add_model(shelf.store, "moved")
    typed = " /models//loras/./moved.safetensors "
    edited = await shelf.data(
        "mutation($sha: String!, $path: String!) { updateModel(sha256: $sha, "
        "changes: { path: $path }) { ... on ModelUpdated { model { path } } } }",
        sha=model.sha256,
        path=typed,
    )
    stored = edited["updateModel"]["model"]["path"]
    assert stored == "/models/loras/moved.safetensors"
    for path in (typed, stored):
        assert (await shelf.data(BY_PATH, path=path))["modelByPath"]["sha256"] == model.sha256
        assert (await shelf.data(PAGE, path=path))["models"]["totalCount"] == 1


@pytest.mark.parametrize(
    "path",
    [
        "C:\\ComfyUI\\models\\loras\\style.safetensors",  # another case
        "C:/ComfyUI/models/loras/Style.safetensors",  # other separators
        "c:\\ComfyUI\\models\\loras\\Style.safetensors",
        "C:\\ComfyUI\\models\\loras\\Style.safetensors ",  # a trailing space is part of a name
        "C:\\ComfyUI\\models\\loras\\..\\loras\\Style.safetensors",
        "/nowhere/model.safetensors",
    ],
)
async def test_model_by_path_is_null_for_any_other_path(shelf: Shelf, path: str) -> None:
    await model_at(shelf, WINDOWS_PATH)
    assert await shelf.data(BY_PATH, path=path) == {"modelByPath": None}
    assert (await shelf.data(PAGE, path=path))["models"]["totalCount"] == 0


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("", "empty"),
        ("models/lora.safetensors", "not absolute"),
        ("lora.safetensors", "not absolute"),
        ("C:lora.safetensors", "not absolute"),  # relative to drive C's current folder
        ("\\loras\\style.safetensors", "not absolute"),  # relative to the current drive
        ("/models/a\0b.safetensors", "NUL"),
        ("/" + "d" * 40_000, "32,767"),
    ],
)
async def test_an_invalid_path_is_a_typed_error(shelf: Shelf, path: str, words: str) -> None:
    await model_at(shelf, WINDOWS_PATH)
    for query, field in [(BY_PATH, "modelByPath"), (PAGE, "models")]:
        error = await shelf.error(query, path=path)
        assert error["extensions"]["code"] == "INVALID_PATH"
        assert words in error["message"]
        assert error["path"] == [field]
        assert len(error["message"]) < 300  # a long path is quoted by its start only


async def test_the_path_filter_combines_with_the_others(shelf: Shelf) -> None:
    model = await model_at(shelf, WINDOWS_PATH)
    await add_model(shelf.store, "other")
    page = (await shelf.data(PAGE, path=WINDOWS_PATH, sort="SIZE", direction="DESC"))["models"]
    assert page["totalCount"] == 1 and page["nodes"][0]["sha256"] == model.sha256
    assert (await shelf.data(PAGE, path=WINDOWS_PATH, type="vae"))["models"]["totalCount"] == 0
