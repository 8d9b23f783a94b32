"""The fuzzing harness: requests to build, the oracle every answer must pass, a seeded library
to aim at, and strategies that generate valid GraphQL operations over every root field.

A `Case` is one HTTP request to `/graphql`, kept as data so that a failure prints a request
one can replay with curl. `violations` is the oracle. `operations` generates cases from the
schema with hypothesis-graphql, then aims some arguments at rows the seeded library holds
(digests, ids, cursors, paths), moves some into JSON variables, and sends each `Upload` as a
real multipart file.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import logging
import os
import re
import shlex
import sqlite3
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import graphql
import httpx
import hypothesis_graphql
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from api.errors import INTERNAL_CODE, INTERNAL_MESSAGE
from api.schema import schema
from domain.images.gallery import Gallery
from domain.pagination import encode_cursor
from domain.records import Model, PendingImport
from domain.store import Store
from domain.store.models import insert_model
from domain.store.pending import insert_pending
from tests.images import BLUE, GREEN, RED, encode, solid
from tests.legacy import LegacyRow, create_legacy_db
from tests.seed import add_model, add_pending, add_tags

# The schema the server runs, as graphql-core sees it (`schema.graphql` is its export).
SCHEMA: graphql.GraphQLSchema = graphql.build_schema(schema.as_str())
assert SCHEMA.query_type is not None and SCHEMA.mutation_type is not None
QUERY_FIELDS: tuple[str, ...] = tuple(sorted(SCHEMA.query_type.fields))
MUTATION_FIELDS: tuple[str, ...] = tuple(sorted(SCHEMA.mutation_type.fields))

PREFLIGHT = {"GraphQL-Preflight": "1"}
JsonValue = Any  # what json.loads returns


# Requests ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One HTTP request to /graphql.

    - `query` set, no `files`: a JSON POST of `{"query", "variables"}` (or a GET with them as
      parameters when `method` is GET);
    - `query` and `files`: a GraphQL multipart request, each file mapped to the variable
      named by its key, with the preflight header;
    - `body`: these exact bytes, with `headers` (raw transport cases);
    - `form`: a multipart request with these exact `operations` and `map` fields, with
      `files` keyed by their form field name (hand-written malformed uploads).
    """

    query: str | None = None
    variables: dict[str, JsonValue] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    method: str = "POST"
    body: bytes | None = None
    form: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # What a generated case gave each argument (name, value), for `known_class`.
    arguments: tuple[tuple[str, JsonValue], ...] = field(default=(), compare=False)

    @property
    def multipart(self) -> bool:
        return bool(self.files) or self.form is not None

    def json_body(self) -> bytes:
        return json.dumps({"query": self.query, "variables": self.variables}).encode()

    def curl(self, url: str = "http://127.0.0.1:8000/graphql", limit: int = 2_000) -> str:
        """A curl command that replays this request against a running server."""

        def short(text: str) -> str:
            if len(text) <= limit:
                return text
            return f"{text[:limit]}…({len(text):,} characters in all)"

        parts = ["curl", url]
        headers = dict(self.headers)
        if self.multipart:
            headers.update(PREFLIGHT)
        for name, value in headers.items():
            parts += ["-H", f"{name}: {value}"]
        if self.form is not None:
            parts += [arg for name, value in self.form.items() for arg in ("-F", f"{name}={value}")]
            parts += [arg for name in self.files for arg in ("-F", f"{name}=@{name}.bin")]
        elif self.body is not None:
            parts += ["--data-binary", short(self.body.decode("utf-8", "backslashreplace"))]
        elif self.files:
            operations, file_map = self._multipart_fields()
            parts += ["-F", f"operations={short(operations)}", "-F", f"map={file_map}"]
            parts += [arg for i, name in enumerate(self.files) for arg in ("-F", f"{i}=@{name}")]
        elif self.method == "GET":
            parts += ["-G", "--data-urlencode", f"query={self.query}"]
            if self.variables:
                parts += ["--data-urlencode", f"variables={short(json.dumps(self.variables))}"]
        else:
            parts += [
                "-H",
                "Content-Type: application/json",
                "--data",
                short(self.json_body().decode()),
            ]
        return shlex.join(parts)

    def _multipart_fields(self) -> tuple[str, str]:
        variables = {**self.variables, **dict.fromkeys(self.files)}
        operations = json.dumps({"query": self.query, "variables": variables})
        file_map = json.dumps({str(i): [f"variables.{name}"] for i, name in enumerate(self.files)})
        return operations, file_map

    async def send(self, client: httpx.AsyncClient) -> httpx.Response:
        if self.form is not None:
            files = {name: (f"{name}.bin", data) for name, data in self.files.items()}
            headers = {**PREFLIGHT, **self.headers}
            return await client.post("/graphql", data=self.form, files=files, headers=headers)
        if self.body is not None:
            return await client.post("/graphql", content=self.body, headers=self.headers)
        if self.files:
            operations, file_map = self._multipart_fields()
            files = {
                str(i): (f"{name}.bin", data) for i, (name, data) in enumerate(self.files.items())
            }
            return await client.post(
                "/graphql",
                data={"operations": operations, "map": file_map},
                files=files,
                headers={**PREFLIGHT, **self.headers},
            )
        if self.method == "GET":
            params = {"query": self.query or ""}
            if self.variables:
                params["variables"] = json.dumps(self.variables)
            return await client.get("/graphql", params=params, headers=self.headers)
        headers = {"Content-Type": "application/json", **self.headers}
        return await client.post("/graphql", content=self.json_body(), headers=headers)


# The oracle ----------------------------------------------------------------------------

INTERNAL = "an internal server error"


def violations(response: httpx.Response) -> list[str]:
    """Every way `response` breaks the oracle; empty when it is sound.

    200 with a GraphQL body, or a 4xx with a GraphQL-shaped error body for a request refused
    before GraphQL; a JSON body either way; no internal error; no traceback; a code on every
    error."""
    found: list[str] = []
    status = response.status_code
    if status != 200 and not 400 <= status < 500:
        found.append(f"HTTP status {status}")
    if "Traceback" in response.text:
        found.append("a traceback in the body")
    try:
        body = json.loads(response.content, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as error:
        found.append(f"the body is not JSON ({error.__class__.__name__})")
        return found
    if not isinstance(body, dict):
        return [*found, "the body is not a JSON object"]
    errors = body.get("errors")
    if status != 200:
        if not isinstance(errors, list) or not errors:
            found.append(f"a {status} without a GraphQL `errors` list")
    elif "data" not in body and not errors:
        found.append("a 200 with neither `data` nor `errors`")
    if errors is None:
        return found
    if not isinstance(errors, list):
        return [*found, "`errors` is not a list"]
    for each in errors:
        if not isinstance(each, dict) or not isinstance(each.get("message"), str):
            found.append(f"an error without a message: {each!r}")
            continue
        extensions = each.get("extensions")
        code = extensions.get("code") if isinstance(extensions, dict) else None
        if each["message"] == INTERNAL_MESSAGE or code == INTERNAL_CODE:
            found.append(INTERNAL)
        if not isinstance(code, str) or not code:
            found.append(f"an error without extensions.code: {each['message'][:200]!r}")
    return found


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


LEFT_IN_TRANSACTION = "a database connection was left inside a transaction"
LEFT_OPEN = "left open until the garbage collector found it:"


def leaks(caught: list[warnings.WarningMessage]) -> list[str]:
    """The oracle's last part: a request leaves no resource (an upload's spooled file) for
    the garbage collector to close. `caught` holds the warnings of the request and of a
    garbage collection right after it, which frees whatever the request left behind."""
    return sorted(
        {
            f"{LEFT_OPEN} {re.sub(r' at 0x[0-9a-f]+', '', str(w.message))}"
            for w in caught
            if issubclass(w.category, ResourceWarning)
        }
    )


async def store_violations(store: Store) -> list[str]:
    """The store's side of the oracle, checked between requests: once a request is over, no
    pooled connection may still be inside a transaction (a reader would answer from a stale
    snapshot, and refuse its next BEGIN). Connections found so are rolled back, so later
    cases start clean."""
    # Only the store can tell; the test reaches into it on purpose.
    readers = list(store._readers)
    if store._idle_readers.qsize() != len(readers) or store._write_lock.locked():
        return []  # something still runs (a legacy import or a job goes on after its request)
    # Every connection is taken, without yielding to the event loop, before any is looked
    # at: a job still running in the background cannot begin a transaction meanwhile and
    # be taken for a leak.
    async with store._write_lock:
        idle = [store._idle_readers.get_nowait() for _ in readers]
        stuck = []
        try:
            for conn in [*idle, store._writer]:
                await conn.execute("SELECT 1")  # after whatever was queued on its thread
                if conn.in_transaction:
                    stuck.append(conn)
                    await conn.rollback()
        finally:
            for conn in idle:
                store._idle_readers.put_nowait(conn)
    return [LEFT_IN_TRANSACTION] if stuck else []


# What the server logged ----------------------------------------------------------------


class Capture(logging.Handler):
    """The app wrapped so that whatever escapes it is recorded (a real server would log
    it and answer 500), with every error Strawberry logs: the server's side of a failure."""

    def __init__(self, app: Starlette) -> None:
        super().__init__(logging.ERROR)
        self.app = app
        self.records: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception as error:
            self.records.append(_summary(error))
            raise

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.records.append(_summary(record.exc_info[1]))
        else:
            self.records.append(record.getMessage()[:300])

    def take(self) -> list[str]:
        records, self.records = self.records, []
        return records

    @contextmanager
    def listening(self) -> Iterator[None]:
        loggers = [logging.getLogger("strawberry.execution"), logging.getLogger("modelshelf")]
        for logger in loggers:
            logger.addHandler(self)
        try:
            yield
        finally:
            for logger in loggers:
                logger.removeHandler(self)


def _summary(error: BaseException) -> str:
    """`Type: message` and the innermost frame of our own code that raised it."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "/site-packages/" not in f.filename]
    where = [_place(ours[-1])] if ours else []
    if frames and (not ours or frames[-1] is not ours[-1]):
        where.append(f"raised in {_place(frames[-1])}")
    return f"{error.__class__.__name__}: {str(error)[:200]} ({', '.join(where)})"


def _place(frame: traceback.FrameSummary) -> str:
    path = frame.filename.split("/site-packages/")[-1]
    if "/lib/python3" in path:  # the standard library
        path = path.split("/lib/")[-1].split("/", 1)[-1]
    root = str(Path(__file__).parent.parent) + "/"
    return f"{path.removeprefix(root)}:{frame.lineno}"


def failure_report(
    case: Case, response: httpx.Response, found: list[str], logged: list[str]
) -> str:
    lines = ["The server broke the oracle:", *(f"  - {v}" for v in found), "Request:", case.curl()]
    lines += ["Response:", f"  {response.status_code} {response.text[:1_000]}"]
    lines += ["Server side:", *(f"  {record}" for record in logged)] if logged else []
    return "\n".join(lines)


# The seeded library ----------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    """What a seeded library holds, for strategies to aim at."""

    digests: tuple[str, ...]
    names: tuple[str, ...]
    types: tuple[str, ...]
    tag_ids: tuple[int, ...]
    pending_ids: tuple[int, ...]
    legacy_db: str
    legacy_images: str
    edge_db: str  # a legacy library whose ids pass 32 bits
    paths: tuple[str, ...]  # files and folders of every kind for the legacy import's paths


def png(size: tuple[int, int] = (24, 16), color: tuple[int, int, int] = RED) -> bytes:
    return encode(solid(size, color), "PNG")


async def seed_library(store: Store, gallery: Gallery, pending_images: Path, root: Path) -> Seeded:
    """A few tags, models with galleries, pending imports (with and without files, one whose
    file has a model's digest) and a legacy library to import, under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    anime, photo, ink = await add_tags(store, "anime", "Photo", "style/ink 100%", color="#ff8800")
    models = [
        await add_model(store, "Alpha", tags=[anime, photo], meta={"prompt": "a cat"}),
        await add_model(store, "beta_100%", type="checkpoint", tags=[photo]),
        await add_model(store, "Ünïcode 模型", type="vae", size_bytes=None),
    ]
    for model, color in zip(models[:2], (GREEN, BLUE), strict=True):
        await gallery.add(model.sha256, png(color=color))
        await gallery.add(model.sha256, png((16, 24), color=RED))

    files = root / "model-files"
    files.mkdir()
    conflicting = files / "conflicting.safetensors"
    conflicting.write_bytes(b"the same bytes as a model of the library")
    twin = _model(hashlib.sha256(conflicting.read_bytes()).hexdigest(), "twin", conflicting)
    fresh = files / "fresh.safetensors"
    fresh.write_bytes(os.urandom(4096))
    async with store.transaction() as conn:
        await insert_model(conn, twin)
        await insert_pending(conn, _pending(10, fresh))
        await insert_pending(conn, _pending(11, conflicting))
    await add_pending(store, 1, tags=[anime], images=2)
    await add_pending(store, 2, sha256=models[0].sha256)
    await add_pending(store, 3, name="ünïcode pending")
    for seq in range(2):
        (pending_images / f"1_{seq}.png").write_bytes(png())

    legacy = root / "legacy"
    (legacy / "images").mkdir(parents=True)
    (legacy / "images" / "cat.png").write_bytes(png(color=BLUE))
    rows = [
        LegacyRow(
            1,
            "/models/legacy-one.safetensors",
            hash_hex="ab" * 32,
            tags=[1],
            extra={"images": ["cat.png"]},
        ),
        LegacyRow(2, "/models/legacy-two.safetensors", extra={"images": ["missing.png"]}),
        LegacyRow(3, "/models/legacy-three.safetensors", extra="{not json"),
    ]
    db = create_legacy_db(legacy / "hikaze_mm.sqlite3", rows, [(1, "legacy tag", None)])
    with closing(sqlite3.connect(root / "plain.sqlite3")) as plain, plain:
        plain.execute("CREATE TABLE models (id INTEGER PRIMARY KEY)")
    (root / "plain.txt").write_text("not a database")
    (root / "empty").mkdir()
    # A legacy library at the edges of what its columns hold: ids past GraphQL's 32-bit Int,
    # sizes past 2^53, a date past datetime, a tag name that differs only in case.
    edges = root / "edges"
    edges.mkdir()
    edge_rows = [
        LegacyRow(2**31 - 1, "/models/edge-a.safetensors", size_bytes=2**53 + 1, tags=[2**31]),
        LegacyRow(2**31, "/models/edge-b.safetensors", hash_hex="CD" * 32, tags=[7]),
        LegacyRow(2**40, "/models/edge-c.safetensors", size_bytes=-1, created_at=2**62),
    ]
    edge_db = create_legacy_db(edges / "hikaze_mm.sqlite3", edge_rows, [(2**31, "Anime", None)])
    # Never "/" or ".": the images folder is walked through, all of it.
    paths = (
        str(db),
        str(legacy / "images"),
        str(legacy),
        str(edge_db),
        str(root / "plain.sqlite3"),
        str(root / "plain.txt"),
        str(root / "empty"),
        str(root / "nowhere" / "x.sqlite3"),
        str(fresh),
        str(root),
        "",
    )
    return Seeded(
        digests=(*(m.sha256 for m in models), twin.sha256),
        names=(*(m.name for m in models), twin.name),
        types=("lora", "checkpoint", "vae", "LoRA"),
        tag_ids=(anime.id, photo.id, ink.id),
        pending_ids=(1, 2, 3, 10, 11),
        legacy_db=str(db),
        legacy_images=str(legacy / "images"),
        edge_db=str(edge_db),
        paths=paths,
    )


def _model(sha256: str, name: str, path: Path) -> Model:
    moment = datetime(2024, 6, 1, tzinfo=UTC)
    return Model(sha256, str(path), name, "lora", path.stat().st_size, moment, moment, {})


def _pending(pending_id: int, path: Path) -> PendingImport:
    moment = datetime(2024, 6, 1, tzinfo=UTC)
    return PendingImport(pending_id, str(path), path.name, "lora", None, moment, {}, None)


# Strategies ------------------------------------------------------------------------------

UPLOAD = "__upload__"  # the variable hypothesis-graphql puts where an Upload goes
INT32 = st.integers(-(2**31), 2**31 - 1)


def cursor_for(list_name: str, key: Sequence[JsonValue]) -> str:
    return encode_cursor(list_name, tuple(key))


def raw_cursor(payload: bytes) -> str:
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def _json_scalars() -> st.SearchStrategy[JsonValue]:
    # Integers stay within SQLite's 64 bits: the issue lists those beyond (a known class).
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=False),
        st.text(max_size=20),
    )


def cursors(seeded: Seeded) -> st.SearchStrategy[str]:
    """Real cursors of both lists, cursors with keys of the wrong shape, and junk."""
    keys = st.lists(
        st.recursive(_json_scalars(), lambda inner: st.lists(inner, max_size=3), max_leaves=6),
        max_size=3,
    )
    names = st.sampled_from(["models", "pendingImports", "", "tags"])
    real = st.one_of(
        st.sampled_from([cursor_for("pendingImports", [i]) for i in seeded.pending_ids]),
        st.builds(
            lambda n, d: cursor_for("models", [n.lower(), d]),
            st.sampled_from(seeded.names),
            st.sampled_from(seeded.digests),
        ),
        st.builds(lambda i: cursor_for("pendingImports", [i]), st.integers(-(2**63), 2**63 - 1)),
        st.builds(
            lambda a, b: cursor_for("models", [a, b]), st.text(max_size=10), st.text(max_size=10)
        ),
    )
    crafted = st.builds(lambda name, key: cursor_for(name, key), names, keys)
    junk = st.one_of(
        st.binary(max_size=40).map(raw_cursor),
        st.builds(lambda v: raw_cursor(json.dumps(v).encode()), _json_scalars()),
        st.text(max_size=20),
    )
    return st.one_of(real, crafted, junk)


def aimed_values(seeded: Seeded) -> dict[str, st.SearchStrategy[JsonValue]]:
    """Values for arguments, by name, that reach past the first check of their resolver."""
    digest = st.sampled_from(seeded.digests)
    return {
        "sha256": st.one_of(
            digest,
            digest.map(str.upper),
            digest.map(lambda d: f"  {d}\n"),
            st.text("0123456789abcdefABCDEF", min_size=63, max_size=65),
        ),
        "id": st.sampled_from(seeded.pending_ids) | st.integers(-3, 20),
        "seq": st.integers(-2, 5),
        "first": st.integers(-1, 501) | st.sampled_from([0, 1, 500]),
        "after": cursors(seeded),
        "search": st.one_of(
            st.sampled_from([*seeded.names, "%", "_", "\\", "100%", "a_", "模", "ALPHA", " "]),
            st.sampled_from(seeded.names).map(lambda n: n[1:4]),
        ),
        "type": st.sampled_from([*seeded.types, " vae ", "%", ""]),
        "tagIds": st.one_of(
            st.lists(st.sampled_from(seeded.tag_ids) | INT32, max_size=6),
            # Too long for a literal under the token cap: sent as a variable.
            st.builds(
                lambda n, start: list(range(start, start + n)),
                st.sampled_from([500, 1_000, 40_000]),
                st.integers(-5, 5),
            ),
        ),
        "legacyDbPath": st.sampled_from(seeded.paths),
        "legacyImagesDir": st.sampled_from(seeded.paths) | st.none(),
    }


def images() -> st.SearchStrategy[bytes]:
    """Pictures of every format the pipeline reads, odd sizes, and things that are not."""
    sizes = st.tuples(st.integers(1, 48), st.integers(1, 48)) | st.sampled_from(
        [(1, 1), (1, 3000), (3000, 1), (16383, 1), (1, 16383), (2, 9000)]
    )
    modes = st.sampled_from(["RGB", "RGBA", "L", "LA", "P", "1", "I;16", "CMYK"])
    formats = st.sampled_from(["PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF"])

    def picture(size: tuple[int, int], mode: str, fmt: str, seed: int) -> bytes:
        image = Image.new("RGB", size, ((seed * 37) % 256, (seed * 91) % 256, seed % 256))
        try:
            return encode(image.convert(mode), fmt)
        except (OSError, ValueError, KeyError):
            return encode(image, fmt)  # a mode this format cannot hold

    pictures = st.builds(picture, sizes, modes, formats, st.integers(0, 2**16))
    return st.one_of(
        pictures,
        _pictures_with_metadata(),
        pictures.flatmap(lambda data: st.integers(0, len(data)).map(lambda n: data[:n])),
        st.binary(max_size=64),
        st.sampled_from(
            [b"", b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"GIF89a", b"\x89PNG\r\n"]
        ),
    )


def _pictures_with_metadata() -> st.SearchStrategy[bytes]:
    """Small pictures carrying what tools embed: generation text chunks (A1111 infotext,
    ComfyUI graphs, NovelAI comments, or junk), EXIF orientations valid or not, EXIF
    UserComments, and colour profiles that may be garbage."""
    settings = st.dictionaries(
        st.sampled_from(["Steps", "Sampler", "CFG scale", "Seed", "Size", "Model", "Model hash"]),
        st.one_of(
            st.integers(-(2**70), 2**70).map(str),
            st.floats().map(str),
            st.sampled_from(["512x768", "0x0", "x", "-1x-1", "99999999999x2", '"quoted, text"']),
            st.text(max_size=12),
        ),
    )
    infotext = st.builds(
        lambda prompt, negative, values: (
            f"{prompt}\nNegative prompt: {negative}\n"
            + ", ".join(f"{key}: {value}" for key, value in values.items())
        ),
        st.text(max_size=30),
        st.text(max_size=10),
        settings,
    )
    json_text = st.recursive(
        _json_scalars(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
        max_leaves=10,
    ).map(json.dumps)
    chunks = st.dictionaries(
        st.sampled_from(["parameters", "prompt", "workflow", "Comment", "Description", "Software"]),
        infotext | json_text | st.text(max_size=40),
        max_size=3,
    )

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        image = Image.new("RGB", draw(st.tuples(st.integers(1, 24), st.integers(1, 24))))
        exif = Image.Exif()
        if draw(st.booleans()):
            exif[0x0112] = draw(st.integers(0, 65535))  # orientation: 1 to 8 are valid
        if draw(st.booleans()):
            exif[0x9286] = draw(st.binary(max_size=40) | infotext.map(str.encode))  # UserComment
        params: dict[str, Any] = {"exif": exif.tobytes()}
        if draw(st.booleans()):
            params["icc_profile"] = draw(st.binary(min_size=1, max_size=200))
        fmt = draw(st.sampled_from(["PNG", "JPEG", "WEBP"]))
        if fmt == "PNG":
            info = PngImagePlugin.PngInfo()
            for key, value in draw(chunks).items():
                if draw(st.booleans()):
                    info.add_itxt(key, value)
                else:
                    info.add_text(key, value)
            params["pnginfo"] = info
        try:
            return encode(image, fmt, **params)
        except (OSError, ValueError, UnicodeEncodeError):
            return encode(image, fmt)

    return build()


def _type_node(type_: graphql.GraphQLInputType) -> graphql.TypeNode:
    if isinstance(type_, graphql.GraphQLNonNull):
        inner = _type_node(type_.of_type)
        assert isinstance(inner, graphql.NamedTypeNode | graphql.ListTypeNode)
        return graphql.NonNullTypeNode(type=inner)
    if isinstance(type_, graphql.GraphQLList):
        return graphql.ListTypeNode(type=_type_node(type_.of_type))
    assert isinstance(type_, graphql.GraphQLNamedType)
    return graphql.NamedTypeNode(name=graphql.NameNode(value=type_.name))


@dataclass
class _Rewriter:
    """Walks a generated document, rewriting arguments with values drawn on the way."""

    draw: st.DrawFn
    aimed: dict[str, st.SearchStrategy[JsonValue]]
    variables: dict[str, JsonValue] = field(default_factory=dict)
    definitions: list[graphql.VariableDefinitionNode] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    arguments: list[tuple[str, JsonValue]] = field(default_factory=list)

    def selections(
        self, selection_set: graphql.SelectionSetNode | None, parent: graphql.GraphQLNamedType
    ) -> graphql.SelectionSetNode | None:
        if selection_set is None:
            return None
        rewritten: list[graphql.SelectionNode] = []
        for node in selection_set.selections:
            if isinstance(node, graphql.FieldNode):
                definition = (
                    parent.fields.get(node.name.value)
                    if isinstance(parent, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType)
                    else None
                )
                if definition is not None:
                    node = dataclasses.replace(
                        node,
                        arguments=tuple(
                            self.argument(arg, definition.args[arg.name.value])
                            for arg in node.arguments or ()
                        ),
                        selection_set=self.selections(
                            node.selection_set, graphql.get_named_type(definition.type)
                        ),
                    )
            elif isinstance(node, graphql.InlineFragmentNode):
                condition = node.type_condition
                named = SCHEMA.get_type(condition.name.value) if condition else parent
                assert named is not None
                inner = self.selections(node.selection_set, named)
                assert inner is not None
                node = dataclasses.replace(node, selection_set=inner)
            rewritten.append(node)
        return graphql.SelectionSetNode(selections=tuple(rewritten))

    def argument(
        self, node: graphql.ArgumentNode, definition: graphql.GraphQLArgument
    ) -> graphql.ArgumentNode:
        name = node.name.value
        if isinstance(node.value, graphql.VariableNode) and node.value.name.value == UPLOAD:
            variable = f"file{len(self.files)}"
            self.files[variable] = self.draw(images())
            return self._to_variable(node, variable, definition.type)
        value: JsonValue = graphql.value_from_ast_untyped(node.value)
        if name in self.aimed and self.draw(st.booleans()):
            value = self.draw(self.aimed[name])
            if value is None and isinstance(definition.type, graphql.GraphQLNonNull):
                value = graphql.value_from_ast_untyped(node.value)
        self.arguments.append((name, value))
        big = len(json.dumps(value)) > 2_000
        if big or self.draw(st.integers(0, 3)) == 0:
            variable = f"v{len(self.variables)}"
            self.variables[variable] = value
            return self._to_variable(node, variable, definition.type)
        literal = graphql.ast_from_value(value, definition.type)
        assert literal is not None
        return graphql.ArgumentNode(name=node.name, value=literal)

    def _to_variable(
        self, node: graphql.ArgumentNode, variable: str, type_: graphql.GraphQLInputType
    ) -> graphql.ArgumentNode:
        name = graphql.NameNode(value=variable)
        self.definitions.append(
            graphql.VariableDefinitionNode(
                variable=graphql.VariableNode(name=name), type=_type_node(type_), directives=()
            )
        )
        return graphql.ArgumentNode(name=node.name, value=graphql.VariableNode(name=name))


@cache
def _documents(fields: tuple[str, ...]) -> st.SearchStrategy[graphql.DocumentNode]:
    """Valid operations over `fields`, as documents; every Upload a placeholder variable."""
    upload: st.SearchStrategy[graphql.ValueNode] = st.just(
        graphql.VariableNode(name=graphql.NameNode(value=UPLOAD))
    )
    documents: st.SearchStrategy[graphql.DocumentNode] = hypothesis_graphql.from_schema(
        SCHEMA, fields=fields, custom_scalars={"Upload": upload}, print_ast=lambda doc: doc
    )
    return documents


def _aliased_copies(
    selection_set: graphql.SelectionSetNode, copies: int
) -> graphql.SelectionSetNode:
    """The root fields `copies` times over, each copy under aliases of its own."""
    if copies == 1:
        return selection_set
    nodes: list[graphql.SelectionNode] = []
    for copy in range(copies):
        for node in selection_set.selections:
            assert isinstance(node, graphql.FieldNode)
            alias = f"c{copy}_{(node.alias or node.name).value}"
            nodes.append(dataclasses.replace(node, alias=graphql.NameNode(value=alias)))
    return graphql.SelectionSetNode(selections=tuple(nodes))


@cache
def operations(
    fields: tuple[str, ...], seeded: Seeded, *, copies: bool = False
) -> st.SearchStrategy[Case]:
    """Cases holding one valid operation over some of `fields`, sent as a JSON POST, a GET,
    or (when it has an Upload) a multipart request. With `copies`, the root fields may be
    repeated under aliases (up to past the alias and token caps), each copy with arguments
    of its own."""
    aimed = aimed_values(seeded)
    repeats = st.sampled_from([1, 1, 1, 2, 3, 8, 31]) if copies else st.just(1)

    @st.composite
    def build(draw: st.DrawFn) -> Case:
        document = draw(_documents(fields))
        (operation,) = document.definitions
        assert isinstance(operation, graphql.OperationDefinitionNode)
        root = SCHEMA.get_root_type(operation.operation)
        assert root is not None
        rewriter = _Rewriter(draw, aimed)
        repeated = _aliased_copies(operation.selection_set, draw(repeats))
        selection_set = rewriter.selections(repeated, root)
        assert selection_set is not None
        operation = dataclasses.replace(
            operation,
            selection_set=selection_set,
            variable_definitions=tuple(rewriter.definitions),
        )
        query = graphql.print_ast(graphql.DocumentNode(definitions=(operation,)))
        # Queries go over GET too, when the URL stays short (a mutation over GET is a known
        # failure class, pinned down by a hand-written case).
        method = "POST"
        small = len(query) + len(json.dumps(rewriter.variables)) < 2_000
        if operation.operation == graphql.OperationType.QUERY and small:
            method = draw(st.sampled_from(["POST", "POST", "GET"]))
        return Case(
            query=query,
            variables=rewriter.variables,
            files=rewriter.files,
            method=method,
            arguments=tuple(rewriter.arguments),
        )

    return build()


# Known failure classes -----------------------------------------------------------------

PLAIN_TEXT = r"^(HTTP status \d+|the body is not JSON .*)$"


@dataclass(frozen=True)
class Known:
    """A failure class already reported (a hand-written case pins each one down): the
    requests that can meet it, the violations it causes besides internal errors, and what
    the server logs for its internal errors."""

    name: str
    violation: str | None = None  # a pattern for the violations it causes, if any
    logged: str | None = None  # a pattern for what the server logs for it, if anything
    # Whether the case (sent alone, or with others at once) can meet it.
    applies: Callable[[Case, bool], bool] = lambda _case, _together: True


def known_classes(
    case: Case, violations: list[str], logged: list[str], batch: Sequence[Case] = ()
) -> list[str] | None:
    """The known classes that explain a failing case: every violation, and every record the
    server logged (which is what explains an internal error); None when anything is left
    unexplained. `batch` holds the cases sent at once with it, whose records it shares."""
    batch = batch or [case]
    together = len(batch) > 1
    names: set[str] = set()
    for record in logged:
        explaining = [
            k.name
            for k in KNOWN
            if k.logged
            and re.search(k.logged, record)
            and any(k.applies(c, together) for c in batch)
        ]
        if not explaining:
            return None
        names.update(explaining)
    for found in violations:
        if found == INTERNAL:
            if not logged:
                return None
            continue
        explaining = [
            k.name
            for k in KNOWN
            if k.violation and re.search(k.violation, found) and k.applies(case, together)
        ]
        if not explaining:
            return None
        names.update(explaining)
    return sorted(names)


def _root_fields(case: Case) -> int:
    if case.query is None:
        return 0
    try:
        document = graphql.parse(case.query)
    except graphql.GraphQLError:
        return 0
    return sum(
        len(d.selection_set.selections)
        for d in document.definitions
        if isinstance(d, graphql.OperationDefinitionNode)
    )


PATH_ARGUMENTS = ("legacyDbPath", "legacyImagesDir")


def _paths(case: Case) -> Iterator[str]:
    for name, value in case.arguments:
        if name in PATH_ARGUMENTS and isinstance(value, str):
            yield value


def _too_long_a_path(text: str) -> bool:
    raw = text.encode("utf-8", "surrogatepass")
    return len(raw) >= 4096 or any(len(part) > 255 for part in raw.split(b"/"))


def _mutation_over_get(case: Case) -> bool:
    return case.method == "GET" and (case.query or "").lstrip().startswith("mutation")


KNOWN: tuple[Known, ...] = (
    # From the hardening issue.
    Known(
        "a path starting with ~",
        logged="Could not determine home directory",
        applies=lambda c, _: any(p.startswith("~") for p in _paths(c)),
    ),
    Known(
        "a path or file name too long",
        logged="File name too long",
        applies=lambda c, _: any(map(_too_long_a_path, _paths(c))),
    ),
    # Found by fuzzing.
    Known("a mutation over GET", PLAIN_TEXT, applies=lambda c, _: _mutation_over_get(c)),
    Known(
        "a cancelled read leaves its reader in a transaction",
        f"^{re.escape(LEFT_IN_TRANSACTION)}$",
        "cannot start a transaction within a transaction",
        # A root field that fails cancels its siblings; later requests meet the reader.
        applies=lambda c, together: together or _root_fields(c) > 1,
    ),
    Known(
        "a guard refusal carries no code",
        r"^an error without extensions\.code: '(\d+ aliases found|.*exceeds maximum operation "
        r"depth|Syntax Error: Document contains more than \d+ tokens)",
    ),
    Known(
        "legacy ids past 32 bits are imported, and cannot be served as Int",
        r"^an error without extensions\.code: 'Int cannot represent non 32-bit signed integer",
    ),
    Known(
        "an upload that never reaches its resolver is never closed",
        f"^{re.escape(LEFT_OPEN)}",
        applies=lambda c, _: c.multipart,
    ),
)
