"""Finding the listed images: each name looked up directly, a bounded search below only for
the names not found so, and no folder read at all when nothing is new."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from domain.legacy.image_search import MAX_SEARCH_DEPTH, MAX_SEARCH_ENTRIES
from tests.conftest import Shelf
from tests.images import BLUE, GREEN, RED, YELLOW, same_colors
from tests.inotify import folders_listed, needs_inotify
from tests.legacy import LegacyRow, create_legacy_db
from tests.seed import digest
from tests.test_migrate_legacy import legacy_library, migrate, picture

pytestmark = needs_inotify

GALLERY = "query($sha: String!) { model(sha256: $sha) { sampleImages { url } } }"


def library_listing(folder: Path, names: list[str]) -> Path:
    """A legacy database whose one hashed row lists `names`, beside `folder`/images."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.safetensors").write_bytes(b"a")  # the model file is there: no issue of its own
    row = LegacyRow(1, str(folder / "a.safetensors"), hash_hex=digest("a"), extra={"images": names})
    return create_legacy_db(folder / "hikaze_mm.sqlite3", [row], [])


async def gallery_colors(shelf: Shelf) -> list[tuple[int, ...]]:
    model = (await shelf.data(GALLERY, sha=digest("a")))["model"]
    images: list[dict[str, Any]] = model["sampleImages"]
    return await shelf.colors(images)


async def test_a_run_with_nothing_new_reads_no_folder(shelf: Shelf, tmp_path: Path) -> None:
    db = legacy_library(tmp_path / "legacy")
    await migrate(shelf, db)
    images = tmp_path / "legacy" / "images"
    with folders_listed([images, images.parent]) as listed:
        again = await migrate(shelf, db, images)
    assert again["nothingNew"] is True
    assert listed.folders == []


async def test_images_named_as_listed_are_found_without_listing_a_folder(
    shelf: Shelf, tmp_path: Path
) -> None:
    images = tmp_path / "legacy" / "images"
    images.mkdir(parents=True)
    (images / "red.png").write_bytes(picture(RED))
    (images / "blue.png").write_bytes(picture(BLUE))
    db = library_listing(tmp_path / "legacy", ["/media/red.png", "C:\\x\\blue.png"])
    with folders_listed([images]) as listed:
        report = await migrate(shelf, db)
    assert report["imagesConverted"] == 2 and report["issues"] == [], report
    assert listed.folders == []
    assert same_colors(await gallery_colors(shelf), [RED, BLUE])


async def test_the_search_below_stops_once_every_name_is_found(
    shelf: Shelf, tmp_path: Path
) -> None:
    images = tmp_path / "legacy" / "images"
    (images / "a").mkdir(parents=True)
    (images / "a" / "red.png").write_bytes(picture(RED))
    (images / "b").mkdir()  # after "a" in sorted order: never needed
    for n in range(50):
        (images / "b" / f"other{n}.png").write_bytes(b"")
    db = library_listing(tmp_path / "legacy", ["/media/red.png"])
    with folders_listed([images, images / "a", images / "b"]) as listed:
        report = await migrate(shelf, db)
    assert report["imagesConverted"] == 1, report
    assert listed.folders == [images, images / "a"]


async def test_the_lookup_rules_hold_exact_name_first_then_sorted_folder_order(
    shelf: Shelf, tmp_path: Path
) -> None:
    images = tmp_path / "legacy" / "images"
    for folder in ("a", "b", "a/deep"):
        (images / folder).mkdir(parents=True, exist_ok=True)
    (images / "Pic.PNG").write_bytes(picture(YELLOW))  # differs in case only: loses
    (images / "b" / "pic.png").write_bytes(picture(BLUE))  # exact, but after a/deep/
    (images / "a" / "deep" / "pic.png").write_bytes(picture(RED))  # exact, first in order
    (images / "b" / "ONLY.png").write_bytes(picture(GREEN))  # found ignoring case
    db = library_listing(tmp_path / "legacy", ["pic.png", "only.png"])
    report = await migrate(shelf, db)
    assert report["imagesConverted"] == 2 and report["issues"] == [], report
    assert same_colors(await gallery_colors(shelf), [RED, GREEN])


async def test_a_search_deeper_than_the_bound_stops_and_says_so(
    shelf: Shelf, tmp_path: Path
) -> None:
    images = tmp_path / "legacy" / "images"
    deep = images.joinpath(*(f"level{n}" for n in range(MAX_SEARCH_DEPTH + 1)))
    deep.mkdir(parents=True)
    (deep / "red.png").write_bytes(picture(RED))
    db = library_listing(tmp_path / "legacy", ["red.png"])
    report = await migrate(shelf, db)
    kinds = [(issue["legacyId"], issue["kind"]) for issue in report["issues"]]
    assert kinds == [(None, "IMAGE_SEARCH_LIMITED"), (1, "MISSING_IMAGE")], report
    assert report["imagesConverted"] == 0 and report["imagesMissing"] == 1
    assert f"{MAX_SEARCH_DEPTH} levels" in report["issues"][0]["message"]


async def test_a_search_through_more_entries_than_the_bound_stops_and_says_so(
    shelf: Shelf, tmp_path: Path
) -> None:
    """A folder given by mistake (`/`, a home folder) is not walked whole."""
    images = tmp_path / "legacy" / "images"
    (images / "a").mkdir(parents=True)
    for n in range(MAX_SEARCH_ENTRIES):
        (images / "a" / f"f{n}").touch()
    (images / "b").mkdir()
    (images / "b" / "red.png").write_bytes(picture(RED))  # after the bound, in sorted order
    db = library_listing(tmp_path / "legacy", ["red.png"])
    report = await migrate(shelf, db)
    kinds = [(issue["legacyId"], issue["kind"]) for issue in report["issues"]]
    assert kinds == [(None, "IMAGE_SEARCH_LIMITED"), (1, "MISSING_IMAGE")], report
    assert f"{MAX_SEARCH_ENTRIES:,} entries" in report["issues"][0]["message"]
