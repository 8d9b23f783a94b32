"""Stage 1: moving a legacy library over, once, losing nothing.

A run has three parts, after its arguments are checked (`inputs`):
1. Read (`plan`): the legacy database (from a private copy, see `reader`),
   the ledger's entry for it (`identity`), and every row not imported before turned
   into a plan by the rules of `rules`, its images looked for. Bad inputs are
   refused here, before anything is written.
2. Rows (`rows`): one transaction writes the tags, models, pending imports and
   links, the ledger rows that make a second run skip them, and the images each row owes.
3. Images (`images`): owed images are done model by model in listed order, many
   models at once on the image workers; each task is struck from the ledger once its image
   is in place.

Every legacy row ends up as a model, a pending import, or an issue in the report. A run
killed during part 3 leaves a consistent library (each image is all there or not at all)
and its owed tasks; the next run of the same database skips the rows and does the rest.

What a migration counts and meets is kept in the ledger (`legacy_migrations`,
`legacy_issues`), each in the transaction of the work it describes: part 2's with the rows,
each image's with the strike of its task. A migration is the run that found rows to import
and, if it was cut short, the runs that complete it; the run that completes it returns the
whole migration's report, the same as an uninterrupted run's.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime

from domain.config import Config
from domain.images.gallery import Gallery
from domain.legacy.identity import recognized
from domain.legacy.images import LegacyImages
from domain.legacy.inputs import LegacyInputs, legacy_inputs
from domain.legacy.plan import PlannedRow, plan_rows, read_with_digests
from domain.legacy.reader import LegacyTag
from domain.legacy.report import MigrationProgress, MigrationReport
from domain.legacy.rows import import_tags, place_rows, write_placed
from domain.records import JsonObject
from domain.store import Store
from domain.store.legacy import (
    LegacySource,
    add_counts,
    fill_row_digests,
    finish_migration,
    imported_legacy_ids,
    migration_summary,
    note_run,
    open_migration,
    owed_image_tasks,
    owes_images,
    record_issues,
    register_source,
    source_at,
    sources_sharing_rows,
    start_migration,
)
from domain.workers import Workers

__all__ = ["LegacyMigrator", "MigrationProgress", "MigrationReport"]


class LegacyMigrator:
    """Runs Stage 1, one run at a time, and tells how far the current run is."""

    def __init__(self, store: Store, gallery: Gallery, config: Config, workers: Workers) -> None:
        self._store = store
        self._gallery = gallery
        self._config = config
        self._workers = workers
        self._images = LegacyImages(store, gallery, config, workers)
        self._running: asyncio.Task[MigrationReport] | None = None
        self.progress: MigrationProgress | None = None

    async def migrate(self, legacy_db_path: str, legacy_images_dir: str | None) -> MigrationReport:
        """Import the legacy database; return the report when images are done too.

        The run continues if the caller goes away (a closed browser tab must not leave it
        half done). Runs are made by the LEGACY_MIGRATION job (`domain.jobs.legacy_migration`),
        and jobs run one at a time, so two never overlap."""
        assert self._running is None or self._running.done(), "one legacy run at a time"
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
        # This run's part 1 and 2, counted here and then kept in the ledger's migration.
        run = MigrationReport(str(inputs.db_path), None if images_dir is None else str(images_dir))
        started = time.perf_counter()
        library, digests = await self._workers.run(read_with_digests, inputs.db_path)
        source = await self._known_source(inputs, digests)
        done = set() if source is None else await imported_legacy_ids(self._store, source.id)
        fresh = [row for row in library.rows if row.id not in done]
        run.already_imported = len(library.rows) - len(fresh)
        if source is not None and source.path != inputs.real_db_path:
            run.recognized_from = source.path
        planned = await self._workers.run(plan_rows, library, fresh, images_dir, run)
        progress.phase, progress.rows_total = "ROWS", len(planned)
        source_id, migration_id = await self._write_rows(
            inputs, source, library.tags, planned, digests, run
        )
        progress.rows_done = len(planned)
        run.rows_seconds = time.perf_counter() - started
        if migration_id is None:
            return run  # nothing new, nothing owed

        started = time.perf_counter()
        tasks = await owed_image_tasks(self._store, source_id)
        progress.phase, progress.images_total = "IMAGES", len(tasks)
        await self._images.do(tasks, migration_id, progress)
        async with self._store.transaction() as conn:
            await finish_migration(conn, migration_id, round(time.time() * 1000))
        run.images_seconds = time.perf_counter() - started
        return await self._migration_report(migration_id, run)

    async def _migration_report(self, migration_id: int, run: MigrationReport) -> MigrationReport:
        """The whole migration's report, as the ledger kept it (whatever runs it took), with
        this run's paths and timings."""
        counts, issues = await migration_summary(self._store, migration_id)
        return MigrationReport(
            legacy_db_path=run.legacy_db_path,
            legacy_images_dir=run.legacy_images_dir,
            recognized_from=run.recognized_from,
            already_imported=counts.already_imported,
            models_imported=counts.models_imported,
            pending_created=counts.pending_created,
            tags_imported=counts.tags_imported,
            duplicates=counts.duplicates,
            images_converted=counts.images_converted,
            images_copied=counts.images_copied,
            images_missing=counts.images_missing,
            images_failed=counts.images_failed,
            issues=issues,
            rows_seconds=run.rows_seconds,
            images_seconds=run.images_seconds,
            migration_id=migration_id,
        )

    async def kept_report(self, summary: JsonObject) -> MigrationReport:
        """A report kept as its `summary`, with its issues from the ledger."""
        migration_id = summary.get("migration_id")
        issues = (
            [] if migration_id is None else (await migration_summary(self._store, migration_id))[1]
        )
        return MigrationReport.from_summary(summary, issues)

    async def _known_source(
        self, inputs: LegacyInputs, digests: dict[int, int]
    ) -> LegacySource | None:
        """The ledger's entry for this legacy database: under its real path (or, for an
        entry a version 3 run made, the path as typed), else the known source its rows
        say it is (`identity.recognized`)."""
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
        run: MigrationReport,
    ) -> tuple[int, int | None]:
        """Part 2 in one transaction, with what it counted and met kept in the migration
        it belongs to: the unfinished one of this database, else a new one when this run
        writes anything. Returns the ledger ids of the source and the migration (None: the
        run has nothing to do)."""
        now_ms = round(time.time() * 1000)
        async with self._store.transaction() as conn:
            if source is None:
                source_id = await register_source(conn, inputs.real_db_path, now_ms)
            else:
                source_id = source.id
                await note_run(conn, source_id, inputs.real_db_path, now_ms)
                await fill_row_digests(conn, source_id, digests.items())
            tag_ids = await import_tags(conn, tags, run)
            placement = await place_rows(conn, planned, run)
            await write_placed(conn, source_id, placement, tag_ids, digests, run)

            migration_id = await open_migration(conn, source_id)
            already_imported = 0  # a migration counts the rows skipped when it began
            wrote = bool(planned or run.tags_imported or run.issues)
            if migration_id is None and (wrote or await owes_images(conn, source_id)):
                migration_id = await start_migration(conn, source_id, now_ms)
                already_imported = run.already_imported
            if migration_id is not None:
                await add_counts(
                    conn,
                    migration_id,
                    already_imported=already_imported,
                    models_imported=run.models_imported,
                    pending_created=run.pending_created,
                    tags_imported=run.tags_imported,
                    duplicates=run.duplicates,
                    images_missing=run.images_missing,
                )
                await record_issues(conn, migration_id, run.issues)
        return source_id, migration_id
