"""The published schema: in step with the code, fully described, and open to the playground."""

from __future__ import annotations

from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    build_schema,
    get_introspection_query,
)

from api.schema import export_sdl
from tests.conftest import Shelf

SCHEMA_FILE = Path(__file__).parent.parent / "schema.graphql"


def test_schema_file_matches_the_code() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == export_sdl(), (
        "schema.graphql is out of date: run `make schema` and commit the result."
    )


def test_every_type_field_argument_and_enum_value_is_described() -> None:
    schema = build_schema(SCHEMA_FILE.read_text(encoding="utf-8"))
    missing: list[str] = []
    for name, kind in schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID"}:
            continue
        if not kind.description:
            missing.append(name)
        if isinstance(kind, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for field_name, field in kind.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                for arg_name, arg in getattr(field, "args", {}).items():
                    if not arg.description:
                        missing.append(f"{name}.{field_name}({arg_name})")
    assert missing == []


def test_the_fixed_contract_names_are_present() -> None:
    schema = build_schema(SCHEMA_FILE.read_text(encoding="utf-8"))
    query = schema.query_type
    assert query is not None
    assert {"pendingImports", "pendingImport", "model", "models", "tags"} <= set(query.fields)
    model = schema.get_type("Model")
    assert isinstance(model, GraphQLObjectType)
    assert {
        "sha256",
        "path",
        "name",
        "type",
        "sizeBytes",
        "createdAt",
        "meta",
        "tags",
        "sampleImages",
    } <= set(model.fields)
    pending = schema.get_type("PendingImport")
    assert isinstance(pending, GraphQLObjectType)
    assert {
        "id",
        "path",
        "name",
        "type",
        "sizeBytes",
        "createdAt",
        "meta",
        "sha256",
        "tags",
        "images",
    } <= set(pending.fields)
    quality = schema.get_type("ImageQuality")
    assert isinstance(quality, GraphQLEnumType) and set(quality.values) == {"HIGH", "MEDIUM", "LOW"}


async def test_the_playground_introspection_query_passes_the_guards(shelf: Shelf) -> None:
    data = await shelf.data(get_introspection_query(descriptions=True))
    assert data["__schema"]["queryType"]["name"] == "Query"


async def test_the_playground_page_is_served_to_browsers(shelf: Shelf) -> None:
    response = await shelf.client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()
