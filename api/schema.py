"""The GraphQL schema, its guards, and its SDL export."""

from __future__ import annotations

from functools import partial

from graphql import build_schema, lexicographic_sort_schema, print_schema
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig

from api.errors import ErrorPolicy, Schema
from api.query import Query
from api.scalars import SCALARS

# Guards, so that one request cannot ask for the whole library many times over. The page
# cap (domain.pagination.MAX_PAGE_SIZE) bounds the rows of one list; these bound how many
# lists one document can hold. The playground's introspection query fits within them.
MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 4_000

schema = Schema(
    query=Query,
    config=StrawberryConfig(scalar_map=SCALARS),
    # Factories, not instances: each request gets extensions of its own.
    extensions=[
        partial(QueryDepthLimiter, max_depth=MAX_DEPTH),
        partial(MaxAliasesLimiter, max_alias_count=MAX_ALIASES),
        partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
        ErrorPolicy,
    ],
)


def export_sdl() -> str:
    """The schema as SDL with types and fields sorted, so the file only changes when the
    schema does and its diffs are easy to review."""
    return print_schema(lexicographic_sort_schema(build_schema(schema.as_str()))) + "\n"
