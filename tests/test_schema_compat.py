"""The schema as released stays usable by the clients generated from it (schema/BREAKING.md)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from graphql import build_schema, find_breaking_changes, find_dangerous_changes

ROOT = Path(__file__).resolve().parent.parent
RELEASED = ROOT / "schema" / "released.graphql"
ACCEPTED = ROOT / "schema" / "BREAKING.md"


def unaccepted_breaking_changes(released: str, current: str, accepted: str) -> list[str]:
    """The breaking changes from `released` to `current` that `accepted` (BREAKING.md's text)
    does not list with a reason."""
    listed = {
        line[2:].split(" — ", 1)[0].strip()
        for line in accepted.splitlines()
        if line.startswith("- ") and " — " in line and line.split(" — ", 1)[1].strip()
    }
    changes = find_breaking_changes(build_schema(released), build_schema(current))
    return [change.description for change in changes if change.description not in listed]


# Shown in the run's warnings summary (the suite turns other warnings into errors).
@pytest.mark.filterwarnings("default:dangerous schema change")
def test_the_schema_breaks_no_released_client_unless_the_change_is_accepted() -> None:
    released, current = RELEASED.read_text(), (ROOT / "schema.graphql").read_text()
    unaccepted = unaccepted_breaking_changes(released, current, ACCEPTED.read_text())
    assert not unaccepted, (
        "schema.graphql breaks clients of schema/released.graphql; undo the change or list "
        "it in schema/BREAKING.md with the reason:\n" + "\n".join(f"- {c}" for c in unaccepted)
    )
    for change in find_dangerous_changes(build_schema(released), build_schema(current)):
        warnings.warn(f"dangerous schema change: {change.description}", stacklevel=1)


def test_a_removed_field_is_caught_and_an_accepted_one_lets_it_pass() -> None:
    released = "type Query { a: Int, b: String }"
    current = "type Query { a: Int }"
    removed = ["Field Query.b was removed."]
    assert unaccepted_breaking_changes(released, current, "") == removed
    reasoned = "- Field Query.b was removed. — nobody asked for it"
    assert unaccepted_breaking_changes(released, current, reasoned) == []
    unreasoned = "- Field Query.b was removed. — "
    assert unaccepted_breaking_changes(released, current, unreasoned) == [
        "Field Query.b was removed."
    ]
