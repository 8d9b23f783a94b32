"""A legacy import killed during its image work resumes when the server starts again: nothing
lost, nothing twice, and its report is the whole migration's, as if never cut short."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.images.tiers import Quality, tier_file_name
from tests.legacy import BROKEN, IMAGES_PER_MODEL, MISSING, MODELS, pictured_legacy_library
from tests.server import free_port, start_server, wait_until_up

REPORT = """
      legacyDbPath legacyImagesDir recognizedFrom modelsImported pendingCreated tagsImported
      duplicates alreadyImported nothingNew imagesConverted imagesCopied imagesMissing
      imagesFailed issues { legacyId kind message } issueCounts { kind count }
"""
MIGRATE = f"""
mutation($db: String!) {{
  migrateLegacyDb(legacyDbPath: $db) {{ ... on MigrationReport {{ {REPORT} }} }}
}}
"""
JOBS = f"{{ jobs {{ nodes {{ kind state done total migrationReport {{ {REPORT} }} }} }} }}"
PROGRESS = "{ legacyMigration { imagesDone imagesTotal } }"


@pytest.fixture(scope="module")
def legacy_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pictured_legacy_library(tmp_path_factory.mktemp("interrupted") / "legacy")


@pytest.fixture(scope="module")
def uninterrupted(legacy_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The report of the same import run once, start to end, into an empty library."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    data_dir = tmp_path_factory.mktemp("uninterrupted")
    server = start_server(
        "--port", str(port), "--data-dir", str(data_dir), "--log-level", "warning"
    )
    try:
        wait_until_up(url, server)
        report: dict[str, Any] = post(url, MIGRATE, db=str(legacy_db))["migrateLegacyDb"]
    finally:
        server.terminate()
        server.communicate(timeout=30)
    assert report["imagesFailed"] == len(BROKEN) and report["imagesMissing"] == len(MISSING)
    return report


def post(url: str, query: str, **variables: Any) -> dict[str, Any]:
    response = httpx.post(url, json={"query": query, "variables": variables}, timeout=300)
    data: dict[str, Any] = response.json()["data"]
    return data


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "stopped"])
def test_a_run_cut_short_during_image_work_is_completed_by_the_next(
    tmp_path: Path, stop: signal.Signals, legacy_db: Path, uninterrupted: dict[str, Any]
) -> None:
    """SIGKILL is a power cut; SIGTERM (Ctrl-C alike) must stop the server within its grace
    period rather than wait for the import to end."""
    db = legacy_db
    data_dir = tmp_path / "library"
    port = free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    options = ("--port", str(port), "--data-dir", str(data_dir), "--log-level", "warning")
    server = start_server(*options, "--shutdown-grace", "0.5")
    try:
        wait_until_up(url, server)
        threading.Thread(target=_post_ignoring_errors, args=(url, str(db)), daemon=True).start()
        _wait_for_some_images(url)
        server.send_signal(stop)
        server.communicate(timeout=30)
    finally:
        server.kill()
    _assert_rows_have_their_files(data_dir)  # even right after the kill

    server = start_server(*options)
    try:
        wait_until_up(url, server)
        job = _wait_for_the_job_to_end(url)  # it goes on by itself, nobody asking
        again = post(url, MIGRATE, db=str(db))["migrateLegacyDb"]
    finally:
        server.terminate()
        server.communicate(timeout=30)

    assert job["state"] == "COMPLETED" and job["done"] == job["total"] > 0
    # Counts and issues: the whole migration's, once each, as if never cut short.
    assert job["migrationReport"] == uninterrupted
    assert again["nothingNew"] is True
    _assert_complete_and_consistent(data_dir)


def _wait_for_the_job_to_end(url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        (job,) = post(url, JOBS)["jobs"]["nodes"]
        if job["state"] not in ("QUEUED", "RUNNING"):
            assert job["kind"] == "LEGACY_MIGRATION"
            return job  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"the job never ended: {job}")


def _post_ignoring_errors(url: str, db: str) -> None:
    with contextlib.suppress(httpx.HTTPError, ValueError):  # the server stops under it
        post(url, MIGRATE, db=db)


def _wait_for_some_images(url: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        progress = post(url, PROGRESS)["legacyMigration"]
        if progress and 5 <= progress["imagesDone"] < progress["imagesTotal"] - 20:
            return
        time.sleep(0.02)
    raise AssertionError(f"the import never got under way: {progress}")


def _assert_rows_have_their_files(data_dir: Path) -> None:
    with sqlite3.connect(data_dir / "library.db") as db:
        gallery = db.execute("SELECT sha256, seq FROM sample_images").fetchall()
        pending_images = db.execute("SELECT file_name FROM pending_images").fetchall()
    db.close()
    assert gallery, "the kill came before any image was done"
    for sha, seq in gallery:
        for quality in Quality:
            assert (data_dir / "images" / tier_file_name(sha, seq, quality)).stat().st_size > 0
    for (name,) in pending_images:
        assert (data_dir / "images" / "pending" / name).stat().st_size > 0


def _assert_complete_and_consistent(data_dir: Path) -> None:
    images_dir = data_dir / "images"
    with sqlite3.connect(data_dir / "library.db") as db:
        gallery = db.execute(
            "SELECT sha256, seq, source_digest FROM sample_images ORDER BY sha256, seq"
        ).fetchall()
        pending_images = db.execute("SELECT file_name FROM pending_images").fetchall()
        owed = db.execute("SELECT count(*) FROM legacy_image_tasks").fetchone()[0]
        models = db.execute("SELECT count(*) FROM models").fetchone()[0]
        pending = db.execute("SELECT count(*) FROM pending_import").fetchone()[0]
    db.close()

    assert owed == 0
    assert models + pending == MODELS
    hashed_models = MODELS - MODELS // 3
    assert len(gallery) == hashed_models * IMAGES_PER_MODEL  # every image once, none twice
    assert len({(sha, source) for sha, _, source in gallery}) == len(gallery)
    by_model: dict[str, list[int]] = {}
    for sha, seq, _ in gallery:
        by_model.setdefault(sha, []).append(seq)
    assert all(seqs == list(range(IMAGES_PER_MODEL)) for seqs in by_model.values())  # gapless

    expected = {tier_file_name(sha, seq, q) for sha, seq, _ in gallery for q in Quality}
    on_disk = {path.name for path in images_dir.glob("*.webp")}
    assert on_disk == expected  # no row without its files, no file without its row
    assert {name for (name,) in pending_images} == {
        p.name for p in (images_dir / "pending").iterdir()
    }
    assert len(pending_images) == MODELS // 3 * IMAGES_PER_MODEL
    assert not list(images_dir.rglob(".tmp-*"))
