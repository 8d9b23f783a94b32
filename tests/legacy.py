"""Legacy (v1) libraries built exactly as the old app left them: its schema, its quirks."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.images import encode, quadrants
from tests.seed import digest

LEGACY_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE directories (
  id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL UNIQUE,
  alias TEXT, parent_id INTEGER REFERENCES directories(id));
CREATE TABLE models (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  path        TEXT NOT NULL UNIQUE,
  name        TEXT,
  type        TEXT NOT NULL,
  size_bytes  INTEGER,
  hash_hex    TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  meta_json   TEXT,
  extra_json  TEXT);
CREATE TABLE tags (
  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,
  color TEXT, created_at INTEGER);
CREATE TABLE model_tags (
  model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
  tag_id   INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
  PRIMARY KEY (model_id, tag_id));
"""


@dataclass
class LegacyRow:
    id: int
    path: str
    type: str = "lora"
    name: str | None = None
    size_bytes: int | None = 1234
    hash_hex: str = ""
    created_at: int = 1_700_000_000_000
    meta_json: str | None = None
    extra: dict[str, Any] | str | None = None  # a dict is stored as JSON, a str as it is
    tags: list[int] = field(default_factory=list)

    def extra_json(self) -> str | None:
        return json.dumps(self.extra) if isinstance(self.extra, dict) else self.extra


def create_legacy_db(
    path: Path,
    rows: list[LegacyRow],
    tags: list[tuple[int, str, str | None]],
    *,
    wal: bool = False,
) -> Path:
    """Write a legacy database at `path` holding `rows` and `tags` (id, name, color)."""
    with sqlite3.connect(path) as db:
        if wal:
            db.execute("PRAGMA journal_mode = WAL")
        db.executescript(LEGACY_SCHEMA)
        db.execute("INSERT INTO schema_version VALUES (2)")
        db.executemany(
            "INSERT INTO tags (id, name, color, created_at) VALUES (?, ?, ?, 1700000000000)", tags
        )
        db.executemany(
            "INSERT INTO models (id, path, name, type, size_bytes, hash_hex, created_at, meta_json,"
            " extra_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    r.id,
                    r.path,
                    r.name,
                    r.type,
                    r.size_bytes,
                    r.hash_hex,
                    r.created_at,
                    r.meta_json,
                    r.extra_json(),
                )
                for r in rows
            ],
        )
        db.executemany(
            "INSERT INTO model_tags (model_id, tag_id) VALUES (?, ?)",
            [(r.id, tag) for r in rows for tag in r.tags],
        )
    db.close()
    return path


MODELS, IMAGES_PER_MODEL = 30, 3
BROKEN = range(1, MODELS + 1, 4)  # rows listing an undecodable image among their good ones
MISSING = range(2, MODELS + 1, 7)  # rows listing an image the folder does not have


def pictured_legacy_library(folder: Path, width: int = 1400) -> Path:
    """A legacy library whose 30 models list 90 real pictures (`width` wide), some broken
    and some missing: image work that takes a few seconds, long enough to stop in the
    middle of."""
    images = folder / "images"
    images.mkdir(parents=True)
    rows = []
    for row_id in range(1, MODELS + 1):
        names = [f"m{row_id}_{n}.png" for n in range(IMAGES_PER_MODEL)]
        for n, name in enumerate(names):
            picture = quadrants((width + row_id, width * 5 // 7 + n)).effect_spread(2)
            (images / name).write_bytes(encode(picture, "PNG"))
        if row_id in BROKEN:
            names.insert(1, f"broken{row_id}.png")
            (images / names[1]).write_bytes(b"not an image at all " * row_id)
        if row_id in MISSING:
            names.append(f"gone{row_id}.png")
        hashed = digest(f"legacy {row_id}") if row_id % 3 else ""  # a third pending
        rows.append(LegacyRow(row_id, f"/m/{row_id}", hash_hex=hashed, extra={"images": names}))
    return create_legacy_db(folder / "hikaze_mm.sqlite3", rows, [])
