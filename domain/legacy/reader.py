"""Reading a legacy (v1) database without ever writing to it, or next to it.

The legacy file is copied (with its write-ahead log, when it has one) into a private
temporary folder and read from there. Opening the original, even read-only, could create
`-wal`/`-shm` files beside it, and fails outright in a folder the user cannot write to;
the copy works on read-only media and leaves every byte of the legacy folder as it was.

Before anything is copied, the file is opened once and checked: a regular file (not a
pipe, a device, a folder), starting with the SQLite header. Then only what SQLite reads is
copied: the pages the header counts (trailing bytes are no part of the database), and holes
stay holes, so a huge sparse file costs neither time nor disk.

Blocking: run on the workers.
"""

from __future__ import annotations

import errno
import sqlite3
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.errors import LegacyDbNotFound, NotALegacyDb
from domain.filesystem.regular_files import (
    NotARegularFile,
    RegularFile,
    SourceError,
    copy_sparsely,
    open_regular,
    read_at,
)
from domain.legacy.inputs import DB_ARGUMENT, refusal

# The SQLite file format (https://sqlite.org/fileformat2.html#the_database_header).
SQLITE_MAGIC = b"SQLite format 3\0"
HEADER_BYTES = 100

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
    with _opened(db_path) as source:
        length = _length_to_copy(source, db_path)
        with tempfile.TemporaryDirectory(prefix="modelshelf-legacy-") as folder:
            copy = Path(folder) / "legacy.sqlite3"
            copy_sparsely(source, copy, length)
            _copy_wal(db_path, copy.with_name(copy.name + "-wal"))
            return _read_copy(copy, db_path)


def check_legacy_db(db_path: Path) -> None:
    """Refuse, as `read_legacy_library` would, what is not a readable SQLite file: reading
    only its header, so a call can be refused before any work starts."""
    with _opened(db_path) as source:
        _length_to_copy(source, db_path)


@contextmanager
def _opened(db_path: Path) -> Iterator[RegularFile]:
    """The database file, open for reading; whatever stops that, a typed refusal."""
    try:
        with open_regular(db_path) as source:
            yield source
    except NotARegularFile as error:
        if error.kind == "a folder":
            raise LegacyDbNotFound(
                f"There is no legacy database at {db_path}: it is a folder."
            ) from None
        raise NotALegacyDb(
            f"{db_path} is {error.kind}, not a regular file: a legacy database is a file."
        ) from None
    except SourceError as error:
        raise refusal(error, Path(error.filename or db_path), DB_ARGUMENT) from None


def _length_to_copy(source: RegularFile, db_path: Path) -> int:
    """How much of the file SQLite reads, from its header, which is checked first: the
    pages it counts when that count is valid, else the whole file."""
    header = read_at(source, 0, HEADER_BYTES)
    if len(header) < HEADER_BYTES or not header.startswith(SQLITE_MAGIC):
        raise NotALegacyDb(f"{db_path} is not a SQLite database (it lacks the SQLite header).")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if not 512 <= page_size <= 65536 or page_size & (page_size - 1):
        raise NotALegacyDb(f"{db_path} is not a SQLite database (its header is damaged).")
    pages = int.from_bytes(header[28:32], "big")
    # The page count is valid only when "version-valid-for" (offset 92) matches the change
    # counter (offset 24): SQLite before 3.7.0 did not keep it up to date.
    if pages and header[24:28] == header[92:96]:
        return min(pages * page_size, source.size)
    return source.size


def _copy_wal(db_path: Path, target: Path) -> None:
    """Copy the write-ahead log, if the old app left one: it holds committed changes not yet
    moved into the file. Anything there that is not a regular file holds none."""
    wal = db_path.with_name(db_path.name + "-wal")
    try:
        with open_regular(wal) as source:
            copy_sparsely(source, target, source.size)
    except NotARegularFile:
        return
    except SourceError as error:
        if error.errno not in (errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG):
            raise
        return  # none, or one that cannot exist beside a name this long


def _read_copy(copy: Path, db_path: Path) -> LegacyLibrary:
    db = sqlite3.connect(copy)
    try:
        db.text_factory = lambda raw: raw.decode("utf-8", "replace")
        _check_schema(db, db_path)
        return _read(db)
    except sqlite3.DatabaseError as error:
        raise NotALegacyDb(f"{db_path} is not a SQLite database ({error}).") from None
    finally:
        db.close()


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
