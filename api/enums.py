"""Domain enums as GraphQL enums, each value with its own description.

`domain/` knows nothing of GraphQL, so its enums cannot carry `strawberry.enum_value`.
`domain_enum` registers one (Strawberry marks the class itself, so resolvers take and
return the domain's values directly) and then gives each value the description that
typed clients show beside it, and that the schema lint requires.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

import strawberry

E = TypeVar("E", bound=Enum)


def domain_enum(cls: type[E], *, name: str, description: str, values: Mapping[E, str]) -> None:
    """Register `cls` as the GraphQL enum `name`; every member must be described."""
    missing = [member.name for member in cls if member not in values]
    if missing:
        raise ValueError(f"{name}: no description for {', '.join(missing)}.")
    strawberry.enum(cls, name=name, description=description)
    definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    definition.values = [
        dataclasses.replace(value, description=values[cls(value.value)])
        for value in definition.values
    ]
