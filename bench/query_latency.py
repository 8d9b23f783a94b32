"""How long one page of the model list takes through the whole server, and against what.

The UI's main screen pages through the library 100 models at a time, each with its tags and
gallery URLs. That page must feel instant, so this script measures it end to end: a POST to
/graphql, through Starlette, Strawberry, the per-request DataLoaders and the store's reader
pool, served in-process over ASGI so that no socket or network noise muddies the numbers.

A latency alone says little, so the same rows are also fetched with plain aiosqlite (three
hand-written queries, dicts built by hand, `json.dumps`): the floor that SQLite and the
event-loop-to-thread hops of aiosqlite set. The ratio between the two is the price of the
GraphQL layer; the target (p50 under 25 ms) is what the UI needs.

The library holds 10,000 models with 3 tags and 2 sample images each, and their names are
random, so that name order is not insertion order. Every timed request asks for the next
page (wrapping around at the end), so that the numbers are not those of one cached page.

Both sides stop the clock once the JSON text of the page exists: the GraphQL side when the
response body has arrived (the client's parsing of it is not counted), the baseline once
`json.dumps` returns. The server also counts the list's rows (`totalCount` is computed for
every page whether asked for or not) and opens a read transaction; the baseline does not,
since it only does what this page needs.

Then browsing at scale: a library of 100,000 models (1 in 20 of unknown size) and a list of
measurements, each printing one line with its p50/p99 and the SQL statements one call runs.
They are `models` in every sort order and direction, each held against the name order's
p50 (target: within 2x, since every order is an index walk), then the edits: `updateModel`
renaming one model after another and `setModelTags` retagging them (target: p50 under
10 ms, a person's single edit), and `tagModels` adding a tag to 10,000 models and taking
it away again, in turn, so that every call changes all 10,000 (target: p50 under 1 s).

Run from the repository root: `.venv/bin/python bench/query_latency.py [--iterations N]`.
It is a report and exits 0; with `--check` it exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosqlite
import httpx
from starlette.applications import Starlette

from api.app import create_app
from domain.config import Config
from domain.images.tiers import tier_sizes
from domain.records import ImageTier, Model, SampleImage
from domain.store import Store
from domain.store.gallery import insert_sample_image
from domain.store.models import insert_model, insert_models, link_many_model_tags, link_model_tags
from domain.store.tags import insert_tag

MODEL_COUNT = 10_000
TAG_COUNT = 50
TAGS_PER_MODEL = 3
IMAGES_PER_MODEL = 2
PAGE_SIZE = 100
WARMUP = 20
DEFAULT_ITERATIONS = 300
TARGET_P50_MS = 25.0
RANDOM_SEED = 20240601

GRAPHQL_LABEL = "graphql over HTTP (in-process ASGI)"
BASELINE_LABEL = "plain aiosqlite"

QUERY = """
query Page($first: Int!, $after: String, $sort: ModelSort, $direction: SortDirection) {
  models(first: $first, after: $after, sort: $sort, direction: $direction) {
    nodes { sha256 name tags { name } sampleImages { url } }
    pageInfo { endCursor hasNextPage }
  }
}
"""

_ADJECTIVES = (
    "amber",
    "brisk",
    "cobalt",
    "dusky",
    "eerie",
    "feral",
    "gilded",
    "hazy",
    "ivory",
    "jaded",
    "kinetic",
    "lucid",
    "misty",
    "neon",
    "opal",
    "pastel",
    "quiet",
    "rusty",
    "somber",
    "tidal",
    "umber",
    "vivid",
    "woven",
    "xenial",
    "young",
    "zesty",
)
_NOUNS = (
    "anime",
    "bloom",
    "castle",
    "dragon",
    "ember",
    "forest",
    "galaxy",
    "harbor",
    "island",
    "jungle",
    "knight",
    "lantern",
    "meadow",
    "nebula",
    "ocean",
    "portrait",
    "quartz",
    "river",
    "sunset",
    "tower",
    "unicorn",
    "valley",
    "willow",
    "xylem",
    "yacht",
    "zephyr",
)
_MODEL_TYPES = ("checkpoint", "lora", "vae", "embedding")

Row = sqlite3.Row  # the baseline's connection yields plain tuples; both index the same
JsonDict = dict[str, Any]
# A keyset position in the model list: the (name, sha256) of the last row seen.
SortKey = tuple[str, str]


# --- seeding ---------------------------------------------------------------------------------


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def tag_names() -> list[str]:
    """TAG_COUNT distinct names; the store refuses duplicates regardless of case."""
    return [
        f"{_ADJECTIVES[i % len(_ADJECTIVES)]}-{_NOUNS[i * 7 % len(_NOUNS)]}-{i}"
        for i in range(TAG_COUNT)
    ]


def model_record(rng: random.Random, index: int, now: datetime) -> Model:
    """A model with a random name, so that name order differs from insertion order."""
    name = f"{rng.choice(_ADJECTIVES).title()} {rng.choice(_NOUNS)} v{index}"
    created = now - timedelta(minutes=rng.randrange(1_000_000))
    return Model(
        sha256=digest(f"model {index}"),
        path=f"/library/models/model-{index}.safetensors",
        name=name,
        type=rng.choice(_MODEL_TYPES),
        size_bytes=rng.randrange(10**6, 8 * 10**9),
        created_at=created,
        updated_at=created,
        meta={},
    )


def sample_image_record(sha256: str, seq: int, now: datetime) -> SampleImage:
    return SampleImage(
        sha256=sha256,
        seq=seq,
        width=1024,
        height=1536,
        source_digest=digest(f"image {sha256} {seq}"),
        generation=None,
        created_at=now,
        tiers=tuple(
            ImageTier(quality, width, height, 100_000)
            for quality, (width, height) in tier_sizes((1024, 1536)).items()
        ),
    )


async def seed_library(store: Store, rng: random.Random) -> None:
    """Fill the library through the store's own insert functions, in one transaction."""
    now = datetime.now(UTC)
    async with store.transaction() as conn:
        tags = [await insert_tag(conn, name, "#888888") for name in tag_names()]
        tag_ids = [tag.id for tag in tags]
        for index in range(MODEL_COUNT):
            model = model_record(rng, index, now)
            await insert_model(conn, model)
            await link_model_tags(conn, model.sha256, rng.sample(tag_ids, TAGS_PER_MODEL))
            for seq in range(IMAGES_PER_MODEL):
                await insert_sample_image(conn, sample_image_record(model.sha256, seq, now))


# --- the measured requests -------------------------------------------------------------------


class GraphqlPager:
    """Asks the server for one page after another, wrapping around at the end of the list;
    `order` holds the `sort` and `direction` variables (none: the default, by name)."""

    def __init__(self, client: httpx.AsyncClient, order: JsonDict | None = None) -> None:
        self._client = client
        self._after: str | None = None
        self._order = order or {}

    async def fetch(self) -> tuple[float, JsonDict]:
        """One page: the seconds until its JSON body had arrived, and the parsed body."""
        variables = {"first": PAGE_SIZE, "after": self._after, **self._order}
        body = {"query": QUERY, "variables": variables}
        started = time.perf_counter()
        response = await self._client.post("/graphql", json=body)
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        payload: JsonDict = response.json()
        self._advance(payload)
        return elapsed, payload

    async def step(self) -> float:
        elapsed, _ = await self.fetch()
        return elapsed

    def _advance(self, payload: JsonDict) -> None:
        page_info = payload["data"]["models"]["pageInfo"]
        self._after = page_info["endCursor"] if page_info["hasNextPage"] else None


class PlainPager:
    """The same pages as `GraphqlPager`, with three queries and hand-built dicts."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._after: SortKey | None = None

    async def fetch(self) -> tuple[float, str]:
        """One page: the seconds until its JSON text existed, and that text."""
        started = time.perf_counter()
        result, has_next, last_key = await plain_page(self._conn, self._after)
        text = json.dumps(result)
        elapsed = time.perf_counter() - started
        self._after = last_key if has_next else None
        return elapsed, text

    async def step(self) -> float:
        elapsed, _ = await self.fetch()
        return elapsed


async def plain_page(
    conn: aiosqlite.Connection, after: SortKey | None
) -> tuple[JsonDict, bool, SortKey | None]:
    """The page after `after` as the GraphQL response's dict, whether another page follows,
    and the sort key of the page's last row."""
    rows = await page_rows(conn, after)
    models, has_next = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    sha256s = [row[0] for row in models]
    tags = await tags_by_model(conn, sha256s)
    images = await image_urls_by_model(conn, sha256s)
    nodes = [
        {"sha256": sha, "name": name, "tags": tags[sha], "sampleImages": images[sha]}
        for sha, name in models
    ]
    last_key = (models[-1][1], models[-1][0]) if models else None
    return {"data": {"models": {"nodes": nodes}}}, has_next, last_key


async def page_rows(conn: aiosqlite.Connection, after: SortKey | None) -> list[Row]:
    """PAGE_SIZE + 1 rows of (sha256, name), the extra one only telling that more follow."""
    if after is None:
        sql = "SELECT sha256, name FROM models ORDER BY name, sha256 LIMIT ?"
        params: tuple[Any, ...] = (PAGE_SIZE + 1,)
    else:
        sql = (
            "SELECT sha256, name FROM models WHERE (name, sha256) > (?, ?)"
            " ORDER BY name, sha256 LIMIT ?"
        )
        params = (*after, PAGE_SIZE + 1)
    return list(await conn.execute_fetchall(sql, params))


def placeholders(count: int) -> str:
    return ", ".join("?" * count)


async def tags_by_model(
    conn: aiosqlite.Connection, sha256s: Sequence[str]
) -> dict[str, list[JsonDict]]:
    rows = await conn.execute_fetchall(
        "SELECT model_tags.sha256, tags.name FROM model_tags"
        " JOIN tags ON tags.id = model_tags.tag_id"
        f" WHERE model_tags.sha256 IN ({placeholders(len(sha256s))})"
        " ORDER BY tags.name, tags.id",
        sha256s,
    )
    grouped: dict[str, list[JsonDict]] = {sha: [] for sha in sha256s}
    for sha, name in rows:
        grouped[sha].append({"name": name})
    return grouped


async def image_urls_by_model(
    conn: aiosqlite.Connection, sha256s: Sequence[str]
) -> dict[str, list[JsonDict]]:
    rows = await conn.execute_fetchall(
        "SELECT sha256, seq, source_digest FROM sample_images"
        f" WHERE sha256 IN ({placeholders(len(sha256s))}) ORDER BY sha256, seq",
        sha256s,
    )
    grouped: dict[str, list[JsonDict]] = {sha: [] for sha in sha256s}
    for sha, seq, source_digest in rows:
        url = f"/api/images/{sha}_{seq}.webp?quality=high&v={source_digest[:16]}"
        grouped[sha].append({"url": url})
    return grouped


# --- checks ------------------------------------------------------------------------------------


def require(condition: bool, message: str) -> None:
    """An assertion that `python -O` cannot strip: a benchmark of a broken query is worthless."""
    if not condition:
        raise AssertionError(message)


def check_graphql_page(payload: JsonDict) -> None:
    """The first page must be complete, or the timings would measure an error path."""
    require("errors" not in payload, f"GraphQL errors: {payload.get('errors')}")
    nodes = payload["data"]["models"]["nodes"]
    require(len(nodes) == PAGE_SIZE, f"expected {PAGE_SIZE} nodes, got {len(nodes)}")
    for node in nodes:
        require(len(node["tags"]) == TAGS_PER_MODEL, f"{node['sha256']}: tags {node['tags']}")
        require(
            len(node["sampleImages"]) == IMAGES_PER_MODEL,
            f"{node['sha256']}: sampleImages {node['sampleImages']}",
        )


def check_same_rows(graphql: JsonDict, baseline_text: str) -> None:
    """The baseline must do the same work: its first page must equal the server's."""
    expected = graphql["data"]["models"]["nodes"]
    actual = json.loads(baseline_text)["data"]["models"]["nodes"]
    require(actual == expected, "the baseline's first page differs from the server's")


# --- measuring and reporting -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Summary:
    """Latencies of one side, in milliseconds."""

    p50: float
    p90: float
    p99: float
    mean: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Summary:
        millis = [s * 1000 for s in seconds]
        cuts = statistics.quantiles(millis, n=100, method="inclusive")
        return cls(p50=cuts[49], p90=cuts[89], p99=cuts[98], mean=statistics.fmean(millis))


async def measure(
    step: Callable[[], Awaitable[float]], iterations: int, warmup: int = WARMUP
) -> list[float]:
    """Run `step` `warmup` times untimed (caches, connection threads, Strawberry's parse
    cache), then `iterations` times, keeping each step's own measure of itself. Collecting
    first keeps the seeding's garbage from being collected on one side's clock only."""
    gc.collect()
    for _ in range(warmup):
        await step()
    return [await step() for _ in range(iterations)]


def summary_line(label: str, summary: Summary) -> str:
    return (
        f"  {label:<38} p50 {summary.p50:7.2f}  p90 {summary.p90:7.2f}"
        f"  p99 {summary.p99:7.2f}  mean {summary.mean:7.2f}  (ms)"
    )


def report(seed_seconds: float, iterations: int, ours: Summary, base: Summary) -> str:
    verdict = "PASS" if ours.p50 < TARGET_P50_MS else "FAIL"
    return "\n".join(
        [
            f"library: {MODEL_COUNT:,} models, {TAG_COUNT} tags, {TAGS_PER_MODEL} tags and "
            f"{IMAGES_PER_MODEL} sample images per model",
            f"seeding: {seed_seconds:.2f} s (not measured)",
            f"request: models(first: {PAGE_SIZE}) with tags and sample image URLs, "
            f"walking the pages; {WARMUP} warm-up + {iterations} timed each",
            "",
            summary_line(GRAPHQL_LABEL, ours),
            summary_line(BASELINE_LABEL, base),
            "",
            f"ratio graphql/baseline: p50 {ours.p50 / base.p50:.1f}x"
            f"  p99 {ours.p99 / base.p99:.1f}x",
            f"target: graphql p50 < {TARGET_P50_MS:g} ms -> {verdict}",
        ]
    )


# --- browsing a large library: a list of measurements, one line each -------------------------

BROWSE_MODEL_COUNT = 100_000
UNKNOWN_SIZE_EVERY = 20  # legacy rows often lack a size: the SIZE orders must handle NULLs
SORT_TARGET_RATIO = 2.0
REFERENCE_ORDER = "models NAME ASC"
SORTS = ("NAME", "CREATED_AT", "UPDATED_AT", "SIZE")
DIRECTIONS = ("ASC", "DESC")
BATCH = 5_000  # rows per executemany while seeding


@dataclass(frozen=True, slots=True)
class Measurement:
    """One kind of request on the large library. `start` builds its step from a client (a
    step performs one request and returns its seconds); `reference` names the measurement
    whose p50 this one's is held against, within `target_ratio`. A measurement of an edit
    (`tagModels`, `updateModel`) is one more entry, with an absolute target in
    `target_p50_ms` instead of a reference."""

    label: str
    start: Callable[[httpx.AsyncClient], Awaitable[Callable[[], Awaitable[float]]]]
    reference: str | None = None
    target_ratio: float | None = None
    target_p50_ms: float | None = None
    iterations: int | None = None  # fewer than the others' for a slow request
    warmup: int = WARMUP


@dataclass(frozen=True, slots=True)
class Measured:
    measurement: Measurement
    summary: Summary
    statements_per_call: float


def sort_measurement(sort: str, direction: str) -> Measurement:
    async def start(client: httpx.AsyncClient) -> Callable[[], Awaitable[float]]:
        order = {"sort": sort, "direction": direction}
        _, first = await GraphqlPager(client, order).fetch()
        check_graphql_page(first)
        await check_order(client, sort, direction)
        return GraphqlPager(client, order).step

    label = f"models {sort} {direction}"
    reference = None if label == REFERENCE_ORDER else REFERENCE_ORDER
    return Measurement(label, start, reference, SORT_TARGET_RATIO if reference else None)


def browse_measurements() -> list[Measurement]:
    """Every measurement of the large library, the reference first, the edits last (they
    change the rows the orders walk)."""
    sorts = [sort_measurement(sort, direction) for sort in SORTS for direction in DIRECTIONS]
    return [*sorts, update_model_measurement(), set_model_tags_measurement(), tag_models()]


UPDATE_MODEL = """
mutation Rename($sha256: String!, $name: String!) {
  updateModel(sha256: $sha256, changes: { name: $name }) {
    __typename ... on ModelUpdated { model { sha256 name updatedAt } }
  }
}
"""
SET_MODEL_TAGS = """
mutation Retag($sha256: String!, $tagIds: [Int!]!) {
  setModelTags(sha256: $sha256, tagIds: $tagIds) {
    __typename ... on ModelUpdated { model { sha256 tags { id } } }
  }
}
"""
TAG_MODELS = """
mutation Tag($sha256s: [String!]!, $add: [Int!], $remove: [Int!]) {
  tagModels(sha256s: $sha256s, add: $add, remove: $remove) {
    __typename ... on ModelsTagged { changedCount } ... on Problem { code message }
  }
}
"""
CREATE_TAG = """
mutation($name: String!) { createTag(name: $name) { __typename ... on Tag { id } } }
"""
DIGESTS = "query($first: Int!, $after: String) { models(first: $first, after: $after) {"
DIGESTS += " pageInfo { endCursor } nodes { sha256 } } }"
SINGLE_EDIT_TARGET_MS = 10.0
TAG_MODELS_COUNT = 10_000
TAG_MODELS_TARGET_MS = 1000.0
TAG_MODELS_ITERATIONS = 10


async def mutate(client: httpx.AsyncClient, query: str, **variables: Any) -> JsonDict:
    """One operation; its `data`, after checking that it has no errors."""
    payload = (await client.post("/graphql", json={"query": query, "variables": variables})).json()
    require("errors" not in payload, f"GraphQL errors: {payload.get('errors')}")
    data: JsonDict = payload["data"]
    return data


async def digests(client: httpx.AsyncClient, count: int) -> list[str]:
    """The first `count` models' digests, in name order, through the API."""
    found: list[str] = []
    after = None
    while len(found) < count:
        page = (await mutate(client, DIGESTS, first=500, after=after))["models"]
        found += [node["sha256"] for node in page["nodes"]]
        after = page["pageInfo"]["endCursor"]
    return found[:count]


def timed_edit(
    client: httpx.AsyncClient, query: str, field: str, success: str
) -> Callable[[JsonDict], Awaitable[float]]:
    """A step's core: send one edit, check that it succeeded, return its seconds."""

    async def send(variables: JsonDict) -> float:
        started = time.perf_counter()
        response = await client.post("/graphql", json={"query": query, "variables": variables})
        elapsed = time.perf_counter() - started
        answer = response.json()["data"][field]
        require(answer["__typename"] == success, f"{field} answered {answer}")
        return elapsed

    return send


def update_model_measurement() -> Measurement:
    async def start(client: httpx.AsyncClient) -> Callable[[], Awaitable[float]]:
        targets, count = await digests(client, 1_000), 0
        send = timed_edit(client, UPDATE_MODEL, "updateModel", "ModelUpdated")

        async def step() -> float:
            nonlocal count
            count += 1
            return await send({"sha256": targets[count % len(targets)], "name": f"edit {count}"})

        return step

    return Measurement("updateModel name", start, target_p50_ms=SINGLE_EDIT_TARGET_MS)


def set_model_tags_measurement() -> Measurement:
    async def start(client: httpx.AsyncClient) -> Callable[[], Awaitable[float]]:
        targets, count = await digests(client, 1_000), 0
        tag_ids = [
            (await mutate(client, CREATE_TAG, name=f"bench {i}"))["createTag"]["id"]
            for i in range(3)
        ]
        send = timed_edit(client, SET_MODEL_TAGS, "setModelTags", "ModelUpdated")

        async def step() -> float:
            nonlocal count
            count += 1
            chosen = tag_ids[: 1 + count % len(tag_ids)]
            return await send({"sha256": targets[count % len(targets)], "tagIds": chosen})

        return step

    return Measurement("setModelTags", start, target_p50_ms=SINGLE_EDIT_TARGET_MS)


def tag_models() -> Measurement:
    async def start(client: httpx.AsyncClient) -> Callable[[], Awaitable[float]]:
        targets = await digests(client, TAG_MODELS_COUNT)
        tag_id = (await mutate(client, CREATE_TAG, name="bench bulk"))["createTag"]["id"]
        adding = True

        async def step() -> float:
            nonlocal adding
            change = {"add": [tag_id]} if adding else {"remove": [tag_id]}
            adding = not adding
            started = time.perf_counter()
            data = await mutate(client, TAG_MODELS, sha256s=targets, **change)
            elapsed = time.perf_counter() - started
            changed = data["tagModels"].get("changedCount")
            require(changed == TAG_MODELS_COUNT, f"tagModels changed {data['tagModels']}")
            return elapsed

        return step

    return Measurement(
        f"tagModels {TAG_MODELS_COUNT:,} models",
        start,
        target_p50_ms=TAG_MODELS_TARGET_MS,
        iterations=TAG_MODELS_ITERATIONS,
        warmup=2,
    )


SIZES = """
query Sizes($first: Int!, $direction: SortDirection) {
  models(first: $first, sort: SIZE, direction: $direction) { nodes { sizeBytes } }
}
"""


async def check_order(client: httpx.AsyncClient, sort: str, direction: str) -> None:
    """A first page in the wrong order would time the wrong query. SIZE is the order with
    a rule of its own (unknown sizes last), checked over the first page of its own query
    so that the measured one stays the page the UI asks for."""
    if sort != "SIZE":
        return
    body = {"query": SIZES, "variables": {"first": PAGE_SIZE, "direction": direction}}
    payload = (await client.post("/graphql", json=body)).json()
    require("errors" not in payload, f"GraphQL errors: {payload.get('errors')}")
    sizes = [node["sizeBytes"] for node in payload["data"]["models"]["nodes"]]
    require(None not in sizes, f"unknown sizes must come last, got {sizes[:5]}…")
    require(sizes == sorted(sizes, reverse=direction == "DESC"), f"SIZE {direction} out of order")


def large_model_record(rng: random.Random, index: int, now: datetime) -> Model:
    """A model as `model_record` makes them, changed some time after it was created (so
    the UPDATED_AT order is not the CREATED_AT one), and sometimes of unknown size."""
    model = model_record(rng, index, now)
    changed = model.created_at + timedelta(minutes=rng.randrange(100_000))
    unknown = index % UNKNOWN_SIZE_EVERY == 0
    return replace(model, updated_at=changed, size_bytes=None if unknown else model.size_bytes)


async def seed_large_library(store: Store, rng: random.Random) -> None:
    """BROWSE_MODEL_COUNT models with their tags and gallery rows, in batches."""
    now = datetime.now(UTC)
    async with store.transaction() as conn:
        tag_ids = [(await insert_tag(conn, name, "#888888")).id for name in tag_names()]
        for begin in range(0, BROWSE_MODEL_COUNT, BATCH):
            models = [large_model_record(rng, i, now) for i in range(begin, begin + BATCH)]
            await insert_models(conn, models)
            await link_many_model_tags(
                conn,
                [(m.sha256, t) for m in models for t in rng.sample(tag_ids, TAGS_PER_MODEL)],
            )
            for model in models:
                for seq in range(IMAGES_PER_MODEL):
                    await insert_sample_image(conn, sample_image_record(model.sha256, seq, now))


async def measure_browsing(iterations: int) -> tuple[float, list[Measured]]:
    """Seed the large library; run every measurement on it, counting the SQL statements
    each call runs (all connections, readers and writer)."""
    statements: list[str] = []
    with tempfile.TemporaryDirectory(prefix="modelshelf-bench-") as tmpdir:
        app = create_app(Config.resolve(tmpdir), on_statement=statements.append)
        async with app.router.lifespan_context(app):
            started = time.perf_counter()
            await seed_large_library(app.state.store, random.Random(RANDOM_SEED))
            seed_seconds = time.perf_counter() - started
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                results = []
                for measurement in browse_measurements():
                    step = await measurement.start(client)
                    count = measurement.iterations or iterations
                    seconds = await measure(step, count, measurement.warmup)
                    statements.clear()
                    await step()
                    results.append(Measured(measurement, Summary.of(seconds), len(statements)))
    return seed_seconds, results


def browse_report(seed_seconds: float, iterations: int, results: list[Measured]) -> str:
    p50s = {result.measurement.label: result.summary.p50 for result in results}
    lines = [
        f"library: {BROWSE_MODEL_COUNT:,} models (1 in {UNKNOWN_SIZE_EVERY} of unknown size), "
        f"{TAGS_PER_MODEL} tags and {IMAGES_PER_MODEL} sample images each; "
        f"seeding {seed_seconds:.1f} s (not measured)",
        f"requests: models(first: {PAGE_SIZE}) as above, in each order, walking the pages; "
        f"{WARMUP} warm-up + {iterations} timed each; then the edits (tagModels: 2 warm-up + "
        f"{TAG_MODELS_ITERATIONS} timed)",
        "",
    ]
    for result in results:
        measurement, summary = result.measurement, result.summary
        against = ""
        if measurement.reference is not None:
            ratio = summary.p50 / p50s[measurement.reference]
            against = f"  {ratio:4.2f}x {measurement.reference}"
        lines.append(
            f"  {measurement.label:<28} p50 {summary.p50:7.2f}  p99 {summary.p99:7.2f} (ms)"
            f"  statements/call {result.statements_per_call:g}{against}"
        )
    lines += ["", *(target_line(result, p50s) for result in results if has_target(result))]
    return "\n".join(lines)


def has_target(result: Measured) -> bool:
    return (
        result.measurement.target_ratio is not None or result.measurement.target_p50_ms is not None
    )


def met(result: Measured, p50s: dict[str, float]) -> bool:
    measurement, p50 = result.measurement, result.summary.p50
    if measurement.target_p50_ms is not None and p50 >= measurement.target_p50_ms:
        return False
    if measurement.reference is not None and measurement.target_ratio is not None:
        return p50 <= measurement.target_ratio * p50s[measurement.reference]
    return True


def target_line(result: Measured, p50s: dict[str, float]) -> str:
    measurement = result.measurement
    wanted = []
    if measurement.reference is not None and measurement.target_ratio is not None:
        wanted.append(f"p50 within {measurement.target_ratio:g}x {measurement.reference}")
    if measurement.target_p50_ms is not None:
        wanted.append(f"p50 < {measurement.target_p50_ms:g} ms")
    verdict = "PASS" if met(result, p50s) else "FAIL"
    return f"target: {measurement.label}: {' and '.join(wanted)} -> {verdict}"


# --- running -----------------------------------------------------------------------------------


async def run(iterations: int) -> tuple[str, bool]:
    """Seed a fresh library, measure both sides; the report and whether the target was met."""
    with tempfile.TemporaryDirectory(prefix="modelshelf-bench-") as tmpdir:
        config = Config.resolve(tmpdir)
        app = create_app(config)
        async with app.router.lifespan_context(app):
            started = time.perf_counter()
            await seed_library(app.state.store, random.Random(RANDOM_SEED))
            seed_seconds = time.perf_counter() - started
            ours = await measure_graphql(app, iterations, config)
            base = await measure_baseline(config, iterations)
    return report(seed_seconds, iterations, ours, base), ours.p50 < TARGET_P50_MS


async def measure_graphql(app: Starlette, iterations: int, config: Config) -> Summary:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        _, first = await GraphqlPager(client).fetch()
        check_graphql_page(first)
        await check_baseline_agrees(config, first)
        return Summary.of(await measure(GraphqlPager(client).step, iterations))


async def check_baseline_agrees(config: Config, first_graphql_page: JsonDict) -> None:
    async with open_read_only(config) as conn:
        _, text = await PlainPager(conn).fetch()
    check_same_rows(first_graphql_page, text)


async def measure_baseline(config: Config, iterations: int) -> Summary:
    async with open_read_only(config) as conn:
        return Summary.of(await measure(PlainPager(conn).step, iterations))


def open_read_only(config: Config) -> aiosqlite.Connection:
    """A connection of the baseline's own, on the server's database file (usable with
    `async with`, which opens and closes it)."""
    return aiosqlite.connect(f"{config.db_path.as_uri()}?mode=ro", uri=True)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--iterations",
        type=int,
        default=DEFAULT_ITERATIONS,
        help=f"timed requests per side, after {WARMUP} warm-up ones (default {DEFAULT_ITERATIONS})",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help=f"exit 1 when the GraphQL p50 is not under {TARGET_P50_MS:g} ms, or a browsing "
        "measurement misses its target",
    )
    args = parser.parse_args(argv)
    if args.iterations < 2:
        parser.error("--iterations must be at least 2 (percentiles need two samples)")
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    text, passed = asyncio.run(run(args.iterations))
    print(text, end="\n\n", flush=True)
    seed_seconds, results = asyncio.run(measure_browsing(args.iterations))
    print(browse_report(seed_seconds, args.iterations, results))
    p50s = {result.measurement.label: result.summary.p50 for result in results}
    passed = passed and all(met(result, p50s) for result in results)
    return 1 if args.check and not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
