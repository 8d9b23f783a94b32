"""A model's gallery: adding, replacing and deleting pictures, files and index together.

Rules every operation keeps:
- The picture is encoded before anything is locked or written: a rejected image changes
  nothing, and encoding runs in parallel across models.
- One operation at a time per model (a keyed lock); the database part of each is one
  transaction.
- No index row ever points to a file that does not exist. New tier files are written under
  temporary names first. Adding renames them into place before the row commits (a crash
  leaves at worst an unreferenced file that the next add at that seq overwrites). Replacing
  and deleting move files that rows already point to, so the moves are recorded in the
  `file_moves` journal in the same transaction as the rows, carried out right after the
  commit, and replayed by `recover()` at startup if a crash came in between.
- The gallery stays gapless: deleting seq k moves every later picture down by one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from domain.errors import DuplicateImage, ModelNotFound, SampleImageNotFound
from domain.files import TEMP_PREFIX, sync_folder, temp_path_beside, write_durably
from domain.hashing import normalize_sha256
from domain.image_pipeline import EncodedImage, encode_tiers
from domain.image_tiers import Quality, tier_file_name
from domain.locks import KeyedLocks
from domain.records import ImageTier, SampleImage
from domain.store import Store
from domain.store.file_moves import FileMove, forget_moves, owed_moves, plan_moves
from domain.store.gallery import (
    delete_and_close_gap,
    gallery_of,
    insert_sample_image,
    replace_sample_image,
)
from domain.store.models import model_exists, touch_model
from domain.workers import Workers

Staged = dict[Quality, Path]  # tier files written under temporary names
Links = dict[tuple[int, Quality], Path]  # (seq, quality) → a temporary second name


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    moves_replayed: int
    temp_files_removed: int


class Gallery:
    """The galleries of the library, over the image folder and the `sample_images` index."""

    def __init__(self, store: Store, images_dir: Path, workers: Workers) -> None:
        self._store = store
        self._dir = images_dir
        self._workers = workers
        self._locks = KeyedLocks()

    async def pictures(self, sha256: str) -> list[SampleImage]:
        """The gallery in seq order."""
        async with self._store.read() as conn:
            return await gallery_of(conn, normalize_sha256(sha256))

    async def add(self, sha256: str, source: bytes) -> SampleImage:
        """Append a picture at the next free seq."""
        sha256, encoded = await self._encode_for(sha256, source)
        async with self._locks.hold(sha256):
            await self._settle(sha256)
            staged = await self._workers.run(self._stage, sha256, encoded)
            try:
                async with self._store.transaction() as conn:
                    gallery = await self._gallery_of_model(conn, sha256)
                    _refuse_duplicate(gallery, encoded, sha256, replacing=None)
                    image = _index_row(sha256, len(gallery), encoded)
                    await self._workers.run(self._publish, staged, sha256, image.seq)
                    await insert_sample_image(conn, image)
                    await touch_model(conn, sha256)
            finally:
                await self._workers.run(_discard, staged)
        return image

    async def put(self, sha256: str, seq: int, source: bytes) -> SampleImage:
        """Put a picture at `seq`, replacing the one there; `seq` equal to the gallery's
        length appends."""
        sha256, encoded = await self._encode_for(sha256, source)
        async with self._locks.hold(sha256):
            await self._settle(sha256)
            staged = await self._workers.run(self._stage, sha256, encoded)
            try:
                async with self._store.transaction() as conn:
                    gallery = await self._gallery_of_model(conn, sha256)
                    if not 0 <= seq <= len(gallery):
                        raise SampleImageNotFound(sha256, seq, len(gallery))
                    _refuse_duplicate(gallery, encoded, sha256, replacing=seq)
                    image = _index_row(sha256, seq, encoded)
                    await replace_sample_image(conn, image)
                    await touch_model(conn, sha256)
                    await plan_moves(
                        conn,
                        sha256,
                        [(path.name, tier_file_name(sha256, seq, q)) for q, path in staged.items()],
                    )
            except BaseException:
                await self._workers.run(_discard, staged)
                raise
            await self._settle(sha256)
        return image

    async def delete(self, sha256: str, seq: int) -> str:
        """Remove the picture at `seq`; later pictures move down by one. Returns the model's
        digest in canonical form."""
        sha256 = normalize_sha256(sha256)
        async with self._locks.hold(sha256):
            await self._settle(sha256)
            async with self._store.read() as conn:
                count = len(await self._gallery_of_model(conn, sha256))
            if not 0 <= seq < count:
                raise SampleImageNotFound(sha256, seq, count)
            links = await self._workers.run(self._link_later_tiers, sha256, seq, count)
            try:
                async with self._store.transaction() as conn:
                    await delete_and_close_gap(conn, sha256, seq)
                    await touch_model(conn, sha256)
                    await plan_moves(conn, sha256, _closing_moves(sha256, seq, count, links))
            except BaseException:
                await self._workers.run(_discard, links)
                raise
            await self._settle(sha256)
        return sha256

    async def recover(self) -> RecoveryReport:
        """Finish what a crash interrupted: carry out owed file moves, then remove temporary
        files nobody owns. Call at startup, before any gallery operation."""
        moves = await owed_moves(self._store)
        await self._carry_out(moves)
        removed = await self._workers.run(self._remove_stray_temp_files)
        return RecoveryReport(moves_replayed=len(moves), temp_files_removed=removed)

    async def _encode_for(self, sha256: str, source: bytes) -> tuple[str, EncodedImage]:
        """The canonical digest and the encoded picture, checking the model exists first:
        the cheap refusal before the costly work, and no lock held while encoding."""
        sha256 = normalize_sha256(sha256)
        await self._require_model(sha256)
        return sha256, await self._workers.run(encode_tiers, source)

    async def _require_model(self, sha256: str) -> None:
        async with self._store.read() as conn:
            if not await model_exists(conn, sha256):
                raise ModelNotFound(sha256)

    async def _gallery_of_model(self, conn: aiosqlite.Connection, sha256: str) -> list[SampleImage]:
        if not await model_exists(conn, sha256):
            raise ModelNotFound(sha256)
        return await gallery_of(conn, sha256)

    async def _settle(self, sha256: str) -> None:
        """Carry out the moves owed to this gallery. Every operation starts with it too: moves
        left by a failed attempt must never run after a newer change to the same files."""
        await self._carry_out(await owed_moves(self._store, sha256))

    async def _carry_out(self, moves: list[FileMove]) -> None:
        if not moves:
            return
        await self._workers.run(self._move_files, moves)
        async with self._store.transaction() as conn:
            await forget_moves(conn, moves)

    # Blocking file work below: run only on the workers.

    def _stage(self, sha256: str, encoded: EncodedImage) -> Staged:
        staged: Staged = {}
        try:
            for tier in encoded.tiers:
                path = temp_path_beside(self._dir / tier_file_name(sha256, 0, tier.quality))
                write_durably(path, tier.data)
                staged[tier.quality] = path
        except BaseException:
            _discard(staged)
            raise
        return staged

    def _publish(self, staged: Staged, sha256: str, seq: int) -> None:
        for quality, path in staged.items():
            path.replace(self._dir / tier_file_name(sha256, seq, quality))  # atomic
        sync_folder(self._dir)

    def _link_later_tiers(self, sha256: str, seq: int, count: int) -> Links:
        """Hard-link every tier after `seq` under a temporary name: each later move then has a
        source of its own, so replaying the moves after a crash is safe in any state."""
        links: Links = {}
        try:
            for later in range(seq + 1, count):
                for quality in Quality:
                    final = self._dir / tier_file_name(sha256, later, quality)
                    link = temp_path_beside(final)
                    os.link(final, link)
                    links[later, quality] = link
        except BaseException:
            _discard(links)
            raise
        return links

    def _move_files(self, moves: list[FileMove]) -> None:
        for move in moves:
            source = self._dir / move.source
            if move.target is None:
                source.unlink(missing_ok=True)
            elif source.exists():  # already moved when a replay repeats it
                source.replace(self._dir / move.target)
        sync_folder(self._dir)

    def _remove_stray_temp_files(self) -> int:
        strays = list(self._dir.rglob(f"{TEMP_PREFIX}*"))  # pending originals' folder too
        for stray in strays:
            stray.unlink(missing_ok=True)
        return len(strays)


def _index_row(sha256: str, seq: int, encoded: EncodedImage) -> SampleImage:
    high = encoded.tier(Quality.HIGH)
    return SampleImage(
        sha256=sha256,
        seq=seq,
        width=high.width,
        height=high.height,
        source_digest=encoded.source_digest,
        generation=encoded.generation,
        created_at=datetime.now(UTC),
        tiers=tuple(ImageTier(t.quality, t.width, t.height, len(t.data)) for t in encoded.tiers),
    )


def _refuse_duplicate(
    gallery: list[SampleImage], encoded: EncodedImage, sha256: str, replacing: int | None
) -> None:
    for image in gallery:
        if image.source_digest == encoded.source_digest and image.seq != replacing:
            raise DuplicateImage(sha256, image.seq)


def _closing_moves(sha256: str, seq: int, count: int, links: Links) -> list[tuple[str, str | None]]:
    """Each later picture's files move down one seq; the last seq's files then go."""
    moves: list[tuple[str, str | None]] = [
        (link.name, tier_file_name(sha256, later - 1, quality))
        for (later, quality), link in sorted(links.items())
    ]
    moves += [(tier_file_name(sha256, count - 1, quality), None) for quality in Quality]
    return moves


def _discard(paths: Mapping[Any, Path]) -> None:
    for path in paths.values():
        path.unlink(missing_ok=True)
