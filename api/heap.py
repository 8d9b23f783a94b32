"""Keeping the garbage collector's full passes short in a long-running server.

A full collection walks every tracked object and stops the event loop while it does. At
start-up the heap is mostly what never dies: the modules, the GraphQL schema and its
validation rules, tens of thousands of objects. Left in the oldest generation they are
walked by every full pass, which then takes tens of milliseconds (measured by
`bench/jobs.py`: full passes of 45-60 ms, the query latency's p99 during a job). Frozen,
the collector skips them, and a full pass walks only what requests and jobs made since.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Collect what start-up left behind, then exempt every survivor from later passes.
    Call once, after the app is built and before it serves (as `gc.freeze` advises: the
    objects frozen are the ones that live as long as the process)."""
    gc.collect()
    gc.freeze()
