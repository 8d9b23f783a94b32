"""Writing files so that a reader, or a crash, never sees half of one.

Every file the library writes goes through these helpers, so two rules hold everywhere:
a write that fails removes its own temporary file (none waits for the next start), and a
disk with no room left (ENOSPC, or EDQUOT for a user over quota) is `DiskFull`, an error
the user can act on, naming the folder and the bytes that did not fit.

Blocking: call these from the workers, never from the event loop.
"""

from __future__ import annotations

import errno
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from domain.errors import DiskFull

# Files that are not finished yet start with this; routes never match them and startup
# removes the ones a crash left behind.
TEMP_PREFIX = ".tmp-"

_OUT_OF_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


def temp_path_beside(final: Path) -> Path:
    """A fresh name in the same folder as `final`, so that a rename onto it is atomic."""
    return final.with_name(f"{TEMP_PREFIX}{uuid.uuid4().hex}-{final.name}")


def write_durably(path: Path, data: bytes) -> None:
    """Write `data` to `path` (a new, temporary name) and flush it to the disk. If that
    fails the file is removed again: a failed write leaves nothing behind."""
    with disk_full_is_typed(path.parent, len(data)):
        file = path.open("xb")
        try:
            with file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
        except BaseException:
            path.unlink(missing_ok=True)
            raise


def write_into_place(target: Path, data: bytes) -> None:
    """Make `target` hold `data`, all of it or (after a failure or a crash) what it held
    before: written under a temporary name, flushed, then renamed onto `target`."""
    temp = temp_path_beside(target)
    write_durably(temp, data)
    try:
        place(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def place(temp: Path, final: Path) -> None:
    """Rename a finished temporary file onto its final name (atomic, same folder)."""
    with disk_full_is_typed(final.parent, None):  # a folder may need a block for the name
        temp.replace(final)


def link_beside(source: Path, final: Path) -> Path:
    """A hard link to `source` under a fresh temporary name beside `final`: the same bytes
    under a second name, without copying them."""
    temp = temp_path_beside(final)
    with disk_full_is_typed(final.parent, None):
        os.link(source, temp)
    return temp


def sync_folder(folder: Path) -> None:
    """Make the renames in `folder` durable: on POSIX a rename lives in the folder's entry."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def disk_full_is_typed(folder: Path, bytes_needed: int | None) -> Iterator[None]:
    """Turn the kernel's "no space" (ENOSPC, EDQUOT) inside the block into `DiskFull`:
    out of space is not a bug, and the user is the one who can free space."""
    try:
        yield
    except OSError as error:
        if error.errno not in _OUT_OF_SPACE:
            raise
        quota = error.errno == errno.EDQUOT
        raise DiskFull(str(folder), bytes_needed, quota=quota) from error
