"""Editing models over GraphQL: updateModel (with its edit conflict), setModelTags, tagModels
over 10,000 models, deleteModel (with a crash between its commit and its file removals)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.images.gallery import Gallery
from domain.records import Model, to_epoch_ms
from domain.store.models import insert_models, link_many_model_tags
from tests.conftest import Shelf, running_shelf
from tests.images import BLUE, GREEN, RED
from tests.seed import EPOCH, add_model, add_tags, digest
from tests.test_gallery import add, expected_files, files_of, picture

MODEL = "sha256 name type path meta updatedAt tags { id name }"
PROBLEM = "... on Problem { code message } ... on InvalidInput { field }"
UPDATE = f"""
mutation($sha: String!, $changes: ModelChanges!, $expected: DateTime) {{
  updateModel(sha256: $sha, changes: $changes, expectedUpdatedAt: $expected) {{
    __typename
    ... on ModelUpdated {{ fileExists model {{ {MODEL} }} }}
    ... on EditConflict {{ current {{ {MODEL} }} }}
    ... on ModelNotFound {{ sha256 }}
    ... on ModelPathTaken {{ path otherSha256 }}
    {PROBLEM}
  }}
}}
"""
SET_TAGS = f"""
mutation($sha: String!, $tags: [Int!]!) {{
  setModelTags(sha256: $sha, tagIds: $tags) {{
    __typename ... on ModelUpdated {{ model {{ {MODEL} }} }} ... on TagNotFound {{ id }}
    {PROBLEM}
  }}
}}
"""
TAG_MODELS = f"""
mutation($shas: [String!]!, $add: [Int!], $remove: [Int!]) {{
  tagModels(sha256s: $shas, add: $add, remove: $remove) {{
    __typename
    ... on ModelsTagged {{ changedCount changedSha256s }}
    ... on ModelsNotFound {{ sha256s count }}
    {PROBLEM}
  }}
}}
"""
DELETE = f"""
mutation($sha: String!) {{
  deleteModel(sha256: $sha) {{ __typename ... on ModelDeleted {{ sha256 }} {PROBLEM} }}
}}
"""
GET = f"query($sha: String!) {{ model(sha256: $sha) {{ {MODEL} sampleImages {{ seq }} }} }}"


async def library(shelf: Shelf) -> dict[str, Any]:
    """Every row an edit could touch, and every image file: what must not change on failure."""
    tables = ["models", "model_tags", "sample_images", "file_moves", "tags"]
    rows: dict[str, list[Any]] = {
        t: [tuple(r) for r in await shelf.store.fetch_all(f"SELECT * FROM {t}")] for t in tables
    }
    rows["files"] = sorted(p.name for p in shelf.config.images_dir.iterdir())
    return rows


async def update(shelf: Shelf, sha256: str, **variables: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await shelf.data(UPDATE, sha=sha256, **variables))["updateModel"]
    return result


async def test_update_model_changes_each_field_and_moves_updated_at(
    shelf: Shelf, tmp_path: Path
) -> None:
    model = await add_model(shelf.store, "old", meta={"keep": 1, "drop": 2, "deep": {"a": 1}})
    file = tmp_path / "models" / "new.safetensors"

    changed = await update(
        shelf,
        model.sha256.upper(),
        changes={"name": "  New name ", "type": " CheckPoint ", "path": f" {file} "},
    )
    assert changed["__typename"] == "ModelUpdated", changed
    assert changed["fileExists"] is False  # reported, not required
    got = changed["model"]
    assert (got["sha256"], got["name"], got["type"], got["path"]) == (
        model.sha256,
        "New name",
        "checkpoint",
        str(file),
    )
    assert got["updatedAt"] > model.updated_at.isoformat()

    file.parent.mkdir()
    file.write_bytes(b"weights")
    patched = await update(
        shelf, model.sha256, changes={"metaPatch": {"drop": None, "deep": {"b": 2}, "new": [1]}}
    )
    assert patched["fileExists"] is True
    assert patched["model"]["meta"] == {"keep": 1, "deep": {"a": 1, "b": 2}, "new": [1]}
    assert patched["model"]["updatedAt"] > got["updatedAt"]

    replaced = await update(shelf, model.sha256, changes={"meta": {"only": True}})
    assert replaced["model"]["meta"] == {"only": True}
    assert (await shelf.data(GET, sha=model.sha256))["model"]["meta"] == {"only": True}
    assert file.read_bytes() == b"weights"  # an edit never touches the file


async def test_an_edit_that_changes_nothing_leaves_updated_at(shelf: Shelf) -> None:
    model = await add_model(shelf.store, "same", type="lora", meta={"a": 1})
    before = await library(shelf)
    same = await update(
        shelf,
        model.sha256,
        changes={"name": " same ", "type": "LORA", "path": model.path, "metaPatch": {"b": None}},
        expected=model.updated_at.isoformat(),
    )
    assert same["__typename"] == "ModelUpdated"
    assert same["model"]["updatedAt"] == model.updated_at.isoformat()
    assert await library(shelf) == before


async def test_quick_successive_edits_each_get_a_later_updated_at(shelf: Shelf) -> None:
    """Edits within one millisecond: each must still see the previous one's updatedAt as
    current, or the second of two quick saves would be a false conflict (or worse, two
    writes with the same stamp would let a stale one through)."""
    model = await add_model(shelf.store, "quick")
    # The same millisecond, made certain: a stamp ahead of the clock (one written before the
    # clock stepped back) leaves "now" no later than the last change for every edit here.
    ahead = datetime.now(UTC) + timedelta(hours=1)
    async with shelf.store.transaction() as conn:
        await conn.execute(
            "UPDATE models SET updated_at = ? WHERE sha256 = ?", (to_epoch_ms(ahead), model.sha256)
        )
    tag = (await add_tags(shelf.store, "t"))[0]
    seen = (await shelf.data(GET, sha=model.sha256))["model"]["updatedAt"]
    assert datetime.fromisoformat(seen) > datetime.now(UTC)
    stamps = [datetime.fromisoformat(seen)]
    for i in range(6):
        result = await update(shelf, model.sha256, changes={"name": f"n{i}"}, expected=seen)
        assert result["__typename"] == "ModelUpdated", result
        tags = await shelf.data(SET_TAGS, sha=model.sha256, tags=[] if i % 2 else [tag.id])
        seen = tags["setModelTags"]["model"]["updatedAt"]
        stamps += [
            datetime.fromisoformat(result["model"]["updatedAt"]),
            datetime.fromisoformat(seen),
        ]
    assert stamps == sorted(set(stamps))  # strictly increasing
    assert len(stamps) == 13


async def test_two_clients_never_silently_undo_each_other(shelf: Shelf) -> None:
    model = await add_model(shelf.store, "shared", meta={"note": "original"})
    transport = httpx.ASGITransport(app=shelf.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shelf.test") as other:

        async def send(client: httpx.AsyncClient, **variables: Any) -> dict[str, Any]:
            response = await client.post("/graphql", json={"query": UPDATE, "variables": variables})
            body: dict[str, Any] = response.json()
            assert "errors" not in body, body
            result: dict[str, Any] = body["data"]["updateModel"]
            return result

        read = {"query": GET, "variables": {"sha": model.sha256}}
        first_view = (await shelf.client.post("/graphql", json=read)).json()["data"]["model"]
        second_view = (await other.post("/graphql", json=read)).json()["data"]["model"]
        assert first_view["updatedAt"] == second_view["updatedAt"]

        written = await send(
            shelf.client,
            sha=model.sha256,
            changes={"name": "first tab"},
            expected=first_view["updatedAt"],
        )
        assert written["__typename"] == "ModelUpdated"
        before = await library(shelf)
        stale = await send(
            other,
            sha=model.sha256,
            changes={"name": "second tab", "metaPatch": {"note": "overwritten"}},
            expected=second_view["updatedAt"],
        )

    assert stale["__typename"] == "EditConflict" and stale["code"] == "EDIT_CONFLICT"
    assert stale["current"] == written["model"]  # what the other tab wrote, to show
    assert await library(shelf) == before
    # With the current updatedAt the second tab's edit goes through.
    again = await update(
        shelf,
        model.sha256,
        changes={"name": "second tab"},
        expected=stale["current"]["updatedAt"],
    )
    assert again["model"]["name"] == "second tab"


async def test_update_model_failures_are_typed_and_change_nothing(
    shelf: Shelf, tmp_path: Path
) -> None:
    model = await add_model(shelf.store, "m", meta={"a": 1})
    other = await add_model(shelf.store, "other")
    before = await library(shelf)
    cases: list[tuple[str, dict[str, Any], str, str, str | None]] = [
        ("0" * 64, {"name": "x"}, "ModelNotFound", "MODEL_NOT_FOUND", None),
        ("nope", {"name": "x"}, "InvalidInput", "INVALID_SHA256", None),
        (model.sha256, {"name": "   "}, "InvalidInput", "INVALID_INPUT", "name"),
        (model.sha256, {"name": None}, "InvalidInput", "INVALID_INPUT", "name"),
        (model.sha256, {"name": "x" * 513}, "InvalidInput", "INVALID_INPUT", "name"),
        (model.sha256, {"name": "two\nlines"}, "InvalidInput", "INVALID_INPUT", "name"),
        (model.sha256, {"type": "t" * 65}, "InvalidInput", "INVALID_INPUT", "type"),
        (model.sha256, {"path": "relative/x.safetensors"}, "InvalidInput", "INVALID_INPUT", "path"),
        (model.sha256, {"path": "~/x.safetensors"}, "InvalidInput", "INVALID_INPUT", "path"),
        (model.sha256, {"path": "/a\u0000b"}, "InvalidInput", "INVALID_INPUT", "path"),
        (model.sha256, {"path": "/" + "n" * 300}, "InvalidInput", "INVALID_INPUT", "path"),
        (model.sha256, {"meta": [1]}, "InvalidInput", "INVALID_INPUT", "meta"),
        (model.sha256, {"meta": None}, "InvalidInput", "INVALID_INPUT", "meta"),
        (model.sha256, {"metaPatch": "x"}, "InvalidInput", "INVALID_INPUT", "metaPatch"),
        (
            model.sha256,
            {"meta": {}, "metaPatch": {}},
            "InvalidInput",
            "INVALID_INPUT",
            "metaPatch",
        ),
        (
            model.sha256,
            {"name": "fine", "path": f" {other.path} "},
            "ModelPathTaken",
            "MODEL_PATH_TAKEN",
            None,
        ),
    ]
    for sha256, changes, typename, code, field in cases:
        result = await update(shelf, sha256, changes=changes)
        assert (result["__typename"], result["code"]) == (typename, code), (changes, result)
        assert result["message"] and result.get("field") == field, result
        if typename == "ModelPathTaken":
            assert (result["path"], result["otherSha256"]) == (other.path, other.sha256)
    assert await library(shelf) == before


async def test_set_model_tags_leaves_exactly_those_tags(shelf: Shelf) -> None:
    a, b, c = await add_tags(shelf.store, "a", "b", "c")
    model = await add_model(shelf.store, "m", tags=[a, b])
    result = (await shelf.data(SET_TAGS, sha=model.sha256, tags=[c.id, b.id, c.id]))["setModelTags"]
    assert result["__typename"] == "ModelUpdated"
    assert [t["id"] for t in result["model"]["tags"]] == [b.id, c.id]
    assert result["model"]["updatedAt"] > model.updated_at.isoformat()  # tags are the model's

    stamp = result["model"]["updatedAt"]
    again = (await shelf.data(SET_TAGS, sha=model.sha256, tags=[b.id, c.id]))["setModelTags"]
    assert again["model"]["updatedAt"] == stamp  # nothing changed, nothing moved

    before = await library(shelf)
    for sha256, tags, typename, code in [
        (model.sha256, [a.id, 999], "TagNotFound", "TAG_NOT_FOUND"),
        ("f" * 64, [a.id], "ModelNotFound", "MODEL_NOT_FOUND"),
        ("f" * 63, [a.id], "InvalidInput", "INVALID_SHA256"),
        (model.sha256, list(range(1, 1002)), "InvalidInput", "INVALID_INPUT"),
    ]:
        failed = (await shelf.data(SET_TAGS, sha=sha256, tags=tags))["setModelTags"]
        assert (failed["__typename"], failed["code"]) == (typename, code), failed
    assert failed["field"] == "tagIds"
    assert await library(shelf) == before
    cleared = (await shelf.data(SET_TAGS, sha=model.sha256, tags=[]))["setModelTags"]
    assert cleared["model"]["tags"] == []


async def many_models(shelf: Shelf, count: int, prefix: str, tag_id: int | None) -> list[str]:
    """`count` models in one transaction (each with tag `tag_id`, when given)."""
    models = [
        Model(
            sha256=digest(f"{prefix} {i}"),
            path=f"/models/{prefix}/{i}.safetensors",
            name=f"{prefix} {i}",
            type="lora",
            size_bytes=1,
            created_at=EPOCH,
            updated_at=EPOCH,
            meta={},
        )
        for i in range(count)
    ]
    async with shelf.store.transaction() as conn:
        await insert_models(conn, models)
        if tag_id is not None:
            await link_many_model_tags(conn, [(m.sha256, tag_id) for m in models])
    return [m.sha256 for m in models]


async def tag_models(shelf: Shelf, **variables: Any) -> tuple[dict[str, Any], int]:
    """The answer, and how many SQL statements the call ran."""
    shelf.statements.clear()
    result: dict[str, Any] = (await shelf.data(TAG_MODELS, **variables))["tagModels"]
    return result, len(shelf.statements)


async def test_tag_models_changes_10000_models_in_one_call_of_constant_statements(
    shelf: Shelf,
) -> None:
    new, old = await add_tags(shelf.store, "new", "old")
    few = await many_models(shelf, 10, "few", old.id)
    many = await many_models(shelf, 10_000, "many", old.id)

    small, small_statements = await tag_models(shelf, shas=few, add=[new.id], remove=[old.id])
    large, large_statements = await tag_models(shelf, shas=many, add=[new.id], remove=[old.id])

    assert small["__typename"] == "ModelsTagged" and small["changedCount"] == 10
    assert large["changedCount"] == 10_000 and large["changedSha256s"] == sorted(many)
    assert large_statements == small_statements  # independent of the number of models
    assert large_statements <= 8
    links = await shelf.store.fetch_all(
        "SELECT tag_id, count(*) FROM model_tags GROUP BY tag_id ORDER BY tag_id"
    )
    assert [tuple(row) for row in links] == [(new.id, 10_010)]
    stamps = await shelf.store.fetch_all("SELECT DISTINCT updated_at > ? FROM models", (0,))
    assert [tuple(r) for r in stamps] == [(1,)]

    # Already as asked: nothing changes, nothing is touched.
    before = await library(shelf)
    same, _ = await tag_models(shelf, shas=many[:5], add=[new.id])
    assert (same["changedCount"], same["changedSha256s"]) == (0, [])
    assert await library(shelf) == before


async def test_tag_models_answers_the_models_that_changed_for_a_cache(shelf: Shelf) -> None:
    tag = (await add_tags(shelf.store, "t"))[0]
    tagged = await add_model(shelf.store, "tagged", tags=[tag])
    bare = await add_model(shelf.store, "bare")
    query = (
        "mutation($s: [String!]!, $a: [Int!]) { tagModels(sha256s: $s, add: $a) {"
        " ... on ModelsTagged { changed { sha256 updatedAt tags { id } } } } }"
    )
    result = await shelf.data(query, s=[tagged.sha256, bare.sha256.upper()], a=[tag.id])
    changed = result["tagModels"]["changed"]
    assert [(m["sha256"], m["tags"]) for m in changed] == [(bare.sha256, [{"id": tag.id}])]
    assert changed[0]["updatedAt"] > bare.updated_at.isoformat()


async def test_tag_models_failures_refuse_the_whole_call(shelf: Shelf) -> None:
    tag = (await add_tags(shelf.store, "t"))[0]
    known = await many_models(shelf, 3, "known", None)
    unknown = [digest(f"unknown {i}") for i in range(25)]
    before = await library(shelf)
    cases: list[tuple[dict[str, Any], str, str, str | None]] = [
        ({"shas": [*known, *unknown], "add": [tag.id]}, "ModelsNotFound", "MODELS_NOT_FOUND", None),
        ({"shas": known, "add": [tag.id, 404]}, "TagNotFound", "TAG_NOT_FOUND", None),
        ({"shas": known, "remove": [405]}, "TagNotFound", "TAG_NOT_FOUND", None),
        ({"shas": [*known, "xyz"], "add": [tag.id]}, "InvalidInput", "INVALID_INPUT", "sha256s"),
        (
            {"shas": known, "add": [tag.id], "remove": [tag.id]},
            "InvalidInput",
            "INVALID_INPUT",
            "remove",
        ),
        (
            {"shas": ["a" * 64] * 10_001, "add": [tag.id]},
            "InvalidInput",
            "INVALID_INPUT",
            "sha256s",
        ),
    ]
    for variables, typename, code, field in cases:
        result, _ = await tag_models(shelf, **variables)
        assert (result["__typename"], result["code"]) == (typename, code), result
        assert result.get("field") == field and result["message"]
    missing, _ = await tag_models(shelf, shas=[*known, *unknown], add=[tag.id])
    assert missing["count"] == 25 and missing["sha256s"] == sorted(unknown)[:20]
    assert await library(shelf) == before


async def test_delete_model_removes_it_with_its_gallery_but_not_its_file(
    shelf: Shelf, tmp_path: Path
) -> None:
    tag = (await add_tags(shelf.store, "t"))[0]
    model_file = tmp_path / "kept.safetensors"
    model_file.write_bytes(b"weights")
    model = await add_model(shelf.store, "doomed", tags=[tag])
    await update(shelf, model.sha256, changes={"path": str(model_file)})
    kept = await add_model(shelf.store, "kept")
    for color in (RED, BLUE, GREEN):
        await add(shelf, model.sha256, picture(color))
    await add(shelf, kept.sha256, picture(RED))
    assert files_of(shelf, model.sha256) == expected_files(model.sha256, 3)

    result = (await shelf.data(DELETE, sha=f" {model.sha256.upper()} "))["deleteModel"]

    assert result == {"__typename": "ModelDeleted", "sha256": model.sha256}
    assert (await shelf.data(GET, sha=model.sha256))["model"] is None
    assert files_of(shelf, model.sha256) == set()
    assert files_of(shelf, kept.sha256) == expected_files(kept.sha256, 1)
    assert model_file.read_bytes() == b"weights"
    left = await library(shelf)
    assert not [
        row
        for table in ("model_tags", "sample_images", "file_moves")
        for row in left[table]
        if model.sha256 in row
    ]
    assert [row[:3] for row in left["tags"]] == [(tag.id, "t", None)]  # the tag stays

    before = await library(shelf)
    for sha256, typename, code in [
        (model.sha256, "ModelNotFound", "MODEL_NOT_FOUND"),
        ("zz", "InvalidInput", "INVALID_SHA256"),
    ]:
        failed = (await shelf.data(DELETE, sha=sha256))["deleteModel"]
        assert (failed["__typename"], failed["code"]) == (typename, code)
    assert await library(shelf) == before


class PowerCut(Exception):
    """Stands for the process dying where it is raised."""


async def test_a_crash_after_delete_model_commits_is_finished_at_the_next_start(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows and the planned removals commit together, then the process dies before a
    file goes: the next start removes them from the journal, and no file is left behind."""
    async with running_shelf(data_dir) as shelf:
        model = await add_model(shelf.store, "doomed")
        for color in (RED, BLUE):
            await add(shelf, model.sha256, picture(color))

        def die(*_: object) -> None:
            raise PowerCut

        with monkeypatch.context() as patch:
            patch.setattr(Gallery, "_move_files", die)
            body = await shelf.post(DELETE, sha=model.sha256)
        assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        assert (await shelf.data(GET, sha=model.sha256))["model"] is None  # committed
        assert files_of(shelf, model.sha256) == expected_files(model.sha256, 2)  # not removed
        owed = await shelf.store.fetch_all("SELECT source, target FROM file_moves")
        assert sorted(tuple(row) for row in owed) == sorted(
            (name, None) for name in expected_files(model.sha256, 2)
        )

    async with running_shelf(data_dir) as shelf:
        assert files_of(shelf, model.sha256) == set()
        assert await shelf.store.fetch_all("SELECT * FROM file_moves") == []
        assert list(shelf.config.images_dir.glob("*.webp")) == []
