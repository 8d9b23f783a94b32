"""One request cannot ask for the library many times over, and internal errors stay inside."""

from __future__ import annotations

import sqlite3

from tests.conftest import Shelf
from tests.seed import add_model


async def test_too_deep_a_query_is_refused(shelf: Shelf) -> None:
    # Today's schema has no cycles, so only a document naming fields that do not exist can
    # go this deep; the limit is checked all the same, and guards the cycles to come.
    deep = "{ models { nodes { tags " + "{ x " * 12 + "}" * 12 + " } } }"
    body = await shelf.post(deep)
    assert any("exceeds maximum operation depth" in e["message"] for e in body["errors"])


async def test_too_many_aliases_are_refused(shelf: Shelf) -> None:
    aliases = " ".join(f"a{i}: models(first: 500) {{ totalCount }}" for i in range(31))
    error = await shelf.error(f"{{ {aliases} }}")
    assert "aliases" in error["message"].lower()


async def test_too_many_tokens_are_refused(shelf: Shelf) -> None:
    fields = " ".join(["totalCount"] * 5000)
    error = await shelf.error(f"{{ models {{ {fields} }} }}")
    assert "token" in error["message"].lower()


async def test_an_unknown_field_keeps_its_helpful_message(shelf: Shelf) -> None:
    error = await shelf.error("{ models { nodez { name } } }")
    assert "Cannot query field 'nodez'" in error["message"]
    assert "nodes" in error["message"]  # the suggestion survives


async def test_an_internal_failure_is_masked_and_the_rest_of_the_response_survives(
    shelf: Shelf,
) -> None:
    good = await add_model(shelf.store, "good")
    broken = await add_model(shelf.store, "broken")
    # A row no code path of ours can write: a timestamp far beyond what datetime holds.
    with sqlite3.connect(shelf.config.db_path) as raw:
        raw.execute("UPDATE models SET created_at = ? WHERE sha256 = ?", (2**62, broken.sha256))

    body = await shelf.post(
        "query($a: String!, $b: String!) { good: model(sha256: $a) { name } "
        "broken: model(sha256: $b) { createdAt } }",
        a=good.sha256,
        b=broken.sha256,
    )

    assert body["data"] == {"good": {"name": "good"}, "broken": None}
    (error,) = body["errors"]
    assert error["message"] == "Internal server error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "year" not in str(body) and "Traceback" not in str(body)
