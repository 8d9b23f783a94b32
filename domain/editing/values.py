"""What an edit may set a model's or pending import's name, type and path to.

Every text is trimmed (Unicode white space) first. A field left out keeps its value; null
is refused like any other value a column cannot hold (every one of these always has one).

- A name is a display name, usually a file name: not blank, at most `MAX_NAME_CHARS`
  characters (a long file name, with room), one line (no control characters).
- A type is one word a sidebar groups by (checkpoint, lora, vae…): not blank, lower-cased
  as everywhere else, at most `MAX_TYPE_CHARS` (the bound of the `type` filter), one line.
- A path must be absolute as given (no `~`, no relative path: the server's working folder
  means nothing to a client) and a path a file can have (`domain.filesystem.user_paths`).
  Nothing needs to exist there: a model whose file moved is fixed before the file is back.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from domain.errors import InvalidPath, InvalidValue, quoted
from domain.filesystem.user_paths import user_path
from domain.store.models import MAX_TYPE_CHARS

MAX_NAME_CHARS = 512
# Cc: control characters (tab, newline, NUL…); Zl, Zp: the line and paragraph separators.
_NOT_IN_A_LINE = frozenset({"Cc", "Zl", "Zp"})


def model_name(value: str | None, field: str = "name") -> str:
    return _line(value, field, MAX_NAME_CHARS, "a name")


def model_type(value: str | None, field: str = "type") -> str:
    return _line(value, field, MAX_TYPE_CHARS, "a type").lower()


def model_path(value: str | None, field: str = "path") -> str:
    """The absolute path to store. Blocking (asks the file system for its name limit):
    run on the workers."""
    if value is None:
        raise InvalidValue(field, f"`{field}` cannot be null: a model always has a path.")
    text = value.strip()
    if not Path(text).is_absolute():
        raise InvalidValue(
            field, f"`{field}` {quoted(text)} is not an absolute path: give it from `/`."
        )
    try:
        return str(user_path(text, f"`{field}`"))
    except InvalidPath as error:
        raise InvalidValue(field, str(error)) from None


def _line(value: str | None, field: str, limit: int, what: str) -> str:
    if value is None:
        raise InvalidValue(field, f"`{field}` cannot be null: a model always has {what}.")
    text = value.strip()
    if not text:
        raise InvalidValue(field, f"`{field}` is blank: a model needs {what}.")
    if len(text) > limit:
        raise InvalidValue(field, f"`{field}` has {len(text):,} characters; at most {limit}.")
    if any(unicodedata.category(char) in _NOT_IN_A_LINE for char in text):
        raise InvalidValue(
            field, f"`{field}` {quoted(text)} holds a control character or a line break."
        )
    return text
