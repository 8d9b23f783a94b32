"""`pendingImports` and `pendingImport` over HTTP, against a real library file."""

from __future__ import annotations

from tests.conftest import Shelf
from tests.seed import add_pending, add_tags, digest

PAGE = """
query Page($first: Int, $after: String) {
  pendingImports(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id } }
    nodes { id }
  }
}
"""

ONE = """
query One($id: Int!) {
  pendingImport(id: $id) {
    id path name type sizeBytes createdAt meta sha256
    tags { id name }
    images { seq filename sizeBytes url }
  }
}
"""


async def test_pages_follow_id_order_with_gaps(shelf: Shelf) -> None:
    for pending_id in [42, 3, 17, 8, 100]:  # legacy ids keep their gaps
        await add_pending(shelf.store, pending_id)

    first = (await shelf.data(PAGE, first=2))["pendingImports"]
    second = (await shelf.data(PAGE, first=2, after=first["pageInfo"]["endCursor"]))[
        "pendingImports"
    ]
    third = (await shelf.data(PAGE, first=2, after=second["pageInfo"]["endCursor"]))[
        "pendingImports"
    ]

    assert [n["id"] for n in first["nodes"]] == [3, 8]
    assert [n["id"] for n in second["nodes"]] == [17, 42]
    assert [n["id"] for n in third["nodes"]] == [100]
    assert [first["totalCount"], third["totalCount"]] == [5, 5]
    assert first["pageInfo"]["hasNextPage"] and not third["pageInfo"]["hasNextPage"]


async def test_pending_import_has_every_field(shelf: Shelf) -> None:
    lora, style = await add_tags(shelf.store, "lora", "style")
    known = digest("duplicate")
    pending = await add_pending(shelf.store, 12, sha256=known, tags=[style, lora], images=2)

    data = (await shelf.data(ONE, id=12))["pendingImport"]

    assert data["id"] == 12
    assert data["path"] == pending.path
    assert data["sizeBytes"] == 7 * 1024**3
    assert data["meta"] == {"description": "pending 12"}
    assert data["sha256"] == known
    assert [t["name"] for t in data["tags"]] == ["lora", "style"]
    assert data["images"] == [
        {
            "seq": 0,
            "filename": "12_0.png",
            "sizeBytes": 1000,
            "url": "/api/images/pending/12_0.png",
        },
        {
            "seq": 1,
            "filename": "12_1.png",
            "sizeBytes": 1001,
            "url": "/api/images/pending/12_1.png",
        },
    ]


async def test_unhashed_pending_import_has_null_digest(shelf: Shelf) -> None:
    await add_pending(shelf.store, 1)
    data = (await shelf.data(ONE, id=1))["pendingImport"]
    assert data["sha256"] is None and data["tags"] == [] and data["images"] == []


async def test_unknown_pending_import_is_null(shelf: Shelf) -> None:
    assert await shelf.data(ONE, id=404) == {"pendingImport": None}
