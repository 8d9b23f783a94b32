"""`models`, `model` and `tags` over HTTP, against a real library file."""

from __future__ import annotations

from tests.conftest import Shelf
from tests.seed import add_model, add_tags, digest

PAGE = """
query Page($first: Int, $after: String, $search: String, $tagIds: [Int!], $type: String) {
  models(first: $first, after: $after, search: $search, tagIds: $tagIds, type: $type) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { name } }
    nodes { sha256 name }
  }
}
"""


async def names(shelf: Shelf, **arguments: object) -> list[str]:
    data = await shelf.data(PAGE, **arguments)
    return [node["name"] for node in data["models"]["nodes"]]


async def test_pages_walk_the_whole_list_in_name_order_without_repeats(shelf: Shelf) -> None:
    for name in ["delta", "Alpha", "charlie", "bravo", "echo", "foxtrot", "golf"]:
        await add_model(shelf.store, name)

    seen: list[str] = []
    after = None
    pages = 0
    while True:
        data = (await shelf.data(PAGE, first=3, after=after))["models"]
        pages += 1
        assert data["totalCount"] == 7
        assert [e["node"]["name"] for e in data["edges"]] == [n["name"] for n in data["nodes"]]
        assert data["pageInfo"]["startCursor"] == data["edges"][0]["cursor"]
        assert data["pageInfo"]["endCursor"] == data["edges"][-1]["cursor"]
        assert data["pageInfo"]["hasPreviousPage"] == (after is not None)
        seen += [n["name"] for n in data["nodes"]]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]

    assert pages == 3
    assert seen == ["Alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"]


async def test_a_cursor_stays_valid_when_rows_are_added_before_it(shelf: Shelf) -> None:
    for name in ["b", "d", "f"]:
        await add_model(shelf.store, name)
    first_page = (await shelf.data(PAGE, first=2))["models"]
    await add_model(shelf.store, "a")  # lands before the cursor: must not shift the next page
    await add_model(shelf.store, "e")  # lands after it: must show up

    assert await names(shelf, first=10, after=first_page["pageInfo"]["endCursor"]) == ["e", "f"]


async def test_models_with_the_same_name_are_all_listed_across_pages(shelf: Shelf) -> None:
    for _ in range(5):
        await add_model(shelf.store, "same")
    first = (await shelf.data(PAGE, first=2))["models"]
    rest = (await shelf.data(PAGE, first=10, after=first["pageInfo"]["endCursor"]))["models"]
    digests = [n["sha256"] for n in first["nodes"] + rest["nodes"]]
    assert len(set(digests)) == 5


async def test_an_empty_page_past_the_end(shelf: Shelf) -> None:
    await add_model(shelf.store, "only")
    data = (await shelf.data(PAGE, first=1))["models"]
    assert data["pageInfo"]["hasNextPage"] is False
    after = (await shelf.data(PAGE, after=data["pageInfo"]["endCursor"]))["models"]
    assert after == {
        "totalCount": 1,
        "pageInfo": {
            "hasNextPage": False,
            "hasPreviousPage": True,
            "startCursor": None,
            "endCursor": None,
        },
        "edges": [],
        "nodes": [],
    }


async def test_first_zero_counts_without_rows(shelf: Shelf) -> None:
    await add_model(shelf.store, "one")
    await add_model(shelf.store, "two")
    data = (await shelf.data(PAGE, first=0))["models"]
    assert data["totalCount"] == 2
    assert data["nodes"] == []
    assert data["pageInfo"]["hasNextPage"] is True


async def test_without_first_a_page_holds_fifty(shelf: Shelf) -> None:
    for i in range(51):
        await add_model(shelf.store, f"m{i:02}")
    data = (await shelf.data(PAGE))["models"]
    assert len(data["nodes"]) == 50
    assert data["pageInfo"]["hasNextPage"] is True


async def test_search_matches_part_of_the_name_ignoring_case(shelf: Shelf) -> None:
    for name in ["Anime Style", "photoreal", "ANIME lineart", "landscape"]:
        await add_model(shelf.store, name)
    assert await names(shelf, search="anime") == ["ANIME lineart", "Anime Style"]
    assert await names(shelf, search="  ") == [
        "ANIME lineart",
        "Anime Style",
        "landscape",
        "photoreal",
    ]


async def test_search_treats_like_wildcards_as_plain_text(shelf: Shelf) -> None:
    for name in ["100% cotton", "1000 cotton", "a_b", "axb"]:
        await add_model(shelf.store, name)
    assert await names(shelf, search="0%") == ["100% cotton"]
    assert await names(shelf, search="a_b") == ["a_b"]


async def test_tag_filter_keeps_models_with_every_tag(shelf: Shelf) -> None:
    style, anime, nsfw = await add_tags(shelf.store, "style", "anime", "nsfw")
    await add_model(shelf.store, "both", tags=[style, anime])
    await add_model(shelf.store, "style only", tags=[style])
    await add_model(shelf.store, "all three", tags=[style, anime, nsfw])
    await add_model(shelf.store, "none")

    assert await names(shelf, tagIds=[style.id]) == ["all three", "both", "style only"]
    assert await names(shelf, tagIds=[style.id, anime.id]) == ["all three", "both"]
    assert await names(shelf, tagIds=[anime.id, anime.id]) == ["all three", "both"]
    assert await names(shelf, tagIds=[9999]) == []
    assert await names(shelf, tagIds=[]) == ["all three", "both", "none", "style only"]


async def test_type_filter_ignores_case_and_combines_with_others(shelf: Shelf) -> None:
    (style,) = await add_tags(shelf.store, "style")
    await add_model(shelf.store, "sdxl base", type="checkpoint")
    await add_model(shelf.store, "sdxl style", type="lora", tags=[style])
    await add_model(shelf.store, "sd15 style", type="lora", tags=[style])

    assert await names(shelf, type="CHECKPOINT") == ["sdxl base"]
    assert await names(shelf, type="lora", search="sdxl", tagIds=[style.id]) == ["sdxl style"]
    data = await shelf.data(PAGE, type="lora", first=1)
    assert data["models"]["totalCount"] == 2


async def test_a_cursor_carries_on_under_the_same_filters(shelf: Shelf) -> None:
    for name in ["lora a", "ckpt b", "lora c", "ckpt d", "lora e"]:
        await add_model(shelf.store, name, type=name.split()[0])
    first = (await shelf.data(PAGE, type="lora", first=2))["models"]
    assert [n["name"] for n in first["nodes"]] == ["lora a", "lora c"]
    assert await names(shelf, type="lora", after=first["pageInfo"]["endCursor"]) == ["lora e"]


MODEL = """
query One($sha256: String!) {
  model(sha256: $sha256) {
    sha256 path name type sizeBytes createdAt updatedAt meta
    tags { id name color }
    sampleImages { seq filename width height generation url low: url(quality: LOW) }
  }
}
"""


async def test_model_by_digest_has_every_field(shelf: Shelf) -> None:
    red, blue = await add_tags(shelf.store, "red", "blue", color="#ff0000")
    meta = {"description": "ünïcode", "prompts": {"positive": "a cat"}, "params": {"cfg": 7.5}}
    model = await add_model(
        shelf.store,
        "seven gigs",
        type="checkpoint",
        size_bytes=7 * 1024**3 + 1,
        meta=meta,
        tags=[red, blue],
        images=2,
    )

    data = (await shelf.data(MODEL, sha256=model.sha256))["model"]

    assert data["sha256"] == model.sha256
    assert data["path"] == model.path
    assert data["type"] == "checkpoint"
    assert data["sizeBytes"] == 7_516_192_769  # past 2^31 and 2^32, exact
    assert data["createdAt"] == model.created_at.isoformat()
    assert data["meta"] == meta
    assert [t["name"] for t in data["tags"]] == ["blue", "red"]
    assert data["tags"][0] == {"id": blue.id, "name": "blue", "color": "#ff0000"}
    first, second = data["sampleImages"]
    assert [first["seq"], second["seq"]] == [0, 1]
    assert first["filename"] == f"{model.sha256}_0.webp"
    assert (first["width"], first["height"]) == (1024, 1536)
    assert first["generation"] is None and second["generation"] == {"seed": 1}
    version = digest(f"image {model.sha256} 0")[:16]
    assert first["url"] == f"/api/images/{model.sha256}_0.webp?quality=high&v={version}"
    assert first["low"] == f"/api/images/{model.sha256}_0.webp?quality=low&v={version}"
    assert second["url"] != first["url"]


async def test_model_lookup_accepts_upper_case_and_spaces(shelf: Shelf) -> None:
    model = await add_model(shelf.store, "x")
    data = await shelf.data(MODEL, sha256=f"  {model.sha256.upper()} ")
    assert data["model"]["sha256"] == model.sha256


async def test_unknown_model_is_null(shelf: Shelf) -> None:
    assert await shelf.data(MODEL, sha256="0" * 64) == {"model": None}


async def test_malformed_digest_is_a_clear_error(shelf: Shelf) -> None:
    for bad in ["abc", "g" * 64, "0" * 63, "0" * 65, ""]:
        error = await shelf.error(MODEL, sha256=bad)
        assert "is not a SHA-256 digest" in error["message"]
        assert error["extensions"]["code"] == "INVALID_SHA256"
        assert error["path"] == ["model"]


async def test_a_model_without_tags_or_images_has_empty_lists(shelf: Shelf) -> None:
    model = await add_model(shelf.store, "bare", size_bytes=None)
    data = (await shelf.data(MODEL, sha256=model.sha256))["model"]
    assert data["tags"] == [] and data["sampleImages"] == [] and data["sizeBytes"] is None


async def test_tags_lists_every_tag_by_name(shelf: Shelf) -> None:
    await add_tags(shelf.store, "zeta", "Alpha", "mid")
    data = await shelf.data("{ tags { name } }")
    assert [t["name"] for t in data["tags"]] == ["Alpha", "mid", "zeta"]
