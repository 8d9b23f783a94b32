"""The rules of LEGACY.md, one at a time."""

from __future__ import annotations

import json

import pytest

from domain.legacy.rules import (
    clean_meta,
    display_name,
    image_file_name,
    legacy_hash,
    model_type,
    unique_file_names,
)

SHA = "ab" * 32


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (SHA, SHA),
        (f"  {SHA.upper()} ", SHA),
        ("", None),
        ("   ", None),
        (None, None),
        ("xyz", None),
        (SHA[:-1], None),
        (SHA + "0", None),
        ("g" * 64, None),
    ],
)
def test_hash_is_canonical_or_absent(value: str | None, expected: str | None) -> None:
    assert legacy_hash(value) == expected


def test_meta_is_extra_filled_in_by_meta_json_without_image_keys() -> None:
    extra = {"description": "mine", "images": ["/media/a.png"], "prompts": {"positive": "cat"}}
    legacy_meta = {"description": "old", "params": {"cfg": 7}, "preview": "/media/p.png"}
    cleaned = clean_meta(1, json.dumps(extra), json.dumps(legacy_meta))
    assert cleaned.meta == {
        "description": "mine",
        "prompts": {"positive": "cat"},
        "params": {"cfg": 7},
    }
    assert cleaned.image_refs == ["/media/a.png", "/media/p.png"]
    assert cleaned.issues == []


@pytest.mark.parametrize("text", [None, "", "  ", "null"])
def test_empty_extra_is_an_empty_object_without_issue(text: str | None) -> None:
    cleaned = clean_meta(1, text, None)
    assert cleaned.meta == {} and cleaned.issues == []


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '"a string"', '{"x": NaN}', "[" * 100_000])
def test_unreadable_extra_is_an_empty_object_and_an_issue(text: str) -> None:
    cleaned = clean_meta(7, text, '{"kept": true}')
    assert cleaned.meta == {"kept": True}
    assert [(i.legacy_id, i.kind) for i in cleaned.issues] == [(7, "INVALID_JSON")]


def test_every_image_key_spelling_is_collected_in_order() -> None:
    extra = {
        "image": "/media/one.png",
        "images": ["/media/two.png", 3, None],
        "preview": "three.png",
    }
    assert clean_meta(1, json.dumps(extra), None).image_refs == [
        "/media/two.png",
        "/media/one.png",
        "three.png",
    ]
    assert clean_meta(1, json.dumps({"images": "/media/solo.png"}), None).image_refs == [
        "/media/solo.png"
    ]


@pytest.mark.parametrize(
    ("ref", "name"),
    [
        ("/media/model_12_1700000000000_preview.png", "model_12_1700000000000_preview.png"),
        ("/media/a.png?v=2#top", "a.png"),
        ("http://127.0.0.1:8000/media/b.png?x=1", "b.png"),
        ("C:\\ComfyUI\\output\\c.png", "c.png"),
        ("/home/me/pics/d.png", "d.png"),
        ("relative/e.png", "e.png"),
        ("f.png", "f.png"),
        ("/media/with%20space%28x%29.png", "with space(x).png"),
        ("/media/%C3%BCnicode.png", "ünicode.png"),
        ("  /media/trimmed.png  ", "trimmed.png"),
        ("", None),
        ("/media/", None),
        ("..", None),
        ("/media/%2e%2e", None),
        ("/media/a%2Fb.png", None),
    ],
)
def test_image_file_names_from_every_spelling(ref: str, name: str | None) -> None:
    assert image_file_name(ref) == name


def test_an_image_listed_twice_is_one_image() -> None:
    refs = ["/media/a.png", "C:\\x\\a.png", "/media/b.png", "a.png"]
    assert unique_file_names(refs) == ["a.png", "b.png"]


def test_names_and_types_have_fallbacks() -> None:
    assert display_name(None, "C:\\models\\loras\\style.safetensors") == "style.safetensors"
    assert display_name("  ", "/m/x.ckpt") == "x.ckpt"
    assert display_name("Mine", "/m/x.ckpt") == "Mine"
    assert model_type(" LoRA ") == "lora"
    assert model_type("") == "other"
