"""The connection shape every list of the API shares (Relay-style, forward pagination)."""

from __future__ import annotations

from typing import Generic, TypeVar

import strawberry

from api.enums import domain_enum
from domain.pagination import Page, SortDirection

Node = TypeVar("Node")
Record = TypeVar("Record")

domain_enum(
    SortDirection,
    name="SortDirection",
    description="Which way a list runs along its order.",
    values={
        SortDirection.ASC: "Ascending: smallest, oldest or A first.",
        SortDirection.DESC: "Descending: largest, newest or Z first.",
    },
)


@strawberry.type(description="Where a page sits in its list, and how to ask for the next one.")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="True when rows follow this page; ask for them with `after: endCursor`."
    )
    has_previous_page: bool = strawberry.field(
        description="True when this page was asked for with `after`, so rows precede it."
    )
    start_cursor: str | None = strawberry.field(
        description="The cursor of the first row of this page; null when the page is empty."
    )
    end_cursor: str | None = strawberry.field(
        description="The cursor of the last row of this page; null when the page is empty."
    )


@strawberry.type(description="One row of a page, with the cursor that points at it.")
class Edge(Generic[Node]):
    cursor: str = strawberry.field(
        description="An opaque position: pass it as `after` to continue after this row."
    )
    node: Node = strawberry.field(description="The row itself.")


@strawberry.type(description="One page of a list, in the list's stable order.")
class Connection(Generic[Node]):
    total_count: int = strawberry.field(
        description="How many rows the whole list holds with the filters given, across all pages."
    )
    page_info: PageInfo = strawberry.field(description="How to go on from this page.")
    edges: list[Edge[Node]] = strawberry.field(
        description="The rows of this page with their cursors."
    )
    nodes: list[Node] = strawberry.field(description="The rows of this page, without cursors.")

    @classmethod
    def of(cls, page: Page[Record], nodes: list[Node]) -> Connection[Node]:
        """The connection of `page`, whose items the caller has converted into `nodes`."""
        return cls(
            total_count=page.total_count,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=page.cursors[0] if page.cursors else None,
                end_cursor=page.cursors[-1] if page.cursors else None,
            ),
            edges=[Edge(cursor=c, node=n) for c, n in zip(page.cursors, nodes, strict=True)],
            nodes=nodes,
        )
