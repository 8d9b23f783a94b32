"""The IMPORT_PENDING job: `importAModel` for many pending imports, as a pipeline.

Each item goes through `Promoter.import_a_model`, the very code of a manual import, with
its outcome written in the transaction that commits the import. Items run several at a
time (`concurrency`: as many as the hashing and the image workers can serve together), the
largest files first, so the hashing workers hash while the image workers encode the
galleries of files already hashed. The workers' own bounds keep each stage to its cores.

Conflicts without a strategy stay pending with their digest cached (the job lists them);
a missing or unreadable file, a path another model holds, or a pending import whose
legacy images are still owed, is a FAILED item, the pending import left as it was. An id
that is not (or no longer) a pending import is SKIPPED. A full disk stops the job, paused,
to be resumed once there is room.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from functools import partial
from typing import TypeVar

import aiosqlite

from domain.errors import DiskFull, PendingImportNotFound, UserError
from domain.importing.promotion import Conflict, ForJob, ImportAction, Imported, Promoter, Strategy
from domain.jobs.model import ItemCounts, JobItem, JobRow, Outcome
from domain.jobs.runner import Control
from domain.store import Store
from domain.store.jobs import pending_to_import, plan_items, record_outcome, unfinished_items

T = TypeVar("T")

_OUTCOMES = {
    ImportAction.CREATED: Outcome.CREATED,
    ImportAction.OVERRIDDEN: Outcome.OVERRIDDEN,
    ImportAction.MERGED: Outcome.MERGED,
    ImportAction.DELETED: Outcome.DELETED,
    ImportAction.MOVED: Outcome.MOVED,
}


class ImportPendingWork:
    def __init__(self, store: Store, promoter: Promoter, concurrency: int) -> None:
        self._store = store
        self._promoter = promoter
        self._concurrency = concurrency

    async def plan(self, job: JobRow) -> None:
        """The given pending ids, or every pending import there is now."""
        ids: list[int] | None = job.params.get("ids")
        async with self._store.transaction() as conn:
            found = await pending_to_import(conn, ids)
            known = {item for item, _, _ in found}
            unknown = [
                (item, f"There is no pending import with id {item}.")
                for item in dict.fromkeys(ids or ())
                if item not in known
            ]
            await plan_items(conn, job.id, found, unknown)

    def live_counts(self, job_id: int) -> ItemCounts | None:
        return None  # its items tell

    async def run(self, job: JobRow, control: Control) -> bool:
        items = await unfinished_items(self._store, job.id)
        strategy = None if job.params.get("strategy") is None else Strategy(job.params["strategy"])
        self._promoter.claim(job.id, [item.item for item in items])
        admitted = asyncio.Semaphore(self._concurrency)
        try:
            async with asyncio.TaskGroup() as group:
                for item in items:
                    await admitted.acquire()
                    if control.stopping.is_set():
                        break
                    task = self._import(job.id, item, strategy, control)
                    group.create_task(_releasing(admitted, task))
        except* DiskFull as full:
            raise full.exceptions[0] from None  # the job pauses on the first; one is enough
        finally:
            self._promoter.release(job.id)
        return not await unfinished_items(self._store, job.id)

    async def _import(
        self, job_id: int, item: JobItem, strategy: Strategy | None, control: Control
    ) -> None:
        control.begin(item.item, item.name, item.size_bytes)
        try:
            hooks = ForJob(
                job_id,
                record=partial(_record_imported, job_id, item.item),
                on_progress=partial(control.hashed, item.item),
                on_digest=partial(control.digest_known, item.item),
                on_writing=partial(control.writing, item.item),
            )
            work = self._promoter.import_a_model(item.item, strategy, hooks)
            try:
                result = await _unless_stopped_before_writing(work, item.item, control)
            except DiskFull:
                raise  # stops the whole job (paused): the next item would meet it too
            except PendingImportNotFound:
                await self._record(
                    job_id, item.item, Outcome.SKIPPED, "Imported or deleted meanwhile."
                )
                return
            except UserError as error:
                await self._record(job_id, item.item, Outcome.FAILED, str(error))
                return
            if isinstance(result, Conflict):
                message = f"The library has this file as {result.existing.name!r}."
                await self._record(job_id, item.item, Outcome.CONFLICT, message, result.sha256)
        finally:
            control.end(item.item)

    async def _record(
        self,
        job_id: int,
        item: int,
        outcome: Outcome,
        message: str | None = None,
        sha256: str | None = None,
    ) -> None:
        async with self._store.transaction() as conn:
            await record_outcome(conn, job_id, item, outcome, message, sha256)


async def _record_imported(
    job_id: int, item: int, conn: aiosqlite.Connection, imported: Imported
) -> None:
    problems = imported.image_problems
    message = (
        f"{len(problems)} pending image(s) left out: " + ", ".join(p.file_name for p in problems)
        if problems
        else None
    )
    await record_outcome(conn, job_id, item, _OUTCOMES[imported.action], message, imported.sha256)


async def _unless_stopped_before_writing(
    work: Awaitable[Imported | Conflict], item: int, control: Control
) -> Imported | Conflict | None:
    """The import's result; None when the job was told to stop before the item began
    writing it (a hash or an encoding is abandoned, the item stays to do). An item writing
    its result finishes: that takes milliseconds, and cutting it short gains nothing."""
    task = asyncio.ensure_future(work)
    stop = asyncio.ensure_future(control.stopping.wait())
    try:
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done() and not control.is_writing(item):
            task.cancel()
            await asyncio.wait({task})  # let it wind down; a cancel of our own still raises
            if task.cancelled():
                return None
        return await task
    finally:
        stop.cancel()


async def _releasing(admitted: asyncio.Semaphore, work: Awaitable[T]) -> T:
    try:
        return await work
    finally:
        admitted.release()
