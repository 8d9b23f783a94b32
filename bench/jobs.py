"""How fast one `importPending` job imports a batch, against the floor of its work, and
whether the server stays responsive and obeys `pauseJob` meanwhile.

After Stage 1 a user imports pending models by the hundred with one `importPending`: the
IMPORT_PENDING job (`domain/jobs/import_pending.py`) must be a pipeline, the hashing
workers hashing while the image workers encode the galleries of files already hashed, on
the event loop that also answers every other request. The batch: 40 pending imports, 8
files of 512 MiB and 32 of 16 MiB (random bytes), each with one or two sample images of 1
to 4 megapixels that compress like photos (PNG with A1111 parameters, as Stable Diffusion
writes them, and JPEG, in turn): 60 pictures. The files and pictures are made once into
`--dir` and reused. Before every measurement the model files are read once, so the page
cache is warm and the disk does not decide the numbers (hashing tells the kernel to drop a
file's pages afterwards, so each measurement warms them again). Each measurement gets a
fresh library (a new data dir, removed afterwards) holding the 40 pending imports, with
tags and meta, their pictures copied into `images/pending/` and listed in
`pending_images`, as Stage 1 leaves them.

The app runs in this process as `modelshelf serve` runs it: `create_app` under a uvicorn
server on 127.0.0.1, on this process's event loop, spoken to over real HTTP and the
graphql-transport-ws websocket. Measured:
- **floor**: the same hashing and encoding work back to back with every core busy, on the
  app's own pools (`Workers("hash")` with `Hasher`, `Workers("images")` with
  `encode_tiers` on each picture file's bytes): all 40 files hashed at once, largest first,
  then all 60 pictures encoded at once. No database, no file written: what the job cannot
  go below by more than the overlap of the two stages' tails.
- **job**: the wall time of one `importPending` over all 40, from sending the mutation
  until the `job` subscription reports COMPLETED, nothing else asking. job / floor, target
  at most 1.15: the pipeline costs little beyond its work.
- **loop**: the same 40 imports sent one by one with `importAModel` over HTTP, each after
  the last one's answer (what a client without jobs does). loop / job, target above 1.
  Floor, job and loop run `--repeat` rounds in turn (2), the best of each counting, so a
  slow moment of the machine weighs on no ratio.
- **latency**: during another job (a fresh library), a `models(first: 50)` query with what
  the UI's list shows (tags, one picture URL per picture) is sent every 50 ms by another
  process, over a kept-alive connection, as a browser would: a client in this process
  would share the event loop and the GIL it measures, and would wait out a stalled loop
  before it even sent its query. Each latency runs from the moment the query was due, so
  an answer that holds up the next query counts against that one too. p50 and p99 during
  the job, target p99 under 50 ms; the same queries for a few seconds after the job (the
  library then full) give the idle baseline, and the server's full garbage collections
  during the job are counted (each stops the event loop). The job's own wall time under
  the queries is shown beside the one without them.
- **pause**: the time from sending `pauseJob` to its answer, which comes once the job is
  PAUSED, while a 512 MiB file is being hashed: first at the start of the job (no item has
  its digest yet), then, after each `resumeJob`, at moments when other items have their
  digest and are encoding their pictures (which a pause abandons too). The worst of the four
  counts: target under 1 s. A pause that fails (an error instead of the paused job) is
  reported as such, and misses the target.

Every measurement is checked before it is believed: the job and the loop must create all
40 models with all 60 pictures and no problem, and store the very digests the floor
computed.

Linux only (/proc). Needs about 4.6 GiB free in `--dir` (default: modelshelf-bench-jobs in
the system's temp dir; not tmpfs) and as much free memory for the page cache; about 4
minutes on 2 cores once the files exist (making them takes another 1-2). Run from the
repository root: `.venv/bin/python bench/jobs.py [--dir D] [--repeat N] [--scale N |
--small]`; `--scale N` divides every file size and every picture's pixel count by N,
`--small` is `--scale 16`: a try of the whole benchmark in about 30 s (its numbers are no
verdict: at that size the per-item costs outweigh the work). It is a report and exits 0;
with `--check` it exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import http.client
import io
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter, PngImagePlugin
from serving import JsonDict, Served, require, serving, until_finished  # bench/serving.py
from starlette.applications import Starlette

from domain.config import Config
from domain.images.pipeline import encode_tiers
from domain.importing.hashing import Hasher
from domain.records import PendingImage, PendingImport
from domain.store.pending import insert_pending, insert_pending_image, link_pending_tags
from domain.store.tags import insert_tag
from domain.workers import Workers

KIB: Final = 1024
MIB: Final = 1024 * KIB
GIB: Final = 1024 * MIB
VERSION: Final = 1  # of the generated batch: a change of recipe makes a new cache folder
BIG_FILES: Final = 8
BIG_SIZE: Final = 512 * MIB
SMALL_FILES: Final = 32
SMALL_SIZE: Final = 16 * MIB
BLOCK_BYTES: Final = 64 * MIB  # random bytes, repeated with each copy numbered
# SD-like sizes from 1 to 4 megapixels, taken in turn.
PICTURE_SIZES: Final = ((1024, 1024), (1216, 1664), (2048, 1536), (2304, 1728))
SMALL_SCALE: Final = 16
SPACE_MARGIN: Final = 1 * GIB  # the libraries' galleries and databases, and some slack
QUERY_EVERY: Final = 0.05
PROBE_WARMUP: Final = 20
IDLE_SECONDS: Final = 4.0
POLL_SECONDS: Final = 0.005
JOB_TIMEOUT: Final = 1800.0
PAUSES_MID_JOB: Final = 3
DEFAULT_REPEAT: Final = 2

TARGET_FLOOR_RATIO: Final = 1.15
TARGET_P99_MS: Final = 50.0
TARGET_PAUSE_S: Final = 1.0

Floats = npt.NDArray[np.float32]

START = "mutation { importPending { __typename ... on JobStarted { job { id state } } } }"
JOB = """
query($id: ID!) {
  job(id: $id) {
    state total done created failed conflicts skipped startedAt finishedAt error
    items(first: 500) { nodes { pendingId outcome message sha256 } }
  }
}
"""
FLIGHTS = "query($id: ID!) { job(id: $id) { state inFlight { sizeBytes bytesHashed hashing } } }"
PAUSE = """
mutation($id: ID!) { pauseJob(id: $id) { __typename ... on Job { state inFlight { name } } } }
"""
RESUME = "mutation($id: ID!) { resumeJob(id: $id) { __typename ... on Job { state } } }"
IMPORT = """
mutation($id: Int!) {
  importAModel(id: $id) {
    __typename
    ... on ImportResult { actionTaken imageProblems { filename message } }
    ... on Problem { code message }
  }
}
"""
LIBRARY = """
{
  models(first: 500) { totalCount nodes { sha256 sampleImages { seq } } }
  pendingImports(first: 0) { totalCount }
}
"""
PROBE_QUERY = """
query {
  models(first: 50) {
    totalCount
    pageInfo { endCursor hasNextPage }
    nodes { sha256 name type sizeBytes tags { name } sampleImages { url(quality: LOW) } }
  }
}
"""


def say(*lines: str) -> None:
    print("\n".join(lines), flush=True)


def size_text(size: float) -> str:
    return f"{size / GIB:.2f} GiB" if size >= GIB else f"{size / MIB:.0f} MiB"


# --- the batch, made once ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Item:
    """One pending import: its model file and its sample images."""

    file: Path
    size: int
    pictures: tuple[Path, ...]


@dataclass(frozen=True, slots=True)
class Batch:
    folder: Path
    items: tuple[Item, ...]
    scale: int

    @property
    def files(self) -> list[Path]:
        return [item.file for item in self.items]

    @property
    def pictures(self) -> list[Path]:
        return [picture for item in self.items for picture in item.pictures]

    @property
    def total_bytes(self) -> int:
        return sum(item.size for item in self.items)

    @property
    def big_size(self) -> int:
        return BIG_SIZE // self.scale


def plan_batch(folder: Path, scale: int) -> Batch:
    """The files the batch is made of (largest first, as the job takes them), made or not."""
    sizes = [BIG_SIZE // scale] * BIG_FILES + [SMALL_SIZE // scale] * SMALL_FILES
    items, made = [], 0
    for index, size in enumerate(sizes):
        count = 1 + index % 2
        pictures = tuple(
            folder / f"picture{index:02}_{n}.{'png' if (made + n) % 2 == 0 else 'jpg'}"
            for n in range(count)
        )
        made += count
        items.append(Item(folder / f"model{index:02}.safetensors", size, pictures))
    return Batch(folder, tuple(items), scale)


def batch_folder(root: Path, scale: int) -> Path:
    return root / f"batch-v{VERSION}-scale{scale}"


def missing_bytes(batch: Batch) -> int:
    """What making the batch still has to write (the pictures are small: not counted)."""
    return sum(item.size for item in batch.items if not is_made(item))


def is_made(item: Item) -> bool:
    """A file under its own name is whole: it is written as `.part` and renamed."""
    return item.file.exists() and item.file.stat().st_size == item.size


def make_batch(batch: Batch) -> float | None:
    """Write what the batch lacks; the seconds it took, or None when it was all there.
    Every file is written under a `.part` name and renamed, so one under its own name is
    whole and an interrupted run makes only what is missing next time."""
    started, wrote = time.perf_counter(), False
    batch.folder.mkdir(parents=True, exist_ok=True)
    block = os.urandom(BLOCK_BYTES)
    for index, item in enumerate(batch.items):
        if not is_made(item):
            generate(item.file, item.size, block, index)
            wrote = True
        for n, path in enumerate(item.pictures):
            if not path.exists():
                write_picture(path, picture_size(index, n, batch.scale))
                wrote = True
    return time.perf_counter() - started if wrote else None


def generate(path: Path, size: int, block: bytes, seed: int) -> None:
    """`size` bytes of `block` repeated, each copy numbered with the file's seed (so no two
    files share a digest); on disk (fsynced) before this returns, so no writeback runs
    while something is timed."""
    buffer = bytearray(block)
    view = memoryview(buffer)
    partial = path.with_name(path.name + ".part")
    with partial.open("wb") as file:
        for index, offset in enumerate(range(0, size, len(buffer))):
            buffer[:16] = seed.to_bytes(8, "little") + index.to_bytes(8, "little")
            file.write(view[: min(len(buffer), size - offset)])
        file.flush()
        os.fsync(file.fileno())
    partial.replace(path)


def picture_size(index: int, n: int, scale: int) -> tuple[int, int]:
    """1 to 4 megapixels in turn (divided by `scale`)."""
    width, height = PICTURE_SIZES[(index + 2 * n) % len(PICTURE_SIZES)]
    shrink = math.sqrt(scale)
    return max(16, round(width / shrink)), max(16, round(height / shrink))


def noise_octave(rng: np.random.Generator, size: tuple[int, int], cell: float) -> Floats:
    """Random colours on a grid of `cell`-pixel cells, smoothly interpolated to `size`,
    centred on zero."""
    width, height = size
    grid = (max(2, round(height / cell)), max(2, round(width / cell)), 3)
    small = Image.fromarray(rng.integers(0, 256, grid, dtype=np.uint8))
    smooth = small.resize(size, Image.Resampling.BICUBIC)
    return np.asarray(smooth, dtype=np.float32) - 128.0


def photo(size: tuple[int, int], seed: int) -> Image.Image:
    """A picture that compresses like a photo (bench/images.py's recipe): a gradient and
    smooth colour fields, soft shapes, texture and grain."""
    rng = np.random.default_rng(seed)
    width, height = size
    top, bottom = rng.uniform(40, 215, 3), rng.uniform(40, 215, 3)
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    pixels = np.empty((height, width, 3), dtype=np.float32)
    pixels[:] = top * (1 - ramp) + bottom * ramp
    for cell, amplitude in ((max(size) / 3, 0.45), (max(size) / 12, 0.3), (6.0, 0.14)):
        pixels += amplitude * noise_octave(rng, size, cell)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image, "RGBA")
    for _ in range(30):
        extent = max(size) * float(rng.uniform(0.02, 0.3))
        x, y = float(rng.uniform(0, width)), float(rng.uniform(0, height))
        colour = (*(int(c) for c in rng.integers(0, 256, 3)), int(rng.integers(70, 240)))
        draw.ellipse((x, y, x + extent * float(rng.uniform(0.3, 1.0)), y + extent), fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(radius=1.0))
    grained = np.asarray(image, dtype=np.int16) + rng.integers(-4, 5, (height, width, 3), np.int16)
    return Image.fromarray(np.clip(grained, 0, 255).astype(np.uint8))


def write_picture(path: Path, size: tuple[int, int]) -> None:
    seed = int.from_bytes(hashlib.sha256(path.name.encode()).digest()[:8], "little")
    image = photo(size, seed)
    buffer = io.BytesIO()
    if path.suffix == ".png":
        info = PngImagePlugin.PngInfo()
        info.add_text(
            "parameters",
            "masterpiece, best quality, a lighthouse on a cliff at dawn\n"
            "Negative prompt: blurry, lowres\n"
            f"Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: {seed}, "
            f"Size: {size[0]}x{size[1]}, Model hash: 31e35c80fc, Model: sd_xl_base_1.0",
        )
        image.save(buffer, "PNG", compress_level=6, pnginfo=info)
    else:
        image.save(buffer, "JPEG", quality=92)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(buffer.getvalue())
    partial.replace(path)


def megapixels(path: Path) -> float:
    with Image.open(path) as image:
        return image.width * image.height / 1e6


def warm(paths: Sequence[Path]) -> None:
    """Read each file once, so the page cache holds it for the measurement that follows."""
    buffer = bytearray(8 * MIB)
    for path in paths:
        with path.open("rb", buffering=0) as file:
            while file.readinto(buffer):
                pass


# --- a fresh library, served -------------------------------------------------------------------


@dataclass(slots=True)
class BatchServed(Served):
    """A running server on a fresh library holding the batch as pending imports."""

    ids: list[int]


async def seed(app: Starlette, batch: Batch) -> list[int]:
    """The batch as Stage 1 leaves it: pending rows with tags and meta, their pictures copied
    to images/pending/<id>_<seq>.<ext> and listed in pending_images."""
    config: Config = app.state.config
    ids = []
    async with app.state.store.transaction() as conn:
        tags = [await insert_tag(conn, name) for name in ("sdxl", "photoreal", "anime")]
        for index, item in enumerate(batch.items):
            pending_id = index + 1
            ids.append(pending_id)
            kind = "checkpoint" if item.size == batch.big_size else "lora"
            pending = PendingImport(
                id=pending_id,
                path=str(item.file),
                name=f"{kind} {index:02}",
                type=kind,
                size_bytes=item.size,
                created_at=datetime.now(UTC),
                meta={"description": f"bench model {index}", "baseModel": "SDXL 1.0"},
                sha256=None,
            )
            await insert_pending(conn, pending)
            await link_pending_tags(conn, pending_id, [t.id for t in tags[: 1 + index % 3]])
            for seq, picture in enumerate(item.pictures):
                name = f"{pending_id}_{seq}{picture.suffix}"
                shutil.copyfile(picture, config.pending_images_dir / name)
                image = PendingImage(pending_id, seq, name, picture.stat().st_size)
                await insert_pending_image(conn, image)
    return ids


@contextlib.asynccontextmanager
async def serving_batch(root: Path, batch: Batch) -> AsyncIterator[BatchServed]:
    """The app over a fresh library holding the batch; the model files warm in the page
    cache."""
    async with serving(root, JOB_TIMEOUT) as served:
        ids = await seed(served.app, batch)
        warm(batch.files)
        gc.collect()
        yield BatchServed(served.app, served.url, served.client, ids)


async def start_job(served: BatchServed) -> str:
    started = (await served.data(START))["importPending"]
    require(started["__typename"] == "JobStarted", f"importPending answered {started}")
    job_id: str = started["job"]["id"]
    return job_id


async def imported_digests(served: BatchServed, batch: Batch) -> set[str]:
    """The library's digests, once every pending import is a model with all its pictures."""
    library = await served.data(LIBRARY)
    models = library["models"]
    require(models["totalCount"] == len(batch.items), f"{models['totalCount']} models")
    require(library["pendingImports"]["totalCount"] == 0, "pending imports are left")
    pictures = sum(len(node["sampleImages"]) for node in models["nodes"])
    require(pictures == len(batch.pictures), f"{pictures} sample images")
    return {node["sha256"] for node in models["nodes"]}


# --- the latency probe (another process) -----------------------------------------------------


def probe(url: str) -> None:
    """In the child process: POST PROBE_QUERY every QUERY_EVERY seconds over one kept-alive
    connection until stdin closes, then print each query's (due, sent, answered) times, on
    the system-wide monotonic clock the parent reads too."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=JOB_TIMEOUT)
    body = json.dumps({"query": PROBE_QUERY}).encode()
    headers = {"Content-Type": "application/json"}

    def ask() -> None:
        connection.request("POST", "/graphql", body, headers)
        response = connection.getresponse()
        answer = response.read()
        require(response.status == 200, f"HTTP {response.status}: {answer[:200]!r}")
        require(b'"errors"' not in answer, f"GraphQL errors: {answer[:500]!r}")

    for _ in range(PROBE_WARMUP):
        ask()
    stop = threading.Event()

    def wait_for_the_end() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=wait_for_the_end, daemon=True).start()
    print("ready", flush=True)
    samples: list[tuple[float, float, float]] = []
    due = time.monotonic()
    while not stop.is_set():
        due += QUERY_EVERY
        if (wait := due - time.monotonic()) > 0:
            time.sleep(wait)
        sent = time.monotonic()
        ask()
        samples.append((due, sent, time.monotonic()))
    print(json.dumps(samples), flush=True)


@dataclass(frozen=True, slots=True)
class Latencies:
    """Milliseconds from each query's due time to its answer."""

    millis: list[float]
    from_sent: list[float]  # from when each was sent: what the server alone made it wait
    late: int  # queries sent more than a millisecond after they were due

    @classmethod
    def of(cls, samples: Sequence[Sequence[float]]) -> Latencies:
        return cls(
            [(answered - due) * 1000 for due, _, answered in samples],
            [(answered - sent) * 1000 for _, sent, answered in samples],
            sum(sent - due > 0.001 for due, sent, _ in samples),
        )

    def percentile(self, share: float, millis: Sequence[float] | None = None) -> float:
        """The nearest-rank percentile (the p99 of 100 samples is their second largest)."""
        ordered = sorted(self.millis if millis is None else millis)
        return ordered[max(0, math.ceil(share * len(ordered)) - 1)]

    @property
    def p50(self) -> float:
        return statistics.median(self.millis)

    @property
    def p99(self) -> float:
        return self.percentile(0.99)


class Probe:
    """The child process that sends the queries."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    @classmethod
    async def start(cls, url: str) -> Probe:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--probe",
            url,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert process.stdout is not None
        line = await process.stdout.readline()
        require(line.strip() == b"ready", f"the probe did not start: {line!r}")
        return cls(process)

    async def stop(self) -> list[list[float]]:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.close()
        output = await self._process.stdout.read()
        require(await self._process.wait() == 0, "the probe failed")
        samples: list[list[float]] = json.loads(output)
        return samples


# --- the measurements ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Floor:
    seconds: float
    hash_seconds: float
    encode_seconds: float
    cpu_seconds: float  # of every thread of this process
    digests: set[str]


def encode_file(path: Path) -> int:
    """What the promotion does with a pending picture: read it, make its three tiers."""
    return len(encode_tiers(path.read_bytes()).tiers)


async def measure_floor(batch: Batch) -> Floor:
    """All files hashed at once on the hashing workers, then all pictures encoded at once on
    the image workers: the app's pools, each with every core."""
    hash_workers, image_workers = Workers("hash"), Workers("images")
    try:
        hasher = Hasher(hash_workers)
        warm(batch.files)
        gc.collect()
        cpu, started = time.process_time(), time.perf_counter()
        digests = await asyncio.gather(*(hasher.digest(str(path)) for path in batch.files))
        hashed = time.perf_counter()
        tiers = await asyncio.gather(*(image_workers.run(encode_file, p) for p in batch.pictures))
        ended, cpu = time.perf_counter(), time.process_time() - cpu
    finally:
        hash_workers.shutdown()
        image_workers.shutdown()
    require(tiers == [3] * len(batch.pictures), "a picture was not encoded")
    digested = {d.sha256 for d in digests}
    return Floor(ended - started, hashed - started, ended - hashed, cpu, digested)


@dataclass(frozen=True, slots=True)
class JobRun:
    seconds: float
    own_seconds: float  # the job's startedAt to finishedAt, as it recorded them
    cpu_seconds: float  # of every thread of this process (the server), not the probe's
    digests: set[str]


async def measure_job(root: Path, batch: Batch) -> JobRun:
    """One importPending over the batch, nothing else asking."""
    async with serving_batch(root, batch) as served:
        return await timed_job(served, batch)


async def timed_job(served: BatchServed, batch: Batch) -> JobRun:
    """Start the job, follow it to its end, check what it did."""
    cpu, started = time.process_time(), time.monotonic()
    job_id = await start_job(served)
    state = await until_finished(served, job_id, JOB_TIMEOUT)
    ended, cpu = time.monotonic(), time.process_time() - cpu
    job = (await served.data(JOB, id=job_id))["job"]
    require(state == "COMPLETED", f"the job ended {state}: {job}")
    require(job["created"] == job["total"] == len(batch.items), f"the job did {job}")
    messages = [item["message"] for item in job["items"]["nodes"] if item["message"]]
    require(not messages, f"pictures were left out: {messages}")
    own = parse_time(job["finishedAt"]) - parse_time(job["startedAt"])
    return JobRun(ended - started, own, cpu, await imported_digests(served, batch))


class FullCollections:
    """The durations of this process's (the server's) full garbage collections: each holds
    the GIL throughout, so the event loop waits it out."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._started = 0.0

    def __enter__(self) -> FullCollections:
        gc.callbacks.append(self._heard)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self._heard)

    def _heard(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds.append(time.perf_counter() - self._started)


@dataclass(frozen=True, slots=True)
class LatencyRun:
    job: JobRun  # the job, while the queries came
    during: Latencies
    idle: Latencies
    collections: list[float]  # seconds of each full collection during the job


async def measure_latency(root: Path, batch: Batch) -> LatencyRun:
    """The job again, on a fresh library, with the probe's queries coming throughout and
    for IDLE_SECONDS after it."""
    async with serving_batch(root, batch) as served:
        probe = await Probe.start(served.url)
        started = time.monotonic()
        with FullCollections() as collections:
            job = await timed_job(served, batch)
        ended = started + job.seconds
        await asyncio.sleep(IDLE_SECONDS)
        samples = await probe.stop()
    during = [s for s in samples if started <= s[0] and s[2] <= ended]
    idle = [s for s in samples if s[0] >= ended + 1.0]  # the checks of timed_job done
    require(len(during) >= 2 and len(idle) >= 2, "too few queries to tell a latency")
    return LatencyRun(job, Latencies.of(during), Latencies.of(idle), collections.seconds)


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True, slots=True)
class LoopRun:
    seconds: float
    digests: set[str]


async def measure_loop(root: Path, batch: Batch) -> LoopRun:
    async with serving_batch(root, batch) as served:
        started = time.monotonic()
        for pending_id in served.ids:
            result = (await served.data(IMPORT, id=pending_id))["importAModel"]
            require(
                result["__typename"] == "ImportResult"
                and result["actionTaken"] == "CREATED"
                and not result["imageProblems"],
                f"importAModel(id: {pending_id}) answered {result}",
            )
        seconds = time.monotonic() - started
        return LoopRun(seconds, await imported_digests(served, batch))


@dataclass(frozen=True, slots=True)
class Pause:
    seconds: float
    hashing: int  # items in flight that were hashing when the pause was sent
    encoding: int  # items in flight past their hash (encoding or writing their result)
    error: str | None = None  # what pauseJob answered instead of the PAUSED job

    def text(self) -> str:
        took = f"{self.seconds * 1000:.0f} ms"
        if self.error is not None:
            took = f"FAILED after {took}: {self.error}"
        return f"{took} ({self.hashing} hashing, {self.encoding} encoding)"


async def measure_pauses(root: Path, batch: Batch) -> list[Pause]:
    """Pause while a big file is hashing: once at the start, then after each resume once
    other items are encoding too; until PAUSES_MID_JOB of those, the job has ended, or a
    pause failed."""
    pauses: list[Pause] = []
    async with serving_batch(root, batch) as served:
        job_id = await start_job(served)
        while True:
            flights = await moment_to_pause(served, job_id, batch.big_size, bool(pauses))
            if flights is None:
                break  # the big files are hashed: no other moment comes
            hashing = sum(f["hashing"] and f["bytesHashed"] > 0 for f in flights)
            encoding = sum(not f["hashing"] for f in flights)
            started = time.monotonic()
            payload = await served.post(PAUSE, id=job_id)
            seconds = time.monotonic() - started
            if "errors" in payload:  # told, not raised: the report says what went wrong
                codes = {e.get("extensions", {}).get("code") for e in payload["errors"]}
                error = f"pauseJob answered {', '.join(sorted(map(str, codes)))}"
                pauses.append(Pause(seconds, hashing, encoding, error))
                break
            answer = payload["data"]["pauseJob"]
            require(answer.get("state") == "PAUSED", f"pauseJob answered {answer}")
            require(not answer["inFlight"], f"items still in flight once paused: {answer}")
            state = (await served.data(FLIGHTS, id=job_id))["job"]
            require(state["state"] == "PAUSED", f"the job reads {state} after pauseJob")
            pauses.append(Pause(seconds, hashing, encoding))
            if len(pauses) > PAUSES_MID_JOB:
                break  # it stays paused, and goes with its library
            resumed = (await served.data(RESUME, id=job_id))["resumeJob"]
            require(resumed.get("state") in ("QUEUED", "RUNNING"), f"resumeJob: {resumed}")
    require(bool(pauses), "no moment with a big file being hashed was seen")
    return pauses


async def moment_to_pause(
    served: BatchServed, job_id: str, big: int, with_encoding: bool
) -> list[JsonDict] | None:
    """Poll until a big file is being hashed, not yet half way (and, `with_encoding`, an
    item past its hash is encoding): the items in flight then. None once no big file
    is left to hash."""
    while True:
        job = (await served.data(FLIGHTS, id=job_id))["job"]
        flights: list[JsonDict] = job["inFlight"]
        if job["state"] not in ("QUEUED", "RUNNING"):
            return None
        big_hashing = [f for f in flights if f["sizeBytes"] == big and f["hashing"]]
        if not big_hashing and any(f["sizeBytes"] != big for f in flights):
            return None  # items go largest first: a small one in flight, no big one to come
        if any(0 < f["bytesHashed"] < big // 2 for f in big_hashing) and (
            not with_encoding or any(not f["hashing"] for f in flights)
        ):
            return flights
        await asyncio.sleep(POLL_SECONDS)


# --- the report --------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISSED"


def batch_lines(batch: Batch, made_in: float | None) -> list[str]:
    pictures = batch.pictures
    sizes = [megapixels(path) for path in pictures]
    png = sum(path.suffix == ".png" for path in pictures)
    made = "already made" if made_in is None else f"made in {made_in:.0f} s (not measured)"
    big, small = batch.big_size, SMALL_SIZE // batch.scale
    scale = "" if batch.scale == 1 else f"; --scale {batch.scale}: a try, not a verdict"
    return [
        f"batch: {len(batch.items)} pending imports, {BIG_FILES} × {size_text(big)} and "
        f"{SMALL_FILES} × {size_text(small)} ({size_text(batch.total_bytes)}), "
        f"{len(pictures)} sample images of {min(sizes):.1f}-{max(sizes):.1f} MP "
        f"({png} PNG, {len(pictures) - png} JPEG){scale}",
        f"files: {batch.folder}, {made}; the model files read into the page cache before "
        f"each measurement; {len(os.sched_getaffinity(0))} cores; a fresh library each time",
    ]


def runs_text(seconds: Sequence[float]) -> str:
    if len(seconds) == 1:
        return ""
    return f"  [best of {len(seconds)}: {', '.join(f'{run:.2f}' for run in seconds)}]"


@dataclass(frozen=True, slots=True)
class Results:
    floors: list[Floor]
    jobs: list[JobRun]
    loops: list[LoopRun]
    latency: LatencyRun
    pauses: list[Pause]

    @property
    def floor(self) -> Floor:
        return min(self.floors, key=lambda run: run.seconds)

    @property
    def job(self) -> JobRun:
        return min(self.jobs, key=lambda run: run.seconds)

    @property
    def loop(self) -> LoopRun:
        return min(self.loops, key=lambda run: run.seconds)


def report(results: Results, batch: Batch) -> tuple[list[str], list[str]]:
    """The report's lines and the targets missed."""
    floor, job, loop, latency, pauses = (
        results.floor,
        results.job,
        results.loop,
        results.latency,
        results.pauses,
    )
    count, cores = len(batch.items), len(os.sched_getaffinity(0))
    floor_ratio, loop_ratio = job.seconds / floor.seconds, loop.seconds / job.seconds
    during, idle = latency.during, latency.idle
    worst = max(pauses, key=lambda pause: pause.seconds)
    checks = {
        "job / floor": floor_ratio <= TARGET_FLOOR_RATIO,
        "loop / job": loop_ratio > 1,
        "query p99 during the job": during.p99 < TARGET_P99_MS,
        "pause": worst.seconds < TARGET_PAUSE_S and all(p.error is None for p in pauses),
    }
    late = f", {during.late} sent late" if during.late else ""
    lines = [
        f"floor:   {floor.seconds:7.2f} s  hash all {count} files at once on the hashing workers"
        f" ({floor.hash_seconds:.2f} s), then encode all {len(batch.pictures)} pictures at once"
        f" on the image workers ({floor.encode_seconds:.2f} s); CPU"
        f" {floor.cpu_seconds / floor.seconds / cores:.0%} of {cores} cores"
        + runs_text([run.seconds for run in results.floors]),
        f"job:     {job.seconds:7.2f} s  one importPending over all {count}, from the mutation to"
        f" the subscription's COMPLETED (its startedAt → finishedAt {job.own_seconds:.2f} s);"
        f" CPU {job.cpu_seconds / job.seconds / cores:.0%} of {cores} cores"
        + runs_text([run.seconds for run in results.jobs]),
        f"         job / floor = {floor_ratio:.3f}  (target ≤ {TARGET_FLOOR_RATIO})"
        f"  {verdict(checks['job / floor'])}",
        f"loop:    {loop.seconds:7.2f} s  the {count} imports one by one, importAModel over HTTP"
        + runs_text([run.seconds for run in results.loops]),
        f"         loop / job = {loop_ratio:.2f}  (target > 1)  {verdict(checks['loop / job'])}",
        f"latency: models(first: 50) every {QUERY_EVERY * 1000:.0f} ms from another process"
        f" during a job of its own ({latency.job.seconds:.2f} s,"
        f" {latency.job.seconds / job.seconds:.2f} × the job alone), from when each was due:",
        f"         p50 {during.p50:.1f} ms, p99 {during.p99:.1f} ms,"
        f" max {max(during.millis):.1f} ms"
        f" ({len(during.millis)} queries{late}; p99 from when sent"
        f" {during.percentile(0.99, during.from_sent):.1f} ms)"
        f"  (target p99 < {TARGET_P99_MS:.0f} ms)  {verdict(checks['query p99 during the job'])}",
        f"         idle, once the job is done: p50 {idle.p50:.1f} ms, p99 {idle.p99:.1f} ms"
        f" ({len(idle.millis)} queries); during / idle: p50 {during.p50 / idle.p50:.1f}×,"
        f" p99 {during.p99 / idle.p99:.1f}×",
        f"         the server's full garbage collections during the job:"
        f" {len(latency.collections)}, longest"
        f" {max(latency.collections, default=0.0) * 1000:.0f} ms (the event loop stops for each)",
        f"pause:   pauseJob → PAUSED while a {size_text(batch.big_size)} file hashes:"
        f" {', '.join(pause.text() for pause in pauses)}",
        f"         worst {worst.seconds * 1000:.0f} ms  (target < {TARGET_PAUSE_S:.0f} s)"
        f"  {verdict(checks['pause'])}",
    ]
    return lines, [name for name, ok in checks.items() if not ok]


async def run(root: Path, batch: Batch, repeat: int) -> Results:
    """`repeat` rounds of floor, job and loop (the best of each counts, so a slow moment of
    the machine weighs on no ratio), then the latency's job and the pauses."""
    floors, jobs, loops = [], [], []
    for round_ in range(1, repeat + 1):
        floors.append(await measure_floor(batch))
        jobs.append(await measure_job(root, batch))
        require(jobs[-1].digests == floors[0].digests, "the job stored other digests")
        loops.append(await measure_loop(root, batch))
        require(loops[-1].digests == floors[0].digests, "the loop stored other digests")
        say(
            f"round {round_}: floor {floors[-1].seconds:.2f} s, job {jobs[-1].seconds:.2f} s,"
            f" loop {loops[-1].seconds:.2f} s"
        )
    latency = await measure_latency(root, batch)
    require(latency.job.digests == floors[0].digests, "the job stored other digests")
    say(f"latency: {len(latency.during.millis)} queries during the job")
    pauses = await measure_pauses(root, batch)
    say(f"pauses: {len(pauses)}", "")
    return Results(floors, jobs, loops, latency, pauses)


# --- running -------------------------------------------------------------------------------------


def cpu_ticks() -> tuple[int, int]:
    """The machine's CPU time so far, in ticks: what the hypervisor stole, and in all."""
    fields = [int(field) for field in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    return fields[7], sum(fields[:8])  # steal is the eighth; guest time is counted in user


def available_memory() -> int:
    meminfo = Path("/proc/meminfo").read_text()
    match = re.search(r"^MemAvailable:\s+(\d+) kB$", meminfo, re.MULTILINE)
    return int(match.group(1)) * KIB if match else 0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "modelshelf-bench-jobs",
        help="where the batch is kept and the libraries are made (default: "
        "modelshelf-bench-jobs in the system's temp dir); not on tmpfs",
    )
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument(
        "--scale",
        type=int,
        default=1,
        help="divide every file size and every picture's pixel count by this (default 1)",
    )
    sizes.add_argument("--small", action="store_true", help=f"a quick try: --scale {SMALL_SCALE}")
    parser.add_argument(
        "--repeat",
        type=int,
        default=DEFAULT_REPEAT,
        help=f"rounds of floor, job and loop, the best of each counting (default {DEFAULT_REPEAT})",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--probe", help=argparse.SUPPRESS)  # the latency probe's process
    args = parser.parse_args(argv)
    if args.probe:
        return args
    if args.small:
        args.scale = SMALL_SCALE
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if not 1 <= args.scale <= 256:
        parser.error("--scale must be from 1 to 256")
    args.dir.mkdir(parents=True, exist_ok=True)
    batch = plan_batch(batch_folder(args.dir, args.scale), args.scale)
    needed = missing_bytes(batch) + SPACE_MARGIN
    if shutil.disk_usage(args.dir).free < needed:
        parser.error(f"{args.dir} has not the {size_text(needed)} free the batch needs")
    if available_memory() < batch.total_bytes + SPACE_MARGIN:
        parser.error(f"the page cache cannot hold the {size_text(batch.total_bytes)} of files")
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    if args.probe:
        probe(args.probe)
        return 0
    batch = plan_batch(batch_folder(args.dir, args.scale), args.scale)
    made_in = make_batch(batch)
    say(*batch_lines(batch, made_in))
    stolen, ticks = cpu_ticks()
    results = asyncio.run(run(args.dir, batch, args.repeat))
    stolen, ticks = (now - before for now, before in zip(cpu_ticks(), (stolen, ticks), strict=True))
    lines, missed = report(results, batch)
    lines.append(
        f"machine: {stolen / max(1, ticks):.1%} of the CPU time stolen by the hypervisor"
        " meanwhile; the rounds above show how much the machine's pace moved"
    )
    say(*lines, "targets: all met" if not missed else f"targets missed: {', '.join(missed)}")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
