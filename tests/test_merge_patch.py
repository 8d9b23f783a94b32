"""JSON Merge Patch against RFC 7386's own examples, and the bounds an edited meta keeps."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from domain.editing.merge_patch import apply_merge_patch
from domain.editing.meta import MAX_META_CHARS, MAX_META_DEPTH, MISSING, edited_meta
from domain.errors import InvalidValue

# RFC 7386, Appendix A: "Example Test Cases", every row, as (original, patch, result).
RFC_TABLE = [
    ('{"a":"b"}', '{"a":"c"}', '{"a":"c"}'),
    ('{"a":"b"}', '{"b":"c"}', '{"a":"b","b":"c"}'),
    ('{"a":"b"}', '{"a":null}', "{}"),
    ('{"a":"b","b":"c"}', '{"a":null}', '{"b":"c"}'),
    ('{"a":["b"]}', '{"a":"c"}', '{"a":"c"}'),
    ('{"a":"c"}', '{"a":["b"]}', '{"a":["b"]}'),
    ('{"a": {"b": "c"}}', '{"a": {"b": "d", "c": null}}', '{"a": {"b": "d"}}'),
    ('{"a": [{"b":"c"}]}', '{"a": [1]}', '{"a": [1]}'),
    ('["a","b"]', '["c","d"]', '["c","d"]'),
    ('{"a":"b"}', '["c"]', '["c"]'),
    ('{"a":"foo"}', "null", "null"),
    ('{"a":"foo"}', '"bar"', '"bar"'),
    ('{"e":null}', '{"a":1}', '{"e":null,"a":1}'),
    ("[1,2]", '{"a":"b","c":null}', '{"a":"b"}'),
    ("{}", '{"a":{"bb":{"ccc":null}}}', '{"a":{"bb":{}}}'),
]


@pytest.mark.parametrize(("original", "patch", "result"), RFC_TABLE)
def test_every_example_of_the_rfc_table(original: str, patch: str, result: str) -> None:
    target, changes = json.loads(original), json.loads(patch)
    kept_target, kept_patch = copy.deepcopy(target), copy.deepcopy(changes)
    assert apply_merge_patch(target, changes) == json.loads(result)
    assert (target, changes) == (kept_target, kept_patch)  # neither argument changed


def test_the_example_of_rfc_section_3() -> None:
    target = {
        "title": "Goodbye!",
        "author": {"givenName": "John", "familyName": "Doe"},
        "tags": ["example", "sample"],
        "content": "This will be unchanged",
    }
    patch = {
        "title": "Hello!",
        "phoneNumber": "+01-123-456-7890",
        "author": {"familyName": None},
        "tags": ["example"],
    }
    assert apply_merge_patch(target, patch) == {
        "title": "Hello!",
        "author": {"givenName": "John"},
        "tags": ["example"],
        "content": "This will be unchanged",
        "phoneNumber": "+01-123-456-7890",
    }


def test_the_result_shares_nothing_with_the_patch() -> None:
    patch: dict[str, Any] = {"list": [1, {"x": 1}], "object": {"new": {"deep": 1}}}
    result = apply_merge_patch({}, patch)
    result["list"][1]["x"] = 2
    result["object"]["new"]["deep"] = 2
    assert patch == {"list": [1, {"x": 1}], "object": {"new": {"deep": 1}}}


def nested(depth: int) -> dict[str, Any]:
    """An object whose objects nest `depth` levels (itself included)."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


def test_meta_is_replaced_patched_or_kept() -> None:
    current = {"a": 1, "b": {"c": 2}}
    assert edited_meta(current, {"z": 0}, MISSING) == {"z": 0}
    assert edited_meta(current, MISSING, {"b": {"c": None, "d": 3}}) == {"a": 1, "b": {"d": 3}}
    assert edited_meta(current, MISSING, MISSING) is current


@pytest.mark.parametrize(
    ("meta", "patch", "field"),
    [
        ({}, {}, "metaPatch"),  # both at once
        ([1], MISSING, "meta"),
        (None, MISSING, "meta"),
        ("text", MISSING, "meta"),
        (MISSING, None, "metaPatch"),  # a null patch makes meta null
        (MISSING, ["c"], "metaPatch"),
        (MISSING, 5, "metaPatch"),
    ],
)
def test_anything_but_an_object_is_refused(meta: Any, patch: Any, field: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        edited_meta({"a": 1}, meta, patch)
    assert refused.value.field == field


def test_depth_is_bounded_at_the_depth_a_request_may_have() -> None:
    assert edited_meta({}, nested(MAX_META_DEPTH), MISSING) == nested(MAX_META_DEPTH)
    for meta, patch, field in [
        (nested(MAX_META_DEPTH + 1), MISSING, "meta"),
        (MISSING, nested(MAX_META_DEPTH + 1), "metaPatch"),
    ]:
        with pytest.raises(InvalidValue) as refused:
            edited_meta({}, meta, patch)
        assert refused.value.field == field and str(MAX_META_DEPTH) in str(refused.value)


def test_size_is_bounded_after_patching() -> None:
    half = "x" * (MAX_META_CHARS // 2)
    current = {"a": half}
    assert edited_meta(current, MISSING, {"b": "small"}) == {"a": half, "b": "small"}
    with pytest.raises(InvalidValue) as refused:  # each part fits, the result does not
        edited_meta(current, MISSING, {"b": half})
    assert refused.value.field == "metaPatch"
    with pytest.raises(InvalidValue):
        edited_meta({}, {"a": "x" * MAX_META_CHARS}, MISSING)
    # A patch that shrinks an oversized meta is allowed: an edit may fix what it could not make.
    assert edited_meta({"a": half, "b": half}, MISSING, {"b": None}) == {"a": half}
