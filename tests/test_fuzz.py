"""Fuzzing over HTTP: generated operations on every root field, and hand-written hostile
requests, each answer held to one oracle (`tests.fuzz.violations`).

`make test` runs a short derandomized slice; `make fuzz` runs it long (`FUZZ_EXAMPLES` cases
per test, random seeds, failures saved in `.hypothesis/` and replayed first next time).
`FUZZ_LOG=<file>` keeps going past failures and appends each one to the file, for triage.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import warnings
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import Shelf, running_shelf
from tests.fuzz import (
    MUTATION_FIELDS,
    QUERY_FIELDS,
    Capture,
    Case,
    Seeded,
    cursor_for,
    failure_report,
    known_classes,
    leaks,
    operations,
    png,
    raw_cursor,
    seed_library,
    store_violations,
    violations,
)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "0"))
LOG = os.environ.get("FUZZ_LOG") or None
FUZZ = settings(
    # The slice `make test` runs: the same cases every time. `make fuzz` sets FUZZ_EXAMPLES.
    max_examples=EXAMPLES or 12,
    derandomize=not EXAMPLES,
    deadline=None,
    # One app per test function, shared by its examples: that is the point, not a mistake.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    # The slice keeps no example database; long runs save failures in .hypothesis/.
    database=settings().database if EXAMPLES else None,
)


class Fuzzing:
    """A seeded shelf and a client that sees what a real server would answer."""

    def __init__(
        self, shelf: Shelf, seeded: Seeded, client: httpx.AsyncClient, capture: Capture
    ) -> None:
        self.shelf, self.seeded, self.client, self.capture = shelf, seeded, client, capture

    def __repr__(self) -> str:  # hypothesis prints the fixture with every falsifying example
        return "Fuzzing(<the seeded shelf>)"

    async def check(self, case: Case, *, expect_data: bool = False) -> Failure | None:
        """Send `case`; return how it broke the oracle, or None."""
        (failure,) = await self.check_together([case], expect_data=expect_data)
        return failure

    async def check_together(
        self, cases: list[Case], *, expect_data: bool = False
    ) -> list[Failure | None]:
        """Send `cases` at once; return how each broke the oracle (None when it did not).
        The store is checked once they are all answered, and blamed on every one of them."""
        self.capture.take()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            responses = await asyncio.gather(*(case.send(self.client) for case in cases))
            # What only the cycle collector would free, freed now, while warnings are caught;
            # what survives is frozen, so the next collection looks at the next case only.
            gc.collect()
            gc.freeze()
        after = leaks(caught) + await store_violations(self.shelf.store)
        logged = self.capture.take()
        failures: list[Failure | None] = []
        for case, response in zip(cases, responses, strict=True):
            found = violations(response)
            if expect_data and (response.status_code != 200 or "data" not in response.json()):
                found.append("refused, though it should have been answered")
            found += after
            report = failure_report(case, response, found, logged)
            failures.append(Failure(found, logged, report) if found else None)
        return failures


@dataclass(frozen=True)
class Failure:
    violations: list[str]
    logged: list[str]  # what the server logged meanwhile
    report: str


@pytest.fixture
async def fuzzing(tmp_path: Path) -> AsyncIterator[Fuzzing]:
    async with running_shelf(tmp_path / "data") as shelf:
        state = shelf.app.state
        seeded = await seed_library(
            shelf.store, state.gallery, shelf.config.pending_images_dir, tmp_path / "outside"
        )
        capture = Capture(shelf.app)
        # As a server would: an exception escaping the app is a 500, not a test crash.
        transport = httpx.ASGITransport(app=capture, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://shelf.test") as client:
            with capture.listening():
                gc.freeze()  # what exists now is no case's doing
                try:
                    yield Fuzzing(shelf, seeded, client, capture)
                finally:
                    gc.unfreeze()


# Generated operations --------------------------------------------------------------------


def test_every_root_field_of_the_exported_schema_is_fuzzed() -> None:
    exported = graphql.build_schema(Path("schema.graphql").read_text())
    assert exported.query_type is not None and exported.mutation_type is not None
    assert set(QUERY_FIELDS) == set(exported.query_type.fields)
    assert set(MUTATION_FIELDS) == set(exported.mutation_type.fields)


async def _fuzz_one(fuzzing: Fuzzing, case: Case, label: str) -> None:
    await _fuzz_together(fuzzing, [case], label)


async def _fuzz_together(fuzzing: Fuzzing, cases: list[Case], label: str) -> None:
    failures = await fuzzing.check_together(cases)
    unknown = []
    for case, failure in zip(cases, failures, strict=True):
        if failure is None:
            continue
        known = known_classes(case, failure.violations, failure.logged, cases)
        if known is None:
            unknown.append(failure.report)
        else:  # each pinned down by a hand-written case
            event(f"known failure class: {', '.join(known)}")
    if not unknown:
        return
    report = "\n\n".join(unknown)
    if len(cases) > 1:
        report += "\n\nSent at once with:\n" + "\n".join(case.curl() for case in cases)
    if LOG is None:
        raise AssertionError(report)
    _log(label, report, LOG)


def _log(label: str, report: str, path: str) -> None:
    with Path(path).open("a") as log:
        log.write(json.dumps({"test": label, "report": report}) + "\n")


@pytest.mark.parametrize("field", [*QUERY_FIELDS, *MUTATION_FIELDS])
@FUZZ
@given(data=st.data())
async def test_generated_operations_on_one_root_field(
    fuzzing: Fuzzing, field: str, data: st.DataObject
) -> None:
    case = data.draw(operations((field,), fuzzing.seeded), label="request")
    await _fuzz_one(fuzzing, case, field)


ALL_FIELDS = (*QUERY_FIELDS, *MUTATION_FIELDS)


@FUZZ
@given(data=st.data())
async def test_generated_operations_on_several_root_fields(
    fuzzing: Fuzzing, data: st.DataObject
) -> None:
    case = data.draw(operations(ALL_FIELDS, fuzzing.seeded, copies=True), label="request")
    await _fuzz_one(fuzzing, case, "several")


@FUZZ
@given(data=st.data())
async def test_generated_operations_sent_at_once(fuzzing: Fuzzing, data: st.DataObject) -> None:
    """Clients do not wait for each other: a few requests in flight together."""
    cases = data.draw(st.lists(operations(ALL_FIELDS, fuzzing.seeded), min_size=2, max_size=4))
    await _fuzz_together(fuzzing, cases, "at once")


# Hand-written hostile requests ---------------------------------------------------------


# A library of nothing, to tell at collection time what kind of request a case builds.
_NOWHERE = Seeded(("0" * 64,), (), (), (), (), "", "", "", ())


@dataclass(frozen=True)
class Hostile:
    id: str
    build: Callable[[Seeded], Case]
    failing: str | None = None  # why it failed before its fix (a strict xfail while open)
    expect_data: bool = False  # the request must be answered, not refused
    # Requests sent first, whose answers are not checked: what puts the library in the state.
    before: Callable[[Seeded], list[Case]] = lambda _: []

    def param(self) -> Any:
        # Every class the issue listed is fixed; only the ones still open stay strict xfails.
        still_failing = self.failing is not None and self.failing in STILL_FAILING
        reason = self.failing or ""
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if still_failing else []
        if self.build(_NOWHERE).multipart:
            # A request that crashes Strawberry's multipart parsing leaves its spooled files to
            # the garbage collector; the crash is what the case reports.
            marks.append(
                pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
            )
        return pytest.param(self, id=self.id, marks=marks)


def _gql(query: str, **variables: Any) -> Callable[[Seeded], Case]:
    return lambda _: Case(query=query, variables=variables)


def _raw(body: bytes, content_type: str = "application/json") -> Callable[[Seeded], Case]:
    return lambda _: Case(body=body, headers={"Content-Type": content_type})


def _migrate(db: str | None, images: str | None = None) -> Callable[[Seeded], Case]:
    """migrateLegacyDb with these paths; None for the database means the seeded one."""
    query = (
        "mutation($db: String!, $images: String) { migrateLegacyDb(legacyDbPath: $db, "
        "legacyImagesDir: $images) { __typename ... on Problem { code message } } }"
    )
    return lambda s: Case(query=query, variables={"db": db or s.legacy_db, "images": images})


def _upload(picture: Callable[[], bytes]) -> Callable[[Seeded], Case]:
    query = (
        "mutation($sha: String!, $image: Upload!) { addSampleImage(sha256: $sha, image: $image) "
        "{ __typename ... on Problem { code message } } }"
    )
    return lambda s: Case(query=query, variables={"sha": s.digests[0]}, files={"image": picture()})


def _form(operations: str, file_map: str) -> Callable[[Seeded], Case]:
    return lambda _: Case(form={"operations": operations, "map": file_map}, files={"0": png()})


# Why each class fails today (the server's exception, from the log).
NOT_A_FILE = "Upload takes any value; the resolver reads it as a file (AttributeError)"
TILDE = "Path.expanduser raises RuntimeError for a ~user it cannot resolve"
TOO_LONG = "ENAMETOOLONG escapes as an OSError"
UNREADABLE = "copying /proc/self/mem fails with EIO, an OSError that escapes"
PAST_64_BITS = "a cursor integer past SQLite's 64 bits reaches the query (OverflowError)"
DEEP_CURSOR = "json.loads raises RecursionError, which decode_cursor does not catch"
SURROGATE = "SQLite cannot encode a lone surrogate (UnicodeEncodeError)"
LIKE_TOO_LONG = "the LIKE pattern is past SQLite's 50,000 bytes (OperationalError)"
WEBP_LIMIT = "WebP cannot encode a side over 16383 pixels (ValueError)"
NOT_UTF8 = "Strawberry's json.loads raises UnicodeDecodeError: a plain-text 500"
NOT_AN_OBJECT = "Strawberry calls .get on the parsed body (AttributeError): a plain-text 500"
DIGITS = "json.loads's digit-limit ValueError is not a JSONDecodeError: a plain-text 500"
DEEP_BODY = "json.loads raises RecursionError: a plain-text 500"
MULTIPART = "Strawberry trusts the shape of map and operations (TypeError): a plain-text 500"
# Found by fuzzing.
GET_MUTATION = "Strawberry refuses a mutation over GET with a plain-text 400"
CANCELLED_READ = (
    "a root field's error cancels a sibling inside Store.snapshot's BEGIN: the reader goes "
    "back to the pool inside a transaction"
)
NO_CODE = "the guards' errors (aliases, tokens) carry no extensions.code"
UPLOAD_LEFT_OPEN = "an upload no resolver reads is never closed (ResourceWarning)"
IDS_PAST_32_BITS = (
    "Stage 1 keeps legacy ids past 2^31 as pending and tag ids; GraphQL's Int cannot serialize "
    "them, so every list holding one fails, without a code"
)
# The classes still open, each a strict xfail until its fix lands (none, today).
STILL_FAILING: frozenset[str] = frozenset()


def _not_a_file(mutation: str, extra: str = "") -> list[Hostile]:
    reason = NOT_A_FILE
    select = "{ __typename }"
    literal = f'mutation {{ {mutation}(sha256: ""{extra}, image: %s) {select} }}'
    variable = f'mutation($f: Upload!) {{ {mutation}(sha256: ""{extra}, image: $f) {select} }}'
    return [
        Hostile(f"{mutation}-image-string", _gql(literal % '""'), reason),
        Hostile(f"{mutation}-image-number", _gql(literal % "1"), reason),
        Hostile(f"{mutation}-image-list", _gql(literal % '["x"]'), reason),
        Hostile(f"{mutation}-image-object", _gql(literal % "{a: 1}"), reason),
        Hostile(f"{mutation}-image-json-variable", _gql(variable, f="not a file"), reason),
    ]


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


PENDING_PAGE = "query($after: String) { pendingImports(after: $after) { totalCount } }"
MODELS_PAGE = "query($after: String) { models(after: $after) { totalCount } }"
SEARCH = "query($s: String) { models(search: $s) { totalCount } }"
TYPE = "query($s: String) { models(type: $s) { totalCount } }"
TAGS = b'{"query":"{ tags { id } }"'
UPLOAD_OPERATIONS = json.dumps(
    {
        "query": 'mutation($image: Upload!) { addSampleImage(sha256: "", image: $image) '
        "{ __typename } }",
        "variables": {"image": None},
    }
)
# Two operations, the one run not using the upload the other one maps.
UNUSED_UPLOAD = json.dumps(
    {
        "query": 'mutation A($image: Upload!) { addSampleImage(sha256: "", image: $image) '
        "{ __typename } } query B { tags { id } }",
        "variables": {"image": None},
        "operationName": "B",
    }
)
ALIASES_31 = "{ " + " ".join(f"a{i}: tags {{ id }}" for i in range(31)) + " }"
TOKENS_4001 = "{ tags { " + "id " * 4_000 + "} }"
LONG_NAME = "/tmp/" + "n" * 300
LONG_PATH = "/tmp" + "/p" * 2_500

HOSTILE: list[Hostile] = [
    *_not_a_file("addSampleImage"),
    *_not_a_file("replaceSampleImage", ", seq: 0"),
    # Paths.
    Hostile("db-path-tilde-user", _migrate("~nosuchuser/hikaze_mm.sqlite3"), TILDE),
    Hostile("db-path-tilde-plus", _migrate("~+/hikaze_mm.sqlite3"), TILDE),
    Hostile("images-dir-tilde-user", _migrate(None, "~nosuchuser/images"), TILDE),
    Hostile("images-dir-tilde-plus", _migrate(None, "~+/images"), TILDE),
    Hostile("db-path-300-character-name", _migrate(LONG_NAME), TOO_LONG),
    Hostile("images-dir-300-character-name", _migrate(None, LONG_NAME), TOO_LONG),
    Hostile("db-path-5000-characters", _migrate(LONG_PATH), TOO_LONG),
    Hostile("images-dir-5000-characters", _migrate(None, LONG_PATH), TOO_LONG),
    Hostile("db-path-proc-self-mem", _migrate("/proc/self/mem"), UNREADABLE),
    Hostile("images-dir-proc-self-mem", _migrate(None, "/proc/self/mem")),
    # Cursors.
    Hostile(
        "pending-cursor-2^63",
        _gql(PENDING_PAGE, after=cursor_for("pendingImports", [2**63])),
        PAST_64_BITS,
    ),
    Hostile(
        "pending-cursor-below-minus-2^63",
        _gql(PENDING_PAGE, after=cursor_for("pendingImports", [-(2**63) - 1])),
        PAST_64_BITS,
    ),
    Hostile(
        "models-cursor-deeply-nested",
        _gql(MODELS_PAGE, after=raw_cursor(b'["models",' + _nested(10_000) + b',"x"]')),
        DEEP_CURSOR,
    ),
    Hostile(
        "pending-cursor-deeply-nested",
        _gql(PENDING_PAGE, after=raw_cursor(b'["pendingImports",' + _nested(10_000) + b"]")),
        DEEP_CURSOR,
    ),
    # Lone surrogates, as JSON escapes in the variables.
    Hostile("surrogate-search", _gql(SEARCH, s="\ud800"), SURROGATE),
    Hostile("surrogate-type", _gql(TYPE, s="\ud800"), SURROGATE),
    Hostile("surrogate-models-cursor", _gql(MODELS_PAGE, after="\ud800")),
    Hostile("surrogate-pending-cursor", _gql(PENDING_PAGE, after="\ud800")),
    Hostile("surrogate-db-path", _migrate("/tmp/\ud800.sqlite3")),
    Hostile("surrogate-images-dir", _migrate(None, "/tmp/\ud800")),
    # Long searches.
    Hostile("search-50000-characters", _gql(SEARCH, s="a" * 50_000), LIKE_TOO_LONG),
    Hostile("search-25000-percent-signs", _gql(SEARCH, s="%" * 25_000), LIKE_TOO_LONG),
    # Pictures past WebP's 16383 pixels a side.
    Hostile("upload-16384x1-png", _upload(lambda: png((16384, 1))), WEBP_LIMIT),
    Hostile("upload-2x30000-png", _upload(lambda: png((2, 30000))), WEBP_LIMIT),
    # Raw bodies.
    Hostile("body-invalid-utf8", _raw(b'{"query":"{ tags { id } }\xff"}'), NOT_UTF8),
    Hostile("body-json-string", _raw(b'"x"'), NOT_AN_OBJECT),
    Hostile("body-json-number", _raw(b"1"), NOT_AN_OBJECT),
    Hostile("body-json-null", _raw(b"null"), NOT_AN_OBJECT),
    Hostile("body-json-true", _raw(b"true"), NOT_AN_OBJECT),
    Hostile(
        "variables-5000-digit-integer",
        _raw(TAGS + b',"variables":{"n":' + b"7" * 5_000 + b"}}"),
        DIGITS,
    ),
    Hostile(
        "variables-nested-1000-deep",
        # The variables object, then 999 lists: 1,000 levels.
        _raw(TAGS + b',"variables":{"x":' + _nested(999) + b"}}"),
        DEEP_BODY,
    ),
    Hostile(
        "content-type-upper-case",
        _raw(TAGS + b"}", "APPLICATION/JSON"),
        "Strawberry matches the media type case-sensitively: a plain-text 400",
        expect_data=True,
    ),
    Hostile("multipart-map-a-list", _form(UPLOAD_OPERATIONS, "[1]"), MULTIPART),
    Hostile(
        "multipart-map-deep-path",
        _form(UPLOAD_OPERATIONS, '{"0":["variables.image.a.b.c"]}'),
        MULTIPART,
    ),
    Hostile(
        "multipart-map-index-into-null",
        _form(UPLOAD_OPERATIONS, '{"0":["variables.image.0"]}'),
        MULTIPART,
    ),
    Hostile("multipart-operations-null", _form("null", '{"0":["variables.image"]}'), MULTIPART),
    # Found by fuzzing.
    Hostile(
        "mutation-over-get",
        lambda _: Case(query="mutation { importAModel(id: 1) { __typename } }", method="GET"),
        GET_MUTATION,
    ),
    Hostile(
        "failing-root-field-beside-a-list",
        _gql("{ models(first: -1) { totalCount } pendingImports { totalCount } }"),
        CANCELLED_READ,
    ),
    Hostile(
        "pending-imports-after-importing-ids-past-2^31",
        _gql("{ pendingImports(first: 500) { nodes { id } } }"),
        IDS_PAST_32_BITS,
        before=lambda s: [_migrate(s.edge_db)(s)],
    ),
    Hostile("31-aliases", _gql(ALIASES_31), NO_CODE),
    Hostile("4001-tokens", _gql(TOKENS_4001), NO_CODE),
    Hostile(
        "upload-of-the-operation-not-run",
        _form(UNUSED_UPLOAD, '{"0":["variables.image"]}'),
        UPLOAD_LEFT_OPEN,
    ),
]


@pytest.mark.parametrize("hostile", [h.param() for h in HOSTILE])
async def test_hostile_request(fuzzing: Fuzzing, hostile: Hostile) -> None:
    for case in hostile.before(fuzzing.seeded):
        await case.send(fuzzing.client)
    failure = await fuzzing.check(hostile.build(fuzzing.seeded), expect_data=hostile.expect_data)
    assert failure is None, failure.report
