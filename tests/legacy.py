"""Legacy (v1) libraries built exactly as the old app left them: its schema, its quirks."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
