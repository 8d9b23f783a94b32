"""Reading and writing the gallery index (`sample_images`).

The image files themselves are written by `domain.images.gallery`; these rows are what lists a
gallery, so listing never scans the image folder.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

import aiosqlite

from domain.images.tiers import Quality, tier_size
from domain.records import ImageTier, SampleImage, from_epoch_ms, to_epoch_ms
from domain.store.database import Store
from domain.store.sql import group_rows, json_list

_COLUMNS = (
    "sha256, seq, width, height, source_digest, generation_json, created_at,"
    " medium_width, medium_height, low_width, low_height, high_bytes, medium_bytes, low_bytes"
)
_PLACEHOLDERS = ", ".join("?" * len(_COLUMNS.split(",")))


async def galleries_of(store: Store, sha256s: Sequence[str]) -> dict[str, list[SampleImage]]:
    """The galleries of many models in one statement, each in seq order."""
    rows = await store.fetch_all(
        f"SELECT {_COLUMNS} FROM sample_images"
        " WHERE sha256 IN (SELECT value FROM json_each(?)) ORDER BY sha256, seq",
        (json_list(sha256s),),
    )
    return group_rows(rows, "sha256", sha256s, _sample_image)


async def gallery_of(conn: aiosqlite.Connection, sha256: str) -> list[SampleImage]:
    """One model's gallery in seq order, read inside the caller's transaction."""
    rows = await conn.execute_fetchall(
        f"SELECT {_COLUMNS} FROM sample_images WHERE sha256 = ? ORDER BY seq", (sha256,)
    )
    return [_sample_image(row) for row in rows]


async def served_version(store: Store, sha256: str, seq: int) -> tuple[str, bool] | None:
    """For the image route: the version of the picture at this seq, and whether file moves
    are still owed to its gallery (then its files may lag behind the row). None: no such image."""
    row = await store.fetch_one(
        "SELECT source_digest,"
        " EXISTS (SELECT 1 FROM file_moves WHERE file_moves.sha256 = sample_images.sha256)"
        " FROM sample_images WHERE sha256 = ? AND seq = ?",
        (sha256, seq),
    )
    return None if row is None else (row[0], bool(row[1]))


async def insert_sample_image(conn: aiosqlite.Connection, image: SampleImage) -> None:
    await conn.execute(
        f"INSERT INTO sample_images ({_COLUMNS}) VALUES ({_PLACEHOLDERS})", _values(image)
    )


async def replace_gallery(
    conn: aiosqlite.Connection, sha256: str, images: Sequence[SampleImage]
) -> None:
    """Make `images` the whole gallery of `sha256`, in the caller's transaction."""
    await conn.execute("DELETE FROM sample_images WHERE sha256 = ?", (sha256,))
    await conn.executemany(
        f"INSERT INTO sample_images ({_COLUMNS}) VALUES ({_PLACEHOLDERS})",
        [_values(image) for image in images],
    )


async def all_gallery_keys(conn: aiosqlite.Connection) -> set[tuple[str, int]]:
    """(sha256, seq) of every picture in every gallery."""
    rows = await conn.execute_fetchall("SELECT sha256, seq FROM sample_images")
    return {(row[0], row[1]) for row in rows}


def _values(image: SampleImage) -> tuple[object, ...]:
    tiers = {tier.quality: tier for tier in image.tiers}
    medium, low, high = tiers[Quality.MEDIUM], tiers[Quality.LOW], tiers[Quality.HIGH]
    return (
        image.sha256,
        image.seq,
        image.width,
        image.height,
        image.source_digest,
        None if image.generation is None else json.dumps(image.generation),
        to_epoch_ms(image.created_at),
        medium.width,
        medium.height,
        low.width,
        low.height,
        high.size_bytes,
        medium.size_bytes,
        low.size_bytes,
    )


def _sample_image(row: sqlite3.Row) -> SampleImage:
    generation = row["generation_json"]
    high = (row["width"], row["height"])
    return SampleImage(
        sha256=row["sha256"],
        seq=row["seq"],
        width=row["width"],
        height=row["height"],
        source_digest=row["source_digest"],
        generation=None if generation is None else json.loads(generation),
        created_at=from_epoch_ms(row["created_at"]),
        tiers=(
            ImageTier(Quality.HIGH, *high, row["high_bytes"]),
            _tier(row, Quality.MEDIUM, high),
            _tier(row, Quality.LOW, high),
        ),
    )


def _tier(row: sqlite3.Row, quality: Quality, high: tuple[int, int]) -> ImageTier:
    width, height = row[f"{quality.value}_width"], row[f"{quality.value}_height"]
    if width is None or height is None:  # a row from before sizes were recorded
        width, height = tier_size(quality, high)
    return ImageTier(quality, width, height, row[f"{quality.value}_bytes"])
