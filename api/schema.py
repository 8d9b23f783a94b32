"""The GraphQL schema, its guards, and its SDL export."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import partial

from graphql import GraphQLError, build_schema, lexicographic_sort_schema, print_schema
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig

from api.errors import ErrorPolicy, Schema
from api.mutation import Mutation
from api.query import Query
from api.scalars import SCALARS
from api.subscription import Subscription

# Guards, so that one request cannot ask for the whole library many times over. The page
# cap (domain.pagination.MAX_PAGE_SIZE) bounds the rows of one list; these bound how many
# lists one document can hold. The playground's introspection query fits within them.
MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 4_000
CACHED_DOCUMENTS = 256

# The depth and alias limiters build a new rule class each time they are constructed. Built
# once here, the rules stay the same objects for every request, which the validation cache
# needs: it keys on the document *and* the rule classes.
GUARD_RULES = [
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]


class ParserCacheKeepingErrors(ParserCache):
    """Strawberry's parser cache parses before its hook yields, so a syntax error escapes the
    operation's extensions and reaches the client without `extensions.code`. A document that
    does not parse is left to Strawberry's own parse, which reports it as a result."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        with contextlib.suppress(GraphQLError):
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        yield


schema = Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    config=StrawberryConfig(scalar_map=SCALARS),
    # Factories, not instances: each request gets extensions of its own.
    extensions=[
        partial(AddValidationRules, GUARD_RULES),
        partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
        # Clients send the same few documents again and again; parse and validate each once.
        partial(ParserCacheKeepingErrors, maxsize=CACHED_DOCUMENTS),
        partial(ValidationCache, maxsize=CACHED_DOCUMENTS),
        ErrorPolicy,
    ],
)


def export_sdl() -> str:
    """The schema as SDL with types and fields sorted, so the file only changes when the
    schema does and its diffs are easy to review."""
    return print_schema(lexicographic_sort_schema(build_schema(schema.as_str()))) + "\n"
