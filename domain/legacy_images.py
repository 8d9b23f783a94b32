"""Stage 1, part 3: the images the ledger says are owed, done model by model in listed
order, many models at once on the image workers; each task is struck from the ledger once
its image is in place."""

from __future__ import annotations

import asyncio
from itertools import groupby
from pathlib import Path

from domain.config import Config
from domain.errors import DuplicateImage, ImageRejected, ModelNotFound
from domain.files import temp_path_beside, write_durably
from domain.gallery import Gallery
from domain.image_formats import SNIFF_BYTES, raster_media_type
from domain.legacy_report import MigrationProgress, MigrationReport
from domain.legacy_rules import Issue
from domain.records import PendingImage
from domain.regular_files import NotARegularFile, open_regular, read_all
from domain.store import Store
from domain.store.legacy import ImageTask, finish_image_task
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
        self, tasks: list[ImageTask], report: MigrationReport, progress: MigrationProgress
    ) -> None:
        # Each row's images in listed order (its gallery seqs follow that order); rows at
        # once, enough to keep every worker busy while others read or write files.
        admitted = asyncio.Semaphore(2 * self._workers.count + 2)

        async def do_row(row_tasks: list[ImageTask]) -> None:
            async with admitted:
                for task in row_tasks:
                    await self._do_image(task, report)
                    progress.images_done += 1

        rows = [list(group) for _, group in groupby(tasks, key=lambda task: task.legacy_id)]
        await asyncio.gather(*(do_row(row) for row in rows))

    async def _do_image(self, task: ImageTask, report: MigrationReport) -> None:
        """Do one owed image and strike it from the ledger. A gallery image is recognized
        by its content if a cut-short run already stored it; a pending copy, which has no
        such check, is struck in the same transaction that records it."""
        data = await self._read(task, report)
        if data is not None and task.pending_id is not None:
            if await self._copy(task, task.pending_id, data, report):
                return
        elif data is not None and task.sha256 is not None:
            await self._convert(task, task.sha256, data, report)
        async with self._store.transaction() as conn:
            await finish_image_task(conn, task.id)

    async def _read(self, task: ImageTask, report: MigrationReport) -> bytes | None:
        try:
            return await self._workers.run(_read_image, Path(task.source_path))
        except (OSError, NotARegularFile) as error:
            reason = (
                f"{error.strerror}."
                if isinstance(error, OSError)
                else f"it is {error.kind}, not a regular file."
            )
            report.images_missing += 1
            report.issues.append(
                Issue(task.legacy_id, "UNREADABLE_IMAGE", f"{task.source_path}: {reason}")
            )
            return None

    async def _convert(
        self, task: ImageTask, sha256: str, data: bytes, report: MigrationReport
    ) -> None:
        try:
            await self._gallery.add(sha256, data)
        except DuplicateImage:
            return  # listed twice under two names, or done by a run that was cut short
        except ImageRejected as error:
            report.images_failed += 1
            report.issues.append(
                Issue(task.legacy_id, "UNDECODABLE_IMAGE", f"{task.source_path}: {error}")
            )
            return
        except ModelNotFound:
            return  # the model went away meanwhile: nothing to attach the image to
        report.images_converted += 1

    async def _copy(
        self, task: ImageTask, pending_id: int, data: bytes, report: MigrationReport
    ) -> bool:
        """Copy an original for a pending import; True when copied (and the task struck)."""
        media_type = raster_media_type(data[:SNIFF_BYTES])
        if media_type is None:
            report.images_failed += 1
            report.issues.append(
                Issue(
                    task.legacy_id,
                    "UNDECODABLE_IMAGE",
                    f"{task.source_path} is not a raster image.",
                )
            )
            return False
        folder = self._config.pending_images_dir
        async with self._store.transaction() as conn:
            if not await pending_exists(conn, pending_id):
                return True  # imported (Stage 2) meanwhile: its task went with it
            seq = await next_pending_image_seq(conn, pending_id)
            name = f"{pending_id}_{seq}{_EXTENSIONS[media_type]}"
            await self._workers.run(_write_into_place, folder / name, data)
            await insert_pending_image(conn, PendingImage(pending_id, seq, name, len(data)))
            await finish_image_task(conn, task.id)
        report.images_copied += 1
        return True


def _read_image(path: Path) -> bytes:
    """A listed image's bytes; only a regular file is read (a pipe would block, a device
    never end)."""
    with open_regular(path) as source:
        return read_all(source)


def _write_into_place(target: Path, data: bytes) -> None:
    temp = temp_path_beside(target)
    write_durably(temp, data)
    temp.replace(target)
