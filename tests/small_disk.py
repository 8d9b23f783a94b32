"""A real, small filesystem that the tests fill up: the kernel itself answers ENOSPC.

A tmpfs of a few MiB is mounted in the test's tmp dir (root may mount; CI runs as root),
the library's data dir is made on it, and a filler file takes the space the test wants
gone. Nothing is mocked: SQLite and our own writes meet the full disk as they would in use.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SIZE_MIB = 16


class SmallDisk:
    """A mounted tmpfs of `SIZE_MIB` MiB, with the library's data dir on it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data_dir = root / "data"
        self._filler = root / "filler"

    def free_bytes(self) -> int:
        stats = os.statvfs(self.root)
        return stats.f_bavail * stats.f_frsize

    def fill(self, leave: int = 0) -> None:
        """Take all the free space but `leave` bytes (rounded down to whole pages)."""
        self.free()
        size = self.free_bytes() - leave
        descriptor = os.open(self._filler, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.posix_fallocate(descriptor, 0, size)
        finally:
            os.close(descriptor)
        assert self.free_bytes() <= leave

    def free(self) -> None:
        """Give back the space `fill` took."""
        self._filler.unlink(missing_ok=True)


def mount_small_disk(mount_point: Path) -> SmallDisk:
    """Mount a fresh tmpfs at `mount_point`, or skip the test where mounting is not allowed."""
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root and mount(8)")
    mount_point.mkdir(parents=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE_MIB}m,mode=0700", "tmpfs", str(mount_point)],
        check=True,
        capture_output=True,
    )
    return SmallDisk(mount_point)


def unmount(disk: SmallDisk) -> None:
    """Unmount, lazily if something still holds a file there (a failed test's open database)."""
    result = subprocess.run(["umount", str(disk.root)], check=False, capture_output=True)
    if result.returncode != 0:
        subprocess.run(["umount", "--lazy", str(disk.root)], check=True, capture_output=True)
