"""Tags edited over HTTP: create, rename, recolour, delete, merge; names unique ignoring case
in every script, enforced by the database; `Tag.modelCount` batched."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.store import Store
from domain.store.tags import insert_tag
from tests.conftest import Shelf
from tests.legacy import LegacyRow, create_legacy_db
from tests.seed import add_model, add_pending, add_tags, digest

TAG = "id name color modelCount"
_DETAILS = {
    "InvalidInput": "field",
    "TagNotFound": "id",
    "TagNameTaken": "name existing { id name }",
}


def problems(*kinds: str) -> str:
    """The selections of the problems a union holds (GraphQL refuses any other)."""
    return "... on Problem { code message } " + " ".join(
        f"... on {kind} {{ {_DETAILS[kind]} }}" for kind in kinds
    )


CREATE = f"""
mutation($name: String!, $color: String) {{
  createTag(name: $name, color: $color) {{
    __typename ... on Tag {{ {TAG} }} {problems("TagNameTaken", "InvalidInput")}
  }}
}}
"""
DELETE = f"""
mutation($id: Int!) {{
  deleteTag(id: $id) {{ __typename ... on TagDeleted {{ id }} {problems("TagNotFound")} }}
}}
"""
MERGE = f"""
mutation($sources: [Int!]!, $target: Int!) {{
  mergeTags(sourceIds: $sources, targetId: $target) {{
    __typename ... on Tag {{ {TAG} }} {problems("TagNotFound", "InvalidInput")}
  }}
}}
"""


_UPDATE_PROBLEMS = problems("TagNotFound", "TagNameTaken", "InvalidInput")


def update(**arguments: str) -> str:
    """An updateTag whose arguments are only those given (an omitted one is UNSET)."""
    declared = "".join(f", ${name}: {kind}" for name, kind in arguments.items())
    passed = "".join(f", {name}: ${name}" for name in arguments)
    return f"""
    mutation($id: Int!{declared}) {{
      updateTag(id: $id{passed}) {{ __typename ... on Tag {{ {TAG} }} {_UPDATE_PROBLEMS} }}
    }}
    """


async def library(shelf: Shelf) -> dict[str, Any]:
    """Everything a tag edit could change: the tags (with their keys) and every link."""
    tags = await shelf.store.fetch_all("SELECT id, name, name_key, color FROM tags ORDER BY id")
    models = await shelf.store.fetch_all("SELECT sha256, tag_id FROM model_tags ORDER BY 1, 2")
    pending = await shelf.store.fetch_all(
        "SELECT pending_id, tag_id FROM pending_model_tags ORDER BY 1, 2"
    )
    return {
        "tags": [tuple(row) for row in tags],
        "model_tags": [tuple(row) for row in models],
        "pending_model_tags": [tuple(row) for row in pending],
    }


async def answer(shelf: Shelf, query: str, **variables: Any) -> dict[str, Any]:
    data = await shelf.data(query, **variables)
    (result,) = data.values()
    assert isinstance(result, dict)
    return result


async def seeded(shelf: Shelf) -> None:
    """Three tags, two models and a pending import carrying some of them."""
    anime, style, ink = await add_tags(shelf.store, "anime", "style", "ink")
    await add_model(shelf.store, "a", tags=[anime, style])
    await add_model(shelf.store, "b", tags=[style])
    await add_pending(shelf.store, 7, tags=[anime, ink])


# createTag


async def test_create_tag_answers_the_tag_trimmed_with_its_colour_normalized(
    shelf: Shelf,
) -> None:
    tag = await answer(shelf, CREATE, name="  Watercolor \u3000", color=" #F80 ")
    assert tag == {"__typename": "Tag", "id": 1, "name": "Watercolor", "color": "#ff8800",
                   "modelCount": 0}  # fmt: skip
    listed = (await shelf.data("{ tags { id name color modelCount } }"))["tags"]
    assert listed == [{k: v for k, v in tag.items() if k != "__typename"}]

    plain = await answer(shelf, CREATE, name="ink")
    assert plain["color"] is None
    assert (await answer(shelf, CREATE, name="Ash", color="#A1B2C3"))["color"] == "#a1b2c3"


@pytest.mark.parametrize(
    ("taken", "asked"),
    [
        ("anime", "ANIME"),
        ("anime", "  anime  "),
        ("Émile", "émile"),  # not ASCII: SQLite's NOCASE alone would let both in
        ("Straße", "STRASSE"),  # full case folding: ß is ss
        ("Ǆ", "ǆ"),  # a title-case digraph
        ("ΣΟΦΙΑ", "σοφια"),  # final sigma
        ("ＬＯＲＡ", "lora"),  # full-width letters (NFKC)
        ("e\u0301", "\u00e9"),  # decomposed é is composed é
    ],
)
async def test_a_name_another_tag_has_ignoring_case_is_taken(
    shelf: Shelf, taken: str, asked: str
) -> None:
    (existing,) = await add_tags(shelf.store, taken)
    before = await library(shelf)

    problem = await answer(shelf, CREATE, name=asked, color="#000000")

    assert problem["__typename"] == "TagNameTaken" and problem["code"] == "TAG_NAME_TAKEN"
    assert problem["existing"] == {"id": existing.id, "name": taken}
    assert problem["name"] == asked.strip()
    assert await library(shelf) == before


async def test_names_that_only_look_alike_are_different_tags(shelf: Shelf) -> None:
    for name in ("resume", "résumé", "Ⅸ-ix", "i", "ı"):  # dotless ı is a letter
        assert (await answer(shelf, CREATE, name=name))["__typename"] == "Tag"


@pytest.mark.parametrize(
    ("name", "color", "field"),
    [
        ("", None, "name"),
        ("   \t ", None, "name"),
        ("\u00a0\u3000", None, "name"),  # Unicode white space is white space too
        ("x" * 101, None, "name"),
        ("two\nlines", None, "name"),
        ("nul\x00", None, "name"),
        ("ok", "", "color"),
        ("ok", "red", "color"),
        ("ok", "#12345", "color"),
        ("ok", "#1234567", "color"),
        ("ok", "#ggg", "color"),
        ("ok", "ff8800", "color"),
    ],
)
async def test_create_tag_refuses_invalid_values_naming_the_field(
    shelf: Shelf, name: str, color: str | None, field: str
) -> None:
    before = await library(shelf)
    problem = await answer(shelf, CREATE, name=name, color=color)
    assert problem["__typename"] == "InvalidInput" and problem["code"] == "INVALID_INPUT"
    assert problem["field"] == field and f"`{field}`" in problem["message"]
    assert await library(shelf) == before


async def test_a_name_of_the_longest_length_is_kept(shelf: Shelf) -> None:
    assert (await answer(shelf, CREATE, name="é" * 100))["name"] == "é" * 100


async def test_two_clients_creating_one_name_at_once_make_one_tag(shelf: Shelf) -> None:
    transport = httpx.ASGITransport(app=shelf.app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://shelf.test") as one,
        httpx.AsyncClient(transport=transport, base_url="http://shelf.test") as two,
    ):
        responses = await asyncio.gather(
            *(
                client.post("/graphql", json={"query": CREATE, "variables": {"name": name}})
                for client, name in ((one, "Straße"), (two, "STRASSE"), (one, "strasse"))
            )
        )
    results = [response.json()["data"]["createTag"] for response in responses]

    winners = [result for result in results if result["__typename"] == "Tag"]
    losers = [result for result in results if result["__typename"] == "TagNameTaken"]
    assert len(winners) == 1 and len(losers) == 2
    assert all(loser["existing"]["id"] == winners[0]["id"] for loser in losers)
    assert len((await library(shelf))["tags"]) == 1


# NOCASE's index on `name` or the key's on `name_key`, whichever meets the row first.
UNIQUE_NAME = re.escape("UNIQUE constraint failed: tags.name")


async def test_the_database_itself_refuses_a_second_tag_of_one_name(shelf: Shelf) -> None:
    """No code path can create two: the unique key is computed by the database."""
    await add_tags(shelf.store, "Émile")
    for spelling in ("ÉMILE", " émile ", "E\u0301mile"):
        with pytest.raises(sqlite3.IntegrityError, match=UNIQUE_NAME):
            async with shelf.store.transaction() as conn:
                await insert_tag(conn, spelling)
        with pytest.raises(sqlite3.IntegrityError, match=UNIQUE_NAME):
            async with shelf.store.transaction() as conn:
                await conn.execute("INSERT INTO tags (name) VALUES (?)", (spelling,))
    async with shelf.store.transaction() as conn:  # a rename in raw SQL is keyed too
        await conn.execute("INSERT INTO tags (id, name) VALUES (5, 'other')")
    with pytest.raises(sqlite3.IntegrityError, match=UNIQUE_NAME):
        async with shelf.store.transaction() as conn:
            await conn.execute("UPDATE tags SET name = 'E\u0301MILE' WHERE id = 5")
    with pytest.raises(sqlite3.IntegrityError, match="white space"):
        async with shelf.store.transaction() as conn:
            await conn.execute("INSERT INTO tags (name) VALUES ('\u3000')")
    assert [row[1:] for row in (await library(shelf))["tags"]] == [
        ("Émile", "émile", None),
        ("other", "other", None),
    ]


# updateTag


async def test_update_tag_renames_recolours_and_keeps_what_is_omitted(shelf: Shelf) -> None:
    await seeded(shelf)
    tag = await answer(shelf, update(name="String"), id=1, name="  Anime art ")
    assert tag == {"__typename": "Tag", "id": 1, "name": "Anime art", "color": None,
                   "modelCount": 1}  # fmt: skip

    tag = await answer(shelf, update(color="String"), id=1, color="#ABC")
    assert (tag["name"], tag["color"]) == ("Anime art", "#aabbcc")  # the name stays

    tag = await answer(shelf, update(name="String"), id=1, name="anime ART")
    assert (tag["name"], tag["color"]) == ("anime ART", "#aabbcc")  # its own name, new case

    tag = await answer(shelf, update(), id=1)
    assert (tag["name"], tag["color"]) == ("anime ART", "#aabbcc")  # nothing given

    tag = await answer(shelf, update(color="String"), id=1, color=None)
    assert (tag["name"], tag["color"]) == ("anime ART", None)  # an explicit null clears

    query = "{ model(sha256: $s) { tags { id name } } }"
    assert query  # the models keep the tag under its new name:
    names = (await shelf.data("{ tags { id name } }"))["tags"]
    assert {"id": 1, "name": "anime ART"} in names
    links = (await library(shelf))["model_tags"]
    assert sum(1 for _, tag_id in links if tag_id == 1) == 1


async def test_update_tag_failures_change_nothing(shelf: Shelf) -> None:
    await seeded(shelf)
    before = await library(shelf)

    missing = await answer(shelf, update(name="String"), id=99, name="x")
    assert missing["__typename"] == "TagNotFound" and missing["id"] == 99
    assert missing["code"] == "TAG_NOT_FOUND"

    taken = await answer(shelf, update(name="String"), id=1, name=" STYLE")
    assert taken["__typename"] == "TagNameTaken" and taken["existing"] == {"id": 2, "name": "style"}

    null_name = await answer(shelf, update(name="String"), id=1, name=None)
    assert null_name["__typename"] == "InvalidInput" and null_name["field"] == "name"

    for name, color, field in (
        ("", "#fff", "name"),
        ("x" * 101, None, "name"),
        ("ok", "#ff", "color"),
    ):
        bad = await answer(
            shelf, update(name="String", color="String"), id=1, name=name, color=color
        )
        assert bad["__typename"] == "InvalidInput" and bad["field"] == field

    # An invalid value is refused before the id is looked for: the caller fixes it first.
    unknown_and_bad = await answer(shelf, update(color="String"), id=99, color="nope")
    assert unknown_and_bad["__typename"] == "InvalidInput"

    assert await library(shelf) == before


# deleteTag


async def test_delete_tag_removes_it_and_its_links_only(shelf: Shelf) -> None:
    await seeded(shelf)
    deleted = await answer(shelf, DELETE, id=1)
    assert deleted == {"__typename": "TagDeleted", "id": 1}

    after = await library(shelf)
    assert [row[0] for row in after["tags"]] == [2, 3]
    assert all(tag_id != 1 for _, tag_id in after["model_tags"] + after["pending_model_tags"])
    assert len(after["model_tags"]) == 2 and after["pending_model_tags"] == [(7, 3)]
    models = (await shelf.data("{ models { nodes { name tags { id } } } }"))["models"]["nodes"]
    assert models == [{"name": "a", "tags": [{"id": 2}]}, {"name": "b", "tags": [{"id": 2}]}]

    gone = await answer(shelf, DELETE, id=1)
    assert gone["__typename"] == "TagNotFound" and gone["id"] == 1
    assert await library(shelf) == after


# mergeTags


async def test_merge_tags_moves_models_and_pending_imports_without_duplicate_links(
    shelf: Shelf,
) -> None:
    anime, style, ink, kept = await add_tags(shelf.store, "anime", "style", "ink", "art")
    both = await add_model(shelf.store, "both", tags=[anime, kept])  # overlap with the target
    only = await add_model(shelf.store, "only", tags=[style, ink])  # two sources at once
    none = await add_model(shelf.store, "none")
    await add_pending(shelf.store, 7, tags=[ink, kept])
    await add_pending(shelf.store, 8, tags=[anime])

    target = await answer(
        shelf, MERGE, sources=[anime.id, style.id, ink.id, anime.id], target=kept.id
    )

    assert target == {"__typename": "Tag", "id": kept.id, "name": "art", "color": None,
                      "modelCount": 2}  # fmt: skip
    after = await library(shelf)
    assert [row[0] for row in after["tags"]] == [kept.id]
    assert sorted(after["model_tags"]) == sorted([(both.sha256, kept.id), (only.sha256, kept.id)])
    assert after["pending_model_tags"] == [(7, kept.id), (8, kept.id)]
    assert none.sha256 not in {sha for sha, _ in after["model_tags"]}


async def test_merge_tags_failures_change_nothing(shelf: Shelf) -> None:
    await seeded(shelf)
    before = await library(shelf)

    cases: list[tuple[list[int], int, str, Any]] = [
        ([1, 2], 99, "TagNotFound", 99),  # unknown target
        ([1, 98, 2], 3, "TagNotFound", 98),  # an unknown source: nothing moves
        ([1, 3], 3, "InvalidInput", "sourceIds"),  # the target among the sources
        ([], 3, "InvalidInput", "sourceIds"),
        (list(range(1, 1_003)), 1_003, "InvalidInput", "sourceIds"),
    ]
    for sources, target, kind, detail in cases:
        problem = await answer(shelf, MERGE, sources=sources, target=target)
        assert problem["__typename"] == kind, (sources, target, problem)
        assert problem.get("id", problem.get("field")) == detail
        assert await library(shelf) == before


# Tag.modelCount


async def test_model_count_counts_models_not_pending_imports(shelf: Shelf) -> None:
    await seeded(shelf)
    counts = {
        t["name"]: t["modelCount"]
        for t in (await shelf.data("{ tags { name modelCount } }"))["tags"]
    }
    assert counts == {"anime": 1, "style": 2, "ink": 0}


async def test_model_count_of_a_page_of_models_is_one_statement(shelf: Shelf) -> None:
    tags = await add_tags(shelf.store, *(f"tag {i}" for i in range(20)))
    for i in range(60):
        await add_model(shelf.store, f"model {i:03}", tags=tags[i % 17 : i % 17 + 4])
    query = "query($first: Int) { models(first: $first) { nodes { tags { id modelCount } } } }"

    async def statements(first: int) -> list[str]:
        shelf.statements.clear()
        await shelf.data(query, first=first)
        return list(shelf.statements)

    small, large = await statements(5), await statements(60)
    # The page with its total, one batch of tags, one batch of counts.
    assert len(small) == len(large) == 3, large
    assert sum("count(*) AS models" in statement for statement in large) == 1

    (everything,) = (await shelf.data("{ tags { id modelCount } }"),)
    shelf.statements.clear()
    await shelf.data("{ tags { id modelCount } }")
    assert len(shelf.statements) == 2  # the tags, their counts
    assert sum(t["modelCount"] for t in everything["tags"]) == 60 * 4


# Names that only NOCASE kept apart: older libraries and the legacy import


async def test_a_library_from_before_joins_tags_differing_only_in_non_ascii_case(
    tmp_path: Path,
) -> None:
    from domain.store.schema import _V1, _V2, _V3, _V4, _V5, _V6, _V7, APPLICATION_ID

    path = tmp_path / "library.db"
    one, two = digest("one"), digest("two")
    with sqlite3.connect(path) as raw:
        for script in (_V1, _V2, _V3, _V4, _V5, _V6, _V7):
            raw.executescript(script)
        raw.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        raw.execute("PRAGMA user_version = 7")
        raw.executemany(
            "INSERT INTO models VALUES (?, ?, 'm', 'lora', 1, 0, 0, '{}')",
            [(one, "/m/one"), (two, "/m/two")],
        )
        # NOCASE let these in: they differ in É/é and in ß/SS only.
        raw.executemany(
            "INSERT INTO tags (id, name) VALUES (?, ?)",
            [(4, "émile"), (2, "Émile"), (3, "ink"), (5, "STRASSE"), (6, "straße")],
        )
        raw.executemany(
            "INSERT INTO model_tags VALUES (?, ?)", [(one, 2), (one, 4), (two, 4), (two, 6)]
        )
        raw.execute("INSERT INTO pending_import (id, path, name, type, created_at)"
                    " VALUES (7, '/m/p', 'p', 'lora', 0)")  # fmt: skip
        raw.executemany("INSERT INTO pending_model_tags VALUES (7, ?)", [(4,), (3,)])
    raw.close()

    store = await Store.open(path)
    try:
        tags = await store.fetch_all("SELECT id, name, name_key FROM tags ORDER BY id")
        links = await store.fetch_all("SELECT sha256, tag_id FROM model_tags ORDER BY 1, 2")
        pending = await store.fetch_all("SELECT tag_id FROM pending_model_tags ORDER BY 1")
        violations = await store.fetch_all("PRAGMA foreign_key_check")
        with pytest.raises(sqlite3.IntegrityError):
            async with store.transaction() as conn:
                await insert_tag(conn, "EMILE\u0301")  # not E + acute: a new name
                await insert_tag(conn, "émile")
    finally:
        await store.close()

    # The lowest id of each name stays, with every model and pending import of the others.
    assert [tuple(row) for row in tags] == [
        (2, "Émile", "émile"),
        (3, "ink", "ink"),
        (5, "STRASSE", "strasse"),
    ]
    assert [tuple(row) for row in links] == sorted([(one, 2), (two, 2), (two, 5)])
    assert [row[0] for row in pending] == [2, 3]
    assert violations == []


LEGACY_MIGRATE = """
mutation($db: String!) {
  migrateLegacyDb(legacyDbPath: $db) {
    __typename ... on MigrationReport { tagsImported issues { kind message } }
  }
}
"""


async def test_legacy_tags_differing_only_in_case_become_one_tag_with_an_issue(
    shelf: Shelf, tmp_path: Path
) -> None:
    folder = tmp_path / "legacy"
    folder.mkdir()
    rows = [
        LegacyRow(1, "/m/a.safetensors", hash_hex=digest("a"), tags=[3]),
        LegacyRow(2, "/m/b.safetensors", hash_hex=digest("b"), tags=[8]),
        LegacyRow(3, "/m/c.safetensors", hash_hex=digest("c"), tags=[3, 8]),
        LegacyRow(4, "/m/p.safetensors", tags=[8, 9]),  # a pending import
    ]
    tags = [(3, "straße", "#ff0000"), (8, "strasse", None), (9, "émile", None)]
    db = create_legacy_db(folder / "hikaze_mm.sqlite3", rows, tags)
    await add_tags(shelf.store, "Émile")  # the library's own, id 1

    report = (await shelf.data(LEGACY_MIGRATE, db=str(db)))["migrateLegacyDb"]

    assert report["tagsImported"] == 1
    merged = [issue["message"] for issue in report["issues"] if issue["kind"] == "TAG_MERGED"]
    assert len(merged) == 1 and "'strasse' (legacy id 8)" in merged[0]
    assert "'straße' (legacy id 3)" in merged[0]
    listed = (await shelf.data("{ tags { id name modelCount } }"))["tags"]
    assert sorted((t["id"], t["name"], t["modelCount"]) for t in listed) == [
        (1, "Émile", 0),
        (3, "straße", 3),
    ]
    after = await library(shelf)
    assert after["pending_model_tags"] == [(4, 1), (4, 3)]  # one link each, no duplicate

    again = (await shelf.data(LEGACY_MIGRATE, db=str(db)))["migrateLegacyDb"]
    assert again["tagsImported"] == 0 and again["issues"] == []
    assert await library(shelf) == after
