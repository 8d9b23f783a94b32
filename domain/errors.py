"""Errors a caller can act on.

Every error here carries a message written for the person who sent the request: the API
shows it as it is, while any other exception is masked as an internal error.
"""

from __future__ import annotations


class UserError(Exception):
    """A request the caller can correct; `code` lets scripts tell the kinds apart."""

    code = "BAD_USER_INPUT"


class InvalidSha256(UserError):
    """A value that is not a SHA-256 digest (64 hexadecimal characters)."""

    code = "INVALID_SHA256"


class InvalidPageRequest(UserError):
    """A page size out of range, or a cursor this list did not hand out."""

    code = "INVALID_PAGE_REQUEST"


class InvalidFilter(UserError):
    """A list filter that cannot be applied as given."""

    code = "INVALID_FILTER"


class StoreError(Exception):
    """The library database cannot be used: too new, not ours, or SQLite too old."""
