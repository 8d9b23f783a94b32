"""Locks by key: one operation at a time per model or pending import, any number across keys."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager


class KeyedLocks:
    """An asyncio lock per key, created on first use and dropped when nobody holds or awaits it,
    so a library of thousands of models does not keep thousands of idle locks."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._users: dict[Hashable, int] = {}

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        """Wait for the key's lock and hold it for the block."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:
                del self._users[key], self._locks[key]

    @asynccontextmanager
    async def hold_now(self, key: Hashable, busy: Exception) -> AsyncIterator[None]:
        """Hold the key's lock for the block, or raise `busy` at once when it is held: for
        callers that must be told "locked" rather than wait."""
        if self.is_held(key):
            raise busy
        async with self.hold(key):  # free, and nothing awaits between the check and here
            yield

    def is_held(self, key: Hashable) -> bool:
        lock = self._locks.get(key)
        return lock is not None and lock.locked()
