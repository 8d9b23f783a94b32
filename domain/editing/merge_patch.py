"""JSON Merge Patch (RFC 7386): how `metaPatch` changes a model's or pending import's `meta`.

The RFC's whole rule: a patch that is an object changes the target key by key, where
`null` removes the key, an object merges into the key's value the same way (all the way
down; a key whose value was not an object starts from an empty one), and anything else
(a string, a number, a list) replaces it. A patch that is not an object replaces the
target whole. Lists are never merged: a patch carries the whole new list.

Neither argument is changed; the result shares no object with the patch, so the caller
may keep and change either. The recursion follows the patch, whose depth the request
already bounds (`api.request_parsing.MAX_JSON_DEPTH`); `domain.editing.meta` bounds the
result.
"""

from __future__ import annotations

import copy
from typing import Any


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """`target` with `patch` applied, as RFC 7386 section 2 defines it."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result
