"""Reading a legacy (v1) database without ever writing to it, or next to it.

The legacy file is copied (with its write-ahead log, when it has one) into a private
temporary folder and read from there. Opening the original, even read-only, could create
`-wal`/`-shm` files beside it, and fails outright in a folder the user cannot write to;
the copy works on read-only media and leaves every byte of the legacy folder as it was.

Blocking: run on the workers.
"""

from __future__ import annotations

import shutil
import sqlite3
import stat
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.errors import LegacyDbNotFound, NotALegacyDb
from domain.legacy_inputs import DB_ARGUMENT, refusal

# The tables and columns Stage 1 reads; anything else in the file is ignored.
REQUIRED_COLUMNS = {
    "models": {
        "id",
        "path",
        "name",
        "type",
        "size_bytes",
        "hash_hex",
        "created_at",
        "meta_json",
        "extra_json",
    },
    "tags": {"id", "name", "color"},
    "model_tags": {"model_id", "tag_id"},
}


@dataclass(frozen=True, slots=True)
class LegacyTag:
    id: int
    name: str
    color: str | None


@dataclass(frozen=True, slots=True)
class LegacyModelRow:
    id: int
    path: str
    name: str | None
    type: str | None
    size_bytes: Any
    hash_hex: str | None
    created_at: Any
    meta_json: str | None
    extra_json: str | None


@dataclass(frozen=True, slots=True)
class LegacyLibrary:
    tags: list[LegacyTag]
    rows: list[LegacyModelRow]  # in id order
    tag_ids: dict[int, list[int]]  # legacy model id → legacy tag ids, in tag id order


def read_legacy_library(db_path: Path) -> LegacyLibrary:
    """Everything Stage 1 needs from the legacy database at `db_path`."""
    try:
        if not stat.S_ISREG(db_path.stat().st_mode):
            raise LegacyDbNotFound(f"There is no legacy database at {db_path}.")
    except OSError as error:
        raise refusal(error, db_path, DB_ARGUMENT) from None
    with tempfile.TemporaryDirectory(prefix="modelshelf-legacy-") as folder:
        try:
            copy = _snapshot(db_path, Path(folder))
        except OSError as error:
            raise refusal(error, db_path, DB_ARGUMENT) from None
        db = sqlite3.connect(copy)
        try:
            db.text_factory = lambda raw: raw.decode("utf-8", "replace")
            _check_schema(db, db_path)
            return _read(db)
        except sqlite3.DatabaseError as error:
            raise NotALegacyDb(f"{db_path} is not a SQLite database ({error}).") from None
        finally:
            db.close()


def _snapshot(db_path: Path, folder: Path) -> Path:
    copy = folder / "legacy.sqlite3"
    shutil.copyfile(db_path, copy)
    wal = db_path.with_name(db_path.name + "-wal")
    if wal.is_file():  # committed changes the old app had not yet moved into the file
        shutil.copyfile(wal, folder / "legacy.sqlite3-wal")
    return copy


def _check_schema(db: sqlite3.Connection, db_path: Path) -> None:
    missing: list[str] = []
    for table, columns in REQUIRED_COLUMNS.items():
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if not present:
            missing.append(f"table {table}")
        else:
            missing += [f"{table}.{column}" for column in sorted(columns - present)]
    if missing:
        raise NotALegacyDb(
            f"{db_path} is a SQLite database but not the legacy app's: "
            f"it lacks {', '.join(missing)}."
        )


def _read(db: sqlite3.Connection) -> LegacyLibrary:
    tags = [
        LegacyTag(id=row[0], name=row[1], color=row[2])
        for row in db.execute("SELECT id, name, color FROM tags ORDER BY id")
        if isinstance(row[0], int) and isinstance(row[1], str) and row[1].strip()
    ]
    rows = [
        LegacyModelRow(*row)
        for row in db.execute(
            "SELECT id, path, name, type, size_bytes, hash_hex, created_at, meta_json, extra_json"
            " FROM models ORDER BY id"
        )
    ]
    tag_ids: dict[int, list[int]] = defaultdict(list)
    for model_id, tag_id in db.execute(
        "SELECT model_id, tag_id FROM model_tags ORDER BY model_id, tag_id"
    ):
        tag_ids[model_id].append(tag_id)
    return LegacyLibrary(tags=tags, rows=rows, tag_ids=dict(tag_ids))
