"""The store on a real SQLite file: its constraints, its transactions, its upgrades."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from domain.errors import StoreError
from domain.records import Model
from domain.store import Store
from domain.store.models import get_model, insert_model
from domain.store.schema import LATEST_VERSION
from tests.seed import EPOCH, add_model, add_pending, add_tags, digest


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "library.db")
    yield opened
    await opened.close()


def a_model(**changes: object) -> Model:
    model = Model(
        sha256=digest("a"),
        path="/m/a.safetensors",
        name="a",
        type="lora",
        size_bytes=1,
        created_at=EPOCH,
        updated_at=EPOCH,
        meta={},
    )
    return replace(model, **changes)  # type: ignore[arg-type]


async def insert(store: Store, model: Model) -> None:
    async with store.transaction() as conn:
        await insert_model(conn, model)


@pytest.mark.parametrize(
    "bad",
    [
        a_model(sha256="A" * 64),  # upper case is not canonical
        a_model(sha256="a" * 63),
        a_model(sha256="z" * 64),
        a_model(path=""),
        a_model(size_bytes=-1),
    ],
)
async def test_sql_refuses_malformed_models(store: Store, bad: Model) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        await insert(store, bad)
    assert await get_model(store, bad.sha256) is None


async def test_sql_refuses_meta_that_is_not_an_object(store: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        await insert(store, a_model(meta=["a", "list"]))


async def test_paths_and_digests_are_unique(store: Store) -> None:
    await insert(store, a_model())
    with pytest.raises(sqlite3.IntegrityError):
        await insert(store, a_model(sha256=digest("b")))  # same path
    with pytest.raises(sqlite3.IntegrityError):
        await insert(store, a_model(path="/m/other"))  # same digest


async def test_a_failed_transaction_leaves_nothing_behind(store: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        async with store.transaction() as conn:
            await insert_model(conn, a_model())
            await insert_model(conn, a_model(sha256=digest("b")))  # same path: fails
    assert await get_model(store, digest("a")) is None
    await insert(store, a_model())  # and the writer is usable again
    assert await get_model(store, digest("a")) is not None


async def test_deleting_a_model_or_tag_removes_its_links(store: Store) -> None:
    red, blue = await add_tags(store, "red", "blue")
    model = await add_model(store, "m", tags=[red, blue], images=2)
    pending = await add_pending(store, 5, tags=[red], images=1)
    async with store.transaction() as conn:
        await conn.execute("DELETE FROM tags WHERE id = ?", (red.id,))
        await conn.execute("DELETE FROM models WHERE sha256 = ?", (model.sha256,))
        await conn.execute("DELETE FROM pending_import WHERE id = ?", (pending.id,))
    for table in ["model_tags", "sample_images", "pending_model_tags", "pending_images"]:
        assert (await store.fetch_one(f"SELECT count(*) FROM {table}"))[0] == 0  # type: ignore[index]


async def test_links_to_missing_rows_are_refused(store: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        async with store.transaction() as conn:
            await conn.execute(
                "INSERT INTO model_tags (sha256, tag_id) VALUES (?, 1)", (digest("x"),)
            )


async def test_readers_see_committed_state_while_a_write_is_open(store: Store) -> None:
    await insert(store, a_model())
    writing = asyncio.Event()
    release = asyncio.Event()

    async def slow_writer() -> None:
        async with store.transaction() as conn:
            await conn.execute("UPDATE models SET name = 'renamed'")
            writing.set()
            await release.wait()

    task = asyncio.create_task(slow_writer())
    await writing.wait()
    # Readers neither block nor see the uncommitted change.
    seen = await asyncio.wait_for(get_model(store, digest("a")), timeout=5)
    assert seen is not None and seen.name == "a"
    release.set()
    await task
    after = await get_model(store, digest("a"))
    assert after is not None and after.name == "renamed"


async def test_concurrent_writers_are_serialized(store: Store) -> None:
    async def add(i: int) -> None:
        await insert(store, a_model(sha256=digest(str(i)), path=f"/m/{i}"))

    await asyncio.gather(*(add(i) for i in range(50)))
    assert (await store.fetch_one("SELECT count(*) FROM models"))[0] == 50  # type: ignore[index]


async def test_a_new_database_is_at_the_latest_version_in_wal_mode(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "library.db")
    await store.close()
    with sqlite3.connect(tmp_path / "library.db") as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_a_database_from_a_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    store = await Store.open(path)
    await store.close()
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    with pytest.raises(StoreError, match="newer Model Shelf"):
        await Store.open(path)


async def test_someone_elses_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE models (id INTEGER PRIMARY KEY, path TEXT)")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a Model Shelf library"):
        await Store.open(path)
    assert path.read_bytes() == before


async def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="is not a SQLite database"):
        await Store.open(path)


async def test_a_version_1_library_is_upgraded_and_keeps_its_rows(tmp_path: Path) -> None:
    from domain.store.gallery import galleries_of
    from domain.store.schema import _V1, APPLICATION_ID

    path = tmp_path / "library.db"
    sha = digest("old model")
    with sqlite3.connect(path) as raw:
        raw.executescript(_V1)
        raw.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        raw.execute("PRAGMA user_version = 1")
        raw.execute("INSERT INTO models VALUES (?, '/m/old', 'old', 'lora', 1, 0, 0, '{}')", (sha,))
        raw.execute(
            "INSERT INTO sample_images VALUES (?, 0, 1200, 900, ?, NULL, 0)", (sha, digest("pic"))
        )

    store = await Store.open(path)
    try:
        (image,) = (await galleries_of(store, [sha]))[sha]
    finally:
        await store.close()

    # Sizes a version 1 row never recorded are derived from its HIGH tier.
    assert [(t.quality.value, t.width, t.height, t.size_bytes) for t in image.tiers] == [
        ("high", 1200, 900, None),
        ("medium", 792, 594, None),
        ("low", 396, 297, None),
    ]
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION


async def test_a_version_3_ledger_is_upgraded_and_keeps_its_rows(tmp_path: Path) -> None:
    from domain.store.schema import _V1, _V2, _V3, APPLICATION_ID

    path = tmp_path / "library.db"
    with sqlite3.connect(path) as raw:
        for script in (_V1, _V2, _V3):
            raw.executescript(script)
        raw.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        raw.execute("PRAGMA user_version = 3")
        raw.execute("INSERT INTO legacy_sources VALUES (1, '/legacy/hikaze_mm.sqlite3', 5, 6)")
        raw.executemany(
            "INSERT INTO legacy_rows (source_id, legacy_id, outcome) VALUES (1, ?, ?)",
            [(1, "model"), (2, "pending"), (3, "issue")],
        )
    raw.close()

    store = await Store.open(path)
    try:
        rows = await store.fetch_all(
            "SELECT legacy_id, outcome, row_digest FROM legacy_rows ORDER BY legacy_id"
        )
        source = await store.fetch_one("SELECT id, path FROM legacy_sources")
    finally:
        await store.close()

    assert [tuple(row) for row in rows] == [
        (1, "model", None),
        (2, "pending", None),
        (3, "issue", None),
    ]
    assert source is not None and tuple(source) == (1, "/legacy/hikaze_mm.sqlite3")
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
    raw.close()


async def test_a_version_5_library_renumbers_ids_clients_cannot_hold(tmp_path: Path) -> None:
    """Stage 1 before version 6 kept legacy ids past 2^31 - 1; every list holding one failed."""
    from domain.store.schema import _V1, _V2, _V3, _V4, _V5, APPLICATION_ID

    path = tmp_path / "library.db"
    sha = digest("tagged model")
    big, huge = 2**31, 2**40
    with sqlite3.connect(path) as raw:
        for script in (_V1, _V2, _V3, _V4, _V5):
            raw.executescript(script)
        raw.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        raw.execute("PRAGMA user_version = 5")
        raw.execute("INSERT INTO models VALUES (?, '/m/a', 'a', 'lora', 1, 0, 0, '{}')", (sha,))
        raw.executemany("INSERT INTO tags (id, name) VALUES (?, ?)", [(3, "ink"), (big, "anime")])
        raw.executemany(
            "INSERT INTO pending_import (id, path, name, type, created_at)"
            " VALUES (?, ?, ?, 'lora', 0)",
            [(7, "/m/seven", "seven"), (huge, "/m/huge", "huge"), (big, "/m/big", "big")],
        )
        raw.execute("INSERT INTO model_tags VALUES (?, ?)", (sha, big))
        raw.executemany(
            "INSERT INTO pending_model_tags VALUES (?, ?)", [(big, big), (huge, 3), (7, big)]
        )
        raw.execute(f"INSERT INTO pending_images VALUES ({huge}, 0, '{huge}_0.png', 10)")
        raw.execute("INSERT INTO legacy_sources VALUES (1, '/legacy/db', 5, 6)")
        raw.execute(
            "INSERT INTO legacy_image_tasks (source_id, legacy_id, position, source_path, "
            f"pending_id) VALUES (1, {big}, 0, '/legacy/a.png', {big})"
        )
        raw.execute(
            "INSERT INTO jobs (id, kind, state, created_at)"
            " VALUES (1, 'IMPORT_PENDING', 'PAUSED', 0)"
        )
        raw.execute(
            f"INSERT INTO job_items VALUES (1, {huge}, 0, 'huge', NULL, NULL, NULL, NULL, NULL)"
        )
    raw.close()

    store = await Store.open(path)
    try:
        pending = await store.fetch_all("SELECT id, name FROM pending_import ORDER BY id")
        tags = await store.fetch_all("SELECT id, name FROM tags ORDER BY id")
        links = await store.fetch_all("SELECT * FROM pending_model_tags ORDER BY 1, 2")
        model_links = await store.fetch_all("SELECT tag_id FROM model_tags")
        images = await store.fetch_all("SELECT pending_id, file_name FROM pending_images")
        tasks = await store.fetch_all("SELECT pending_id FROM legacy_image_tasks")
        items = await store.fetch_all("SELECT item FROM job_items")
        violations = await store.fetch_all("PRAGMA foreign_key_check")
    finally:
        await store.close()

    # In id order after the highest id that fits: big (2^31) becomes 8, huge 9.
    assert [tuple(row) for row in pending] == [(7, "seven"), (8, "big"), (9, "huge")]
    assert [tuple(row) for row in tags] == [(3, "ink"), (4, "anime")]
    assert [tuple(row) for row in links] == [(7, 4), (8, 4), (9, 3)]
    assert [row[0] for row in model_links] == [4]
    assert [tuple(row) for row in images] == [(9, f"{huge}_0.png")]  # the file keeps its name
    assert [row[0] for row in tasks] == [8]
    assert [row[0] for row in items] == [9]
    assert violations == []


async def test_a_write_cancelled_at_its_begin_leaves_the_writer_usable(store: Store) -> None:
    """A job paused mid-item cancels its write wherever it is; the BEGIN still ran."""

    async def write() -> None:
        async with store.transaction() as conn:
            await conn.execute("INSERT INTO tags (name) VALUES ('never')")

    for step in range(4):  # cancelled at each of its first awaits in turn
        task = asyncio.create_task(write())
        for _ in range(step):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await add_tags(store, f"after {step}")  # fails when a transaction was left open

    rows = await store.fetch_all("SELECT name FROM tags WHERE name LIKE 'after %' ORDER BY name")
    assert [row[0] for row in rows] == [f"after {step}" for step in range(4)]
