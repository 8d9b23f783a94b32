"""Custom scalars: whole numbers past 32 bits, and the scalar map that binds them."""

from __future__ import annotations

from typing import Any, NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

BigInt = NewType("BigInt", int)

# JavaScript clients read JSON numbers as doubles; beyond this they would silently round.
MAX_SAFE_INTEGER = 2**53 - 1


def _serialize_big_int(value: int) -> int:
    return int(value)


def _parse_big_int(value: Any) -> int:
    """Accept a JSON number or a string of digits (what a client holding a bigint sends)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"BigInt cannot represent {value!r}: expected a whole number.")
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"BigInt cannot represent {value!r}: expected a whole number.") from None
    if abs(number) > MAX_SAFE_INTEGER:
        raise ValueError(
            f"BigInt {number} is beyond ±(2^53 - 1), which clients cannot hold exactly."
        )
    return number


SCALARS: dict[object, ScalarDefinition] = {
    BigInt: strawberry.scalar(
        name="BigInt",
        description=(
            "A whole number that may exceed 32 bits, such as a file size in bytes; "
            "serialized as a JSON number, exact up to 2^53 - 1."
        ),
        serialize=_serialize_big_int,
        parse_value=_parse_big_int,
    ),
}
