"""JSON as RFC 8259 defines it, read from sources we do not trust (requests, image chunks).

Python's `json` accepts `NaN`, `Infinity` and `1e400` (which becomes infinity), none of
which is JSON: SQLite's `json_valid` refuses them and JavaScript clients cannot read them.
It also recurses once per nesting level, so a deep enough value exhausts the stack.
"""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn


class JsonTooDeep(ValueError):
    """The value nests deeper than Python's parser can follow."""


def loads(text: str | bytes) -> Any:
    """The value of `text`, or `ValueError` when it is not strict JSON (`JsonTooDeep` for
    nesting beyond the parser's reach)."""
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise JsonTooDeep("the JSON is nested too deeply to read") from None


def nests_deeper_than(value: object, limit: int) -> bool:
    """True when objects and arrays nest more than `limit` levels (iterative, so a deep
    value cannot exhaust the stack here either)."""
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: list[object] = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is beyond what a JSON number holds")
    return value
