"""Reading files a user named: regular files only, read without blocking, copied sparsely.

A path a user gives can name anything: a named pipe (a plain open waits for a writer,
forever), a device (`/dev/zero` never ends), a folder, a file of `/proc` whose first read
fails. `open_regular` opens the path once, with `O_NONBLOCK` so that a pipe answers at once,
and asks `fstat` what it opened (no window between a check and the open in which the path
could change), refusing anything that is not a regular file.

Errors on the source are raised as `SourceError`, an `OSError` of the same errno, so that a
caller can tell "the user's file cannot be read" from "our copy cannot be written".

`copy_sparsely` copies a prefix of an open file, data extent by data extent
(`SEEK_DATA`/`SEEK_HOLE`), so a hole in the source costs the copy no disk and no time.

Blocking: run on the workers.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 1024 * 1024


class SourceError(OSError):
    """Reading the file the user named failed (as opposed to writing our copy of it)."""


class NotARegularFile(Exception):
    """The path names something other than a regular file: `kind` says what."""

    def __init__(self, path: Path, kind: str) -> None:
        super().__init__(f"{path} is {kind}, not a regular file.")
        self.path, self.kind = path, kind


@dataclass(frozen=True, slots=True)
class RegularFile:
    fd: int
    size: int  # as fstat told when it was opened


@contextmanager
def open_regular(path: Path) -> Iterator[RegularFile]:
    """Open `path` for reading if it is a regular file (after following symbolic links)."""
    with _as_source():
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        with _as_source():
            info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotARegularFile(path, _kind(info.st_mode))
        yield RegularFile(fd, info.st_size)
    finally:
        os.close(fd)


def read_at(source: RegularFile, offset: int, size: int) -> bytes:
    """Up to `size` bytes from `offset` (fewer at the end of the file)."""
    parts = []
    with _as_source():
        while size > 0:
            part = os.pread(source.fd, min(size, _CHUNK), offset)
            if not part:
                break
            parts.append(part)
            offset, size = offset + len(part), size - len(part)
    return b"".join(parts)


def read_all(source: RegularFile) -> bytes:
    """The whole file, to its end as it is now (it may have grown since it was opened)."""
    parts = []
    offset = 0
    with _as_source():
        while part := os.pread(source.fd, max(_CHUNK, source.size - offset), offset):
            parts.append(part)
            offset += len(part)
    return b"".join(parts)


def copy_sparsely(source: RegularFile, target: Path, length: int) -> None:
    """Write the first `length` bytes of `source` to the new file `target`, skipping holes
    (the target gets holes there). Stops early if the source is shorter than that."""
    with _as_source():
        length = min(length, os.fstat(source.fd).st_size)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        offset = 0
        while offset < length:
            data, hole = _next_extent(source, offset, length)
            if data >= length:
                break
            reached = _copy_range(source, fd, data, hole)
            if reached < hole:  # the source ended early
                length = reached
                break
            offset = hole
        os.ftruncate(fd, length)  # a trailing hole is a hole in the copy too
    finally:
        os.close(fd)


def _next_extent(source: RegularFile, offset: int, length: int) -> tuple[int, int]:
    """The next (start, end) of data at or after `offset`, within `length`; (length, length)
    when only holes are left."""
    try:
        data = os.lseek(source.fd, offset, os.SEEK_DATA)
    except OSError as error:
        if error.errno == errno.ENXIO:  # nothing but a hole to the end
            return length, length
        return offset, length  # holes unknown to this file system: all of it is data
    try:
        hole = os.lseek(source.fd, data, os.SEEK_HOLE)
    except OSError:
        hole = length
    return data, min(hole, length)


def _copy_range(source: RegularFile, fd: int, start: int, end: int) -> int:
    """Copy source bytes [start, end) to the same offsets of `fd`; return where it stopped."""
    offset = start
    while offset < end and hasattr(os, "copy_file_range"):  # in the kernel, no copy through us
        try:
            done = os.copy_file_range(source.fd, fd, end - offset, offset, offset)
        except OSError:  # another file system, an old kernel, or a failure to tell apart:
            break  # the plain loop does the rest, and says which side failed
        if done == 0:
            return offset
        offset += done
    return _read_and_write(source, fd, offset, end)


def _read_and_write(source: RegularFile, fd: int, start: int, end: int) -> int:
    offset = start
    while offset < end:
        data = read_at(source, offset, min(end - offset, _CHUNK))
        if not data:
            return offset
        written = 0
        while written < len(data):
            written += os.pwrite(fd, data[written:], offset + written)
        offset += len(data)
    return offset


@contextmanager
def _as_source() -> Iterator[None]:
    try:
        yield
    except SourceError:
        raise
    except OSError as error:
        raise SourceError(error.errno, error.strerror, error.filename) from error


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"
