"""Reading and writing the gallery index (`sample_images`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

import aiosqlite

from domain.records import SampleImage, from_epoch_ms, to_epoch_ms
from domain.store.database import Store
from domain.store.sql import group_rows, json_list

_COLUMNS = "sha256, seq, width, height, source_digest, generation_json, created_at"


async def galleries_of(store: Store, sha256s: Sequence[str]) -> dict[str, list[SampleImage]]:
    """The galleries of many models in one statement, each in seq order."""
    rows = await store.fetch_all(
        f"SELECT {_COLUMNS} FROM sample_images"
        " WHERE sha256 IN (SELECT value FROM json_each(?)) ORDER BY sha256, seq",
        (json_list(sha256s),),
    )
    return group_rows(rows, "sha256", sha256s, _sample_image)


async def insert_sample_image(conn: aiosqlite.Connection, image: SampleImage) -> None:
    await conn.execute(
        f"INSERT INTO sample_images ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            image.sha256,
            image.seq,
            image.width,
            image.height,
            image.source_digest,
            None if image.generation is None else json.dumps(image.generation),
            to_epoch_ms(image.created_at),
        ),
    )


def _sample_image(row: sqlite3.Row) -> SampleImage:
    generation = row["generation_json"]
    return SampleImage(
        sha256=row["sha256"],
        seq=row["seq"],
        width=row["width"],
        height=row["height"],
        source_digest=row["source_digest"],
        generation=None if generation is None else json.loads(generation),
        created_at=from_epoch_ms(row["created_at"]),
    )
