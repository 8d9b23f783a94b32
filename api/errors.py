"""How errors reach the client, and which ones reach the log.

Every error a client sees carries `extensions.code`, so scripts can tell the kinds apart:
- `GRAPHQL_PARSE_FAILED`: the document is not GraphQL (the parser's message, kept);
- `GRAPHQL_VALIDATION_FAILED`: it asks for something the schema does not have, or breaks
  a guard (depth, aliases, tokens), or writes an argument of the wrong type;
- `BAD_USER_INPUT`: a variable's value does not fit its type;
- a `domain.errors.UserError`'s own code (`INVALID_SHA256`, `INVALID_PAGE_REQUEST`, …):
  a resolver refused the request, with a message written for the caller;
- `INTERNAL_SERVER_ERROR`: anything else. That is a bug or an outage, and its message could
  leak paths or SQL, so the client sees a generic message and the exception goes to the log.
These are the codes Apollo Server uses, which GraphQL clients already know.
The first three happen before any resolver runs, so nothing has been read or written.
"""

from __future__ import annotations

from collections.abc import Iterator

import strawberry
from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.utils.logging import StrawberryLogger

from domain.errors import UserError

INTERNAL_MESSAGE = "Internal server error."
INTERNAL_CODE = "INTERNAL_SERVER_ERROR"
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"


def code_of(error: GraphQLError) -> str:
    """The `extensions.code` an error is shown with (see the module's docstring)."""
    if isinstance(error, GraphQLSyntaxError):
        return PARSE_FAILED
    if error.path is None:  # raised before execution reached any field
        return BAD_USER_INPUT if error.message.startswith("Variable '$") else VALIDATION_FAILED
    original = error.original_error
    if isinstance(original, UserError):
        return original.code
    return INTERNAL_CODE


def is_internal(error: GraphQLError) -> bool:
    """True for a failure our code did not raise on purpose."""
    return code_of(error) == INTERNAL_CODE


class ErrorPolicy(SchemaExtension):
    """Masks internal errors and labels every error with a `code`."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [_present(error) for error in result.errors]


class Schema(strawberry.Schema):
    """Strawberry's schema, logging only the errors that are ours to fix."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            if is_internal(error):
                StrawberryLogger.error(error, execution_context)


def _present(error: GraphQLError) -> GraphQLError:
    code = code_of(error)
    return GraphQLError(
        INTERNAL_MESSAGE if code == INTERNAL_CODE else error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        # Kept for the log only; the response shows message, locations, path and extensions.
        original_error=error.original_error,
        extensions={**(error.extensions or {}), "code": code},
    )
