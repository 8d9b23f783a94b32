"""Arguments no client should send get a typed error with a code, and change nothing.

Each test is one class of hostile value (the issue's examples, and their neighbours)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from domain.store.models import MAX_FILTER_TAGS, MAX_SEARCH_CHARS
from tests.conftest import Shelf
from tests.images import decode, encode, solid
from tests.seed import add_model, add_pending, add_tags


def cursor_of(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


def assert_coded(error: dict[str, Any], code: str) -> None:
    assert error["extensions"]["code"] == code, error
    assert error["message"] != "Internal server error."


# Every error carries a code -------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ models(", "GRAPHQL_PARSE_FAILED"),
        ("{ models { nodez } }", "GRAPHQL_VALIDATION_FAILED"),
        ('{ models(first: "x") { totalCount } }', "GRAPHQL_VALIDATION_FAILED"),
        ('{ model(sha256: "x") { name } }', "INVALID_SHA256"),
    ],
    ids=["syntax", "unknown-field", "literal-of-the-wrong-type", "refused-by-a-resolver"],
)
async def test_every_error_carries_a_code(shelf: Shelf, query: str, code: str) -> None:
    assert_coded(await shelf.error(query), code)


async def test_a_variable_of_the_wrong_type_is_bad_user_input(shelf: Shelf) -> None:
    error = await shelf.error("query($f: Int) { models(first: $f) { totalCount } }", f="x")
    assert_coded(error, "BAD_USER_INPUT")


# Uploads --------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["addSampleImage", "replaceSampleImage"])
@pytest.mark.parametrize("literal", ['""', "1", "[1]", "{a: 1}", "null"])
async def test_an_upload_written_in_the_query_is_refused(
    shelf: Shelf, field: str, literal: str
) -> None:
    model = await add_model(shelf.store, "target", images=1)
    seq = ", seq: 0" if field == "replaceSampleImage" else ""
    error = await shelf.error(
        f'mutation {{ {field}(sha256: "{model.sha256}"{seq}, image: {literal}) {{ __typename }} }}'
    )
    assert_coded(error, "GRAPHQL_VALIDATION_FAILED")
    assert await gallery_size(shelf, model.sha256) == 1


@pytest.mark.parametrize("value", ["", "picture.png", 7, [1, 2], {"name": "x.png"}])
async def test_an_upload_variable_that_is_not_a_file_is_refused(shelf: Shelf, value: Any) -> None:
    model = await add_model(shelf.store, "target")
    error = await shelf.error(
        "mutation($s: String!, $f: Upload!) "
        "{ addSampleImage(sha256: $s, image: $f) { __typename } }",
        s=model.sha256,
        f=value,
    )
    assert_coded(error, "BAD_USER_INPUT")
    assert "multipart" in error["message"]
    assert await gallery_size(shelf, model.sha256) == 0


async def gallery_size(shelf: Shelf, sha256: str) -> int:
    data = await shelf.data(
        "query($s: String!) { model(sha256: $s) { sampleImages { seq } } }", s=sha256
    )
    return len(data["model"]["sampleImages"])


# Cursors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cursor",
    [
        cursor_of("pendingImports", 2**63),
        cursor_of("pendingImports", -(2**63) - 1),
        cursor_of("pendingImports", 10**400),
        base64.urlsafe_b64encode(b"[" * 5000).decode(),
        base64.urlsafe_b64encode(b'["pendingImports", ' + b"[" * 100_000 + b"]").decode(),
        "A" * 200_000,
    ],
    ids=["2^63", "below-int64", "400-digits", "nested", "nested-inside", "oversized"],
)
async def test_a_forged_pending_imports_cursor_is_refused(shelf: Shelf, cursor: str) -> None:
    await add_pending(shelf.store, 1)
    error = await shelf.error(
        "query($a: String) { pendingImports(after: $a) { totalCount } }", a=cursor
    )
    assert_coded(error, "INVALID_PAGE_REQUEST")
    assert len(error["message"]) < 300  # a forged value is quoted, not echoed whole


@pytest.mark.parametrize(
    "cursor",
    [
        base64.urlsafe_b64encode(b"[" * 5000).decode(),
        cursor_of("models", "a\ud800", "0" * 64),
        cursor_of("models", "a", 2**70),
    ],
    ids=["nested", "surrogate-in-the-key", "number-for-a-digest"],
)
async def test_a_forged_models_cursor_is_refused(shelf: Shelf, cursor: str) -> None:
    await add_model(shelf.store, "a")
    error = await shelf.error("query($a: String) { models(after: $a) { totalCount } }", a=cursor)
    assert_coded(error, "INVALID_PAGE_REQUEST")


async def test_a_cursor_of_a_name_beyond_ascii_pages_on(shelf: Shelf) -> None:
    for name in ["Ärger", "Öl", "日本語のモデル"]:
        await add_model(shelf.store, name)
    query = (
        "query($a: String) "
        "{ models(first: 1, after: $a) { nodes { name } pageInfo { endCursor } } }"
    )
    names, after = [], None
    for _ in range(3):
        page = (await shelf.data(query, a=after))["models"]
        names += [node["name"] for node in page["nodes"]]
        after = page["pageInfo"]["endCursor"]
    assert names == ["Ärger", "Öl", "日本語のモデル"]


# Filters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "search",
    ["x" * 50_000, "%" * 25_000, "_" * (MAX_SEARCH_CHARS + 1)],
    ids=["50000-characters", "25000-percent", "just-past-the-cap"],
)
async def test_a_search_longer_than_a_person_types_is_refused(shelf: Shelf, search: str) -> None:
    await add_model(shelf.store, "anime style")  # SQLite only objects with rows to match
    error = await shelf.error("query($s: String) { models(search: $s) { totalCount } }", s=search)
    assert_coded(error, "INVALID_FILTER")
    assert len(error["message"]) < 200


async def test_a_search_at_the_cap_is_still_a_search(shelf: Shelf) -> None:
    await add_model(shelf.store, "a" * MAX_SEARCH_CHARS)
    data = await shelf.data(
        "query($s: String) { models(search: $s) { totalCount } }", s="a" * MAX_SEARCH_CHARS
    )
    assert data["models"]["totalCount"] == 1


async def test_too_many_tags_or_a_long_type_are_refused(shelf: Shelf) -> None:
    (tag,) = await add_tags(shelf.store, "style")
    too_many = [tag.id, *range(10_000, 10_000 + MAX_FILTER_TAGS)]
    error = await shelf.error("query($t: [Int!]) { models(tagIds: $t) { totalCount } }", t=too_many)
    assert_coded(error, "INVALID_FILTER")
    error = await shelf.error(
        "query($t: String) { models(type: $t) { totalCount } }", t="x" * 10_000
    )
    assert_coded(error, "INVALID_FILTER")


async def test_a_huge_bad_digest_is_quoted_not_echoed(shelf: Shelf) -> None:
    error = await shelf.error(
        "query($s: String!) { model(sha256: $s) { name } }", s="z" * 1_000_000
    )
    assert_coded(error, "INVALID_SHA256")
    assert len(error["message"]) < 300


# Images past WebP's side limit ----------------------------------------------------------


@pytest.mark.parametrize(("width", "height"), [(16_384, 1), (2, 30_000), (40_000, 3)])
async def test_a_panorama_past_webps_side_limit_is_scaled_to_fit(
    shelf: Shelf, width: int, height: int
) -> None:
    model = await add_model(shelf.store, "panorama")
    result = await shelf.upload(
        "mutation($s: String!, $f: Upload!) { addSampleImage(sha256: $s, image: $f) {"
        " ... on SampleImageSaved { image { width height tiers { width height url } } } } }",
        {"f": encode(solid((width, height)), "PNG")},
        s=model.sha256,
    )
    image = result["addSampleImage"]["image"]
    assert max(image["width"], image["height"]) == 16_383
    assert min(image["width"], image["height"]) >= 1
    for tier in image["tiers"]:
        response = await shelf.client.get(tier["url"])
        assert decode(response.content).size == (tier["width"], tier["height"])
