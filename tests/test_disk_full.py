"""A library on a disk that fills up: the real kernel's ENOSPC and SQLite's SQLITE_FULL.

Each test runs the real app on a small tmpfs (`small_disk`), fills it, and checks that
the user gets a typed `DiskFull`, that nothing half-done is left behind (no temporary
file, no file without its row), and that the same request works once space is freed.
Only the quota case, which a tmpfs cannot produce, checks the translation by itself.
"""

from __future__ import annotations

import asyncio
import errno
import os
import random
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from domain.errors import DiskFull
from domain.filesystem.writes import disk_full_is_typed
from domain.images.tiers import Quality, tier_file_name
from tests.conftest import Shelf, running_shelf
from tests.images import BLUE, GREEN, RED, encode, same_colors
from tests.legacy import LegacyRow, create_legacy_db
from tests.seed import add_model, digest, pending_file
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
from tests.test_import_a_model import IMPORT, MODEL, PENDING, conflicting_pair

PAGE = os.sysconf("SC_PAGE_SIZE")  # what tmpfs allots a file at a time
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


MIGRATE = """
mutation($db: String!) {
  migrateLegacyDb(legacyDbPath: $db) {
    __typename
    ... on MigrationReport {
      modelsImported pendingCreated alreadyImported imagesConverted imagesCopied
    }
    ... on Problem { code message }
    ... on DiskFull { folder }
  }
}
"""
ROWS, IMAGES_PER_ROW = 12, 3
HASHED = [row for row in range(1, ROWS + 1) if row % 3]  # a third become pending imports


def noisy_legacy_library(folder: Path) -> Path:
    """Rows whose images are random noise: they do not compress, so they fill a disk fast."""
    images = folder / "images"
    images.mkdir(parents=True)
    rows = []
    chance = random.Random(7)
    for row_id in range(1, ROWS + 1):
        names = [f"m{row_id}_{n}.png" for n in range(IMAGES_PER_ROW)]
        for name in names:
            noise = Image.frombytes("RGB", (300, 200), chance.randbytes(300 * 200 * 3))
            (images / name).write_bytes(encode(noise, "PNG"))
        hashed = digest(f"legacy {row_id}") if row_id in HASHED else ""
        rows.append(LegacyRow(row_id, f"/m/{row_id}", hash_hex=hashed, extra={"images": names}))
    return create_legacy_db(folder / "hikaze_mm.sqlite3", rows, [])


async def library_counts(shelf: Shelf) -> tuple[int, ...]:
    """Gallery rows, pending originals' rows, owed image tasks, and files in the images
    folders: what a run still going on in the background would change."""
    counts = []
    for table in ("sample_images", "pending_images", "legacy_image_tasks"):
        row = await shelf.store.fetch_one(f"SELECT count(*) FROM {table}")
        counts.append(0 if row is None else row[0])
    return (*counts, len(list(shelf.config.images_dir.rglob("*"))))


@pytest.mark.parametrize("leave", [0, 1024 * 1024], ids=["before-the-rows", "during-the-images"])
async def test_a_migration_onto_a_full_disk_stops_and_the_next_run_completes_it(
    small_disk: SmallDisk, tmp_path: Path, leave: int
) -> None:
    db = noisy_legacy_library(tmp_path / "legacy")
    async with running_shelf(small_disk.data_dir) as shelf:
        small_disk.fill(leave)

        stopped = (await shelf.data(MIGRATE, db=str(db)))["migrateLegacyDb"]

        assert (stopped["__typename"], stopped["code"]) == ("DiskFull", "DISK_FULL"), stopped
        assert stopped["folder"].startswith(str(shelf.config.data_dir))
        state = await shelf.data("{ legacyMigration { phase } jobs { nodes { kind state } } }")
        if leave:  # the job paused, to be resumed by the next call once there is room
            assert state["jobs"]["nodes"] == [{"kind": "LEGACY_MIGRATION", "state": "PAUSED"}]
            assert state["legacyMigration"]["phase"] == "FAILED"
        else:  # not even the job's row fitted: nothing began
            assert state == {"legacyMigration": None, "jobs": {"nodes": []}}
        assert temp_files(shelf) == []
        counts = await library_counts(shelf)
        if leave:  # rows carried over, images owed: the ledger keeps the rest for a re-run
            assert counts[2] > 0
        small_disk.free()
        await asyncio.sleep(0.5)  # a row still at work in the background would show now
        assert await library_counts(shelf) == counts

        model = await add_model(shelf.store, "after")  # the server goes on working
        assert (await add(shelf, model.sha256, picture(RED)))["__typename"] == "SampleImageSaved"
        finished = (await shelf.data(MIGRATE, db=str(db)))["migrateLegacyDb"]

        assert finished["__typename"] == "MigrationReport", finished
        # The whole migration's report, as if the disk had never filled: every row is its own.
        assert finished["alreadyImported"] == 0
        assert finished["modelsImported"] + finished["pendingCreated"] == ROWS
        await assert_every_legacy_row_accounted_for(shelf)


async def assert_every_legacy_row_accounted_for(shelf: Shelf) -> None:
    """Each row a model or a pending import, each image once and in listed order, no file
    without its row, nothing owed, nothing temporary."""
    gallery = await shelf.store.fetch_all(
        "SELECT sha256, seq, source_digest FROM sample_images ORDER BY sha256, seq"
    )
    pending_images = await shelf.store.fetch_all("SELECT file_name FROM pending_images")
    owed = await shelf.store.fetch_one("SELECT count(*) FROM legacy_image_tasks")
    models = await shelf.store.fetch_one("SELECT count(*) FROM models WHERE name != 'after'")
    pending = await shelf.store.fetch_one("SELECT count(*) FROM pending_import")
    assert owed is not None and owed[0] == 0
    assert (
        models is not None
        and pending is not None
        and (models[0], pending[0])
        == (
            len(HASHED),
            ROWS - len(HASHED),
        )
    )
    legacy = [row for row in gallery if row["sha256"] in {digest(f"legacy {i}") for i in HASHED}]
    assert len(legacy) == len(HASHED) * IMAGES_PER_ROW  # every image, none twice
    assert len({(row["sha256"], row["source_digest"]) for row in legacy}) == len(legacy)
    for sha256 in {row["sha256"] for row in legacy}:
        assert [row["seq"] for row in legacy if row["sha256"] == sha256] == [0, 1, 2]
    images_dir = shelf.config.images_dir
    expected = {tier_file_name(r["sha256"], r["seq"], q) for r in gallery for q in Quality}
    assert {path.name for path in images_dir.glob("*.webp")} == expected
    on_disk = {path.name for path in (images_dir / "pending").iterdir()}
    assert on_disk == {row["file_name"] for row in pending_images}
    assert len(on_disk) == (ROWS - len(HASHED)) * IMAGES_PER_ROW
    assert temp_files(shelf) == []


MODELS = "{ models(first: 0) { totalCount } }"
IMPORT_A_MODEL = IMPORT.replace("... on ModelFileProblem { path }", DISK_FULL)


async def pending_state(shelf: Shelf, pending_id: int) -> tuple[Any, ...]:
    """The pending import as a client sees it, and its originals' bytes on disk."""
    pending = (await shelf.data(PENDING, id=pending_id))["pendingImport"]
    folder = shelf.config.pending_images_dir
    return pending, {path.name: path.read_bytes() for path in folder.iterdir()}


async def test_importing_a_model_onto_a_full_disk_is_disk_full_and_changes_nothing(
    small_disk: SmallDisk, tmp_path: Path
) -> None:
    """The first thing Stage 2 writes is the digest it computed, in the database."""
    async with running_shelf(small_disk.data_dir) as shelf:
        content = os.urandom(200_000)
        await pending_file(shelf, tmp_path, 1, content, images=[picture(RED), picture(BLUE)])
        before = await pending_state(shelf, 1)
        small_disk.fill()

        refused = (await shelf.data(IMPORT_A_MODEL, id=1))["importAModel"]

        assert (refused["__typename"], refused["code"]) == ("DiskFull", "DISK_FULL"), refused
        assert refused["folder"] == str(shelf.config.data_dir)
        assert await pending_state(shelf, 1) == before
        assert (await shelf.data(MODELS))["models"]["totalCount"] == 0
        small_disk.free()
        created = (await shelf.data(IMPORT_A_MODEL, id=1))["importAModel"]
        assert (created["__typename"], created["actionTaken"]) == ("ImportResult", "CREATED")
        assert same_colors(await shelf.colors(created["model"]["sampleImages"]), [RED, BLUE])


async def test_resolving_a_conflict_onto_a_full_disk_is_disk_full_and_changes_nothing(
    small_disk: SmallDisk, tmp_path: Path
) -> None:
    """The digest is known from the Conflict answer: the first write is the new gallery's."""
    async with running_shelf(small_disk.data_dir) as shelf:
        sha = await conflicting_pair(shelf, tmp_path)
        assert (await shelf.data(IMPORT_A_MODEL, id=2))["importAModel"]["__typename"] == "Conflict"
        model_before = await shelf.data(MODEL, sha=sha)
        pending_before = await pending_state(shelf, 2)
        small_disk.fill()

        refused = (await shelf.data(IMPORT_A_MODEL, id=2, strategy="OVERRIDE"))["importAModel"]

        assert (refused["__typename"], refused["code"]) == ("DiskFull", "DISK_FULL"), refused
        assert refused["folder"] == str(shelf.config.images_dir) and refused["bytesNeeded"] > 0
        assert await shelf.data(MODEL, sha=sha) == model_before
        assert await pending_state(shelf, 2) == pending_before
        assert temp_files(shelf) == []
        assert files_of(shelf, sha) == expected_files(sha, 3)
        small_disk.free()
        done = (await shelf.data(IMPORT_A_MODEL, id=2, strategy="OVERRIDE"))["importAModel"]
        assert (done["__typename"], done["actionTaken"]) == ("ImportResult", "OVERRIDDEN")
        assert (await shelf.data(PENDING, id=2))["pendingImport"] is None


def test_an_exhausted_quota_is_disk_full_too_and_other_errors_pass_unchanged() -> None:
    """EDQUOT cannot be had from a tmpfs: the translation itself is checked here, with the
    kernel's own error numbers."""
    with pytest.raises(DiskFull) as caught, disk_full_is_typed(Path("/library/images"), 2048):
        raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))
    assert (caught.value.folder, caught.value.bytes_needed) == ("/library/images", 2048)
    assert str(caught.value).startswith("The disk quota for /library/images is used up: 2,048")
    with pytest.raises(PermissionError), disk_full_is_typed(Path("/library/images"), 1):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))


async def test_a_job_that_meets_a_full_disk_pauses_and_resumes_once_there_is_room(
    small_disk: SmallDisk, tmp_path: Path
) -> None:
    async with running_shelf(small_disk.data_dir) as shelf:
        for pending_id in (1, 2):
            await pending_file(shelf, tmp_path, pending_id, os.urandom(100_000 + pending_id))
        small_disk.fill()
        started = (await shelf.data(START_JOB))["importPending"]
        if started["__typename"] == "DiskFull":  # not even the job's row fits
            small_disk.free()
            started = (await shelf.data(START_JOB))["importPending"]
            small_disk.fill()
        job_id = started["job"]["id"]
        paused = await until_state(shelf, job_id, "PAUSED")
        assert "disk" in paused["error"].lower() and paused["done"] < 2
        assert (await shelf.data(MODELS))["models"]["totalCount"] == paused["created"]

        small_disk.free()
        assert (await shelf.data(RESUME_JOB, id=job_id))["resumeJob"]["state"] in (
            "QUEUED",
            "RUNNING",
        )
        done = await until_state(shelf, job_id, "COMPLETED")
        assert (done["created"], done["error"]) == (2, None)
        assert (await shelf.data(MODELS))["models"]["totalCount"] == 2


START_JOB = """
mutation {
  importPending { __typename ... on JobStarted { job { id state } } ... on Problem { code } }
}
"""
RESUME_JOB = "mutation($id: ID!) { resumeJob(id: $id) { ... on Job { state } } }"
JOB_STATE = "query($id: ID!) { job(id: $id) { state done created error } }"


async def until_state(shelf: Shelf, job_id: str, state: str) -> dict[str, Any]:
    for _ in range(1500):
        job: dict[str, Any] = (await shelf.data(JOB_STATE, id=job_id))["job"]
        if job["state"] == state:
            return job
        await asyncio.sleep(0.02)
    raise AssertionError(f"job {job_id} is still {job}")
