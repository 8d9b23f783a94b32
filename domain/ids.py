"""The library's ids (of pending imports and of tags) stay within 1 .. 2^31 - 1.

Clients read them as GraphQL `Int`, which is 32 bits: an id past that range cannot be
serialized, and one such id in a list fails the whole list. SQLite would give out ids up to
2^63, and a legacy database may hold any of them, so every id the library keeps or gives
out is claimed from an `IdSpace`, which keeps a wanted id when it fits and is free and
otherwise gives the next free one.
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.errors import StoreError

MAX_ID = 2**31 - 1


def fits(value: int) -> bool:
    """Whether `value` can be one of the library's ids."""
    return 1 <= value <= MAX_ID


class IdSpace:
    """The ids of one table: those taken, and where the next free one is looked for.

    `reserved` are ids not taken yet but wanted later (the legacy ids of rows still to be
    placed): a renumbered row never takes an id that a later row would have kept."""

    def __init__(self, taken: Iterable[int], reserved: Iterable[int] = ()) -> None:
        self._taken = set(taken)
        self._reserved = {value for value in reserved if fits(value)}
        self._next = max(filter(fits, self._taken | self._reserved), default=0) + 1
        self._gap = 1  # once ids run past MAX_ID, the lowest one that may be free

    def claim(self, wanted: int | None = None) -> int:
        """`wanted` when it fits and is free, else the next free id (above every id taken
        or reserved, or, once that passes MAX_ID, the lowest gap)."""
        if wanted is not None and fits(wanted) and wanted not in self._taken:
            self._taken.add(wanted)
            return wanted
        while self._next <= MAX_ID and self._is_used(self._next):
            self._next += 1
        if self._next <= MAX_ID:
            chosen = self._next
        else:
            while self._gap <= MAX_ID and self._is_used(self._gap):
                self._gap += 1
            if self._gap > MAX_ID:
                raise StoreError(f"Every id from 1 to {MAX_ID} is taken.")
            chosen = self._gap
        self._taken.add(chosen)
        return chosen

    def _is_used(self, value: int) -> bool:
        return value in self._taken or value in self._reserved


def why_renumbered(wanted: int) -> str:
    """Why `IdSpace.claim(wanted)` gave another id, for the issue that says so."""
    if fits(wanted):
        return f"id {wanted} was taken"
    return f"id {wanted} is outside 1 .. {MAX_ID}, the ids clients can hold"
