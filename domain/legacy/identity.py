"""Knowing a legacy database again: by its real path, else by the rows it holds.

The ledger (`legacy_sources`) keys each legacy database by its real path, every symbolic
link, `..` and `//` resolved, so the same file reached another way is the same entry. A
database moved or copied to another folder or disk has another real path; so the ledger
also keeps a short digest of every row it carried over, made of what the legacy app never
changes in a row (its id, its model path and its creation time; names, tags and
`extra_json` are edited). When the real path is unknown, the known source whose rows this
database holds is this database (`recognized`), and the ledger moves it to the new path.

Pure functions: the store counts the matches, this module decides.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SourceMatch:
    """A known legacy database that shares rows with the one being imported."""

    source_id: int
    path: str  # where the ledger last saw it
    matching: int  # rows of this database whose digest the ledger holds for that source
    recorded: int  # rows the ledger holds for that source


def row_digest(legacy_id: int, path: Any, created_at: Any) -> int:
    """What identifies one legacy row, as 64 bits of its SHA-256 (a signed integer, SQLite's
    own): with thousands of rows per library, a chance collision is never met. `path` and
    `created_at` are hashed as the legacy file holds them, type included."""
    text = repr((legacy_id, path, created_at)).encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big", signed=True)


def recognized(candidates: list[SourceMatch], rows_here: int) -> SourceMatch | None:
    """The known source this database is, if any.

    The candidate sharing the most rows wins (the oldest on a tie), when those rows are more
    than half of the smaller side: this database's rows, or the rows the ledger recorded for
    the source. Rows are only ever added to or removed from a legacy database, never
    rewritten in what the digest covers, so a moved copy shares all the rows the two still
    have in common: it is recognized after gaining many rows since (10 recorded, 40 now,
    10 shared) or losing many (40 recorded, 10 left). A different library that happens to
    share a row or two (a hand-made merge, a restored fragment) is not taken for it: its own
    rows would then be skipped as "already imported" and lost."""
    best = min(candidates, key=lambda c: (-c.matching, c.source_id), default=None)
    if best is None or best.matching == 0:
        return None
    return best if 2 * best.matching > min(rows_here, best.recorded) else None
