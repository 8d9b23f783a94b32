"""Stage 1 as a LEGACY_MIGRATION job, over HTTP: its progress, pause and resume, and who
may wait for it."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Shelf
from tests.legacy import MODELS, LegacyRow, create_legacy_db, pictured_legacy_library

REPORT = "modelsImported pendingCreated imagesConverted imagesCopied imagesFailed nothingNew"
MIGRATE = f"""
mutation($db: String!) {{
  migrateLegacyDb(legacyDbPath: $db) {{
    __typename
    ... on MigrationReport {{ {REPORT} }}
    ... on JobStopped {{ jobId jobState }}
    ... on MigrationAlreadyRunning {{ jobId }}
    ... on Problem {{ code message }}
  }}
}}
"""
JOBS = f"""{{ jobs {{ nodes {{ id kind state total done error
                  migrationReport {{ {REPORT} }} }} }} }}"""
PROGRESS = "{ legacyMigration { imagesDone imagesTotal } }"


@pytest.fixture(scope="module")
def pictured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pictured_legacy_library(tmp_path_factory.mktemp("pictured") / "legacy", width=700)


@pytest.fixture
def pictured_db(pictured: Path, tmp_path: Path) -> Path:
    """A copy of the pictured legacy library of its own: the ledger knows a database by
    its real path."""
    copy = tmp_path / "legacy"
    shutil.copytree(pictured.parent, copy)
    return copy / pictured.name


async def migrate(shelf: Shelf, db: Path) -> dict[str, Any]:
    answer: dict[str, Any] = (await shelf.data(MIGRATE, db=str(db)))["migrateLegacyDb"]
    return answer


async def jobs(shelf: Shelf) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = (await shelf.data(JOBS))["jobs"]["nodes"]
    return nodes


async def images_under_way(shelf: Shelf) -> None:
    for _ in range(2000):
        progress = (await shelf.data(PROGRESS))["legacyMigration"]
        if progress and 3 <= progress["imagesDone"] < progress["imagesTotal"] - 20:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the import never got under way: {progress}")


async def library_counts(shelf: Shelf) -> tuple[int, ...]:
    counts = []
    for table in ("models", "pending_import", "sample_images", "pending_images"):
        row = await shelf.store.fetch_one(f"SELECT count(*) FROM {table}")
        counts.append(0 if row is None else row[0])
    return tuple(counts)


async def test_a_migration_is_a_job_that_keeps_its_report(shelf: Shelf, tmp_path: Path) -> None:
    db = create_legacy_db(tmp_path / "legacy.sqlite3", [LegacyRow(1, "/m/a")], [])

    report = await migrate(shelf, db)

    (job,) = await jobs(shelf)
    assert report["__typename"] == "MigrationReport" and report["pendingCreated"] == 1
    assert job["kind"] == "LEGACY_MIGRATION" and job["state"] == "COMPLETED"
    assert job["total"] == job["done"] == 1  # one row, no image
    assert job["migrationReport"] == {k: v for k, v in report.items() if k != "__typename"}


async def test_a_refused_input_never_becomes_a_job(shelf: Shelf, tmp_path: Path) -> None:
    answer = await migrate(shelf, tmp_path / "nowhere.sqlite3")
    assert answer["code"] == "LEGACY_DB_NOT_FOUND"
    assert await jobs(shelf) == []


async def test_a_paused_migration_stops_and_its_next_call_finishes_it(
    shelf: Shelf, tmp_path: Path, pictured_db: Path
) -> None:
    db = pictured_db
    running = asyncio.create_task(migrate(shelf, db))
    await images_under_way(shelf)
    (job,) = await jobs(shelf)

    paused = await shelf.data(
        "mutation($id: ID!) { pauseJob(id: $id) { ... on Job { state } } }", id=job["id"]
    )
    stopped = await running

    assert paused["pauseJob"]["state"] == "PAUSED"
    assert stopped["__typename"] == "JobStopped" and stopped["code"] == "JOB_STOPPED"
    assert (stopped["jobId"], stopped["jobState"]) == (job["id"], "PAUSED")
    (job,) = await jobs(shelf)
    assert job["state"] == "PAUSED" and 0 < job["done"] < job["total"]
    assert job["migrationReport"] is None
    counts = await library_counts(shelf)
    await asyncio.sleep(0.3)
    assert await library_counts(shelf) == counts  # it really stopped

    # Another database may not start while this one is unfinished.
    other = create_legacy_db(tmp_path / "other.sqlite3", [LegacyRow(1, "/m/other")], [])
    refused = await migrate(shelf, other)
    assert refused["code"] == "MIGRATION_ALREADY_RUNNING" and refused["jobId"] == job["id"]

    # The same database takes the paused job over, resumes it and answers its report.
    finished = await migrate(shelf, db)

    assert finished["__typename"] == "MigrationReport", finished
    assert finished["modelsImported"] + finished["pendingCreated"] == MODELS
    (job,) = await jobs(shelf)
    assert job["state"] == "COMPLETED" and job["done"] == job["total"]
    assert job["migrationReport"] == {k: v for k, v in finished.items() if k != "__typename"}
    again = await migrate(shelf, db)
    assert again["nothingNew"] is True


async def test_a_cancelled_migration_keeps_what_it_did(shelf: Shelf, pictured_db: Path) -> None:
    db = pictured_db
    running = asyncio.create_task(migrate(shelf, db))
    await images_under_way(shelf)
    (job,) = await jobs(shelf)

    await shelf.data("mutation($id: ID!) { cancelJob(id: $id) { __typename } }", id=job["id"])
    stopped = await running

    assert (stopped["jobId"], stopped["jobState"]) == (job["id"], "CANCELLED")
    models, pending, _, _ = await library_counts(shelf)
    assert models + pending == MODELS  # the rows were all carried over before the images
    finished = await migrate(shelf, db)  # a new job does the images still owed
    assert finished["__typename"] == "MigrationReport"
    assert [j["state"] for j in await jobs(shelf)] == ["COMPLETED", "CANCELLED"]
