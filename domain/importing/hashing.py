"""SHA-256 digests: the identity of every model file, and how model files are hashed.

Hashing a model file (up to tens of gigabytes) must run at the speed of SHA-256 itself, in
constant memory, off the event loop, and never twice for the same answer:
- The file is read in 4 MiB chunks into reused buffers (constant memory) and hashed with
  hashlib, which releases the GIL, on the hashing workers.
- When it is the only file being hashed, a second thread reads ahead into a spare buffer
  while the first hashes: the copy out of the page cache then costs no hashing time. When
  several files are hashed at once, every core is already hashing and each file is read
  inline (a reader thread would only take time from another hash).
- Two calls for the same file (same device, inode, size and mtime) share one computation.
- Afterwards the kernel is told the file's pages are no longer needed, so hashing a
  500 GB library does not flush everything else out of the page cache.
- A file that changes while it is hashed is reported, not given a wrong digest.
- A hash nobody waits for any more (a paused job) stops at its next chunk.
- Progress reaches the event loop at most every `PROGRESS_EVERY`, not once per chunk: at
  2 GB/s a chunk is 2 ms, and a wake-up of the loop per chunk and per file is a thousand a
  second that every query waits behind, for a figure shown four times a second.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.errors import InvalidSha256, ModelFileMissing, ModelFileUnreadable, quoted
from domain.workers import Workers

_SHA256 = re.compile(r"[0-9a-f]{64}")
CHUNK_BYTES = 4 * 1024 * 1024
PROGRESS_EVERY = 0.05  # seconds
_READ_AHEAD_BUFFERS = 3


def normalize_sha256(value: str) -> str:
    """Return the canonical form of a digest (trimmed, lower case) or raise `InvalidSha256`.

    Users paste digests from tools that print upper case or add spaces; the library stores
    only the canonical form, so every lookup goes through here."""
    candidate = value.strip().lower()
    if not _SHA256.fullmatch(candidate):
        raise InvalidSha256(
            f"{quoted(value)} is not a SHA-256 digest: expected 64 hexadecimal characters."
        )
    return candidate


@dataclass(frozen=True, slots=True)
class FileStamp:
    """What identifies one version of a file without reading it."""

    device: int
    inode: int
    size_bytes: int
    mtime_ns: int

    @classmethod
    def of(cls, stat: os.stat_result) -> FileStamp:
        return cls(stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


@dataclass(frozen=True, slots=True)
class FileDigest:
    sha256: str
    stamp: FileStamp


class HashAbandoned(Exception):
    """Nobody waits for this digest any more (every caller was cancelled): the hashing
    thread stops at its next chunk instead of reading the rest of a 20 GB file."""


Progress = Callable[[int], None]


@dataclass(slots=True)
class _Computation:
    """One file being hashed, shared by every caller that asked for it meanwhile."""

    future: asyncio.Future[FileDigest] | None = None
    waiters: int = 0
    abandoned: threading.Event = field(default_factory=threading.Event)
    listeners: list[Progress] = field(default_factory=list)


@dataclass(slots=True)
class _Tally:
    """Bytes read but not yet told, on one hashing thread: told at most every `every`
    seconds (the first chunk at once, so progress shows from the start)."""

    every: float
    untold: int = 0
    told_at: float = float("-inf")

    def add(self, size: int) -> int:
        """The bytes to tell now (0: not yet)."""
        self.untold += size
        now = time.monotonic()
        if now - self.told_at < self.every:
            return 0
        told, self.untold, self.told_at = self.untold, 0, now
        return told


class Hasher:
    """Hashes model files on its own workers; counts what it reads."""

    def __init__(self, workers: Workers) -> None:
        self._workers = workers
        self._in_flight: dict[FileStamp, _Computation] = {}
        self._active = 0
        self._lock = threading.Lock()
        self.bytes_read = 0

    async def stamp(self, path: str) -> FileStamp:
        """The file's identity now, or `ModelFileMissing` / `ModelFileUnreadable`."""
        return await self._workers.run(_stamp_of, path)

    async def digest(self, path: str, on_progress: Progress | None = None) -> FileDigest:
        """The SHA-256 of the file at `path`; a call for a file already being hashed waits
        for that computation instead of starting another. `on_progress` hears the bytes
        hashed as they go (on the event loop). Cancelling every caller abandons the hash
        within a chunk."""
        stamp = await self.stamp(path)
        computation = self._in_flight.get(stamp)
        if computation is None:
            computation = self._start(path, stamp)
        assert computation.future is not None
        computation.waiters += 1
        if on_progress is not None:
            computation.listeners.append(on_progress)
        try:
            return await asyncio.shield(computation.future)
        finally:
            computation.waiters -= 1
            if on_progress is not None:
                computation.listeners.remove(on_progress)
            if computation.waiters == 0 and not computation.future.done():
                computation.abandoned.set()
                self._forget(stamp, computation)

    def _start(self, path: str, stamp: FileStamp) -> _Computation:
        computation = _Computation()
        loop = asyncio.get_running_loop()

        def tell(size: int) -> None:  # on the event loop, where the listeners live
            for listener in list(computation.listeners):
                listener(size)

        tally = _Tally(PROGRESS_EVERY)

        def on_read(size: int) -> None:  # on the hashing thread, once per chunk
            if computation.abandoned.is_set():
                raise HashAbandoned(path)
            self._count(size)
            if computation.listeners and (told := tally.add(size)):
                loop.call_soon_threadsafe(tell, told)

        def settled(done: asyncio.Future[FileDigest]) -> None:
            # The thread is done with the tally: what it had not told yet is told now.
            if tally.untold and not done.cancelled() and done.exception() is None:
                tell(tally.untold)
            self._settled(stamp, computation, done)

        future = asyncio.ensure_future(self._workers.run(self._hash, path, stamp, on_read))
        future.add_done_callback(settled)
        computation.future = future
        self._in_flight[stamp] = computation
        return computation

    def _settled(
        self, stamp: FileStamp, computation: _Computation, future: asyncio.Future[FileDigest]
    ) -> None:
        self._forget(stamp, computation)
        if not future.cancelled():
            future.exception()  # an abandoned hash's error is nobody's: mark it retrieved

    def _forget(self, stamp: FileStamp, computation: _Computation) -> None:
        if self._in_flight.get(stamp) is computation:
            del self._in_flight[stamp]

    def _hash(self, path: str, expected: FileStamp, on_read: Progress) -> FileDigest:
        with self._lock:
            self._active += 1
        try:
            on_read(0)  # abandoned while it waited for a worker: do not even open the file
            return _hash_file(path, expected, read_ahead=self._alone, on_read=on_read)
        finally:
            with self._lock:
                self._active -= 1

    def _alone(self) -> bool:
        """Asked before every chunk: read ahead only while no other file is being hashed."""
        return self._active == 1

    def _count(self, size: int) -> None:
        with self._lock:
            self.bytes_read += size


def _stamp_of(path: str) -> FileStamp:
    try:
        stat = Path(path).stat()
    except (FileNotFoundError, NotADirectoryError):
        raise ModelFileMissing(path, f"The model file {path} does not exist.") from None
    except (OSError, ValueError) as error:
        raise ModelFileUnreadable(path, f"The model file {path} cannot be read: {error}.") from None
    if not Path(path).is_file():
        raise ModelFileUnreadable(path, f"{path} is not a regular file.")
    return FileStamp.of(stat)


def _hash_file(
    path: str,
    expected: FileStamp,
    *,
    read_ahead: Callable[[], bool],
    on_read: Callable[[int], None],
) -> FileDigest:
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ModelFileMissing(path, f"The model file {path} does not exist.") from None
    except OSError as error:
        raise ModelFileUnreadable(
            path, f"The model file {path} cannot be read: {error.strerror}."
        ) from None
    try:
        _advise(descriptor, "POSIX_FADV_SEQUENTIAL")
        sha = hashlib.sha256()
        if read_ahead():
            _hash_reading_ahead(sha, descriptor, read_ahead, on_read)
        _hash_inline(sha, descriptor, on_read)  # the rest, if reading ahead stopped early
        digest = sha.hexdigest()
        after = FileStamp.of(os.fstat(descriptor))
    except OSError as error:
        raise ModelFileUnreadable(path, f"Reading {path} failed: {error.strerror}.") from None
    finally:
        _advise(descriptor, "POSIX_FADV_DONTNEED")  # the pages are of no further use to us
        os.close(descriptor)
    if (after.size_bytes, after.mtime_ns) != (expected.size_bytes, expected.mtime_ns):
        raise ModelFileUnreadable(path, f"{path} changed while it was being hashed; try again.")
    return FileDigest(digest, after)


def _hash_inline(sha: Any, descriptor: int, on_read: Callable[[int], None]) -> None:
    """Read and hash on this thread, from the file's current position to its end."""
    buffer = bytearray(CHUNK_BYTES)
    view = memoryview(buffer)
    while size := os.readv(descriptor, [buffer]):
        sha.update(view[:size])
        on_read(size)


# What the reader hands the hashing thread: a filled buffer and its length, the error that
# stopped it, or None when it stopped early and the hashing thread reads the rest itself.
_Chunk = tuple[bytearray, int] | BaseException | None


def _hash_reading_ahead(
    sha: Any, descriptor: int, keep_going: Callable[[], bool], on_read: Callable[[int], None]
) -> None:
    """Hash on this thread while a reader thread fills the next buffers, as long as
    `keep_going()` says so; then leave the file's position where the reader stopped."""
    empty: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
    full: queue.SimpleQueue[_Chunk] = queue.SimpleQueue()
    for _ in range(_READ_AHEAD_BUFFERS):
        empty.put(bytearray(CHUNK_BYTES))

    def read() -> None:
        try:
            while keep_going():
                buffer = empty.get()
                size = os.readv(descriptor, [buffer]) if buffer else 0
                full.put((buffer, size))
                if size == 0:
                    return
            full.put(None)
        except BaseException as error:  # handed to the hashing thread, which raises it
            full.put(error)

    reader = threading.Thread(target=read, name="hash-read-ahead", daemon=True)
    reader.start()
    try:
        while (item := full.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            buffer, size = item
            if size == 0:
                return
            sha.update(memoryview(buffer)[:size])
            on_read(size)
            empty.put(buffer)
    finally:
        empty.put(bytearray(0))  # wake the reader if it still waits for a buffer
        reader.join()


def _advise(descriptor: int, advice: str) -> None:
    if hasattr(os, "posix_fadvise") and hasattr(os, advice):
        try:
            os.posix_fadvise(descriptor, 0, 0, getattr(os, advice))
        except OSError as error:
            if error.errno not in (errno.EINVAL, errno.ESPIPE, errno.ENOSYS):
                raise
