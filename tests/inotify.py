"""Which folders were listed while a block ran, as the kernel saw it (Linux inotify).

Opening a folder to read its entries is what listing it costs; inotify reports each such
open of a watched folder (`IN_OPEN` with `IN_ISDIR`, and no name: the folder itself). Looking
up one name in a folder (`stat`) opens nothing, so it is not reported.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

IN_OPEN = 0x00000020
IN_ISDIR = 0x40000000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len; then len bytes of name

needs_inotify = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="inotify is Linux's"
)


class Listings:
    """The watched folders that were opened for listing, in the order first seen."""

    def __init__(self) -> None:
        self.folders: list[Path] = []


@contextmanager
def folders_listed(folders: list[Path]) -> Iterator[Listings]:
    """Watch `folders`; when the block ends, the result holds those that were listed."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "inotify_init1 failed")
    watches: dict[int, Path] = {}
    listings = Listings()
    try:
        for folder in folders:
            wd = libc.inotify_add_watch(fd, os.fsencode(folder), IN_OPEN)
            if wd < 0:
                raise OSError(ctypes.get_errno(), f"inotify_add_watch failed for {folder}")
            watches[wd] = folder
        yield listings
        for wd, mask, name_length in _events(fd):
            watched = watches.get(wd)
            listed = mask & IN_ISDIR and name_length == 0
            if watched is not None and listed and watched not in listings.folders:
                listings.folders.append(watched)
    finally:
        os.close(fd)


def _events(fd: int) -> Iterator[tuple[int, int, int]]:
    while True:
        try:
            buffer = os.read(fd, 65536)
        except BlockingIOError:
            return
        offset = 0
        while offset < len(buffer):
            wd, mask, _, length = _EVENT.unpack_from(buffer, offset)
            yield wd, mask, length
            offset += _EVENT.size + length
