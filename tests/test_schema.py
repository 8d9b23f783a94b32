"""The published schema: in step with the code, fully described, and open to the playground."""

from __future__ import annotations

import subprocess
from enum import Enum
from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    build_schema,
    get_introspection_query,
)

from api.enums import domain_enum
from api.schema import export_sdl
from tests.conftest import Shelf

ROOT = Path(__file__).parent.parent
SCHEMA_FILE = ROOT / "schema.graphql"


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
        if isinstance(kind, GraphQLEnumType):
            missing += [f"{name}.{v}" for v, value in kind.values.items() if not value.description]
    assert missing == []


# The names DESIGN.md fixes: typed clients and scripts depend on them.
CONTRACT = {
    "Query": "pendingImports pendingImport model models tags",
    "Model": "sha256 path name type sizeBytes createdAt meta tags sampleImages",
    "SampleImage": "seq filename url width height generation",
    "PendingImport": "id path name type sizeBytes createdAt meta sha256 tags images",
    "Tag": "id name color",
    "ModelConnection": "totalCount pageInfo edges nodes",
    "PendingImportConnection": "totalCount pageInfo edges nodes",
    "PageInfo": "hasNextPage endCursor",
    "ModelEdge": "cursor node",
}


@pytest.mark.parametrize(("type_name", "fields"), CONTRACT.items())
def test_the_fixed_contract_names_are_present(type_name: str, fields: str) -> None:
    kind = build_schema(SCHEMA_FILE.read_text(encoding="utf-8")).get_type(type_name)
    assert isinstance(kind, GraphQLObjectType)
    assert set(fields.split()) <= set(kind.fields)


def test_the_image_quality_enum_is_fixed() -> None:
    quality = build_schema(SCHEMA_FILE.read_text(encoding="utf-8")).get_type("ImageQuality")
    assert isinstance(quality, GraphQLEnumType)
    assert set(quality.values) == {"HIGH", "MEDIUM", "LOW"}


async def test_the_playground_introspection_query_passes_the_guards(shelf: Shelf) -> None:
    data = await shelf.data(get_introspection_query(descriptions=True))
    assert data["__schema"]["queryType"]["name"] == "Query"


def test_a_domain_enum_with_a_value_left_undescribed_is_refused() -> None:
    class Colour(Enum):
        RED = "red"
        BLUE = "blue"

    with pytest.raises(ValueError, match="no description for BLUE"):
        domain_enum(Colour, name="Colour", description="A colour.", values={Colour.RED: "Red."})


@pytest.mark.timeout(600)  # the first run on a machine installs the pinned linter from npm
def test_the_schema_passes_the_front_end_teams_lint() -> None:
    """graphql-schema-linter with the rules front-end teams use (tools/schema-lint): every
    type, field, argument and enum value described, names cased as clients expect, Relay
    connections in shape. Needs node and npm, as the README says."""
    lint = ROOT / "tools" / "schema-lint" / "schema_lint.sh"
    done = subprocess.run(
        [str(lint), str(ROOT / "schema.graphql")], capture_output=True, text=True, check=False
    )
    assert done.stdout.strip().splitlines()[-1] == "schema-lint: 0 violations", done.stdout
