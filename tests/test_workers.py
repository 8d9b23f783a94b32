"""The worker pools: their work runs below the event loop's priority."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time

import pytest

from domain.workers import BACKGROUND_NICE, Workers


def own_priority() -> int:
    """The calling thread's nice value (on Linux, `PRIO_PROCESS` 0 is the calling thread)."""
    return os.getpriority(os.PRIO_PROCESS, 0)


def thread_and_priority() -> tuple[int, int]:
    time.sleep(0.05)  # long enough that calls made together land on different threads
    return threading.get_native_id(), own_priority()


@pytest.mark.skipif(sys.platform != "linux", reason="threads have priorities of their own on Linux")
async def test_workers_run_at_the_lowest_priority_and_the_loop_does_not() -> None:
    before = own_priority()
    workers = Workers("test-nice", count=2)
    try:
        answers = await asyncio.gather(*(workers.run(thread_and_priority) for _ in range(4)))
    finally:
        workers.shutdown()
    assert len({thread for thread, _ in answers}) == 2  # every thread of the pool, not one
    assert {priority for _, priority in answers} == {BACKGROUND_NICE}
    assert own_priority() == before  # the event loop's thread keeps its own
