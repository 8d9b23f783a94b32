"""What an edit may make of `meta`: a JSON object, within bounds, replaced or patched.

- `meta` replaces the object whole; `metaPatch` is a JSON Merge Patch of it
  (`domain.editing.merge_patch`). Both in one edit is refused: which one wins would be a
  guess.
- The result must be a JSON object (the database holds that too), nest at most
  `MAX_META_DEPTH` levels (the depth a request's JSON may have at all,
  `api.request_parsing.MAX_JSON_DEPTH`, so whatever a client could send once it can send
  again) and serialize to at most `MAX_META_CHARS` characters: a description, prompts,
  links and parameters, not a file stored in a column. A bigger meta that Stage 1 brought
  over stays as it is until an edit shrinks it; an edit never makes one.
"""

from __future__ import annotations

import json
from typing import Any

from domain import strict_json
from domain.editing.merge_patch import apply_merge_patch
from domain.errors import InvalidValue
from domain.records import JsonObject

MAX_META_DEPTH = 64
MAX_META_CHARS = 1024 * 1024
_JSON_KINDS = {
    type(None): "null",
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
}


class Missing:
    """The type of `MISSING`: a field the client left out (null is a value, and refused)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = Missing()


def edited_meta(current: JsonObject, meta: Any, meta_patch: Any) -> JsonObject:
    """The meta an edit leaves: `current` replaced by `meta`, patched by `meta_patch`, or
    kept when both are `MISSING`; `InvalidValue` naming the field when it is not allowed."""
    if not isinstance(meta, Missing) and not isinstance(meta_patch, Missing):
        raise InvalidValue(
            "metaPatch", "Give `meta` (a whole new object) or `metaPatch` (changes), not both."
        )
    if not isinstance(meta, Missing):
        return bounded_meta(meta, "meta")
    if not isinstance(meta_patch, Missing):
        if strict_json.nests_deeper_than(meta_patch, MAX_META_DEPTH):
            raise InvalidValue("metaPatch", _too_deep("metaPatch"))
        return bounded_meta(apply_merge_patch(current, meta_patch), "metaPatch")
    return current


def bounded_meta(value: Any, field: str) -> JsonObject:
    """`value` when it is a JSON object within the bounds, else `InvalidValue(field)`."""
    if not isinstance(value, dict):
        kind = _JSON_KINDS.get(type(value), type(value).__name__)
        raise InvalidValue(
            field,
            f"`{field}` must leave meta a JSON object, not {kind}; send {{}} for an empty one.",
        )
    if strict_json.nests_deeper_than(value, MAX_META_DEPTH):
        raise InvalidValue(field, _too_deep(field))
    size = len(json.dumps(value))
    if size > MAX_META_CHARS:
        raise InvalidValue(
            field,
            f"`{field}` would make meta {size:,} characters of JSON; it holds at most "
            f"{MAX_META_CHARS:,}.",
        )
    return value


def _too_deep(field: str) -> str:
    return f"`{field}` nests deeper than {MAX_META_DEPTH} levels of objects and lists."
