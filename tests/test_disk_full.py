"""A library on a disk that fills up: the real kernel's ENOSPC and SQLite's SQLITE_FULL.

Each test runs the real app on a small tmpfs (`small_disk`), fills it, and checks that
the user gets a typed `DiskFull`, that nothing half-done is left behind (no temporary
file, no file without its row), and that the same request works once space is freed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from domain.image_tiers import Quality
from tests.conftest import Shelf, running_shelf
from tests.images import BLUE, GREEN, RED, same_colors
from tests.seed import add_model
from tests.small_disk import SmallDisk
from tests.test_gallery import (
    ADD,
    DELETE,
    REPLACE,
    add,
    colors_of_gallery,
    expected_files,
    files_of,
    picture,
)

PAGE = 4096
DISK_FULL = "... on DiskFull { folder bytesNeeded }"


def temp_files(shelf: Shelf) -> list[Path]:
    return list(shelf.config.images_dir.rglob(".tmp-*"))


async def upload(shelf: Shelf, query: str, data: bytes, **variables: Any) -> dict[str, Any]:
    """Send an add or replace with the DiskFull fields selected too."""
    query = query.replace(
        "... on Problem { code message }", f"... on Problem {{ code message }} {DISK_FULL}"
    )
    result: dict[str, Any] = next(
        iter((await shelf.upload(query, {"image": data}, **variables)).values())
    )
    return result


async def test_an_upload_onto_a_full_disk_is_disk_full_and_leaves_nothing(
    small_disk: SmallDisk,
) -> None:
    async with running_shelf(small_disk.data_dir) as shelf:
        model = await add_model(shelf.store, "m")
        await add(shelf, model.sha256, picture(RED))
        small_disk.fill()

        added = await upload(shelf, ADD, picture(BLUE), sha=model.sha256)
        replaced = await upload(shelf, REPLACE, picture(GREEN), sha=model.sha256, seq=0)

        for result in (added, replaced):
            assert (result["__typename"], result["code"]) == ("DiskFull", "DISK_FULL"), result
            assert result["folder"] == str(shelf.config.images_dir)
            assert result["bytesNeeded"] > 0
            assert "space" in result["message"]
        assert temp_files(shelf) == []  # each failed write removed its own
        assert same_colors(await colors_of_gallery(shelf, model.sha256), [RED])

        small_disk.free()
        again = await upload(shelf, ADD, picture(BLUE), sha=model.sha256)
        assert again["__typename"] == "SampleImageSaved", again
        assert same_colors(await colors_of_gallery(shelf, model.sha256), [RED, BLUE])
        assert files_of(shelf, model.sha256) == expected_files(model.sha256, 2)


async def test_a_commit_that_finds_the_disk_full_is_disk_full_and_places_no_file(
    small_disk: SmallDisk,
) -> None:
    """Room for the picture's three small tier files, none for the database's log: the
    files are written, then SQLite's commit meets SQLITE_FULL."""
    async with running_shelf(small_disk.data_dir) as shelf:
        model = await add_model(shelf.store, "m")
        await add(shelf, model.sha256, picture(RED))
        small_disk.fill(leave=len(Quality) * PAGE)

        result = await upload(shelf, ADD, picture(BLUE), sha=model.sha256)

        assert (result["__typename"], result["code"]) == ("DiskFull", "DISK_FULL"), result
        assert result["folder"] == str(shelf.config.data_dir)
        assert result["bytesNeeded"] is None
        assert temp_files(shelf) == []
        assert files_of(shelf, model.sha256) == expected_files(model.sha256, 1)  # none placed
        assert same_colors(await colors_of_gallery(shelf, model.sha256), [RED])

        small_disk.free()
        for color in (BLUE, GREEN):  # the store took writes again, more than once
            saved = await upload(shelf, ADD, picture(color), sha=model.sha256)
            assert saved["__typename"] == "SampleImageSaved", saved
        assert same_colors(await colors_of_gallery(shelf, model.sha256), [RED, BLUE, GREEN])
        assert files_of(shelf, model.sha256) == expected_files(model.sha256, 3)


async def test_a_delete_on_a_full_disk_is_disk_full_until_space_is_freed(
    small_disk: SmallDisk,
) -> None:
    """Even a delete writes: its rows and its file journal, in the database's log."""
    async with running_shelf(small_disk.data_dir) as shelf:
        model = await add_model(shelf.store, "m")
        for color in (RED, BLUE):
            await add(shelf, model.sha256, picture(color))
        small_disk.fill()
        query = DELETE.replace(
            "... on Problem { code message }", f"... on Problem {{ code }} {DISK_FULL}"
        )

        refused = (await shelf.data(query, sha=model.sha256, seq=0))["deleteSampleImage"]

        assert (refused["__typename"], refused["folder"]) == (
            "DiskFull",
            str(shelf.config.data_dir),
        )
        assert same_colors(await colors_of_gallery(shelf, model.sha256), [RED, BLUE])
        small_disk.free()
        deleted = (await shelf.data(query, sha=model.sha256, seq=0))["deleteSampleImage"]
        assert deleted["__typename"] == "SampleImageDeleted"
        assert same_colors(await colors_of_gallery(shelf, model.sha256), [BLUE])
        assert files_of(shelf, model.sha256) == expected_files(model.sha256, 1)
