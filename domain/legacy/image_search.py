"""Finding image files by name below a folder, reading as little of the disk as it can.

The rules: a name is matched exactly first, else ignoring case; the same name in two
folders: the first in sorted order (a folder's files before its subfolders, subfolders by
name, as a top-down `os.walk` with sorted names visits them). Symbolic links to folders
are not followed.

1. Each name is looked up directly in the folder, one `stat` each. The legacy app keeps
   every image flat in its images folder, so this finds nearly all of them, whatever the
   folder's size, without listing it.
2. Only names not found so are searched for below it, depth first in that sorted order,
   and the search stops as soon as every one of them has an exact match. It is bounded,
   because the folder is the user's to choose: given `/` or a home folder by mistake, an
   unbounded search walks the whole disk (tens of seconds, tens of megabytes) for a name
   that is nowhere. The bounds sit far above any legacy library's layout; the result says
   when one cut the search short with names still not found.

Nothing is read when no name is asked for. Blocking: run on the workers.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# How many folder levels below the images folder are searched. The legacy app writes no
# subfolders at all; people who sort their previews by hand use one or two levels.
MAX_SEARCH_DEPTH = 4
# How many folder entries the search looks at in all. Ten times a large legacy library
# (about 2,000 previews), listed in well under a second on a local disk; a mistaken `/`
# holds hundreds of thousands.
MAX_SEARCH_ENTRIES = 20_000


@dataclass(slots=True)
class ImageSearch:
    found: dict[str, Path] = field(default_factory=dict)  # name asked for → file
    entries_seen: int = 0
    stopped_at_entries: bool = False  # the entry bound was reached with names still missing
    stopped_at_depth: bool = False  # folders deeper than the bound were left unread

    @property
    def limited(self) -> bool:
        return self.stopped_at_entries or self.stopped_at_depth


def find_images(folder: Path | None, names: Iterable[str]) -> ImageSearch:
    """Where each of `names` is below `folder` (names not found are absent from `found`).
    `limited` is set only when a bound stopped the search before some name was found."""
    search = ImageSearch()
    wanted = list(dict.fromkeys(names))
    if folder is None or not wanted:
        return search
    rest = []
    for name in wanted:
        path = _direct(folder, name)
        if path is None:
            rest.append(name)
        else:
            search.found[name] = path
    if rest:
        _search_below(folder, rest, search)
    return search


def _direct(folder: Path, name: str) -> Path | None:
    """`folder/name` when a listing would show it there as a file (a broken link too)."""
    path = folder / name
    try:
        info = path.lstat()
    except (OSError, ValueError):  # not there, or a name too long for this file system
        return None
    if stat.S_ISLNK(info.st_mode):
        try:
            info = path.stat()
        except (OSError, ValueError):
            return path  # a broken link, which a listing shows as a file
    return None if stat.S_ISDIR(info.st_mode) else path


def _search_below(folder: Path, names: list[str], search: ImageSearch) -> None:
    exact: dict[str, Path] = {}
    folded: dict[str, Path] = {}  # case-folded name → first file with that folded name
    wanted_folded = {name.casefold() for name in names}
    left = set(names)  # names without an exact match yet
    stack: list[tuple[Path, int]] = [(folder, 0)]
    while stack and left:
        current, depth = stack.pop()
        try:
            with os.scandir(current) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:  # unreadable: skipped, as os.walk does
            continue
        subfolders = []
        for entry in entries:
            if search.entries_seen == MAX_SEARCH_ENTRIES:
                search.stopped_at_entries = True
                stack.clear()
                break
            search.entries_seen += 1
            if _is_folder(entry):
                if not entry.is_symlink():
                    subfolders.append(Path(entry.path))
                continue
            if entry.name in left:
                exact[entry.name] = Path(entry.path)
                left.discard(entry.name)
            key = entry.name.casefold()
            if key in wanted_folded:
                folded.setdefault(key, Path(entry.path))
        if depth < MAX_SEARCH_DEPTH:
            stack += [(sub, depth + 1) for sub in reversed(subfolders)]
        elif subfolders and left:
            search.stopped_at_depth = True
    for name in names:
        path = exact.get(name) or folded.get(name.casefold())
        if path is not None:
            search.found[name] = path
    if all(name in search.found for name in names):
        search.stopped_at_entries = search.stopped_at_depth = False  # nothing was missed


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # through a symbolic link too, as os.walk sorts them
    except OSError:
        return False
