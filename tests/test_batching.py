"""A page of models with tags and galleries costs the same few SQL statements at any size."""

from __future__ import annotations

from tests.conftest import Shelf
from tests.seed import add_model, add_pending, add_tags

MODELS = """
query($first: Int) {
  models(first: $first) {
    totalCount
    nodes { sha256 name tags { name } sampleImages { url width } }
    edges { node { tags { id } } }
  }
}
"""

PENDING = """
query($first: Int) { pendingImports(first: $first) { nodes { id tags { name } images { url } } } }
"""


async def statements_for(shelf: Shelf, query: str, first: int) -> int:
    shelf.statements.clear()
    data = await shelf.data(query, first=first)
    assert data
    return len(shelf.statements)


async def test_models_page_statement_count_does_not_grow_with_the_page(shelf: Shelf) -> None:
    tags = await add_tags(shelf.store, "a", "b", "c", "d")
    for i in range(100):
        await add_model(shelf.store, f"model {i:03}", tags=tags[i % 2 : i % 2 + 3], images=2)

    small = await statements_for(shelf, MODELS, 10)
    large = await statements_for(shelf, MODELS, 100)

    # The page with its count, one batch of tags, one of galleries.
    assert small == large == 3, shelf.statements


async def test_pending_page_statement_count_does_not_grow_with_the_page(shelf: Shelf) -> None:
    tags = await add_tags(shelf.store, "a", "b")
    for pending_id in range(1, 61):
        await add_pending(shelf.store, pending_id, tags=tags, images=1)

    assert await statements_for(shelf, PENDING, 5) == await statements_for(shelf, PENDING, 60) == 6


async def test_batches_still_answer_each_model_with_its_own_rows(shelf: Shelf) -> None:
    red, blue = await add_tags(shelf.store, "red", "blue")
    await add_model(shelf.store, "a red", tags=[red], images=1)
    await add_model(shelf.store, "b blue", tags=[blue], images=0)
    await add_model(shelf.store, "c both", tags=[red, blue], images=3)

    nodes = (await shelf.data(MODELS, first=10))["models"]["nodes"]

    assert [[t["name"] for t in n["tags"]] for n in nodes] == [["red"], ["blue"], ["blue", "red"]]
    assert [len(n["sampleImages"]) for n in nodes] == [1, 0, 3]
    assert all(n["sha256"] in i["url"] for n in nodes for i in n["sampleImages"])


async def test_relations_asked_for_through_fragments_are_answered(shelf: Shelf) -> None:
    (red,) = await add_tags(shelf.store, "red")
    await add_model(shelf.store, "m", tags=[red], images=2)
    query = """
    fragment Gallery on Model { sampleImages { seq } }
    { models { edges { node { ...Gallery ... on Model { tags { name } } } } } }
    """
    (edge,) = (await shelf.data(query))["models"]["edges"]
    assert edge["node"] == {"sampleImages": [{"seq": 0}, {"seq": 1}], "tags": [{"name": "red"}]}


async def test_a_page_fetches_no_relation_it_was_not_asked_for(shelf: Shelf) -> None:
    (red,) = await add_tags(shelf.store, "red")
    for i in range(5):
        await add_model(shelf.store, f"m{i}", tags=[red], images=1)

    await statements_for(
        shelf, "query($first: Int) { models(first: $first) { nodes { name } } }", 5
    )
    assert not any("model_tags" in s or "sample_images" in s for s in shelf.statements)

    await statements_for(
        shelf, "query($first: Int) { models(first: $first) { nodes { tags { id } } } }", 5
    )
    assert any("model_tags" in s for s in shelf.statements)
    assert not any("sample_images" in s for s in shelf.statements)
