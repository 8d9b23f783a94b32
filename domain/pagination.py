"""Forward pagination over stable orders, with opaque cursors.

A cursor is the sort key of the last row a client saw, so a page never repeats or skips a
row because rows were added or removed before it (offset pagination would). Each list signs
its cursors with its own name, so a cursor from one list is refused by another.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

from domain.errors import InvalidPageRequest, quoted
from domain.text import is_unicode

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# A cursor holds a sort key (a name, a digest, an id): far below this. A longer one was not
# handed out by us, and is refused before it is decoded.
MAX_CURSOR_CHARS = 65_536
# SQLite integers are 64-bit: a larger key would fail in the query, not compare.
SQLITE_MIN_INTEGER, SQLITE_MAX_INTEGER = -(2**63), 2**63 - 1

T = TypeVar("T")
SortKey = tuple[str | int, ...]


class SortDirection(Enum):
    """Which way a list runs along its order."""

    ASC = "ASC"
    DESC = "DESC"


@dataclass(frozen=True, slots=True)
class PageRequest:
    """`first` rows after the row whose sort key is `after` (from the start when None)."""

    first: int
    after: SortKey | None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list, with each item's cursor and what is needed to go on."""

    items: list[T]
    cursors: list[str]
    total_count: int
    has_next_page: bool
    has_previous_page: bool


def page_request(
    list_name: str, key_types: Sequence[type], first: int | None, after: str | None
) -> PageRequest:
    """Check a client's `first` and `after` for the list `list_name`, whose sort key has
    `key_types`; raise `InvalidPageRequest` with a message that says what to send instead."""
    size = DEFAULT_PAGE_SIZE if first is None else first
    if not 0 <= size <= MAX_PAGE_SIZE:
        raise InvalidPageRequest(
            f"`first` must be between 0 and {MAX_PAGE_SIZE}, got {size}. "
            "Ask for the next page with `after: pageInfo.endCursor`."
        )
    key = None if after is None else decode_cursor(list_name, key_types, after)
    return PageRequest(first=size, after=key)


def encode_cursor(list_name: str, key: SortKey) -> str:
    raw = json.dumps([list_name, *key], separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(list_name: str, key_types: Sequence[type], cursor: str) -> SortKey:
    """The sort key a cursor of `list_name` holds. Anything else a client sends as a cursor
    (truncated, forged, from another list, nested a thousand deep, with a number SQLite
    cannot hold or text that is not Unicode) is an `InvalidPageRequest`, never a crash."""
    refusal = InvalidPageRequest(
        f"{quoted(cursor)} is not a cursor of {list_name}: pass an `endCursor` or `cursor` "
        "that this list returned."
    )
    if len(cursor) > MAX_CURSOR_CHARS:
        raise refusal
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error, RecursionError):
        raise refusal from None
    if not isinstance(decoded, list) or len(decoded) != len(key_types) + 1:
        raise refusal
    name, *key = decoded
    if name != list_name or not all(
        _is_key_part(part, kind) for part, kind in zip(key, key_types, strict=True)
    ):
        raise refusal
    return tuple(key)


def _is_key_part(part: object, kind: type) -> bool:
    """True when `part` is of the key's type and something SQLite can compare with it."""
    if type(part) is not kind:
        return False
    if isinstance(part, int):
        return SQLITE_MIN_INTEGER <= part <= SQLITE_MAX_INTEGER
    if isinstance(part, str):
        return is_unicode(part)
    return True


def build_page(
    list_name: str,
    rows: list[T],
    keys: list[SortKey],
    request: PageRequest,
    total_count: int,
) -> Page[T]:
    """Turn the `first + 1` rows a query fetched into a page: the extra row, when present,
    only tells that there is a next page."""
    has_next = len(rows) > request.first
    return Page(
        items=rows[: request.first],
        cursors=[encode_cursor(list_name, key) for key in keys[: request.first]],
        total_count=total_count,
        has_next_page=has_next,
        has_previous_page=request.after is not None,
    )
