"""Custom scalars: whole numbers past 32 bits, moments in time, uploaded files, and the map
that binds them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NewType

import strawberry
from graphql import ValueNode
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload
from strawberry.types.scalar import ScalarDefinition

from domain.errors import quoted

BigInt = NewType("BigInt", int)

# JavaScript clients read JSON numbers as doubles; beyond this they would silently round.
MAX_SAFE_INTEGER = 2**53 - 1


def _serialize_big_int(value: int) -> int:
    return int(value)


def _parse_big_int(value: Any) -> int:
    """Accept a JSON number or a string of digits (what a client holding a bigint sends)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"BigInt cannot represent {quoted(value)}: expected a whole number.")
    try:
        number = int(value)
    except ValueError:
        raise ValueError(
            f"BigInt cannot represent {quoted(value)}: expected a whole number."
        ) from None
    if abs(number) > MAX_SAFE_INTEGER:
        raise ValueError(
            f"BigInt {number} is beyond ±(2^53 - 1), which clients cannot hold exactly."
        )
    return number


_UPLOAD_HOW = (
    "send the file as a part of a multipart request (the GraphQL multipart request spec) "
    "and map it onto this variable"
)


def _parse_upload(value: Any) -> UploadFile:
    """Only a file part of the request is an upload. Strawberry's own scalar passes any
    value through, so a string or a number would reach the resolver and fail there."""
    if not isinstance(value, UploadFile):
        raise ValueError(f"Upload expects a file, not {quoted(value)}: {_UPLOAD_HOW}.")
    return value


def _refuse_upload_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> None:
    """A file can never be written into the document itself."""
    raise ValueError(f"a file cannot be written in the query: {_UPLOAD_HOW}.")


def _serialize_datetime(value: datetime) -> str:
    return value.isoformat()


def _parse_datetime(value: Any) -> datetime:
    """An ISO 8601 moment with its UTC offset, as the API answers them. A moment without an
    offset is refused rather than guessed: compared with the library's (UTC) times it would
    be off by the client's time zone, and an `expectedUpdatedAt` would never match."""
    if not isinstance(value, str):
        raise ValueError(f"DateTime expects an ISO 8601 string, not {quoted(value)}.")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"DateTime cannot represent {quoted(value)}: expected ISO 8601, such as "
            "2024-05-01T12:30:00.123+00:00."
        ) from None
    if moment.utcoffset() is None:
        raise ValueError(
            f"DateTime {quoted(value)} has no UTC offset: add one (`Z` or `+00:00`), as the "
            "moments the API answers have."
        )
    return moment


SCALARS: dict[object, ScalarDefinition] = {
    datetime: strawberry.scalar(
        name="DateTime",
        description="A moment in time: an ISO 8601 string with its UTC offset, such as "
        "`2024-05-01T12:30:00.123+00:00` (milliseconds kept). Sent back as an input "
        "(`expectedUpdatedAt`) it must carry an offset too.",
        serialize=_serialize_datetime,
        parse_value=_parse_datetime,
    ),
    BigInt: strawberry.scalar(
        name="BigInt",
        description=(
            "A whole number that may exceed 32 bits, such as a file size in bytes; "
            "serialized as a JSON number, exact up to 2^53 - 1."
        ),
        serialize=_serialize_big_int,
        parse_value=_parse_big_int,
    ),
    Upload: strawberry.scalar(
        name="Upload",
        description="A file sent with the request, as the GraphQL multipart request spec says: "
        "a part of a multipart/form-data request, mapped onto a variable of this type.",
        serialize=lambda value: value,
        parse_value=_parse_upload,
        parse_literal=_refuse_upload_literal,
    ),
}
