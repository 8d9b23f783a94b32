"""Running jobs one at a time, durably, under the control of any client.

A job's state lives in its row, so every client sees the same job and a restart resumes
it: a job that was RUNNING when the process died runs again at start-up (its finished
items stay finished; see `domain.store.jobs`), a PAUSED one waits for `resume`.

One job runs at a time, in id order; a job submitted while another runs is QUEUED behind
it. Jobs share the hashing and image workers, and two of them at once would only take
turns on the same cores (and on the same pending imports).

Pausing or cancelling asks the running work to stop (`Control.stopping`): it abandons the
items still hashing or encoding their pictures (their work starts again on resume; a digest
already computed is cached on the pending row, so only the pictures are encoded again) and
lets the ones already writing their result finish, which takes milliseconds. A picture
being encoded cannot be interrupted on its worker thread: its result is dropped when it
comes, and the worker is busy until then, so a resume right after a pause may start a
little slower. A shutdown stops the work the same
way but leaves the row RUNNING, so the next start resumes it.

Watchers (the `job` subscription) hear of every change of state at once, and of progress
at most `PROGRESS_INTERVAL` apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import partial
from typing import Protocol

from domain.errors import DiskFull, JobFinished, JobNotFound, UserError
from domain.jobs.model import InFlight, ItemCounts, Job, JobKind, JobRow, JobState
from domain.pagination import Page
from domain.records import JsonObject
from domain.store import Store
from domain.store.jobs import (
    get_job_row,
    insert_job,
    item_counts,
    jobs_page_request,
    page_jobs,
    runnable_job,
    set_state,
)

logger = logging.getLogger("modelshelf.jobs")

PROGRESS_INTERVAL = 0.25  # seconds: about four updates a second
STOP_TIMEOUT = 30.0
UNWRITTEN_RETRY_SECONDS = 1.0  # how long pause, cancel or shutdown wait for the work to wind down


class Request(Enum):
    """Why the running work is asked to stop."""

    PAUSE = "pause"
    CANCEL = "cancel"
    SHUTDOWN = "shutdown"


@dataclass(slots=True)
class _Flight:
    name: str
    size_bytes: int | None
    bytes_hashed: int = 0
    hashing: bool = True
    writing: bool = False


@dataclass(slots=True)
class Control:
    """What the running work is told (stop), and what it tells (its items in flight)."""

    notify: Callable[[], None]
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    request: Request | None = None
    flights: dict[int, _Flight] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    bytes_at_start: int = 0

    def stop(self, request: Request) -> None:
        self.request = request
        self.stopping.set()

    def begin(self, item: int, name: str, size_bytes: int | None) -> None:
        self.flights[item] = _Flight(name, size_bytes)
        self.notify()

    def hashed(self, item: int, size: int) -> None:
        self.flights[item].bytes_hashed += size
        self.notify()

    def digest_known(self, item: int) -> None:
        self.flights[item].hashing = False
        self.notify()

    def writing(self, item: int) -> None:
        self.flights[item].writing = True

    def is_writing(self, item: int) -> bool:
        return self.flights[item].writing

    def end(self, item: int) -> None:
        del self.flights[item]
        self.notify()


class Work(Protocol):
    """One kind of job's work."""

    async def plan(self, job: JobRow) -> None:
        """Write the job's items, once, when it first starts."""

    async def run(self, job: JobRow, control: Control) -> bool:
        """Do the items still to do; stop early when `control.stopping` is set. True when
        nothing is left to do."""

    def live_counts(self, job_id: int) -> ItemCounts | None:
        """How far the running job is, for work that is not made of items (None: count its
        items)."""


@dataclass(slots=True)
class _Running:
    job_id: int
    control: Control
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class JobRunner:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._works: dict[JobKind, Work] = {}
        self._control = asyncio.Lock()  # state changes by clients and by the runner itself
        self._running: _Running | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._watchers: dict[int, set[asyncio.Queue[JobState | None]]] = {}
        self._unwritten: dict[int, tuple[JobState, str | None]] = {}  # see `_settle`
        self._retries: set[asyncio.Task[None]] = set()

    def register(self, kind: JobKind, work: Work) -> None:
        self._works[kind] = work

    def start(self) -> None:
        """Run what was left running or queued (at start-up), and whatever comes next."""
        self._kick()

    async def close(self) -> None:
        """Stop the running work at shutdown, leaving its row RUNNING for the next start."""
        running = self._running
        if running is not None:
            running.control.stop(Request.SHUTDOWN)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(running.ended.wait(), STOP_TIMEOUT)
        for retry in list(self._retries):
            retry.cancel()
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task

    async def submit(
        self,
        kind: JobKind,
        params: JsonObject,
        on_created: Callable[[int], None] | None = None,
    ) -> Job:
        """Queue a new job; it starts at once when no other runs. `on_created` hears its id
        before it can start (a caller that waits for its end registers there)."""
        async with self._store.transaction() as conn:
            job_id = await insert_job(conn, kind, params)
        if on_created is not None:
            on_created(job_id)
        self._kick()
        return await self._require(job_id)

    # Reading ---------------------------------------------------------------------------

    async def job(self, job_id: int) -> Job | None:
        row = await get_job_row(self._store, job_id)
        return None if row is None else (await self._progress([row]))[0]

    async def jobs(self, first: int | None, after: str | None) -> Page[Job]:
        page = await page_jobs(self._store, jobs_page_request(first, after))
        return Page(
            items=await self._progress(page.items),
            cursors=page.cursors,
            total_count=page.total_count,
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
        )

    async def settled(self, job_id: int) -> None:
        """Wait until the job is not running, its row telling how its run ended."""
        running = self._running
        if running is not None and running.job_id == job_id:
            await running.ended.wait()

    # Control ---------------------------------------------------------------------------

    async def pause(self, job_id: int) -> Job:
        return await self._stop(job_id, Request.PAUSE, JobState.PAUSED)

    async def cancel(self, job_id: int) -> Job:
        return await self._stop(job_id, Request.CANCEL, JobState.CANCELLED)

    async def resume(self, job_id: int) -> Job:
        async with self._control:
            row = await self._unfinished(job_id)
            if row.state is JobState.PAUSED:
                await self._set(job_id, JobState.QUEUED)
        self._kick()
        return await self._require(job_id)

    async def _stop(self, job_id: int, request: Request, state: JobState) -> Job:
        async with self._control:
            row = await self._unfinished(job_id)
            running = self._running if self._running and self._running.job_id == job_id else None
            if running is not None:
                running.control.stop(request)
            elif row.state is not state and not (
                row.state is JobState.PAUSED and state is JobState.PAUSED
            ):
                await self._set(job_id, state)
        if running is not None:
            await asyncio.wait_for(running.ended.wait(), STOP_TIMEOUT)
        return await self._require(job_id)

    # Watching --------------------------------------------------------------------------

    async def watch(self, job_id: int) -> AsyncIterator[Job]:
        """The job now, then at each change of state and at most every
        `PROGRESS_INTERVAL` while it progresses; ends once the job has ended."""
        changes: asyncio.Queue[JobState | None] = asyncio.Queue()
        self._watchers.setdefault(job_id, set()).add(changes)
        try:
            job = await self._require(job_id)
            yield job
            while not job.row.state.finished:
                states = await _next_changes(changes)
                current = await self._require(job_id)
                for state in states[:-1]:  # each state it passed through, in order
                    yield _in_state(current, state)
                job = _in_state(current, states[-1]) if states else current
                yield job
        finally:
            self._watchers[job_id].discard(changes)
            if not self._watchers[job_id]:
                del self._watchers[job_id]

    # The loop ------------------------------------------------------------------------

    def _kick(self) -> None:
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = asyncio.create_task(self._run_queue())

    async def _run_queue(self) -> None:
        while True:
            async with self._control:
                row = await runnable_job(self._store, exclude=set(self._unwritten))
                if row is None:
                    return
                try:
                    await self._set(row.id, JobState.RUNNING)
                except DiskFull as full:  # not even its state fits: it waits, paused
                    await self._settle(row.id, JobState.PAUSED, str(full))
                    continue
                running = self._running = _Running(row.id, Control(partial(self._tell, row.id)))
            final, error = JobState.PAUSED, None
            try:
                final, error = await self._work_on(row, running.control)
            finally:
                try:
                    async with self._control:
                        if running.control.request is not Request.SHUTDOWN:
                            await self._settle(row.id, final, error)
                finally:  # even when the state could not be written: never a wedged runner
                    self._running = None
                    running.ended.set()
            if running.control.request is Request.SHUTDOWN:
                return

    async def _work_on(self, row: JobRow, control: Control) -> tuple[JobState, str | None]:
        """Run a job's work and say which state it ends in."""
        work = self._works[row.kind]
        try:
            if not row.planned:
                await work.plan(row)
            control.bytes_at_start = (await self._progress([row]))[0].counts.bytes_done
            control.started = time.monotonic()
            finished = await work.run(row, control)
        except DiskFull as error:  # resumable once there is room
            logger.warning("Job %s paused: %s", row.id, error)
            return JobState.PAUSED, str(error)
        except UserError as error:  # the job cannot be done as asked (a refused input)
            return JobState.FAILED, str(error)
        except Exception as error:
            logger.exception("Job %s failed", row.id)
            return JobState.FAILED, f"Internal error: {type(error).__name__}."
        if finished:
            return JobState.COMPLETED, None
        return JobState.CANCELLED if control.request is Request.CANCEL else JobState.PAUSED, None

    # Helpers -------------------------------------------------------------------------

    async def _set(self, job_id: int, state: JobState, error: str | None = None) -> None:
        async with self._store.transaction() as conn:
            await set_state(conn, job_id, state, error)
        self._unwritten.pop(job_id, None)
        self._tell(job_id, state)

    async def _settle(self, job_id: int, state: JobState, error: str | None) -> None:
        """Write the state a run ended in. When the disk is too full even for that, the
        state holds in memory (what clients see) and is written as soon as there is room."""
        try:
            await self._set(job_id, state, error)
        except DiskFull as full:
            self._unwritten[job_id] = (state, error or str(full))
            self._tell(job_id, state)
            retry = asyncio.create_task(self._write_later(job_id))
            self._retries.add(retry)
            retry.add_done_callback(self._retries.discard)

    async def _write_later(self, job_id: int) -> None:
        while job_id in self._unwritten:
            await asyncio.sleep(UNWRITTEN_RETRY_SECONDS)
            async with self._control:
                if job_id in self._unwritten:
                    with contextlib.suppress(DiskFull):
                        await self._set(job_id, *self._unwritten[job_id])

    def _tell(self, job_id: int, state: JobState | None = None) -> None:
        for changes in self._watchers.get(job_id, ()):
            changes.put_nowait(state)

    async def _unfinished(self, job_id: int) -> JobRow:
        row = await get_job_row(self._store, job_id)
        if row is None:
            raise JobNotFound(job_id)
        row = self._as_known(row)
        if row.state.finished:
            raise JobFinished(job_id, row.state.value)
        return row

    async def _require(self, job_id: int) -> Job:
        job = await self.job(job_id)
        if job is None:
            raise JobNotFound(job_id)
        return job

    async def _progress(self, rows: list[JobRow]) -> list[Job]:
        rows = [self._as_known(row) for row in rows]
        counts = await item_counts(self._store, [row.id for row in rows])
        return [self._with_live(row, counts[row.id]) for row in rows]

    def _as_known(self, row: JobRow) -> JobRow:
        """The row, with a state the disk had no room for yet."""
        unwritten = self._unwritten.get(row.id)
        return row if unwritten is None else replace(row, state=unwritten[0], error=unwritten[1])

    def _with_live(self, row: JobRow, counts: ItemCounts) -> Job:
        running = self._running
        if running is None or running.job_id != row.id:
            return Job(row, row.progress or counts, (), 0, None)
        counts = self._works[row.kind].live_counts(row.id) or row.progress or counts
        control = running.control
        flights = tuple(
            InFlight(item, f.name, f.size_bytes, f.bytes_hashed, f.hashing)
            for item, f in control.flights.items()
        )
        in_flight = sum(f.bytes_hashed for f in flights)
        return Job(row, counts, flights, in_flight, _seconds_left(counts, in_flight, control))


def _in_state(job: Job, state: JobState) -> Job:
    return replace(job, row=replace(job.row, state=state))


def _seconds_left(counts: ItemCounts, in_flight: int, control: Control) -> float | None:
    """From the pace of this run so far: bytes where the items have sizes, else items."""
    elapsed = time.monotonic() - control.started
    if elapsed < 1.0:
        return None
    if counts.bytes_total:
        done = counts.bytes_done + in_flight - control.bytes_at_start
        left = counts.bytes_total - counts.bytes_done - in_flight
    else:
        done, left = counts.done, counts.total - counts.done
    return None if done <= 0 else max(0.0, left * elapsed / done)


async def _next_changes(changes: asyncio.Queue[JobState | None]) -> list[JobState]:
    """Wait for a change; for progress, wait out the interval (collecting what else
    comes). The states passed through meanwhile, in order."""
    states: list[JobState] = []
    first = await changes.get()
    if first is not None:
        states.append(first)
    else:
        deadline = time.monotonic() + PROGRESS_INTERVAL
        while not states and (wait := deadline - time.monotonic()) > 0:
            try:
                change = await asyncio.wait_for(changes.get(), wait)
            except TimeoutError:
                break
            if change is not None:
                states.append(change)
    while not changes.empty():
        change = changes.get_nowait()
        if change is not None:
            states.append(change)
    return states
