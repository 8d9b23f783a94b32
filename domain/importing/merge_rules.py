"""How a pending import merges into the model that already has its digest (`MERGE`).

The rule, everywhere: what the model has wins, unless it has nothing there and the
pending import has something. "Nothing" is null, an empty string, an empty list or an
empty object. Objects merge key by key by that same rule, all the way down; two lists
become their ordered union (the model's items, then the pending import's new ones), so
nothing either side listed is lost and nothing is listed twice.
"""

from __future__ import annotations

import json
from typing import Any


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def merge_value(kept: Any, incoming: Any) -> Any:
    """One column or one key: the model's value unless it is empty and the pending one is not."""
    if isinstance(kept, dict) and isinstance(incoming, dict):
        return merge_meta(kept, incoming)
    if isinstance(kept, list) and isinstance(incoming, list):
        return ordered_union(kept, incoming)
    return incoming if is_empty(kept) and not is_empty(incoming) else kept


def merge_meta(kept: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    """Objects, key by key: every key of either side is in the result."""
    merged = dict(kept)
    for key, value in incoming.items():
        merged[key] = merge_value(kept[key], value) if key in kept else value
    return merged


def ordered_union(kept: list[Any], incoming: list[Any]) -> list[Any]:
    """`kept` as it is, then each item of `incoming` it does not have yet; equal JSON values
    count as one (objects compare by content, whatever their key order). `kept` is not
    rewritten: merging the same pending import twice changes nothing the second time."""
    seen = {_identity(item) for item in kept}
    union = list(kept)
    for item in incoming:
        identity = _identity(item)
        if identity not in seen:
            seen.add(identity)
            union.append(item)
    return union


def _identity(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
