"""A path a user typed, as an absolute `Path`, or an `InvalidPath` that says why not.

Every argument that names a file or folder goes through `user_path` before anything looks at
the file system with it. Left to `pathlib` and `os`, such text fails in ways a caller cannot
tell from a bug: `RuntimeError` for `~nobody/x` (and for shell shorthands like `~+`),
`ValueError` for a NUL byte, `UnicodeEncodeError` for a lone surrogate (JSON can carry one),
`OSError(ENAMETOOLONG)` for a name or path beyond the system's limits; and the empty string
quietly means the server's working folder. Checked here first, each becomes a message the
user can act on, quoting at most a short prefix of what they sent.

Nothing is required to exist and no symbolic link is resolved: callers decide what the path
must be. Blocking (the name limit is asked of the file system the path would live on): run
on the workers.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from domain.errors import InvalidPath

# POSIX minimums most systems use, for when the file system cannot be asked (`pathconf`).
NAME_MAX_FALLBACK = 255
PATH_MAX_FALLBACK = 4096  # counts the terminating NUL, so 4,095 bytes of path
# Values longer than this are quoted by a prefix: a message must stay readable.
QUOTE_LIMIT = 60


def user_path(text: str, what: str) -> Path:
    """`text` made absolute: `~` and `~user` expanded, a relative path taken from the
    server's working folder. `what` names the argument in messages, capitalized
    ("The legacy database path")."""
    if not text.strip():
        raise InvalidPath(f"{what} is empty.")
    if "\0" in text:
        raise InvalidPath(f"{what} {quote(text)} holds a NUL character, which no path can hold.")
    try:
        os.fsencode(text)
    except UnicodeEncodeError:
        raise InvalidPath(
            f"{what} {quote(text)} is not valid text for a path (it holds an unpaired "
            "surrogate character)."
        ) from None
    try:
        path = _expand_home(text, what).absolute()
    except OSError as error:  # a relative path, and the working folder is gone
        raise InvalidPath(
            f"{what} {quote(text)} cannot be made absolute: {error.strerror}."
        ) from None
    _check_lengths(path, what)
    return path


def quote(text: str) -> str:
    """`text` for a message: whole when short, else a prefix and its length."""
    if len(text) <= QUOTE_LIMIT:
        return repr(text)
    return f"{text[: QUOTE_LIMIT - 20]!r}… ({len(text):,} characters)"


def _expand_home(text: str, what: str) -> Path:
    try:
        return Path(text).expanduser()
    except RuntimeError:  # no such user, or no home to expand to
        prefix = text.split("/", 1)[0]
        raise InvalidPath(
            f"{what} {quote(text)} starts with {quote(prefix)}, which names no home folder on "
            "this server (shell shorthands such as ~+ are not expanded); give the full path."
        ) from None


def _check_lengths(path: Path, what: str) -> None:
    """The whole path within PATH_MAX, and each name not there yet within the NAME_MAX of
    the file system it would be created on (names that exist are within theirs)."""
    raw = os.fsencode(path)
    path_max = _limit("/", "PC_PATH_MAX", PATH_MAX_FALLBACK)
    if len(raw) >= path_max:
        raise InvalidPath(
            f"{what} {quote(str(path))} is too long: {len(raw):,} bytes, where this system "
            f"allows at most {path_max - 1:,}."
        )
    existing = _nearest_existing_folder(path)
    name_max = _limit(str(existing), "PC_NAME_MAX", NAME_MAX_FALLBACK)
    for name in path.relative_to(existing).parts:
        size = len(os.fsencode(name))
        if size > name_max:
            raise InvalidPath(
                f"{what} has a name too long for its file system: {quote(name)} is "
                f"{size:,} bytes, where at most {name_max:,} are allowed."
            )


def _nearest_existing_folder(path: Path) -> Path:
    for folder in (path, *path.parents):
        if is_folder(folder):
            return folder
    return Path(path.anchor)


def is_folder(path: Path) -> bool:
    """Whether `path` is a folder; False for any error (a name too long, a loop of links,
    no access), where `Path.is_dir` raises some of them."""
    try:
        return stat.S_ISDIR(path.stat().st_mode)
    except (OSError, ValueError):
        return False


def _limit(folder: str, name: str, fallback: int) -> int:
    try:
        value = os.pathconf(folder, name)
    except (OSError, ValueError, AttributeError):  # unknown here, or not asked on this system
        return fallback
    return value if value > 0 else fallback
