"""Walking model folders: every file with a model file's name under them, with its size and
modification time, from one `stat` each; no file is opened.

The walk is iterative (a deep tree cannot exhaust the stack), sorted within each folder (a
resumed scan meets files in the same order), and follows symbolic links, to folders too:
model collections are often links into other drives. Every folder is walked once, known by
its device and inode, so two links to one folder cost one walk, and a link back into a
folder being walked is reported as a LOOP instead of being followed forever. Hidden folders
(`.git`, `.cache`, `.Trash-1000`) are skipped: what they hold is not a collection. Files that
are not regular files (FIFOs, devices, sockets) are never opened, not even stat-followed
into: a FIFO named `x.safetensors` would block whoever opened it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import NamedTuple

from domain.scanning.formats import is_model_name


class FoundFile(NamedTuple):
    """A tuple, not a dataclass: a walk makes one per file, and a tuple costs a third."""

    path: str  # absolute, under the root it was found from
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class WalkIssue:
    """Something the walk could not go through; it goes on with the rest."""

    path: str
    kind: str  # LOOP, UNREADABLE, VANISHED or MISSING_FOLDER
    message: str


Folder = tuple[int, int]  # (st_dev, st_ino)


def walk(roots: Sequence[Path]) -> Iterator[FoundFile | WalkIssue]:
    walked: set[Folder] = set()
    for root in roots:
        try:
            info = root.stat()
        except OSError as error:
            yield WalkIssue(
                str(root), "MISSING_FOLDER", f"The folder cannot be read: {error.strerror}."
            )
            continue
        if not stat.S_ISDIR(info.st_mode):
            yield WalkIssue(str(root), "MISSING_FOLDER", "This is not a folder.")
            continue
        key = (info.st_dev, info.st_ino)
        if key not in walked:  # a root under another root was walked with it
            walked.add(key)
            yield from _walk_from(str(root), key, walked)


def _walk_from(root: str, key: Folder, walked: set[Folder]) -> Iterator[FoundFile | WalkIssue]:
    stack: list[tuple[str, tuple[Folder, ...]]] = [(root, (key,))]
    while stack:
        folder, ancestors = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=_name)
        except OSError as error:
            yield WalkIssue(folder, "UNREADABLE", f"The folder cannot be listed: {error.strerror}.")
            continue
        below: list[tuple[str, tuple[Folder, ...]]] = []
        for entry in entries:
            if _is_folder(entry):
                if entry.name.startswith("."):
                    continue
                found = _folder(entry, ancestors, walked)
                if isinstance(found, WalkIssue):
                    yield found
                elif found is not None:
                    below.append((entry.path, (*ancestors, found)))
            elif is_model_name(entry.name):
                file = _file(entry)
                if file is not None:
                    yield file
        stack.extend(reversed(below))  # the first sub-folder is walked next


_name = attrgetter("name")


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # follows a link; no stat for a plain folder
    except OSError:
        return False


def _folder(
    entry: os.DirEntry[str], ancestors: tuple[Folder, ...], walked: set[Folder]
) -> Folder | WalkIssue | None:
    """The folder to walk, a LOOP, or None when it was walked already."""
    try:
        info = entry.stat()
    except OSError as error:
        return WalkIssue(entry.path, "VANISHED", f"The folder went away: {error.strerror}.")
    key = (info.st_dev, info.st_ino)
    if key in ancestors:
        return WalkIssue(
            entry.path, "LOOP", "A symbolic link back into a folder being walked: not followed."
        )
    if key in walked:
        return None
    walked.add(key)
    return key


def _file(entry: os.DirEntry[str]) -> FoundFile | WalkIssue | None:
    try:
        # Follows a link; for a plain file the listing's d_type answers, with no syscall. A
        # FIFO, a device or a socket is not a file: never a model file, never opened.
        if not entry.is_file():
            return None
        info = entry.stat()
    except FileNotFoundError:
        return WalkIssue(entry.path, "VANISHED", "The file went away while it was walked.")
    except OSError as error:
        return WalkIssue(entry.path, "UNREADABLE", f"The file cannot be read: {error.strerror}.")
    return FoundFile(entry.path, info.st_size, info.st_mtime_ns)
