"""Stage 1's two arguments, checked: the legacy database's path and the images folder.

Both strings go through `user_path` before anything looks at the disk with them, and every
`OSError` met while looking (a missing file, a loop of symbolic links, a folder the server
may not read, an I/O error) becomes a typed refusal: the caller learns what to fix and
nothing is written. An internal error is never the answer to a path a user typed.

Blocking (it looks at the disk): run on the workers.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from domain.errors import (
    InvalidPath,
    LegacyAccessDenied,
    LegacyDbNotFound,
    LegacyImagesDirNotFound,
    LegacyImportError,
    LegacyPathInvalid,
    LegacyPathUnreadable,
)
from domain.filesystem.user_paths import is_folder, user_path

DB_ARGUMENT = "The legacy database path"
IMAGES_ARGUMENT = "The legacy images folder"
_NOT_THERE = (errno.ENOENT, errno.ENOTDIR)
_NOT_ALLOWED = (errno.EACCES, errno.EPERM)


@dataclass(frozen=True, slots=True)
class LegacyInputs:
    db_path: Path  # absolute, as the user wrote it: what messages and the report show
    real_db_path: str  # every symbolic link, `..` and `//` resolved: the ledger's key
    images_dir: Path | None  # the folder to look for images in, if there is one


def legacy_inputs(legacy_db_path: str, legacy_images_dir: str | None) -> LegacyInputs:
    """Both arguments as paths, the images folder found (the one given, which must be a
    folder, else `images/` beside the database when it is one, else none)."""
    db_path = checked(legacy_db_path, DB_ARGUMENT)
    given = None if legacy_images_dir is None else checked(legacy_images_dir, IMAGES_ARGUMENT)
    real_db_path = os.path.realpath(db_path)
    if given is None:
        beside = db_path.parent / "images"
        return LegacyInputs(db_path, real_db_path, beside if is_folder(beside) else None)
    try:
        mode = given.stat().st_mode
    except OSError as error:
        raise refusal(error, given, IMAGES_ARGUMENT) from None
    if not stat.S_ISDIR(mode):
        raise LegacyImagesDirNotFound(f"{given} is not a folder.")
    return LegacyInputs(db_path, real_db_path, given)


def checked(text: str, what: str) -> Path:
    """`user_path`, its refusal told as a refusal of the legacy import."""
    try:
        return user_path(text, what)
    except InvalidPath as error:
        raise LegacyPathInvalid(str(error)) from None


def refusal(error: OSError, path: Path, what: str) -> LegacyImportError:
    """The typed refusal for an `OSError` met while looking at `path` (`what` names it)."""
    if error.errno in _NOT_THERE:
        if what == IMAGES_ARGUMENT:
            return LegacyImagesDirNotFound(f"There is no folder at {path}.")
        return LegacyDbNotFound(f"There is no legacy database at {path}.")
    reason = error.strerror or str(error)
    if error.errno in _NOT_ALLOWED:
        return LegacyAccessDenied(
            f"{what} {path} cannot be read by the server's user ({reason}): give it read "
            "access, or copy the legacy files somewhere it can read."
        )
    if error.errno == errno.ENAMETOOLONG:
        return LegacyPathInvalid(f"{what} {path} is too long for this system ({reason}).")
    return LegacyPathUnreadable(f"{what} {path} cannot be read: {reason}.")
