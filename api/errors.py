"""How errors reach the client, and which ones reach the log.

Errors a caller can act on (bad syntax, failed validation, a `domain.errors.UserError`)
keep their message, with `extensions.code` for scripts, and are not logged: they are the
caller's to fix. Anything else is a bug or an outage: its message could leak paths or SQL,
so the client sees a generic message and the full exception goes to the log.
"""

from __future__ import annotations

from collections.abc import Iterator

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.utils.logging import StrawberryLogger

from domain.errors import UserError

INTERNAL_MESSAGE = "Internal server error."
INTERNAL_CODE = "INTERNAL_SERVER_ERROR"


def is_internal(error: GraphQLError) -> bool:
    """True for an exception our code did not raise on purpose."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError | UserError)


class ErrorPolicy(SchemaExtension):
    """Masks internal errors and labels every resolver error with a `code`."""

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
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return error  # syntax and validation errors: written for the client already
    internal = is_internal(error)
    return GraphQLError(
        INTERNAL_MESSAGE if internal else error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        # Kept for the log only; the response shows message, locations, path and extensions.
        original_error=original,
        extensions={
            **(error.extensions or {}),
            "code": INTERNAL_CODE if internal else getattr(original, "code", None),
        },
    )
