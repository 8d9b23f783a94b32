"""Shared fixtures: a real Model Shelf app on a real SQLite file in a tmp dir, spoken to
over HTTP (httpx's ASGI transport runs the app in-process, lifespan included)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from api.app import create_app
from domain.config import Config
from domain.store import Store
from tests.images import decode
from tests.small_disk import SmallDisk, mount_small_disk, unmount


class Shelf:
    """A running server and a client for it, with the SQL statements it has run."""

    def __init__(self, app: Starlette, client: httpx.AsyncClient, statements: list[str]) -> None:
        self.app = app
        self.client = client
        self.statements = statements

    @property
    def store(self) -> Store:
        store: Store = self.app.state.store
        return store

    @property
    def config(self) -> Config:
        config: Config = self.app.state.config
        return config

    async def post(self, query: str, **variables: Any) -> dict[str, Any]:
        """Send one GraphQL operation; return the whole response body."""
        response = await self.client.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def upload(self, query: str, files: dict[str, bytes], **variables: Any) -> dict[str, Any]:
        """Send an operation with files, as the GraphQL multipart request spec says: each
        `files` key names a variable that receives that file."""
        operations = {"query": query, "variables": {**variables, **dict.fromkeys(files)}}
        file_map = {str(i): [f"variables.{name}"] for i, name in enumerate(files)}
        response = await self.client.post(
            "/graphql",
            data={"operations": json.dumps(operations), "map": json.dumps(file_map)},
            files={str(i): (f"{name}.bin", data) for i, (name, data) in enumerate(files.items())},
            headers={"GraphQL-Preflight": "1"},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def colors(self, images: list[dict[str, Any]]) -> list[tuple[int, ...]]:
        """The colour near the corner of each image, fetched over HTTP through its `url`."""
        colors = []
        for image in images:
            response = await self.client.get(image["url"])
            assert response.status_code == 200
            pixel = decode(response.content).convert("RGB").getpixel((5, 5))
            assert isinstance(pixel, tuple)
            colors.append(pixel)
        return colors

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        """Send an operation that must succeed; return its `data`."""
        body = await self.post(query, **variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def error(self, query: str, **variables: Any) -> dict[str, Any]:
        """Send an operation that must fail with exactly one error; return that error."""
        body = await self.post(query, **variables)
        assert len(body.get("errors", [])) == 1, body
        error: dict[str, Any] = body["errors"][0]
        return error


@asynccontextmanager
async def running_shelf(data_dir: Path) -> AsyncIterator[Shelf]:
    statements: list[str] = []
    app = create_app(Config.resolve(data_dir), on_statement=statements.append)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shelf.test") as client:
            yield Shelf(app, client, statements)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
async def shelf(data_dir: Path) -> AsyncIterator[Shelf]:
    async with running_shelf(data_dir) as running:
        yield running


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A real small filesystem (a tmpfs) to fill up, unmounted after the test."""
    disk = mount_small_disk(tmp_path / "disk")
    try:
        yield disk
    finally:
        unmount(disk)
