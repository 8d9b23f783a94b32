"""What Stage 1 reads from the legacy folder: regular files only, checked before copying, and
copied no further than SQLite needs (holes as holes)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Shelf
from tests.legacy import LegacyRow, create_legacy_db
from tests.test_migrate_legacy import legacy_library, migrate

HOLE = 512 * 1024**2  # far more than any test database holds


@dataclass
class Written:
    """The most the temporary folder held at once, file by file, while a block ran."""

    largest_size: int = 0
    largest_allocated: int = 0  # bytes of disk the largest file used (holes cost none)
    files_seen: int = 0


@contextmanager
def temp_folder_watched(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Written]:
    """Point the temporary folder at `folder` and look at it as often as possible meanwhile:
    what Stage 1's private copy writes there shows."""
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    written = Written()
    stop = threading.Event()

    def watch() -> None:
        seen: set[str] = set()
        while not stop.is_set():
            for root, _, files in os.walk(folder):
                for name in files:
                    try:
                        info = (Path(root) / name).stat()
                    except OSError:
                        continue  # removed meanwhile
                    seen.add(str(Path(root) / name))
                    written.largest_size = max(written.largest_size, info.st_size)
                    written.largest_allocated = max(written.largest_allocated, info.st_blocks * 512)
            written.files_seen = len(seen)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield written
    finally:
        stop.set()
        watcher.join()


def header_numbers(db: Path) -> tuple[int, int]:
    """(page size, page count) as the SQLite header holds them."""
    header = db.read_bytes()[:100]
    page_size = int.from_bytes(header[16:18], "big")
    return (65536 if page_size == 1 else page_size), int.from_bytes(header[28:32], "big")


@pytest.mark.parametrize("how", ["itself", "through a symlink"])
async def test_a_file_whose_reads_fail_is_refused_not_an_internal_error(
    shelf: Shelf, tmp_path: Path, how: str
) -> None:
    target = Path("/proc/self/mem")  # a regular file by its mode, whose first read is EIO
    if how == "through a symlink":
        (tmp_path / "hikaze_mm.sqlite3").symlink_to(target)
        target = tmp_path / "hikaze_mm.sqlite3"
    result = await migrate(shelf, target)
    assert result["__typename"] == "MigrationRefused", result
    assert result["code"] == "LEGACY_PATH_UNREADABLE"
    assert str(target) in result["message"] and "Input/output error" in result["message"]


@pytest.mark.parametrize("kind", ["named pipe", "device"])
async def test_only_a_regular_file_is_a_legacy_database(
    shelf: Shelf, tmp_path: Path, kind: str
) -> None:
    db = tmp_path / "hikaze_mm.sqlite3"
    if kind == "named pipe":
        os.mkfifo(db)  # a plain open would wait for a writer forever
    else:
        db.symlink_to("/dev/zero")  # a plain copy would never end
    result = await migrate(shelf, db)
    assert result["__typename"] == "MigrationRefused", result
    assert result["code"] == "NOT_A_LEGACY_DB"
    assert kind in result["message"] and "not a regular file" in result["message"]


async def test_a_large_file_that_is_not_sqlite_is_refused_before_anything_is_copied(
    shelf: Shelf, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "hikaze_mm.sqlite3"
    with db.open("wb") as file:
        file.truncate(2 * 1024**3)  # 2 GB of zeros, sparse: costs the test no disk
    with temp_folder_watched(tmp_path / "temp", monkeypatch) as written:
        result = await migrate(shelf, db)
    assert result["__typename"] == "MigrationRefused" and result["code"] == "NOT_A_LEGACY_DB"
    assert "SQLite" in result["message"]
    assert written.files_seen == 0 and written.largest_size == 0  # not a byte copied


async def test_only_the_pages_sqlite_uses_are_copied(
    shelf: Shelf, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bytes after the last page (the header says how many) are no part of the database."""
    db = legacy_library(tmp_path / "legacy")
    page_size, pages = header_numbers(db)
    with db.open("r+b") as file:
        file.truncate(db.stat().st_size + HOLE)
    with temp_folder_watched(tmp_path / "temp", monkeypatch) as written:
        report = await migrate(shelf, db)
    assert report["__typename"] == "MigrationReport" and report["modelsImported"] == 3
    assert written.largest_size <= page_size * pages


async def test_a_sparse_database_is_copied_sparsely(
    shelf: Shelf, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a page count it can trust (SQLite before 3.7.0 kept none), the whole file
    is copied, but its holes stay holes: no disk is spent on them."""
    db = legacy_library(tmp_path / "legacy")
    with db.open("r+b") as file:
        file.seek(92)
        file.write((12345).to_bytes(4, "big"))  # "version valid for" ≠ the change counter
        file.truncate(db.stat().st_size + HOLE)
    with sqlite3.connect(db) as check:  # SQLite still reads it, taking its size from the file
        assert check.execute("SELECT count(*) FROM models").fetchone() == (7,)
    check.close()
    with temp_folder_watched(tmp_path / "temp", monkeypatch) as written:
        report = await migrate(shelf, db)
    assert report["__typename"] == "MigrationReport" and report["modelsImported"] == 3
    assert written.largest_allocated < 16 * 1024**2


async def test_a_listed_image_that_is_not_a_regular_file_is_an_issue_not_a_hang(
    shelf: Shelf, tmp_path: Path
) -> None:
    legacy = tmp_path / "legacy"
    (legacy / "images").mkdir(parents=True)
    os.mkfifo(legacy / "images" / "pipe.png")  # a plain open would wait for a writer forever
    rows = [
        LegacyRow(
            1, "/m/a", hash_hex=hashlib.sha256(b"a").hexdigest(), extra={"image": "pipe.png"}
        ),
        LegacyRow(2, "/m/b", extra={"image": "pipe.png"}),
    ]
    db = create_legacy_db(legacy / "hikaze_mm.sqlite3", rows, [])
    with _pipe_released_after(legacy / "images" / "pipe.png", seconds=5):
        report = await migrate(shelf, db)
    issues = sorted(
        (i["legacyId"], i["kind"]) for i in report["issues"] if "pipe.png" in i["message"]
    )
    assert issues == [(1, "UNREADABLE_IMAGE"), (2, "UNREADABLE_IMAGE")]
    assert all("named pipe" in i["message"] for i in report["issues"] if "pipe.png" in i["message"])
    assert report["imagesMissing"] == 2 and report["imagesFailed"] == 0


@contextmanager
def _pipe_released_after(pipe: Path, seconds: float) -> Iterator[None]:
    """Open the pipe's writing end after `seconds` (and close it), so that a reader stuck in
    `open` is let go: without the fix, the test then fails instead of hanging the suite."""
    done = threading.Event()

    def release() -> None:
        if done.wait(seconds):
            return
        while not done.is_set():
            try:
                os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:  # no reader yet
                done.wait(0.05)

    thread = threading.Thread(target=release, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
