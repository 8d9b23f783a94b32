"""The `modelshelf` command: `serve` runs the server, `export-schema` prints the SDL, and the
client subcommands of `api/client/` talk to a running server."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from api.client.commands import register as register_client_commands
from domain.config import DATA_DIR_ENV, Config
from domain.errors import StoreError

DEFAULT_HOST = "127.0.0.1"  # local only: the library holds personal file paths
DEFAULT_PORT = 8000
GRACEFUL_SHUTDOWN_SECONDS = 10


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return int(args.run(args) or 0)


def _serve(args: argparse.Namespace) -> int:
    # Imported here so that `export-schema` and `--help` do not pay for the server's imports.
    from api.app import create_app
    from api.heap import freeze_startup_heap

    config = Config.resolve(args.data_dir)
    print(f"Model Shelf: library in {config.data_dir}", file=sys.stderr)
    problem = asyncio.run(_library_problem(config))
    if problem is not None:  # said plainly, not as a traceback from inside the server
        print(f"Model Shelf cannot open its library: {problem}", file=sys.stderr)
        return 2
    print(f"GraphQL and playground: http://{args.host}:{args.port}/graphql", file=sys.stderr)
    # uvicorn stops gracefully on SIGINT and SIGTERM: it gives open requests a few seconds
    # to finish, then runs the app's shutdown, which stops a legacy import (the next run
    # resumes it) and closes the store.
    app = create_app(config)
    freeze_startup_heap()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=args.shutdown_grace,
    )
    return 0


async def _library_problem(config: Config) -> str | None:
    """Why the library cannot be opened (not ours, too new, not SQLite, SQLite too old), or
    None; opening it also brings its schema up to date before the server starts."""
    from domain.store import Store

    try:
        config.create_folders()
        store = await Store.open(config.db_path, readers=1)
    except (StoreError, OSError) as error:
        return str(error)
    await store.close()
    return None


def _export_schema(args: argparse.Namespace) -> None:
    from api.schema import export_sdl

    sdl = export_sdl()
    if args.output is None:
        sys.stdout.write(sdl)
    else:
        Path(args.output).write_text(sdl, encoding="utf-8")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="modelshelf", description="A local GraphQL server for a library of AI model files."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})"
    )
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    serve.add_argument(
        "--data-dir",
        help=f"library folder (default: ${DATA_DIR_ENV}, else ./data); created when missing",
    )
    serve.add_argument(
        "--shutdown-grace",
        type=float,
        default=GRACEFUL_SHUTDOWN_SECONDS,
        metavar="SECONDS",
        help="on Ctrl-C or SIGTERM, how long open requests may finish before they are cut "
        f"(default {GRACEFUL_SHUTDOWN_SECONDS}); a cut legacy import resumes on its next run",
    )
    serve.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    serve.set_defaults(run=_serve)

    export = commands.add_parser("export-schema", help="print the GraphQL schema as SDL")
    export.add_argument("--output", help="write to this file instead of standard output")
    export.set_defaults(run=_export_schema)

    register_client_commands(commands)
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
