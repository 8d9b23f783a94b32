"""The LEGACY_MIGRATION job: Stage 1 (`domain.legacy.migrator`) run as a durable job.

`migrateLegacyDb` still answers its report, but the work is a job: its progress streams
like any job's (rows and images, done and in all), it can be paused, resumed and
cancelled, and a migration the process was killed in resumes by itself at the next start.
Stopping is safe at any moment because Stage 1 is: its ledger keeps what was done, and a
new run of the same database does only the rest.

One caller per migration. `migrate` checks the paths first, so a refused input never
becomes a job. While a legacy job is unfinished (queued, running or paused):
- a call for the same database takes the job over when no other caller waits for it (the
  job was resumed at start-up, or its caller went away), resuming it if it was paused,
  and answers its report;
- any other call is refused with `MigrationAlreadyRunning`, naming the job.
A caller whose job is paused or cancelled before it ends hears `JobStopped`.
"""

from __future__ import annotations

import asyncio
import contextlib
from functools import partial

from domain.errors import JobFinished, JobStopped, MigrationAlreadyRunning
from domain.jobs.model import ItemCounts, JobKind, JobRow
from domain.jobs.runner import PROGRESS_INTERVAL, Control, JobRunner, Request
from domain.legacy.inputs import legacy_inputs
from domain.legacy.migrator import LegacyMigrator, MigrationReport
from domain.legacy.reader import check_legacy_db
from domain.records import JsonObject
from domain.store import Store
from domain.store.jobs import set_progress, set_result, unfinished_job
from domain.workers import Workers


class LegacyMigrationWork:
    def __init__(
        self, store: Store, migrator: LegacyMigrator, runner: JobRunner, workers: Workers
    ) -> None:
        self._store = store
        self._migrator = migrator
        self._runner = runner
        self._workers = workers
        self._callers: dict[int, asyncio.Future[MigrationReport]] = {}  # job id → its caller
        self._starting = asyncio.Lock()  # one check-then-submit at a time

    async def migrate(self, legacy_db_path: str, legacy_images_dir: str | None) -> MigrationReport:
        """Run (or take over) the legacy migration of this database and answer its report."""
        # Refused inputs answer at once, and never become a job. Even a path check can
        # block (a sleeping network drive): on the workers.
        await self._workers.run(_check, legacy_db_path, legacy_images_dir)
        params = {"legacyDbPath": legacy_db_path, "legacyImagesDir": legacy_images_dir}
        job_id, caller = await self._take_or_submit(params)
        try:
            # The migration goes on if the caller goes away: only the waiting stops.
            report = await asyncio.shield(caller)
        except asyncio.CancelledError:
            caller.cancel()  # the job has no caller now; a new call may take it over
            raise
        except Exception:
            await self._runner.settled(job_id)
            raise
        # Answered once the job's row says how it ended: a call right after this one finds
        # it ended, not still running.
        await self._runner.settled(job_id)
        return report

    async def _take_or_submit(
        self, params: JsonObject
    ) -> tuple[int, asyncio.Future[MigrationReport]]:
        """The job this call waits for, and where its answer comes: the unfinished legacy
        job when it is of these paths and nobody waits for it, else a new job."""
        caller: asyncio.Future[MigrationReport] = asyncio.get_running_loop().create_future()
        async with self._starting:
            job = await unfinished_job(self._store, JobKind.LEGACY_MIGRATION)
            if job is not None and (job.id in self._callers or job.params != params):
                raise MigrationAlreadyRunning(
                    f"A legacy import is already under way as job {job.id} ({job.state}); "
                    f"follow it with job(id: {job.id}).",
                    job.id,
                )
            if job is not None:
                self._wait(job.id, caller)
                try:
                    await self._runner.resume(job.id)
                    return job.id, caller
                except JobFinished:  # it ended meanwhile, its report with it: run anew
                    caller.cancel()
                    caller = asyncio.get_running_loop().create_future()
            submitted = await self._runner.submit(
                JobKind.LEGACY_MIGRATION, params, partial(self._wait, caller=caller)
            )
            return submitted.row.id, caller

    async def report_of(self, result: JsonObject) -> MigrationReport:
        """The report a completed legacy job answered, from the result it kept."""
        return await self._migrator.kept_report(result)

    def _wait(self, job_id: int, caller: asyncio.Future[MigrationReport]) -> None:
        self._callers[job_id] = caller

        def forget(_: object) -> None:
            if self._callers.get(job_id) is caller:
                del self._callers[job_id]

        caller.add_done_callback(forget)

    # The runner's side ----------------------------------------------------------------

    async def plan(self, job: JobRow) -> None:
        """Nothing to write: the legacy database is read when the job runs."""

    def live_counts(self, job_id: int) -> ItemCounts | None:
        progress = self._migrator.progress
        if progress is None:
            return None
        return ItemCounts(
            total=progress.rows_total + progress.images_total,
            done=progress.rows_done + progress.images_done,
        )

    async def run(self, job: JobRow, control: Control) -> bool:
        try:
            report = await self._migrate_until_stopped(job, control)
            await self._keep(job.id, report)
        except BaseException as error:
            self._answer(job.id, error)
            raise
        if report is None:
            self._answer(job.id, JobStopped(job.id, _stopped_state(control)))
            return False
        self._answer(job.id, report)
        return True

    async def _migrate_until_stopped(self, job: JobRow, control: Control) -> MigrationReport | None:
        """Run Stage 1 on the job's paths; None when the job is asked to stop first."""
        run = asyncio.create_task(
            self._migrator.migrate(job.params["legacyDbPath"], job.params["legacyImagesDir"])
        )
        stop = asyncio.create_task(control.stopping.wait())
        told = self.live_counts(job.id)
        try:
            while not (run.done() or stop.done()):
                # Stage 1 counts as it goes; watchers hear of it at the runner's pace.
                await asyncio.wait(
                    {run, stop}, timeout=PROGRESS_INTERVAL, return_when=asyncio.FIRST_COMPLETED
                )
                if (counts := self.live_counts(job.id)) != told:
                    told = counts
                    control.notify()
        finally:
            stop.cancel()
        if not run.done():
            await self._migrator.close()  # stops it where the ledger lets the next run go on
            with contextlib.suppress(asyncio.CancelledError):
                await run
        return None if run.cancelled() else run.result()

    async def _keep(self, job_id: int, report: MigrationReport | None) -> None:
        """Keep how far the job went, and the report once there is one."""
        counts = self.live_counts(job_id)
        async with self._store.transaction() as conn:
            if counts is not None:
                await set_progress(conn, job_id, counts)
            if report is not None:
                await set_result(conn, job_id, report.summary())

    def _answer(self, job_id: int, answer: MigrationReport | BaseException) -> None:
        """Tell the caller waiting for this job, if one still is."""
        caller = self._callers.pop(job_id, None)
        if caller is None or caller.done():
            return
        if isinstance(answer, asyncio.CancelledError):  # the server is stopping
            caller.set_exception(JobStopped(job_id, "RUNNING"))
        elif isinstance(answer, BaseException):
            caller.set_exception(answer)
        else:
            caller.set_result(answer)


def _check(legacy_db_path: str, legacy_images_dir: str | None) -> None:
    """What can be refused before the job starts: the paths, and a database file that is
    not one (missing, not a regular file, no SQLite header). A SQLite file without the
    legacy tables is found out by the job, which then fails with that reason."""
    inputs = legacy_inputs(legacy_db_path, legacy_images_dir)
    check_legacy_db(inputs.db_path)


def _stopped_state(control: Control) -> str:
    """The state the job is left in: a shutdown leaves it RUNNING, to resume at start-up."""
    match control.request:
        case Request.CANCEL:
            return "CANCELLED"
        case Request.SHUTDOWN:
            return "RUNNING"
        case _:
            return "PAUSED"
