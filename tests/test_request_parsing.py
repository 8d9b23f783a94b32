"""Malformed HTTP requests get a 400 with a GraphQL-shaped error, never a bare 500.

Each test sends what a hostile or broken client sends, byte for byte, and checks the
status, the `extensions.code`, and that the server still answers the next request."""

from __future__ import annotations

import json
from typing import Any

import pytest

from api.request_parsing import MAX_JSON_DEPTH
from tests.conftest import Shelf
from tests.seed import add_model

TAGS = b'{"query": "{ tags { id } }"}'
UPLOAD = 'mutation($image: Upload!) { addSampleImage(sha256: "%s", image: $image) { __typename } }'


async def refused(shelf: Shelf, body: bytes, content_type: str = "application/json") -> str:
    """Post `body`; assert a GraphQL-shaped 4xx; return its code."""
    response = await shelf.client.post(
        "/graphql", content=body, headers={"content-type": content_type}
    )
    return await _refusal(shelf, response.status_code, response.json())


async def _refusal(shelf: Shelf, status: int, body: dict[str, Any]) -> str:
    assert 400 <= status < 500, body
    (error,) = body["errors"]
    assert error["message"]
    code: str = error["extensions"]["code"]
    assert await shelf.data("{ tags { id } }") == {"tags": []}  # still answering
    return code


@pytest.mark.parametrize(
    "body",
    [b'{"query":"{ tags { id } }\xff"}', b"\xfe\xff\x00{", b'{"query": "\xc3"}'],
    ids=["trailing-byte", "utf16-bom", "cut-sequence"],
)
async def test_a_body_that_is_not_utf8_is_refused(shelf: Shelf, body: bytes) -> None:
    assert await refused(shelf, body) == "INVALID_JSON"


@pytest.mark.parametrize("body", [b'"x"', b"1", b"null", b"true", b"[]", b"{"])
async def test_a_body_that_is_not_one_operation_object_is_refused(
    shelf: Shelf, body: bytes
) -> None:
    assert await refused(shelf, body) in ("BAD_REQUEST", "INVALID_JSON", "BATCH_NOT_SUPPORTED")


@pytest.mark.parametrize(
    "member",
    [
        '"query": 1',
        '"query": "{ tags { id } }", "variables": []',
        '"query": "{ tags { id } }", "operationName": 3',
    ],
)
async def test_members_of_the_wrong_type_are_refused(shelf: Shelf, member: str) -> None:
    assert await refused(shelf, f"{{{member}}}".encode()) == "BAD_REQUEST"


@pytest.mark.parametrize(
    "value",
    ["1" * 5000, "NaN", "Infinity", "-Infinity", "1e400"],
    ids=["5000-digits", "nan", "infinity", "minus-infinity", "beyond-a-double"],
)
async def test_numbers_json_cannot_hold_are_refused(shelf: Shelf, value: str) -> None:
    body = f'{{"query": "{{ tags {{ id }} }}", "variables": {{"x": {value}}}}}'.encode()
    assert await refused(shelf, body) == "INVALID_JSON"


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1000, 100_000])
async def test_variables_nested_too_deep_are_refused_even_unused(shelf: Shelf, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    body = f'{{"query": "{{ tags {{ id }} }}", "variables": {{"x": {nested}}}}}'.encode()
    assert await refused(shelf, body) == "JSON_TOO_DEEP"


async def test_variables_nested_within_the_limit_are_fine(shelf: Shelf) -> None:
    depth = MAX_JSON_DEPTH - 2  # the body and `variables` are two levels of their own
    nested = "[" * depth + "]" * depth
    body = f'{{"query": "{{ tags {{ id }} }}", "variables": {{"x": {nested}}}}}'.encode()
    response = await shelf.client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.json() == {"data": {"tags": []}}


@pytest.mark.parametrize(
    "variables",
    [
        r'{"s": "\ud800"}',
        r'{"s": "a\udfffb"}',
        r'{"s": ["ok", {"deep": "\ud83d"}]}',
        r'{"\ud800": "key"}',
    ],
    ids=["lone-high", "lone-low", "nested", "in-a-key"],
)
async def test_text_that_is_not_unicode_is_refused_wherever_it_stands(
    shelf: Shelf, variables: str
) -> None:
    query = "query($s: String) { models(search: $s) { totalCount } }"
    body = f'{{"query": {json.dumps(query)}, "variables": {variables}}}'.encode()
    assert await refused(shelf, body) == "INVALID_UNICODE"


async def test_a_surrogate_pair_is_a_character_like_any_other(shelf: Shelf) -> None:
    await add_model(shelf.store, "smile \U0001f600")
    query = "query($s: String) { models(search: $s) { nodes { name } } }"
    body = f'{{"query": {json.dumps(query)}, "variables": {{"s": "\\ud83d\\ude00"}}}}'.encode()
    response = await shelf.client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.json()["data"]["models"]["nodes"] == [{"name": "smile \U0001f600"}]


async def test_a_surrogate_in_the_document_itself_is_a_parse_error(shelf: Shelf) -> None:
    body = json.dumps({"query": '{ models(search: "\\ud800") { totalCount } }'}).encode()
    response = await shelf.client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


async def test_a_get_with_variables_follows_the_same_rules(shelf: Shelf) -> None:
    params = {
        "query": "query($s: String) { models(search: $s) { totalCount } }",
        "variables": '{"s": "\\ud800"}',
    }
    response = await shelf.client.get("/graphql", params=params)
    assert await _refusal(shelf, response.status_code, response.json()) == "INVALID_UNICODE"


@pytest.mark.parametrize(
    "content_type",
    ["APPLICATION/JSON", "Application/Json; charset=UTF-8", "application/graphql-response+json"],
)
async def test_media_types_ignore_case(shelf: Shelf, content_type: str) -> None:
    response = await shelf.client.post(
        "/graphql", content=TAGS, headers={"content-type": content_type}
    )
    assert response.json() == {"data": {"tags": []}}


async def test_an_unsupported_media_type_is_a_graphql_shaped_415(shelf: Shelf) -> None:
    response = await shelf.client.post(
        "/graphql",
        content=TAGS,
        headers={"content-type": "application/xml", "GraphQL-Preflight": "1"},
    )
    assert response.status_code == 415
    assert await _refusal(shelf, 415, response.json()) == "UNSUPPORTED_MEDIA_TYPE"


async def test_a_body_without_a_query_is_a_graphql_shaped_400(shelf: Shelf) -> None:
    assert await refused(shelf, b"{}") == "BAD_REQUEST"


# Multipart ------------------------------------------------------------------------------


async def multipart(shelf: Shelf, operations: str, file_map: str) -> tuple[int, dict[str, Any]]:
    response = await shelf.client.post(
        "/graphql",
        data={"operations": operations, "map": file_map},
        files={"0": ("picture.png", b"\x89PNG not really")},
        headers={"GraphQL-Preflight": "1"},
    )
    return response.status_code, response.json()


@pytest.mark.parametrize(
    ("operations", "file_map"),
    [
        (None, "[1]"),
        (None, '{"0": ["variables.image.a.b.c"]}'),
        (None, '{"0": ["variables.image.0"]}'),
        (None, '{"0": "variables.image"}'),
        (None, '{"1": ["variables.image"]}'),
        (None, '{"0": ["query"]}'),
        (None, '{"0": ["variables.missing"]}'),
        ("null", '{"0": ["variables.image"]}'),
        ("[]", '{"0": ["variables.image"]}'),
        ("{not json", '{"0": ["variables.image"]}'),
        (
            '{"query": "{ tags { id } }", "variables": {"image": "taken"}}',
            '{"0": ["variables.image"]}',
        ),
    ],
    ids=[
        "map-a-list",
        "path-too-deep",
        "index-into-null",
        "paths-not-a-list",
        "unknown-part",
        "outside-variables",
        "no-such-variable",
        "operations-null",
        "operations-a-batch",
        "operations-not-json",
        "placeholder-not-null",
    ],
)
async def test_a_malformed_multipart_request_is_refused(
    shelf: Shelf, operations: str | None, file_map: str
) -> None:
    default = json.dumps({"query": UPLOAD % ("0" * 64), "variables": {"image": None}})
    status, body = await multipart(shelf, operations or default, file_map)
    assert await _refusal(shelf, status, body) in ("INVALID_MULTIPART", "INVALID_JSON")


async def test_a_well_formed_multipart_request_reaches_the_resolver(shelf: Shelf) -> None:
    model = await add_model(shelf.store, "target")
    operations = json.dumps({"query": UPLOAD % model.sha256, "variables": {"image": None}})
    status, body = await multipart(shelf, operations, '{"0": ["variables.image"]}')
    assert status == 200
    assert body == {"data": {"addSampleImage": {"__typename": "ImageRejected"}}}


# Subscriptions ---------------------------------------------------------------------------

FOLLOW = 'subscription Follow { job(id: "1") { state } }'


@pytest.mark.parametrize(
    "operation",
    [
        {"query": FOLLOW},
        {"query": FOLLOW.replace(" Follow", "")},
        {"query": FOLLOW + " query Tags { tags { id } }", "operationName": "Follow"},
    ],
)
async def test_a_subscription_over_http_is_sent_to_the_websocket(
    shelf: Shelf, operation: dict[str, str]
) -> None:
    assert await refused(shelf, json.dumps(operation).encode()) == "SUBSCRIPTION_OVER_HTTP"
    response = await shelf.client.get("/graphql", params=operation)
    assert await _refusal(shelf, response.status_code, response.json()) == "SUBSCRIPTION_OVER_HTTP"


async def test_a_query_beside_a_subscription_runs_when_it_is_the_one_chosen(shelf: Shelf) -> None:
    operation = {"query": FOLLOW + " query Tags { tags { id } }", "operationName": "Tags"}
    response = await shelf.client.post("/graphql", json=operation)
    assert response.json() == {"data": {"tags": []}}


async def test_a_text_that_only_mentions_subscriptions_is_a_query(shelf: Shelf) -> None:
    response = await shelf.client.post(
        "/graphql", json={"query": "# no subscription\n{ tags { id } }"}
    )
    assert response.json() == {"data": {"tags": []}}
