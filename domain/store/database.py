"""The one door to the library database.

Every write goes through one writer connection, serialized by a lock and wrapped in
`BEGIN IMMEDIATE`, so that two writers never interleave half-finished changes and a
writer never fails late with "database is locked". Reads use a small pool of read-only
connections: in WAL mode they see the last committed state and never wait for the writer.
Each aiosqlite connection runs its queries on a thread of its own, off the event loop.

A disk that fills up mid-transaction (SQLite's SQLITE_FULL, at a statement or at the
commit) is rolled back and raised as `DiskFull`: the user can free space, and the writer is
left ready for the next transaction.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from domain.errors import DiskFull, StoreError
from domain.store.schema import APPLICATION_ID, LATEST_VERSION, MIGRATIONS
from domain.tag_names import SQL_FUNCTION, tag_name_key

# STRICT tables arrived in SQLite 3.37.
MINIMUM_SQLITE = (3, 37, 0)
DEFAULT_READERS = 4
BUSY_TIMEOUT_MS = 10_000

StatementHook = Callable[[str], None]
Params = tuple[Any, ...] | dict[str, Any]


class Store:
    """The library database: one serialized writer and a pool of concurrent readers."""

    def __init__(
        self, writer: aiosqlite.Connection, readers: list[aiosqlite.Connection], folder: Path
    ) -> None:
        self._writer = writer
        self._folder = folder  # the database's, named when its disk is full
        self._write_lock = asyncio.Lock()
        self._readers = readers
        self._idle_readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        for reader in readers:
            self._idle_readers.put_nowait(reader)

    @classmethod
    async def open(
        cls,
        db_path: Path,
        *,
        readers: int = DEFAULT_READERS,
        on_statement: StatementHook | None = None,
    ) -> Store:
        """Open (creating and migrating when needed) the database at `db_path`.

        `on_statement` sees the text of every SQL statement any connection runs; tests use
        it to count statements per request."""
        if sqlite3.sqlite_version_info < MINIMUM_SQLITE:
            raise StoreError(
                f"SQLite {sqlite3.sqlite_version} is too old; Model Shelf needs "
                f"{'.'.join(map(str, MINIMUM_SQLITE))} or newer."
            )
        writer = await _connect(str(db_path), uri=False, on_statement=on_statement)
        try:
            # The tags table's triggers key every name with it (domain/tag_names.py): only
            # the writer writes, so only the writer needs it.
            await writer.create_function(SQL_FUNCTION, 1, _tag_name_key, deterministic=True)
            await _migrate(writer, db_path)
            reader_uri = _read_only_uri(db_path)
            pool = [
                await _connect(reader_uri, uri=True, on_statement=on_statement)
                for _ in range(readers)
            ]
        except BaseException:
            await writer.close()
            raise
        return cls(writer, pool, db_path.parent)

    async def close(self) -> None:
        """Close every connection; the WAL is checkpointed by the last one to close."""
        for reader in self._readers:
            await reader.close()
        async with self._write_lock:
            await self._writer.close()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """Borrow a read-only connection; it sees one consistent committed state per statement."""
        reader = await self._idle_readers.get()
        try:
            yield reader
        finally:
            self._idle_readers.put_nowait(reader)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Hold the writer for one transaction: committed when the block ends, rolled back
        when it raises or the commit fails. Every multi-step change goes in one of these."""
        async with self._write_lock:
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
                yield self._writer
                await self._writer.commit()
            except BaseException as error:
                # Roll back whatever is open, or the next BEGIN fails: a failed COMMIT may
                # leave the transaction open (SQLite lets it be retried), and a BEGIN whose
                # await was cancelled still ran (aiosqlite had queued it; the rollback
                # queues behind it). A no-op when no transaction is open.
                await self._writer.rollback()
                if _is_disk_full(error):
                    raise DiskFull(str(self._folder), None) from error
                raise

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[aiosqlite.Connection]:
        """Borrow a reader inside one read transaction, so that several queries (a page and
        its total count) see the same committed state."""
        async with self.read() as reader:
            try:
                await reader.execute("BEGIN")
                yield reader
            finally:
                # A cancelled BEGIN still runs: aiosqlite queued it on the reader's thread
                # before the await was cut short. Ending the transaction with rollback (a
                # no-op when none is open, and the same as COMMIT for a reader) queues behind
                # it, so the reader never returns to the pool inside a transaction, even when
                # a sibling field's error cancels this one at any await.
                await reader.rollback()

    async def fetch_all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Run one read query and return all its rows."""
        async with self.read() as conn:
            return list(await conn.execute_fetchall(sql, params))

    async def fetch_one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        """Run one read query and return its first row, or None."""
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None


def _is_disk_full(error: BaseException) -> bool:
    """SQLite's "database or disk is full" (SQLITE_FULL; extended codes keep it in the low
    byte)."""
    code = getattr(error, "sqlite_errorcode", None) if isinstance(error, sqlite3.Error) else None
    return code is not None and code & 0xFF == sqlite3.SQLITE_FULL


def _tag_name_key(name: object) -> str | None:
    """`tag_name_key` for SQL, where a NULL name has no key (NOT NULL refuses it anyway)."""
    return tag_name_key(name) if isinstance(name, str) else None


def _read_only_uri(db_path: Path) -> str:
    """Readers open the file with `mode=ro`, so no read path can ever write to it."""
    return f"{db_path.resolve().as_uri()}?mode=ro"


async def _connect(
    target: str, *, uri: bool, on_statement: StatementHook | None
) -> aiosqlite.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, so Python never opens a
    # transaction behind our back.
    conn = await aiosqlite.connect(target, uri=uri, isolation_level=None)
    conn.row_factory = sqlite3.Row
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await conn.execute("PRAGMA foreign_keys = ON")
    if on_statement is not None:
        await conn.set_trace_callback(on_statement)
    return conn


async def _migrate(conn: aiosqlite.Connection, db_path: Path) -> None:
    """Bring the database to `LATEST_VERSION`, one migration per transaction. A file that is
    not ours, or is newer than this code, is refused before a single byte of it changes."""
    try:
        version = await _scalar(conn, "PRAGMA user_version")
        app_id = await _scalar(conn, "PRAGMA application_id")
        foreign = app_id not in (0, APPLICATION_ID) or (app_id == 0 and await _has_tables(conn))
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{db_path} is not a SQLite database ({error}).") from error
    if foreign:
        raise StoreError(f"{db_path} is not a Model Shelf library database.")
    if version > LATEST_VERSION:
        raise StoreError(
            f"{db_path} was written by a newer Model Shelf (schema version {version}; "
            f"this one knows up to {LATEST_VERSION}). Upgrade Model Shelf to open it."
        )
    await conn.execute("PRAGMA journal_mode = WAL")
    # In WAL mode NORMAL loses no committed data on a crash, only (on power loss) the last
    # transactions; it spares an fsync per commit.
    await conn.execute("PRAGMA synchronous = NORMAL")
    for target, script in enumerate(MIGRATIONS[version:], start=version + 1):
        await _apply(conn, script, target)


async def _apply(conn: aiosqlite.Connection, script: str, target: int) -> None:
    await conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in _statements(script):
            await conn.execute(statement)
        await conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        await conn.execute(f"PRAGMA user_version = {target}")
    except BaseException:
        await conn.rollback()
        raise
    await conn.commit()


def _statements(script: str) -> Iterable[str]:
    """Split a migration script into complete statements, as SQLite itself would."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending.strip()
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete statement in migration: {pending.strip()[:80]}")


async def _scalar(conn: aiosqlite.Connection, sql: str) -> int:
    async with conn.execute(sql) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def _has_tables(conn: aiosqlite.Connection) -> bool:
    return await _scalar(conn, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'") > 0
