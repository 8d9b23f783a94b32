"""The MERGE rules, exactly, and two properties that must hold for any JSON."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.importing.merge_rules import merge_meta, merge_value, ordered_union


def test_the_model_s_value_wins_unless_it_is_empty() -> None:
    assert merge_value("mine", "theirs") == "mine"
    assert merge_value(None, "theirs") == "theirs"
    assert merge_value("", "theirs") == "theirs"
    assert merge_value("", None) == ""
    assert merge_value(0, 5) == 0  # zero is a value, not emptiness
    assert merge_value(False, True) is False


def test_objects_merge_key_by_key_all_the_way_down() -> None:
    kept = {"description": "", "prompts": {"positive": "cat", "negative": None}, "links": ["a"]}
    incoming = {
        "description": "a model",
        "prompts": {"positive": "dog", "negative": "blurry", "extra": "x"},
        "links": ["b", "a"],
        "new": 1,
    }
    assert merge_meta(kept, incoming) == {
        "description": "a model",
        "prompts": {"positive": "cat", "negative": "blurry", "extra": "x"},
        "links": ["a", "b"],
        "new": 1,
    }


def test_lists_are_an_ordered_union_without_repeats() -> None:
    assert ordered_union([1, 2], [3, 1, 4, 3]) == [1, 2, 3, 4]
    assert ordered_union([{"a": 1, "b": 2}], [{"b": 2, "a": 1}, {"a": 2}]) == [
        {"a": 1, "b": 2},
        {"a": 2},
    ]
    assert ordered_union([], []) == []


def test_an_empty_object_or_list_takes_the_other_side() -> None:
    assert merge_value({}, {"a": 1}) == {"a": 1}
    assert merge_value([], [1]) == [1]
    assert merge_value("", {"a": 1}) == {"a": 1}
    assert merge_value({"a": 1}, "text") == {"a": 1}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=3), children, max_size=4)
    ),
    max_leaves=20,
)
json_objects = st.dictionaries(st.text(max_size=3), json_values, max_size=5)


@given(json_objects, json_objects)
def test_merging_is_idempotent(kept: dict[str, Any], incoming: dict[str, Any]) -> None:
    once = merge_meta(kept, incoming)
    assert merge_meta(once, incoming) == once


@given(json_objects, json_objects)
def test_merging_never_drops_a_key(kept: dict[str, Any], incoming: dict[str, Any]) -> None:
    merged = merge_meta(kept, incoming)
    assert_all_keys_kept(kept, merged)
    assert_all_keys_kept(incoming, merged)


def assert_all_keys_kept(side: dict[str, Any], merged: dict[str, Any]) -> None:
    assert set(side) <= set(merged)
    for key, value in side.items():
        if isinstance(value, dict) and isinstance(merged[key], dict):
            assert_all_keys_kept(value, merged[key])
