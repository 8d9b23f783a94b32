"""One legacy database is one ledger entry: reached by another path, moved or copied to
another folder, it is known again and nothing is imported twice."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from domain.store.schema import _V1, _V2, _V3, APPLICATION_ID
from tests.conftest import Shelf, running_shelf
from tests.test_migrate_legacy import ADD_ROW, LIBRARY, MIGRATE, fingerprint, legacy_library

RECOGNIZED = """
mutation($db: String!) {
  migrateLegacyDb(legacyDbPath: $db) {
    ... on MigrationReport {
      modelsImported pendingCreated alreadyImported nothingNew recognizedFrom legacyDbPath
    }
    ... on Problem { code message }
  }
}
"""


async def migrate(shelf: Shelf, db: str, query: str = MIGRATE) -> dict[str, Any]:
    result: dict[str, Any] = (await shelf.data(query, db=db, images=None))["migrateLegacyDb"]
    return result


def another_way(how: str, db: Path, tmp_path: Path) -> str:
    folder = db.parent
    if how == "..":
        return str(folder / ".." / folder.name / db.name)
    if how == "//":
        return str(folder).replace("/", "//") + "//" + db.name  # "//tmp//…": POSIX keeps "//"
    if how == "symlinked folder":
        (tmp_path / "link").symlink_to(folder, target_is_directory=True)
        return str(tmp_path / "link" / db.name)
    assert how == "symlinked file"
    (tmp_path / "link.sqlite3").symlink_to(db)
    return str(tmp_path / "link.sqlite3")


@pytest.mark.parametrize("how", ["..", "//", "symlinked folder", "symlinked file"])
async def test_the_same_database_reached_by_another_path_imports_nothing_twice(
    shelf: Shelf, tmp_path: Path, how: str
) -> None:
    db = legacy_library(tmp_path / "legacy")
    await migrate(shelf, str(db))
    library = await shelf.data(LIBRARY)
    images = fingerprint(shelf.config.images_dir)

    again = await migrate(shelf, another_way(how, db, tmp_path))

    assert again["nothingNew"] is True and again["alreadyImported"] == 7
    assert again["modelsImported"] == again["pendingCreated"] == again["duplicates"] == 0
    assert await shelf.data(LIBRARY) == library
    assert fingerprint(shelf.config.images_dir) == images


@pytest.mark.parametrize("how", ["moved", "copied"])
async def test_a_database_moved_or_copied_elsewhere_is_known_by_its_rows(
    shelf: Shelf, tmp_path: Path, how: str
) -> None:
    db = legacy_library(tmp_path / "legacy")
    await migrate(shelf, str(db))
    library = await shelf.data(LIBRARY)
    elsewhere = tmp_path / "other disk" / "legacy"
    elsewhere.parent.mkdir()
    if how == "moved":
        shutil.move(db.parent, elsewhere)
    else:
        shutil.copytree(db.parent, elsewhere)
    moved = elsewhere / db.name

    found = await migrate(shelf, str(moved), RECOGNIZED)

    assert found["nothingNew"] is True and found["alreadyImported"] == 7
    assert found["recognizedFrom"] == str(db) and found["legacyDbPath"] == str(moved)
    assert await shelf.data(LIBRARY) == library

    with sqlite3.connect(moved) as raw:  # rows added since are still imported
        raw.execute(ADD_ROW, (20, "/new"))
    raw.close()
    later = await migrate(shelf, str(moved), RECOGNIZED)
    assert later["pendingCreated"] == 1 and later["alreadyImported"] == 7
    assert later["recognizedFrom"] is None  # the ledger knows it under its new path now


async def test_a_database_that_shares_a_row_or_two_is_another_database(
    shelf: Shelf, tmp_path: Path
) -> None:
    """Fewer than half of the rows shared: a different legacy library, imported as such."""
    db = legacy_library(tmp_path / "legacy")
    await migrate(shelf, str(db))
    other = tmp_path / "other" / "hikaze_mm.sqlite3"
    other.parent.mkdir()
    shutil.copy(db, other)
    with sqlite3.connect(other) as raw:  # keeps rows 1 and 2 as they were; 3 to 8 are others
        raw.execute("UPDATE models SET path = path || '.other' WHERE id > 2")
        raw.execute(ADD_ROW, (9, "/other/9"))
    raw.close()

    report = await migrate(shelf, str(other), RECOGNIZED)

    assert report["recognizedFrom"] is None and report["alreadyImported"] == 0
    assert report["nothingNew"] is False


def create_version_3_library(data_dir: Path, legacy_path: str, legacy_ids: list[int]) -> None:
    """A library left by Model Shelf with schema version 3, whose ledger holds a legacy
    database imported before row digests existed."""
    data_dir.mkdir(parents=True)
    with sqlite3.connect(data_dir / "library.db") as raw:
        for script in (_V1, _V2, _V3):
            raw.executescript(script)
        raw.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        raw.execute("PRAGMA user_version = 3")
        raw.execute(
            "INSERT INTO legacy_sources (id, path, first_run_at, last_run_at) VALUES (1, ?, 0, 0)",
            (legacy_path,),
        )
        raw.executemany(
            "INSERT INTO legacy_rows (source_id, legacy_id, outcome) VALUES (1, ?, 'pending')",
            [(legacy_id,) for legacy_id in legacy_ids],
        )
    raw.close()


async def test_a_ledger_from_version_3_learns_the_rows_and_then_knows_a_moved_copy(
    tmp_path: Path,
) -> None:
    db = legacy_library(tmp_path / "legacy")
    data_dir = tmp_path / "data"
    create_version_3_library(data_dir, str(db), [1, 2, 3, 4, 5, 6, 8])

    async with running_shelf(data_dir) as shelf:
        same = await migrate(shelf, str(db), RECOGNIZED)
        assert same["nothingNew"] is True and same["alreadyImported"] == 7
        assert same["recognizedFrom"] is None

        shutil.move(db.parent, tmp_path / "moved")
        moved = await migrate(shelf, str(tmp_path / "moved" / db.name), RECOGNIZED)
        assert moved.get("nothingNew") is True and moved["recognizedFrom"] == str(db), moved
