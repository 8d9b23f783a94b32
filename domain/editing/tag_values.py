"""What a tag's name and colour may be, as a client sends them.

- A name is trimmed (Unicode white space), then must hold something (blank is refused) and
  be at most `MAX_TAG_NAME` characters: a label for a sidebar and a chip, not a sentence.
  Control characters and line breaks are refused: a tag is one line of text.
  Uniqueness ignoring case is the database's to hold (`domain.tag_names`).
- A colour is `#rrggbb`; `#rgb` is accepted as its CSS shorthand, letters in either case,
  surrounding space trimmed. It is stored, and answered, as lower-case `#rrggbb`, so clients
  compare and render one spelling. `null` clears it. An empty string is refused rather than
  read as "clear": a client that means to clear says `null`.

Tags that Stage 1 brought over keep the legacy app's name and colour as they were (a legacy
colour may be any text): these rules are for edits.
"""

from __future__ import annotations

import re
import unicodedata

from domain.errors import InvalidValue, quoted
from domain.tag_names import clean_tag_name

MAX_TAG_NAME = 100
_COLOR = re.compile(r"#(?:[0-9a-f]{3}|[0-9a-f]{6})", re.IGNORECASE)
# Cc: control characters (tab, newline, NUL…); Zl, Zp: the line and paragraph separators.
_NOT_IN_A_NAME = frozenset({"Cc", "Zl", "Zp"})


def tag_name(value: str | None, field: str = "name") -> str:
    """The name to store, or `InvalidValue` naming `field`."""
    if value is None:
        raise InvalidValue(field, f"`{field}` cannot be null: a tag always has a name.")
    name = clean_tag_name(value)
    if not name:
        raise InvalidValue(field, f"`{field}` is blank: a tag needs a name.")
    if len(name) > MAX_TAG_NAME:
        raise InvalidValue(
            field, f"`{field}` has {len(name):,} characters; a tag name has at most {MAX_TAG_NAME}."
        )
    if any(unicodedata.category(char) in _NOT_IN_A_NAME for char in name):
        raise InvalidValue(
            field, f"`{field}` {quoted(name)} holds a control character or a line break."
        )
    return name


def tag_color(value: str | None, field: str = "color") -> str | None:
    """The colour to store (lower-case `#rrggbb`), None to clear it, or `InvalidValue`."""
    if value is None:
        return None
    color = value.strip()
    if not _COLOR.fullmatch(color):
        raise InvalidValue(
            field,
            f"`{field}` {quoted(value)} is not a colour: write `#rrggbb` (or `#rgb`) in "
            "hexadecimal, or null for none.",
        )
    digits = color[1:].lower()
    return "#" + (digits if len(digits) == 6 else "".join(digit * 2 for digit in digits))
