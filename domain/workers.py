"""A bounded pool for the CPU-heavy and blocking work that must never run on the event loop.

Image encoding and hashing release the GIL inside Pillow and hashlib, so threads use every
core. The semaphore bounds not just the threads but the queue too: a thousand uploads
arriving at once wait their turn holding only a coroutine, not a thousand decoded images.

The workers run at the lowest CPU priority (nice 19, on Linux, where a thread has a
priority of its own). A job keeps every core busy for minutes; at equal priority the event
loop would get its share of a core only after the workers had theirs, and a query answered
in 20 ms when idle took 100 ms and more during a job (`bench/jobs.py`). Niced, the workers
still get every cycle nobody else wants, so a job's throughput is the same, while the
loop's requests run first. (They still need the GIL, which a worker holds between its
calls into C: a few milliseconds at worst.)
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

BACKGROUND_NICE = 19  # the lowest priority there is

P = ParamSpec("P")
R = TypeVar("R")


def default_worker_count() -> int:
    """One worker per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Workers:
    """Runs blocking calls on a fixed number of threads, at most `queue_limit` waiting."""

    def __init__(self, name: str, count: int | None = None, queue_limit: int | None = None) -> None:
        self.count = count or default_worker_count()
        self._executor = ThreadPoolExecutor(
            max_workers=self.count, thread_name_prefix=name, initializer=_run_in_background
        )
        self._admitted = asyncio.Semaphore(queue_limit or 2 * self.count)

    async def run(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run `function(*args, **kwargs)` on a worker thread and await its result."""
        async with self._admitted:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, lambda: function(*args, **kwargs))

    def shutdown(self) -> None:
        """Wait for running calls to finish; no new call is accepted."""
        self._executor.shutdown(wait=True, cancel_futures=True)


def _run_in_background() -> None:
    """Lower the calling thread's priority (each worker calls it as it starts). Linux only:
    elsewhere `setpriority` would change the whole process, event loop included."""
    if sys.platform == "linux":
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
