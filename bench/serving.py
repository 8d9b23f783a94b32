"""The app served as `modelshelf serve` serves it, for the benchmarks: `create_app` under
uvicorn on a free port of 127.0.0.1, on the benchmark's own event loop, over a fresh library,
spoken to over real HTTP and the graphql-transport-ws websocket."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import socket
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import websockets
from starlette.applications import Starlette

from api.app import create_app
from api.heap import freeze_startup_heap
from domain.config import Config

JsonDict = dict[str, Any]
WATCH = "subscription($id: ID!) { job(id: $id) { state done total } }"


def require(condition: bool, message: str) -> None:
    """An assertion that `python -O` cannot strip: the timing of a wrong result is worthless."""
    if not condition:
        raise AssertionError(message)


@dataclass(slots=True)
class Served:
    """A running server on a fresh library."""

    app: Starlette
    url: str
    client: httpx.AsyncClient

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1) + "/graphql"

    async def post(self, query: str, **variables: Any) -> JsonDict:
        """One operation over HTTP; the whole response body."""
        response = await self.client.post("/graphql", json={"query": query, "variables": variables})
        require(response.status_code == 200, f"HTTP {response.status_code}: {response.text}")
        payload: JsonDict = response.json()
        return payload

    async def data(self, query: str, **variables: Any) -> JsonDict:
        """One operation that must succeed; its `data`."""
        payload = await self.post(query, **variables)
        require("errors" not in payload, f"GraphQL errors: {payload.get('errors')}")
        data: JsonDict = payload["data"]
        return data


@contextlib.asynccontextmanager
async def serving(root: Path, request_seconds: float) -> AsyncIterator[Served]:
    """The app over a fresh library in a temporary folder of `root`, removed afterwards;
    `request_seconds` bounds every request of its client."""
    with tempfile.TemporaryDirectory(prefix="library-", dir=root) as data_dir:
        app = create_app(Config.resolve(data_dir))
        freeze_startup_heap()  # as `modelshelf serve` does
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY only on sockets that say so, and
        # without it every answer written in two parts waits 40 ms for a delayed ACK.
        listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        listening.bind(("127.0.0.1", 0))
        port = listening.getsockname()[1]
        serve = asyncio.create_task(server.serve(sockets=[listening]))
        try:
            while not server.started:
                require(not serve.done(), "the server did not start")
                await asyncio.sleep(0.01)
            url = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=url, timeout=request_seconds) as client:
                yield Served(app, url, client)
        finally:
            server.should_exit = True
            await serve
            listening.close()
            gc.unfreeze()  # the next measurement's app freezes its own start-up


async def until_finished(served: Served, job_id: str, wait_seconds: float) -> str:
    """Follow the job over the `job` subscription until it ends; its last state."""
    protocol = websockets.Subprotocol("graphql-transport-ws")
    async with websockets.connect(served.ws_url, subprotocols=[protocol]) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        require(json.loads(await ws.recv())["type"] == "connection_ack", "no connection_ack")
        payload = {"query": WATCH, "variables": {"id": job_id}}
        await ws.send(json.dumps({"type": "subscribe", "id": "1", "payload": payload}))
        state = "QUEUED"
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), wait_seconds))
            if message["type"] != "next":
                require(message["type"] == "complete", f"the subscription said {message}")
                return state
            state = str(message["payload"]["data"]["job"]["state"])
            if state in ("COMPLETED", "CANCELLED", "FAILED"):
                return state
