"""Bad page requests get clear errors that say what to send instead."""

from __future__ import annotations

import base64
import json

import pytest

from tests.conftest import Shelf
from tests.seed import add_model, add_pending

MODELS = (
    "query($first: Int, $after: String) { models(first: $first, after: $after) { totalCount } }"
)
PENDING = (
    "query($first: Int, $after: String) "
    "{ pendingImports(first: $first, after: $after) { totalCount } }"
)


@pytest.mark.parametrize("first", [-1, 501, 2**31 - 1])
async def test_page_size_out_of_range(shelf: Shelf, first: int) -> None:
    for query in (MODELS, PENDING):
        error = await shelf.error(query, first=first)
        assert "`first` must be between 0 and 500" in error["message"]
        assert error["extensions"]["code"] == "INVALID_PAGE_REQUEST"


async def test_page_size_beyond_32_bits_is_refused_by_validation(shelf: Shelf) -> None:
    error = await shelf.error(MODELS, first=2**40)
    assert "Int cannot represent" in error["message"]


def forged(*parts: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "",
        "!!!!",
        base64.b64encode(b"\xff\xfe").decode(),
        forged("models"),
        forged("models", 1, 2),
        forged("models", "name", "sha", "extra"),
        forged("pendingImports", 5),
        forged({"not": "a list"}),
    ],
)
async def test_models_refuse_cursors_they_did_not_hand_out(shelf: Shelf, cursor: str) -> None:
    error = await shelf.error(MODELS, after=cursor)
    assert "is not a cursor of models" in error["message"]
    assert error["extensions"]["code"] == "INVALID_PAGE_REQUEST"


async def test_a_cursor_of_one_list_is_refused_by_the_other(shelf: Shelf) -> None:
    await add_model(shelf.store, "m")
    await add_pending(shelf.store, 1)
    model_cursor = (await shelf.data("{ models { pageInfo { endCursor } } }"))["models"][
        "pageInfo"
    ]["endCursor"]
    pending_cursor = (await shelf.data("{ pendingImports { pageInfo { endCursor } } }"))[
        "pendingImports"
    ]["pageInfo"]["endCursor"]

    assert (
        "is not a cursor of pendingImports"
        in (await shelf.error(PENDING, after=model_cursor))["message"]
    )
    assert (
        "is not a cursor of models" in (await shelf.error(MODELS, after=pending_cursor))["message"]
    )
    assert (
        "is not a cursor of pendingImports"
        in (await shelf.error(PENDING, after=forged("pendingImports", True)))["message"]
    )
