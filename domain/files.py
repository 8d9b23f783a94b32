"""Writing files so that a reader, or a crash, never sees half of one.

Blocking: call these from the workers, never from the event loop.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

# Files that are not finished yet start with this; routes never match them and startup
# removes the ones a crash left behind.
TEMP_PREFIX = ".tmp-"


def temp_path_beside(final: Path) -> Path:
    """A fresh name in the same folder as `final`, so that a rename onto it is atomic."""
    return final.with_name(f"{TEMP_PREFIX}{uuid.uuid4().hex}-{final.name}")


def write_durably(path: Path, data: bytes) -> None:
    """Write `data` to `path` (a new, temporary name) and flush it to the disk."""
    with path.open("xb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def sync_folder(folder: Path) -> None:
    """Make the renames in `folder` durable: on POSIX a rename lives in the folder's entry."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
