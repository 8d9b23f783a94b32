"""The SCAN job: new files come in (`scanFolders`).

A scan walks its folders (`domain.scanning.walk`) on a thread of its own and compares what
it sees with what the library knows under them:
- a model file the library does not know by path becomes a pending import: its name from
  the file name, its type from the ComfyUI or A1111 folder it sits in (`unknown` when none
  says), its size, and what its header says (`domain.scanning.headers`: kept in its meta
  under `fileHeader`, the base model as a column). It is the job's item, FOUND, or to
  import when the scan was asked to (`importFound`): the job then imports them as
  `importPending` does, where a file whose digest is that of a model whose file is missing
  moves the model there (MOVED);
- a known file costs its one `stat`, never an open: its status is PRESENT or CHANGED;
- a known file under the folders that the walk did not see is MISSING.
Files whose first bytes are not what their name says, folders that cannot be read,
symbolic-link loops and paths that are not valid UTF-8 are listed as issues; none stops the
scan.

Durable by construction: each batch of found files is written in one transaction with its
items, so a scan cut short (a pause, a kill) starts its walk again and finds only what it
had not written (those cost a `stat`). The statuses and the report are written once the
walk is over; the report (`result`) also marks the walk done, so a resumed scan that was
importing goes straight on with its items.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from domain.errors import InvalidPath
from domain.filesystem.user_paths import is_folder, quote, user_path
from domain.jobs.import_pending import ImportPendingWork
from domain.jobs.model import ItemCounts, Job, JobKind, JobRow, Outcome
from domain.jobs.runner import Control, JobRunner
from domain.records import FileStatus, JsonObject, PendingImport
from domain.scanning.headers import FileFacts, read_facts
from domain.scanning.layout import type_of_path
from domain.scanning.walk import FoundFile, WalkIssue, walk
from domain.store import Store
from domain.store.files import (
    KnownFile,
    Refusal,
    add_found,
    files_under,
    forget_refusals,
    keep_refusals,
    refusals_under,
    set_statuses,
)
from domain.store.jobs import set_result
from domain.workers import Workers

MAX_FOLDERS = 100  # one scan's folders; a library has a handful of model folders
MAX_ISSUES_KEPT = 1_000  # listed in the report; all are counted
BATCH_FILES = 2_000  # found files written per transaction
BATCH_SECONDS = 0.2  # …or sooner, so progress shows on a slow disk
DEFAULT_TYPE = "unknown"  # when no folder of the path names the type
HEADER_KEY = "fileHeader"  # where a found file's header metadata goes in its meta


@dataclass(frozen=True, slots=True)
class ScanIssue:
    path: str
    kind: str  # LOOP, UNREADABLE, VANISHED, NOT_A_MODEL, BAD_HEADER, NOT_UTF8, …
    message: str


@dataclass(slots=True)
class ScanReport:
    """What one scan saw; kept as the job's result."""

    files_seen: int = 0  # model files (by name) under the folders
    found: int = 0  # new pending imports
    known: int = 0  # already in the library by path
    changed: int = 0
    missing: int = 0
    issue_count: int = 0
    issues: list[ScanIssue] = field(default_factory=list)

    def note(self, issue: ScanIssue) -> None:
        self.issue_count += 1
        if len(self.issues) < MAX_ISSUES_KEPT:
            self.issues.append(issue)

    def summary(self) -> JsonObject:
        return asdict(self)

    @classmethod
    def kept(cls, result: JsonObject) -> ScanReport:
        issues = [ScanIssue(**issue) for issue in result.get("issues", [])]
        return cls(**{**result, "issues": issues})


@dataclass(frozen=True, slots=True)
class _New:
    """A model file the library did not know, with what its first bytes say."""

    file: FoundFile
    facts: FileFacts


@dataclass(frozen=True, slots=True)
class _Refused:
    """A file an earlier scan found not to be a model file, unchanged since: not opened."""

    file: FoundFile
    refusal: Refusal


@dataclass(frozen=True, slots=True)
class _Status:
    """A known file whose status is not the one the library holds."""

    file: KnownFile
    status: FileStatus


@dataclass(slots=True)
class _Tally:
    """What the walker's thread counts of the files it met (read once the walk is over)."""

    files_seen: int = 0
    known: int = 0
    changed: int = 0
    met: set[str] = field(default_factory=set)  # the known paths it met


_Seen = WalkIssue | _New | _Refused | _Status


class ScanWork:
    def __init__(
        self,
        store: Store,
        runner: JobRunner,
        importer: ImportPendingWork,
        workers: Workers,
        walker: Workers,
    ) -> None:
        self._store = store
        self._runner = runner
        self._importer = importer
        self._workers = workers  # for checking the folders asked for
        # The walk holds its thread for the whole scan: a pool of its own, so it never takes
        # a worker that hashing or image encoding is waiting for.
        self._walker = walker

    async def start(self, paths: Sequence[str], import_found: bool) -> Job:
        """Check the folders, then submit the job. A refused folder never becomes a job."""
        folders = await self._workers.run(_folders, paths)
        return await self._runner.submit(
            JobKind.SCAN, {"paths": folders, "importFound": import_found}
        )

    # The runner's side ----------------------------------------------------------------

    async def plan(self, job: JobRow) -> None:
        """Nothing to plan: the walk writes its items as it finds them."""

    def live_counts(self, job_id: int) -> ItemCounts | None:
        return None  # its items tell

    async def run(self, job: JobRow, control: Control) -> bool:
        if job.result is None:
            report = await self._walk(job, control)
            if report is None:
                return False
            async with self._store.transaction() as conn:
                await set_result(conn, job.id, report.summary())
        if job.params.get("importFound"):
            return await self._importer.run(job, control)
        return True

    async def _walk(self, job: JobRow, control: Control) -> ScanReport | None:
        """Walk the folders, writing what is new; None when told to stop first."""
        folders: list[str] = job.params["paths"]
        known = await files_under(self._store, folders)
        refused = await refusals_under(self._store, folders)
        report, tally = ScanReport(), _Tally()
        statuses: dict[str, FileStatus] = {}
        refusals_seen: set[str] = set()
        outcome = None if job.params.get("importFound") else Outcome.FOUND
        stop, now = threading.Event(), datetime.now(UTC)
        batches: asyncio.Queue[list[_Seen] | BaseException | None] = asyncio.Queue(maxsize=4)
        loop = asyncio.get_running_loop()

        def hand_over(batch: list[_Seen] | BaseException | None) -> None:
            asyncio.run_coroutine_threadsafe(batches.put(batch), loop).result()

        walking = asyncio.ensure_future(
            self._walker.run(_produce, _Scope(folders, known, refused, tally), stop, hand_over)
        )
        try:
            while (batch := await _next(batches, control)) is not None:
                if isinstance(batch, BaseException):
                    raise batch
                found, refusals = _take(batch, statuses, refusals_seen, report, now)
                if found or refusals:
                    async with self._store.transaction() as conn:
                        await add_found(conn, job.id, found, outcome)
                        await keep_refusals(conn, refusals)
                    control.notify()
            if control.stopping.is_set():
                return None
        finally:
            stop.set()
            while not walking.done():  # unblock a producer waiting to hand a batch over
                with contextlib.suppress(asyncio.QueueEmpty):
                    batches.get_nowait()
                await asyncio.sleep(0.01)
        unseen = [file for path, file in known.items() if path not in tally.met]
        again = await self._walker.run(_look_again, unseen)
        statuses |= again
        report.files_seen += tally.files_seen
        report.known = tally.known
        report.missing = sum(status is FileStatus.MISSING for status in again.values())
        report.changed = tally.changed + sum(s is FileStatus.CHANGED for s in again.values())
        changes = [(known[path], status) for path, status in statuses.items()]
        async with self._store.transaction() as conn:
            await set_statuses(conn, [(f, s) for f, s in changes if f.status is not s])
            await forget_refusals(conn, set(refused) - refusals_seen)  # gone, or models now
        return report


def _look_again(files: list[KnownFile]) -> dict[str, FileStatus]:
    """The status of known files the walk did not meet: gone, most of the time, but a
    model may also sit in a hidden folder, or under a name without a model extension."""
    statuses = {}
    for file in files:
        try:
            stat = Path(file.path).stat()
        except OSError:
            statuses[file.path] = FileStatus.MISSING
        else:
            statuses[file.path] = file.status_now(stat.st_size, stat.st_mtime_ns)
    return statuses


def _folders(paths: Sequence[str]) -> list[str]:
    """The folders a scan may walk, absolute, each once; refused with `InvalidPath`."""
    if not paths:
        raise InvalidPath("Name at least one folder to scan.")
    if len(paths) > MAX_FOLDERS:
        raise InvalidPath(f"A scan walks at most {MAX_FOLDERS} folders at once.")
    folders: list[str] = []
    for text in paths:
        folder = user_path(text, "The folder")
        if not is_folder(folder):
            raise InvalidPath(f"The folder {quote(text)} does not exist or is not a folder.")
        folders.append(str(folder))
    return list(dict.fromkeys(folders))


@dataclass(frozen=True, slots=True)
class _Scope:
    """What the walker's thread is given: the folders, what the library knows under them
    (read only), and the tally it keeps."""

    folders: list[str]
    known: dict[str, KnownFile]
    refused: dict[str, Refusal]
    tally: _Tally


def _produce(
    scope: _Scope,
    stop: threading.Event,
    hand_over: Callable[[list[_Seen] | BaseException | None], None],
) -> None:
    """On the walker's thread: walk, read the header of every file not known, and hand
    what was seen over in batches; None at the end (or the error that ended it)."""
    try:
        for batch in _batches(_seen(scope), stop):
            hand_over(batch)
        hand_over(None)
    except Exception as error:  # told to the loop, which raises it there
        hand_over(error)


def _seen(scope: _Scope) -> Iterator[_Seen]:
    """What the walk meets that the loop must act on. A known file is compared here, on the
    walker's thread, and only a changed status goes further; only a file never seen before
    (or changed since it was found not to be a model) is opened."""
    known, refused, tally = scope.known, scope.refused, scope.tally
    for seen in walk([Path(folder) for folder in scope.folders]):
        if isinstance(seen, WalkIssue):
            yield seen
            continue
        tally.files_seen += 1
        file = known.get(seen.path)
        if file is not None:
            tally.known += 1
            tally.met.add(seen.path)
            status = file.status_now(seen.size, seen.mtime_ns)
            tally.changed += status is FileStatus.CHANGED
            if status is not file.status:
                yield _Status(file, status)
        elif not _is_utf8(seen.path):
            message = "The path is not valid UTF-8; rename the file to import it."
            yield WalkIssue(_printable(seen.path), "NOT_UTF8", message)
        elif (refusal := refused.get(seen.path)) is not None and (
            refusal.size_bytes,
            refusal.mtime_ns,
        ) == (seen.size, seen.mtime_ns):
            yield _Refused(seen, refusal)
        else:
            yield _New(seen, read_facts(seen.path, seen.size))


def _batches(seen: Iterator[_Seen], stop: threading.Event) -> Iterator[list[_Seen]]:
    batch: list[_Seen] = []
    due = time.monotonic() + BATCH_SECONDS
    for item in seen:
        if stop.is_set():
            return
        batch.append(item)
        if len(batch) >= BATCH_FILES or time.monotonic() >= due:
            yield batch
            batch, due = [], time.monotonic() + BATCH_SECONDS
    if batch:
        yield batch


async def _next(
    batches: asyncio.Queue[list[_Seen] | BaseException | None], control: Control
) -> list[_Seen] | BaseException | None:
    """The next batch, or None once the walk is over or the job is told to stop."""
    if control.stopping.is_set():
        return None
    take = asyncio.ensure_future(batches.get())
    stopping = asyncio.ensure_future(control.stopping.wait())
    try:
        await asyncio.wait({take, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if not take.done():
        take.cancel()
        return None
    return take.result()


def _take(
    batch: list[_Seen],
    statuses: dict[str, FileStatus],
    refusals_seen: set[str],
    report: ScanReport,
    now: datetime,
) -> tuple[list[PendingImport], list[Refusal]]:
    """Account for one batch: changed statuses, issues, and what to write: pending imports
    for the new model files, refusals for the files that are not models."""
    found: list[PendingImport] = []
    refusals: list[Refusal] = []
    for seen in batch:
        match seen:
            case WalkIssue():
                report.note(ScanIssue(seen.path, seen.kind, seen.message))
            case _Status():
                statuses[seen.file.path] = seen.status
            case _Refused():
                refusals_seen.add(seen.file.path)
                report.note(ScanIssue(seen.file.path, "NOT_A_MODEL", seen.refusal.message))
            case _New(file=file, facts=facts) if facts.format is None:
                message = facts.problem or "Not a model file."
                refusals.append(Refusal(file.path, file.size, file.mtime_ns, message))
                refusals_seen.add(file.path)
                report.note(ScanIssue(file.path, "NOT_A_MODEL", message))
            case _New(file=file, facts=facts):
                report.found += 1
                if facts.problem is not None:
                    report.note(ScanIssue(file.path, "BAD_HEADER", facts.problem))
                found.append(_pending(file, facts, now))
    return found, refusals


def _pending(file: FoundFile, facts: FileFacts, now: datetime) -> PendingImport:
    """The pending import a new model file becomes."""
    name = file.path.rpartition("/")[2]
    meta: JsonObject = {}
    if facts.metadata:
        header: JsonObject = {"format": facts.format, "metadata": facts.metadata}
        if facts.omitted:
            header["omitted"] = list(facts.omitted)  # too large to keep
        meta[HEADER_KEY] = header
    return PendingImport(
        id=0,  # numbered as it is written
        path=file.path,
        name=_one_line(name.rpartition(".")[0] or name),
        type=type_of_path(file.path) or DEFAULT_TYPE,
        size_bytes=file.size,
        created_at=now,
        meta=meta,
        sha256=None,
        file_status=FileStatus.PRESENT,
        base_model=facts.base_model,
    )


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # os.scandir hands undecodable bytes over as surrogates
        return False
    return True


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _one_line(text: str) -> str:
    """A file name as a display name: control characters (a newline is legal in a file
    name) become spaces."""
    if text.isprintable():
        return text
    return "".join(" " if ord(char) < 32 or ord(char) == 127 else char for char in text)
