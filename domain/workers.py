"""A bounded pool for the CPU-heavy and blocking work that must never run on the event loop.

Image encoding and hashing release the GIL inside Pillow and hashlib, so threads use every
core. The semaphore bounds not just the threads but the queue too: a thousand uploads
arriving at once wait their turn holding only a coroutine, not a thousand decoded images.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def default_worker_count() -> int:
    """One worker per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Workers:
    """Runs blocking calls on a fixed number of threads, at most `queue_limit` waiting."""

    def __init__(self, name: str, count: int | None = None, queue_limit: int | None = None) -> None:
        self.count = count or default_worker_count()
        self._executor = ThreadPoolExecutor(max_workers=self.count, thread_name_prefix=name)
        self._admitted = asyncio.Semaphore(queue_limit or 2 * self.count)

    async def run(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run `function(*args, **kwargs)` on a worker thread and await its result."""
        async with self._admitted:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, lambda: function(*args, **kwargs))

    def shutdown(self) -> None:
        """Wait for running calls to finish; no new call is accepted."""
        self._executor.shutdown(wait=True, cancel_futures=True)
