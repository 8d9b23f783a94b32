"""Stage 1, part 3: the images the ledger says are owed, done model by model in listed
order, many models at once on the image workers.

Each image is done exactly once, and counted once. Whatever becomes of it, one transaction
holds it all: the gallery rows of its picture (through the gallery's prepare / commit API,
its files staged first) or the row of a pending import's copy, the strike of its task, its
count and its issue. A run cut short at any point leaves each image either done and
counted, or owed; the run that completes the migration does the rest, and the migration's
report is the same as if it had never been interrupted.
"""

from __future__ import annotations

import asyncio
from itertools import groupby
from pathlib import Path

import aiosqlite

from domain.config import Config
from domain.errors import ImageRejected, ModelNotFound
from domain.filesystem.regular_files import NotARegularFile, open_regular, read_all
from domain.filesystem.writes import write_into_place
from domain.images.formats import SNIFF_BYTES, raster_media_type
from domain.images.gallery import Gallery, Keep, Put, Rewrite, Slot
from domain.images.pipeline import encode_tiers
from domain.legacy.report import MigrationProgress
from domain.legacy.rules import Issue
from domain.records import PendingImage
from domain.store import Store
from domain.store.legacy import ImageTask, add_counts, finish_image_task, record_issues
from domain.store.models import model_exists, touch_model
from domain.store.pending import insert_pending_image, next_pending_image_seq, pending_exists
from domain.workers import Workers

_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "image/webp": ".webp",
}


class LegacyImages:
    """Does owed legacy images: WebP tiers in a model's gallery, or a pending import's
    original copied as it is."""

    def __init__(self, store: Store, gallery: Gallery, config: Config, workers: Workers) -> None:
        self._store = store
        self._gallery = gallery
        self._config = config
        self._workers = workers

    async def do(
        self, tasks: list[ImageTask], migration_id: int, progress: MigrationProgress
    ) -> None:
        """Do `tasks`, counting their outcomes in the migration `migration_id`."""
        # Each row's images in listed order (its gallery seqs follow that order); rows at
        # once, enough to keep every worker busy while others read or write files.
        # The first failure (a full disk: `DiskFull`) stops the run: no row starts another
        # image, the images in flight end by themselves (a worker thread cannot be stopped
        # half way, and its files must be settled before the run answers), then the failure
        # is raised. What was not done stays owed in the ledger for the next run.
        admitted = asyncio.Semaphore(2 * self._workers.count + 2)
        failures: list[Exception] = []

        async def do_row(row_tasks: list[ImageTask]) -> None:
            async with admitted:
                for task in row_tasks:
                    if failures:
                        return
                    try:
                        await self._do_image(task, migration_id)
                    except Exception as error:
                        failures.append(error)
                        return
                    progress.images_done += 1

        rows = [list(group) for _, group in groupby(tasks, key=lambda task: task.legacy_id)]
        await asyncio.gather(*(do_row(row) for row in rows))
        if failures:
            raise failures[0]

    async def _do_image(self, task: ImageTask, migration_id: int) -> None:
        data = await self._read(task)
        if isinstance(data, Issue):
            await self._strike(task, migration_id, data, images_missing=1)
        elif task.pending_id is not None:
            await self._copy(task, task.pending_id, data, migration_id)
        elif task.sha256 is not None:
            await self._convert(task, task.sha256, data, migration_id)

    async def _read(self, task: ImageTask) -> bytes | Issue:
        try:
            return await self._workers.run(_read_image, Path(task.source_path))
        except (OSError, NotARegularFile) as error:
            reason = (
                f"{error.strerror}."
                if isinstance(error, OSError)
                else f"it is {error.kind}, not a regular file."
            )
            return Issue(task.legacy_id, "UNREADABLE_IMAGE", f"{task.source_path}: {reason}")

    async def _convert(self, task: ImageTask, sha256: str, data: bytes, migration_id: int) -> None:
        """Put the picture at the end of the model's gallery, in one transaction with the
        strike of its task and its count."""
        try:  # encoded before the gallery is held: models encode in parallel
            encoded = await self._workers.run(encode_tiers, data)
        except ImageRejected as error:
            issue = Issue(task.legacy_id, "UNDECODABLE_IMAGE", f"{task.source_path}: {error}")
            await self._strike(task, migration_id, issue, images_failed=1)
            return
        async with self._gallery.editing(sha256) as current:
            if any(image.source_digest == encoded.source_digest for image in current):
                await self._strike(task, migration_id)  # the same picture under two names
                return
            slots: list[Slot] = [*(Keep(image.seq) for image in current), Put(encoded)]
            rewrite = await self._gallery.prepare(sha256, current, slots)
            try:
                async with self._store.transaction() as conn:
                    stored = await self._append(conn, sha256, rewrite)
                    await _finish(conn, task, migration_id, None, images_converted=int(stored))
            except BaseException as error:
                await self._gallery.discard(rewrite, error)
                raise
            if not stored:  # nothing was committed: its staged files go
                await self._gallery.discard(rewrite, ModelNotFound(sha256))

    async def _append(self, conn: aiosqlite.Connection, sha256: str, rewrite: Rewrite) -> bool:
        """Commit the rewrite, unless the model went away meanwhile (its tasks with it)."""
        if not await model_exists(conn, sha256):
            return False
        await self._gallery.commit(conn, rewrite)
        await touch_model(conn, sha256)
        return True

    async def _copy(self, task: ImageTask, pending_id: int, data: bytes, migration_id: int) -> None:
        """Copy an original for a pending import, in one transaction with the strike of its
        task and its count."""
        media_type = raster_media_type(data[:SNIFF_BYTES])
        if media_type is None:
            issue = Issue(
                task.legacy_id, "UNDECODABLE_IMAGE", f"{task.source_path} is not a raster image."
            )
            await self._strike(task, migration_id, issue, images_failed=1)
            return
        folder = self._config.pending_images_dir
        async with self._store.transaction() as conn:
            if not await pending_exists(conn, pending_id):
                return  # imported (Stage 2) meanwhile: its task went with it
            seq = await next_pending_image_seq(conn, pending_id)
            name = f"{pending_id}_{seq}{_EXTENSIONS[media_type]}"
            await self._workers.run(write_into_place, folder / name, data)
            await insert_pending_image(conn, PendingImage(pending_id, seq, name, len(data)))
            await _finish(conn, task, migration_id, None, images_copied=1)

    async def _strike(
        self, task: ImageTask, migration_id: int, issue: Issue | None = None, **counts: int
    ) -> None:
        """Strike a task that puts nothing in the library, with its count and issue."""
        async with self._store.transaction() as conn:
            await _finish(conn, task, migration_id, issue, **counts)


async def _finish(
    conn: aiosqlite.Connection,
    task: ImageTask,
    migration_id: int,
    issue: Issue | None,
    **counts: int,
) -> None:
    await finish_image_task(conn, task.id)
    await add_counts(conn, migration_id, **counts)
    if issue is not None:
        await record_issues(conn, migration_id, [issue])


def _read_image(path: Path) -> bytes:
    """A listed image's bytes; only a regular file is read (a pipe would block, a device
    never end)."""
    with open_regular(path) as source:
        return read_all(source)
