"""SHA-256 digests: the identity of every model file."""

from __future__ import annotations

import re

from domain.errors import InvalidSha256

_SHA256 = re.compile(r"[0-9a-f]{64}")


def normalize_sha256(value: str) -> str:
    """Return the canonical form of a digest (trimmed, lower case) or raise `InvalidSha256`.

    Users paste digests from tools that print upper case or add spaces; the library stores
    only the canonical form, so every lookup goes through here."""
    candidate = value.strip().lower()
    if not _SHA256.fullmatch(candidate):
        raise InvalidSha256(
            f"{value!r} is not a SHA-256 digest: expected 64 hexadecimal characters."
        )
    return candidate


def is_sha256(value: str) -> bool:
    """True when `value` is already a canonical digest."""
    return _SHA256.fullmatch(value) is not None
