"""Galleries through GraphQL: add, replace, delete with shift, and every typed failure."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import PngImagePlugin

from domain.images.gallery import Gallery
from domain.images.tiers import Quality, tier_file_name
from tests.conftest import Shelf, running_shelf
from tests.images import BLUE, GREEN, RED, YELLOW, close, encode, quadrants, same_colors, solid
from tests.seed import add_model

RESULT = """
  __typename
  ... on SampleImageSaved {
    image { seq filename width height url generation tiers { quality width height sizeBytes url } }
    model { sampleImages { seq url } updatedAt }
  }
  ... on Problem { code message }
  ... on DuplicateImage { seq }
  ... on ImageRejected { reason }
  ... on SampleImageNotFound { seq }
"""
DELETED = """
  __typename
  ... on SampleImageDeleted { model { sampleImages { seq url } } }
  ... on Problem { code message }
  ... on SampleImageNotFound { seq }
"""
ADD = (
    "mutation($sha: String!, $image: Upload!) "
    f"{{ addSampleImage(sha256: $sha, image: $image) {{ {RESULT} }} }}"
)
REPLACE = (
    "mutation($sha: String!, $seq: Int!, $image: Upload!) "
    f"{{ replaceSampleImage(sha256: $sha, seq: $seq, image: $image) {{ {RESULT} }} }}"
)
DELETE = (
    "mutation($sha: String!, $seq: Int!) "
    f"{{ deleteSampleImage(sha256: $sha, seq: $seq) {{ {DELETED} }} }}"
)
GALLERY = "query($sha: String!) { model(sha256: $sha) { sampleImages { seq width url } } }"


def picture(color: tuple[int, int, int], size: tuple[int, int] = (120, 80)) -> bytes:
    return encode(solid(size, color), "PNG")


async def add(shelf: Shelf, sha256: str, data: bytes) -> dict[str, Any]:
    result: dict[str, Any] = (await shelf.upload(ADD, {"image": data}, sha=sha256))[
        "addSampleImage"
    ]
    return result


async def colors_of_gallery(shelf: Shelf, sha256: str) -> list[tuple[int, ...]]:
    """The colour of each picture, read back over HTTP through each picture's own URL."""
    return await shelf.colors((await shelf.data(GALLERY, sha=sha256))["model"]["sampleImages"])


def files_of(shelf: Shelf, sha256: str) -> set[str]:
    return {p.name for p in shelf.config.images_dir.glob(f"{sha256}_*")}


def expected_files(sha256: str, count: int) -> set[str]:
    return {tier_file_name(sha256, seq, q) for seq in range(count) for q in Quality}


async def test_adding_pictures_appends_them_in_order(shelf: Shelf) -> None:
    model = await add_model(shelf.store, "m")
    first = await add(shelf, model.sha256, picture(RED, (3000, 2000)))
    second = await add(shelf, model.sha256, picture(BLUE))

    assert first["__typename"] == "SampleImageSaved"
    image = first["image"]
    assert image["seq"] == 0 and image["filename"] == f"{model.sha256}_0.webp"
    assert (image["width"], image["height"]) == (1732, 1154)
    assert [t["quality"] for t in image["tiers"]] == ["HIGH", "MEDIUM", "LOW"]
    assert [(t["width"], t["height"]) for t in image["tiers"]] == [
        (1732, 1154),
        (1143, 762),
        (572, 381),
    ]
    assert all(t["sizeBytes"] > 0 for t in image["tiers"])
    assert second["image"]["seq"] == 1
    assert [i["seq"] for i in second["model"]["sampleImages"]] == [0, 1]
    assert same_colors(await colors_of_gallery(shelf, model.sha256), [RED, BLUE])
    assert files_of(shelf, model.sha256) == expected_files(model.sha256, 2)


async def test_generation_parameters_are_kept_in_the_gallery(shelf: Shelf) -> None:
    model = await add_model(shelf.store, "m")
    info = PngImagePlugin.PngInfo()
    info.add_text(
        "parameters", "castle\nSteps: 25, Sampler: Euler, CFG scale: 6.5, Seed: 7, Size: 64x64"
    )
    saved = await add(shelf, model.sha256, encode(quadrants((64, 64)), "PNG", pnginfo=info))
    generation = saved["image"]["generation"]
    assert (
        generation["prompt"] == "castle"
        and generation["steps"] == 25
        and generation["cfgScale"] == 6.5
    )


async def test_the_same_picture_is_never_added_twice(shelf: Shelf) -> None:
    model = await add_model(shelf.store, "m")
    await add(shelf, model.sha256, picture(RED))
    again = await add(shelf, model.sha256, picture(RED))
    assert again["__typename"] == "DuplicateImage" and again["seq"] == 0
    assert files_of(shelf, model.sha256) == expected_files(model.sha256, 1)


async def test_replacing_changes_the_picture_and_its_url(shelf: Shelf) -> None:
    model = await add_model(shelf.store, "m")
    old = (await add(shelf, model.sha256, picture(RED)))["image"]
    await add(shelf, model.sha256, picture(BLUE))

    replaced = (await shelf.upload(REPLACE, {"image": picture(GREEN)}, sha=model.sha256, seq=0))[
        "replaceSampleImage"
    ]

    assert replaced["__typename"] == "SampleImageSaved"
    assert replaced["image"]["seq"] == 0 and replaced["image"]["url"] != old["url"]
    assert same_colors(await colors_of_gallery(shelf, model.sha256), [GREEN, BLUE])
    assert files_of(shelf, model.sha256) == expected_files(model.sha256, 2)
    assert not list(shelf.config.images_dir.glob(".tmp-*"))


async def test_replacing_at_the_end_appends_and_beyond_is_refused(shelf: Shelf) -> None:
    model = await add_model(shelf.store, "m")
    await add(shelf, model.sha256, picture(RED))
    appended = (await shelf.upload(REPLACE, {"image": picture(BLUE)}, sha=model.sha256, seq=1))[
        "replaceSampleImage"
    ]
    assert appended["image"]["seq"] == 1
    beyond = (await shelf.upload(REPLACE, {"image": picture(GREEN)}, sha=model.sha256, seq=5))[
        "replaceSampleImage"
    ]
    assert beyond["__typename"] == "SampleImageNotFound" and beyond["seq"] == 5
    assert same_colors(await colors_of_gallery(shelf, model.sha256), [RED, BLUE])


async def test_replacing_with_a_picture_held_at_another_seq_is_a_duplicate(shelf: Shelf) -> None:
    model = await add_model(shelf.store, "m")
    await add(shelf, model.sha256, picture(RED))
    await add(shelf, model.sha256, picture(BLUE))
    result = (await shelf.upload(REPLACE, {"image": picture(BLUE)}, sha=model.sha256, seq=0))[
        "replaceSampleImage"
    ]
    assert result["__typename"] == "DuplicateImage" and result["seq"] == 1
    same_place = (await shelf.upload(REPLACE, {"image": picture(RED)}, sha=model.sha256, seq=0))[
        "replaceSampleImage"
    ]
    assert same_place["__typename"] == "SampleImageSaved"


@pytest.mark.parametrize(
    ("deleted", "left"),
    [(0, [BLUE, GREEN, YELLOW]), (1, [RED, GREEN, YELLOW]), (3, [RED, BLUE, GREEN])],
)
async def test_deleting_shifts_later_pictures_down(
    shelf: Shelf, deleted: int, left: list[tuple[int, int, int]]
) -> None:
    model = await add_model(shelf.store, "m")
    for color in (RED, BLUE, GREEN, YELLOW):
        await add(shelf, model.sha256, picture(color))
    before = {
        i["seq"]: i["url"]
        for i in (await shelf.data(GALLERY, sha=model.sha256))["model"]["sampleImages"]
    }

    result = (await shelf.post(DELETE, sha=model.sha256, seq=deleted))["data"]["deleteSampleImage"]

    assert result["__typename"] == "SampleImageDeleted"
    after = result["model"]["sampleImages"]
    assert [i["seq"] for i in after] == [0, 1, 2]
    for image in after:  # a picture that moved has a new URL: no cache can show the old one
        assert (image["url"] == before[image["seq"]]) == (image["seq"] < deleted)
    assert same_colors(await colors_of_gallery(shelf, model.sha256), left)
    assert files_of(shelf, model.sha256) == expected_files(model.sha256, 3)
    assert not list(shelf.config.images_dir.glob(".tmp-*"))


async def test_deleting_the_only_picture_empties_the_gallery(shelf: Shelf) -> None:
    model = await add_model(shelf.store, "m")
    await add(shelf, model.sha256, picture(RED))
    await shelf.post(DELETE, sha=model.sha256, seq=0)
    assert (await shelf.data(GALLERY, sha=model.sha256))["model"]["sampleImages"] == []
    assert files_of(shelf, model.sha256) == set()


async def test_problems_are_typed_and_change_nothing(shelf: Shelf) -> None:
    model = await add_model(shelf.store, "m")
    await add(shelf, model.sha256, picture(RED))
    cases: list[tuple[str, dict[str, bytes], dict[str, Any], str, str]] = [
        (ADD, {"image": picture(BLUE)}, {"sha": "0" * 64}, "ModelNotFound", "MODEL_NOT_FOUND"),
        (ADD, {"image": picture(BLUE)}, {"sha": "nope"}, "InvalidInput", "INVALID_SHA256"),
        (ADD, {"image": b"<svg/>"}, {"sha": model.sha256}, "ImageRejected", "NOT_AN_IMAGE"),
        (
            ADD,
            {"image": picture(BLUE)[:60]},
            {"sha": model.sha256},
            "ImageRejected",
            "CORRUPT_IMAGE",
        ),
        (
            REPLACE,
            {"image": picture(BLUE)},
            {"sha": model.sha256, "seq": -1},
            "SampleImageNotFound",
            "SAMPLE_IMAGE_NOT_FOUND",
        ),
    ]
    for query, files, variables, typename, code in cases:
        result = next(iter((await shelf.upload(query, files, **variables)).values()))
        assert (result["__typename"], result["code"]) == (typename, code), result
        assert result["message"]
    deleted = (await shelf.post(DELETE, sha=model.sha256, seq=1))["data"]["deleteSampleImage"]
    assert deleted["__typename"] == "SampleImageNotFound"
    assert "has 1 picture" in deleted["message"]
    assert same_colors(await colors_of_gallery(shelf, model.sha256), [RED])
    assert files_of(shelf, model.sha256) == expected_files(model.sha256, 1)
    assert not list(shelf.config.images_dir.glob(".tmp-*"))


async def test_an_upload_larger_than_the_limit_is_refused_before_it_is_read(shelf: Shelf) -> None:
    response = await shelf.client.post(
        "/graphql",
        content=b"x",
        headers={"content-type": "multipart/form-data; boundary=x", "content-length": str(2**40)},
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"


class PowerCut(Exception):
    """Stands for the process dying: raised where the crash is to happen."""


@pytest.mark.parametrize("seq", [0, 1])
async def test_a_crash_between_commit_and_file_moves_is_finished_at_startup(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, seq: int
) -> None:
    """The delete's rows and journal are committed, then the process dies before moving a
    file: at the next start the moves are carried out from the journal."""
    async with running_shelf(data_dir) as shelf:
        model = await add_model(shelf.store, "m")
        for color in (RED, BLUE, GREEN):
            await add(shelf, model.sha256, picture(color))

        def die(*_: object) -> None:
            raise PowerCut

        with monkeypatch.context() as patch:
            patch.setattr(Gallery, "_move_files", die)
            with pytest.raises(PowerCut):
                await shelf.app.state.gallery.delete(model.sha256, seq)
        (shelf.config.images_dir / ".tmp-leftover-from-a-crash.webp").write_bytes(b"half")
        (shelf.config.images_dir / f"{model.sha256}_7_low.webp").write_bytes(b"orphan")

    async with running_shelf(data_dir) as shelf:
        left = [BLUE, GREEN] if seq == 0 else [RED, GREEN]
        assert same_colors(await colors_of_gallery(shelf, model.sha256), left)
        assert files_of(shelf, model.sha256) == expected_files(model.sha256, 2)
        assert not list(shelf.config.images_dir.glob(".tmp-*"))


async def test_concurrent_adds_to_one_gallery_get_distinct_seqs(shelf: Shelf) -> None:
    model = await add_model(shelf.store, "m")
    colors = [(i * 20, 100, 200 - i * 20) for i in range(6)]
    results = await asyncio.gather(*(add(shelf, model.sha256, picture(c)) for c in colors))
    assert sorted(r["image"]["seq"] for r in results) == list(range(6))
    assert files_of(shelf, model.sha256) == expected_files(model.sha256, 6)
    seen = await colors_of_gallery(shelf, model.sha256)
    assert all(any(close(s, c) for c in colors) for s in seen)


async def test_a_multipart_request_without_a_preflight_header_is_refused(shelf: Shelf) -> None:
    """What a cross-site form could send: it must not reach the mutation."""
    model = await add_model(shelf.store, "m")
    operations = {"query": ADD, "variables": {"sha": model.sha256, "image": None}}
    response = await shelf.client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.image"]})},
        files={"0": ("x.png", picture(RED))},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "PREFLIGHT_REQUIRED"
    assert (await shelf.data(GALLERY, sha=model.sha256))["model"]["sampleImages"] == []
    form = await shelf.client.post(
        "/graphql", content=b"query={}", headers={"content-type": "text/plain"}
    )
    assert form.status_code == 400
