"""Stage 1: moving a legacy library over, once, losing nothing.

A run has three parts:
1. Read: the legacy database (from a private copy, see `legacy_reader`), the legacy image
   folder listed once into a name index, and every row turned into a plan by the rules of
   `legacy_rules`. Bad inputs are refused here, before anything is written.
2. Rows: one transaction writes the tags, models, pending imports and links, the ledger
   rows that make a second run skip them, and the images each row still owes.
3. Images: owed images are done model by model in listed order, many models at once on
   the image workers; each task is struck from the ledger once its image is in place.

Every legacy row ends up as a model, a pending import, or an issue in the report. A run
killed during part 3 leaves a consistent library (each image is all there or not at all)
and its owed tasks; the next run of the same database skips the rows and does the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import TypeVar

import aiosqlite

from domain.config import Config
from domain.errors import (
    DuplicateImage,
    ImageRejected,
    MigrationAlreadyRunning,
    ModelNotFound,
)
from domain.files import temp_path_beside, write_durably
from domain.gallery import Gallery
from domain.image_formats import SNIFF_BYTES, raster_media_type
from domain.legacy_identity import recognized, row_digest
from domain.legacy_inputs import LegacyInputs, legacy_inputs
from domain.legacy_reader import LegacyLibrary, LegacyModelRow, LegacyTag, read_legacy_library
from domain.legacy_rules import (
    Issue,
    clean_meta,
    created_at_ms,
    display_name,
    legacy_hash,
    model_type,
    size_bytes,
    unique_file_names,
)
from domain.records import Model, PendingImage, PendingImport, from_epoch_ms
from domain.regular_files import NotARegularFile, open_regular, read_all
from domain.store import Store
from domain.store.legacy import (
    ImageTask,
    LegacySource,
    fill_row_digests,
    finish_image_task,
    imported_legacy_ids,
    note_run,
    owed_image_tasks,
    plan_image_tasks,
    record_rows,
    register_source,
    source_at,
    sources_sharing_rows,
)
from domain.store.models import all_model_keys, insert_models, link_many_model_tags
from domain.store.pending import (
    all_pending_keys,
    insert_many_pending,
    insert_pending_image,
    link_many_pending_tags,
    next_pending_image_seq,
    pending_exists,
)
from domain.store.tags import all_tags, insert_tag
from domain.workers import Workers

Owner = TypeVar("Owner")
_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "image/webp": ".webp",
}


@dataclass(slots=True)
class MigrationReport:
    """What one run did. Counts are of this run's work only."""

    legacy_db_path: str
    legacy_images_dir: str | None
    models_imported: int = 0
    pending_created: int = 0
    tags_imported: int = 0
    duplicates: int = 0
    already_imported: int = 0
    images_converted: int = 0
    images_copied: int = 0
    images_missing: int = 0
    images_failed: int = 0
    issues: list[Issue] = field(default_factory=list)
    recognized_from: str | None = None  # the path it was known under, when found elsewhere
    rows_seconds: float = 0.0
    images_seconds: float = 0.0


@dataclass(slots=True)
class MigrationProgress:
    legacy_db_path: str
    started_at: datetime
    phase: str = "READING"  # READING, ROWS, IMAGES, DONE, FAILED
    rows_total: int = 0
    rows_done: int = 0
    images_total: int = 0
    images_done: int = 0


@dataclass(slots=True)
class PlannedRow:
    """One legacy row, cleaned, before the library's state decides what it becomes."""

    legacy_id: int
    sha256: str | None
    path: str
    name: str
    type: str
    size_bytes: int | None
    created_at_ms: int
    meta: dict[str, object]
    legacy_tag_ids: list[int]
    images: list[Path]


class ImageIndex:
    """The legacy image folder, listed once: file name → file (exact, else ignoring case)."""

    def __init__(self, folder: Path | None) -> None:
        self.exact: dict[str, Path] = {}
        self.folded: dict[str, Path] = {}
        if folder is None:
            return
        for root, dirs, files in os.walk(folder):
            dirs.sort()  # the same name in two folders: the first in sorted order wins
            for name in sorted(files):
                path = Path(root) / name
                self.exact.setdefault(name, path)
                self.folded.setdefault(name.casefold(), path)

    def find(self, name: str) -> Path | None:
        return self.exact.get(name) or self.folded.get(name.casefold())


class LegacyMigrator:
    """Runs Stage 1, one run at a time, and tells how far the current run is."""

    def __init__(self, store: Store, gallery: Gallery, config: Config, workers: Workers) -> None:
        self._store = store
        self._gallery = gallery
        self._config = config
        self._workers = workers
        self._running: asyncio.Task[MigrationReport] | None = None
        self.progress: MigrationProgress | None = None

    async def migrate(self, legacy_db_path: str, legacy_images_dir: str | None) -> MigrationReport:
        """Import the legacy database; return the report when images are done too.

        The run continues if the caller goes away (a closed browser tab must not leave it
        half done); a second call while one runs is refused with `MigrationAlreadyRunning`."""
        if self._running is not None and not self._running.done():
            raise MigrationAlreadyRunning(
                "A legacy import is already running; follow it with the `legacyMigration` query."
            )
        self._running = asyncio.create_task(self._run(legacy_db_path, legacy_images_dir))
        return await asyncio.shield(self._running)

    async def close(self) -> None:
        """Stop a run in progress (at shutdown). What it had done stays; the ledger lets the
        next run of the same database finish the rest."""
        if self._running is not None and not self._running.done():
            self._running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._running

    async def _run(self, legacy_db_path: str, legacy_images_dir: str | None) -> MigrationReport:
        progress = self.progress = MigrationProgress(legacy_db_path, datetime.now(UTC))
        try:
            # Even a path check can block (a sleeping network drive): on the workers too.
            inputs = await self._workers.run(legacy_inputs, legacy_db_path, legacy_images_dir)
            progress.legacy_db_path = str(inputs.db_path)
            report = await self._run_stages(inputs, progress)
        except BaseException:
            progress.phase = "FAILED"
            raise
        progress.phase = "DONE"
        return report

    async def _run_stages(
        self, inputs: LegacyInputs, progress: MigrationProgress
    ) -> MigrationReport:
        images_dir = inputs.images_dir
        report = MigrationReport(
            str(inputs.db_path), None if images_dir is None else str(images_dir)
        )
        started = time.perf_counter()
        library, digests = await self._workers.run(_read, inputs.db_path)
        source = await self._known_source(inputs, digests)
        done = set() if source is None else await imported_legacy_ids(self._store, source.id)
        fresh = [row for row in library.rows if row.id not in done]
        report.already_imported = len(library.rows) - len(fresh)
        if source is not None and source.path != inputs.real_db_path:
            report.recognized_from = source.path
        planned = await self._workers.run(_plan, library, fresh, images_dir, report)
        progress.phase, progress.rows_total = "ROWS", len(planned)
        source_id = await self._write_rows(inputs, source, library.tags, planned, digests, report)
        progress.rows_done = len(planned)
        report.rows_seconds = time.perf_counter() - started

        started = time.perf_counter()
        tasks = await owed_image_tasks(self._store, source_id)
        progress.phase, progress.images_total = "IMAGES", len(tasks)
        await self._do_images(tasks, report, progress)
        report.images_seconds = time.perf_counter() - started
        return report

    async def _known_source(
        self, inputs: LegacyInputs, digests: dict[int, int]
    ) -> LegacySource | None:
        """The ledger's entry for this legacy database: under its real path (or, for an
        entry a version 3 run made, the path as typed), else the known source its rows
        say it is (`legacy_identity.recognized`)."""
        by_path = await source_at(self._store, [inputs.real_db_path, str(inputs.db_path)])
        if by_path is not None:
            return by_path
        candidates = await sources_sharing_rows(self._store, list(digests.values()))
        match = recognized(candidates, len(digests))
        return None if match is None else LegacySource(match.source_id, match.path)

    # Part 2: rows ---------------------------------------------------------------------

    async def _write_rows(
        self,
        inputs: LegacyInputs,
        source: LegacySource | None,
        tags: list[LegacyTag],
        planned: list[PlannedRow],
        digests: dict[int, int],
        report: MigrationReport,
    ) -> int:
        now_ms = round(time.time() * 1000)
        async with self._store.transaction() as conn:
            if source is None:
                source_id = await register_source(conn, inputs.real_db_path, now_ms)
            else:
                source_id = source.id
                await note_run(conn, source_id, inputs.real_db_path, now_ms)
                await fill_row_digests(conn, source_id, digests.items())
            tag_ids = await _import_tags(conn, tags, report)
            placement = await _place_rows(conn, planned, report)
            await _write_placed(conn, source_id, placement, tag_ids, digests, report)
        return source_id

    # Part 3: images -------------------------------------------------------------------

    async def _do_images(
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


# What part 1 makes of the legacy library ---------------------------------------------------


def _read(db_path: Path) -> tuple[LegacyLibrary, dict[int, int]]:
    """The legacy library, and the digest of each row (legacy id → digest)."""
    library = read_legacy_library(db_path)
    digests = {row.id: row_digest(row.id, row.path, row.created_at) for row in library.rows}
    return library, digests


def _rows_without_file(rows: list[LegacyModelRow]) -> set[int]:
    return {row.id for row in rows if not _file_exists(row.path)}


def _file_exists(path: str) -> bool:
    try:
        return Path(path).is_file()
    except (OSError, ValueError):  # a NUL byte or an over-long name: not a file we can find
        return False


def _plan(
    library: LegacyLibrary,
    rows: list[LegacyModelRow],
    images_dir: Path | None,
    report: MigrationReport,
) -> list[PlannedRow]:
    """Part 1's blocking work for the rows to import: look for each model file and image,
    and apply the rules to every row. Rows imported before are not looked at again."""
    index = ImageIndex(images_dir)
    missing_files = _rows_without_file(rows)
    now_ms = round(time.time() * 1000)
    planned = []
    for row in rows:
        issues = report.issues
        cleaned = clean_meta(row.id, row.extra_json, row.meta_json)
        issues += cleaned.issues
        sha256 = legacy_hash(row.hash_hex)
        if sha256 is None and (row.hash_hex or "").strip():
            issues.append(
                Issue(
                    row.id,
                    "INVALID_HASH",
                    f"hash_hex {row.hash_hex!r} is not a SHA-256; the file will be hashed again.",
                )
            )
        if row.id in missing_files:
            issues.append(
                Issue(row.id, "MISSING_MODEL_FILE", f"{row.path} does not exist (any more).")
            )
        planned.append(
            PlannedRow(
                legacy_id=row.id,
                sha256=sha256,
                path=row.path,
                name=display_name(row.name, row.path),
                type=model_type(row.type),
                size_bytes=size_bytes(row.size_bytes),
                created_at_ms=created_at_ms(row.id, row.created_at, now_ms, issues),
                meta=cleaned.meta,
                legacy_tag_ids=library.tag_ids.get(row.id, []),
                images=_found_images(row.id, cleaned.image_refs, index, images_dir, report),
            )
        )
    return planned


def _found_images(
    legacy_id: int,
    refs: list[str],
    index: ImageIndex,
    images_dir: Path | None,
    report: MigrationReport,
) -> list[Path]:
    found = []
    for name in unique_file_names(refs):
        path = index.find(name)
        if path is None:
            report.images_missing += 1
            where = (
                "no legacy images folder was given or found"
                if images_dir is None
                else f"not in {images_dir}"
            )
            report.issues.append(Issue(legacy_id, "MISSING_IMAGE", f"{name}: {where}."))
        else:
            found.append(path)
    return found


# What part 2 writes --------------------------------------------------------------------------


@dataclass(slots=True)
class Placement:
    models: list[PlannedRow] = field(default_factory=list)
    pending: list[tuple[int, PlannedRow]] = field(default_factory=list)  # (pending id, row)
    refused: list[int] = field(default_factory=list)  # legacy ids that became issues


async def _import_tags(
    conn: aiosqlite.Connection, tags: list[LegacyTag], report: MigrationReport
) -> dict[int, int]:
    """Legacy tag id → library tag id. A name the library has maps to its tag; a new name
    keeps its legacy id unless another tag holds it."""
    by_name = {tag.name.casefold(): tag for tag in await all_tags(conn)}
    taken = {tag.id for tag in by_name.values()}
    mapping: dict[int, int] = {}
    for legacy in tags:
        match = by_name.get(legacy.name.strip().casefold())
        if match is None:
            keep_id = legacy.id not in taken
            match = await insert_tag(
                conn, legacy.name, legacy.color, legacy.id if keep_id else None
            )
            by_name[match.name.casefold()] = match
            taken.add(match.id)
            report.tags_imported += 1
            if not keep_id:
                report.issues.append(
                    Issue(
                        None,
                        "TAG_ID_CHANGED",
                        f"Tag {legacy.name!r}: id {legacy.id} was taken; it is now {match.id}.",
                    )
                )
        mapping[legacy.id] = match.id
    return mapping


async def _place_rows(
    conn: aiosqlite.Connection, rows: list[PlannedRow], report: MigrationReport
) -> Placement:
    """Decide what each new row becomes, given what the library already holds. The lowest
    legacy id of a digest becomes the model; later ones, and digests the library already
    has, become pending imports with the digest known (Stage 2 reports the conflict)."""
    model_shas, model_paths = await all_model_keys(conn)
    pending_ids, pending_paths = await all_pending_keys(conn)
    next_free_id = max(pending_ids | {row.legacy_id for row in rows}, default=0) + 1
    placement = Placement()
    for row in rows:  # in legacy id order
        if row.sha256 is not None and row.sha256 not in model_shas and row.path not in model_paths:
            placement.models.append(row)
            model_shas.add(row.sha256)
            model_paths.add(row.path)
            continue
        if row.sha256 is not None:
            report.duplicates += 1
        if row.path in pending_paths:
            placement.refused.append(row.legacy_id)
            report.issues.append(
                Issue(row.legacy_id, "ALREADY_PENDING", f"{row.path} is already a pending import.")
            )
            continue
        pending_id = row.legacy_id
        if pending_id in pending_ids:
            pending_id, next_free_id = next_free_id, next_free_id + 1
            report.issues.append(
                Issue(
                    row.legacy_id,
                    "PENDING_ID_CHANGED",
                    f"id {row.legacy_id} was taken; the pending import is {pending_id}.",
                )
            )
        pending_ids.add(pending_id)
        pending_paths.add(row.path)
        placement.pending.append((pending_id, row))
    return placement


async def _write_placed(
    conn: aiosqlite.Connection,
    source_id: int,
    placement: Placement,
    tag_ids: dict[int, int],
    digests: dict[int, int],
    report: MigrationReport,
) -> None:
    await insert_models(conn, (_model(row) for row in placement.models))
    await link_many_model_tags(
        conn, _links(((r.sha256 or "", r) for r in placement.models), tag_ids, report)
    )
    await insert_many_pending(
        conn, (_pending(pending_id, row) for pending_id, row in placement.pending)
    )
    await link_many_pending_tags(conn, _links(placement.pending, tag_ids, report))
    outcomes = (
        [(r.legacy_id, "model") for r in placement.models]
        + [(r.legacy_id, "pending") for _, r in placement.pending]
        + [(legacy_id, "issue") for legacy_id in placement.refused]
    )
    await record_rows(
        conn, source_id, [(legacy_id, kind, digests[legacy_id]) for legacy_id, kind in outcomes]
    )
    await plan_image_tasks(
        conn,
        source_id,
        [
            (r.legacy_id, i, str(p), r.sha256, None)
            for r in placement.models
            for i, p in enumerate(r.images)
        ]
        + [
            (r.legacy_id, i, str(p), None, pid)
            for pid, r in placement.pending
            for i, p in enumerate(r.images)
        ],
    )
    report.models_imported = len(placement.models)
    report.pending_created = len(placement.pending)


def _links(
    owners: Iterable[tuple[Owner, PlannedRow]], tag_ids: dict[int, int], report: MigrationReport
) -> list[tuple[Owner, int]]:
    """(owner, library tag id) for every legacy tag link of these rows."""
    links = []
    for owner, row in owners:
        for legacy_tag in row.legacy_tag_ids:
            if legacy_tag in tag_ids:
                links.append((owner, tag_ids[legacy_tag]))
            else:
                report.issues.append(
                    Issue(
                        row.legacy_id,
                        "UNKNOWN_TAG",
                        f"The row links tag id {legacy_tag}, which does not exist.",
                    )
                )
    return links


def _model(row: PlannedRow) -> Model:
    created = from_epoch_ms(row.created_at_ms)
    return Model(
        sha256=row.sha256 or "",
        path=row.path,
        name=row.name,
        type=row.type,
        size_bytes=row.size_bytes,
        created_at=created,
        updated_at=created,
        meta=row.meta,
    )


def _pending(pending_id: int, row: PlannedRow) -> PendingImport:
    return PendingImport(
        id=pending_id,
        path=row.path,
        name=row.name,
        type=row.type,
        size_bytes=row.size_bytes,
        created_at=from_epoch_ms(row.created_at_ms),
        meta=row.meta,
        sha256=row.sha256,
    )


def _read_image(path: Path) -> bytes:
    """A listed image's bytes; only a regular file is read (a pipe would block, a device
    never end)."""
    with open_regular(path) as source:
        return read_all(source)


def _write_into_place(target: Path, data: bytes) -> None:
    temp = temp_path_beside(target)
    write_durably(temp, data)
    temp.replace(target)
