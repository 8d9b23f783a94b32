"""Values crossing the API in both directions: moments in time, and optional arguments."""

from __future__ import annotations

import pytest

from tests.conftest import Shelf
from tests.seed import add_model

UPDATE = """
mutation($sha: String!, $at: DateTime) {
  updateModel(sha256: $sha, changes: { name: "renamed" }, expectedUpdatedAt: $at) {
    __typename
  }
}
"""


async def test_a_moment_round_trips_with_its_offset(shelf: Shelf) -> None:
    model = await add_model(shelf.store, "m")
    read = await shelf.data(
        "query($sha: String!) { model(sha256: $sha) { updatedAt } }", sha=model.sha256
    )
    updated_at = read["model"]["updatedAt"]
    assert updated_at.endswith("+00:00")
    answer = await shelf.data(UPDATE, sha=model.sha256, at=updated_at)
    assert answer == {"updateModel": {"__typename": "ModelUpdated"}}


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2024-01-01T00:00:00", "no UTC offset"),
        ("yesterday", "expected ISO 8601"),
        (1704067200, "expects an ISO 8601 string"),
    ],
)
async def test_a_moment_without_an_offset_or_not_a_moment_is_refused(
    shelf: Shelf, value: object, words: str
) -> None:
    model = await add_model(shelf.store, "m")
    body = await shelf.post(UPDATE, sha=model.sha256, at=value)
    assert body.get("data") is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and words in error["message"]
    read = await shelf.data(
        "query($sha: String!) { model(sha256: $sha) { name } }", sha=model.sha256
    )
    assert read["model"]["name"] == "m"  # nothing written


async def test_an_image_url_asked_with_a_null_quality_is_the_high_tier(shelf: Shelf) -> None:
    await add_model(shelf.store, "m", images=1)
    data = await shelf.data(
        "query($q: ImageQuality) { models { nodes { sampleImages { "
        "asked: url(quality: $q) high: url(quality: HIGH) default: url } } } }",
        q=None,
    )
    (image,) = data["models"]["nodes"][0]["sampleImages"]
    assert image["asked"] == image["high"] == image["default"]
    assert "quality=high" in image["asked"]
