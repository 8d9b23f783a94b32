"""Running the real `modelshelf serve` in a child process, as users do."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )


def wait_until_up(url: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()[0]
        try:
            httpx.post(url, json={"query": "{ __typename }"}, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the server did not start within 30 s")


@contextmanager
def running_server(data_dir: Path) -> Iterator[str]:
    """A `modelshelf serve` on a free port over `data_dir`; yields its GraphQL URL."""
    port = free_port()
    server = start_server(
        "--port", str(port), "--data-dir", str(data_dir), "--log-level", "warning"
    )
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        wait_until_up(url, server)
        yield url
    finally:
        server.terminate()
        server.communicate(timeout=30)
