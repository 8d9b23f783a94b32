"""How long Stage 1 takes on a large legacy library, and what its parallel image part buys.

A user moving over from the legacy (v1) model manager runs Stage 1 once
(`LegacyMigrator.migrate`), and it must not feel like an install that hangs. This script
generates a legacy library of the size heavy users have and imports it, through the app as
the server builds it (`create_app`, its lifespan, `app.state.migrator`), into a fresh data
dir:

- 5,000 models (a third never hashed, so they become pending imports; about 1 % of the
  hashed ones repeat an earlier digest, the same file in two folders, which also become
  pending imports), 50 tags (one per model type, which every model carries, and 44 others)
  and 12,000 tag links, in a database with the exact legacy schema (`tests.legacy`);
- 3,000 preview images in the legacy images folder, spread at random over the models (0 to
  3 each, listed in `extra_json` as `{"images": ["/media/<file>", ...]}`), so that about
  two thirds go to models (converted into three WebP tiers in their galleries) and a third to
  pending imports (their originals copied). Their sizes follow what Stable Diffusion users
  keep, from 512×768 to 2048×3072, and they are PNG (40 %, zlib level 4 as ComfyUI saves
  them, with A1111 `parameters`) or JPEG (quality 85 to 95, some progressive).

Generating thousands of distinct photo-like pictures is slow, so a few dozen base pictures
are made (the recipe of bench/images.py: a gradient, smooth colour fields, soft shapes,
texture and grain) and every file is one of them with a small patch of its own changed
before encoding: each file has distinct bytes and distinct pixels (the gallery refuses the
same bytes twice, and real previews differ), at the cost of one encode. The library is
written once into a cache folder keyed by a version string and the sizes asked for, and
reused by later runs (its files are then likely in the page cache: the numbers are those of
a warm disk).

What is measured:
- The database part, `report.rows_seconds`, as the migrator times it: everything before
  the first image, i.e. reading the legacy database (from a private copy), looking up the
  listed images, planning every row, and the one transaction that writes tags, models,
  pending imports, links, the ledger and the owed image tasks. What the whole `migrate()`
  call spends outside its two parts is shown too. Target: under 2 s for 5,000 rows.
- The image part, `report.images_seconds`: every owed image, converted or copied, as the
  migrator runs them (many rows at once on the image workers, one per core). Reported as
  images/s over all of them, with no target of its own.
- What parallelism buys, on the same images both ways. Copying a pending original costs a
  small fraction of converting one, so a mix of both would flatter whichever side did more
  copies: the comparison is over model images only. The sample is the first `--sample`
  model images (300 by default) in the order the migrator owes them; both sides import
  the same 5,000 rows into a fresh data dir of their own first, and then:
  - parallel: the migrator, from a copy of the legacy database whose rows list only the
    sample's images (`report.images_seconds`, which also counts striking each task and
    counting its outcome in the ledger, in the picture's own transaction: work the loop
    does not do);
  - sequential: a plain loop over the same (digest, file) pairs, one at a time, reading the
    file and awaiting `app.state.gallery.add(sha256, data)`, the gallery's single-image
    append (the same encode, prepare and commit the migrator runs for each model image).
  Target: the parallel pipeline at least 1.7× the images/s of the loop on 2 cores (skipped
  when the process may use only one core).

Run from the repository root: `.venv/bin/python bench/migrate.py [--models N] [--images N]
[--sample N] [--cache DIR]`. The first run with given sizes generates the library (about
3 minutes and 3.2 GB at the default sizes, on two cores); a run then takes about 4 minutes,
the full import being most of it. It needs numpy. It is a report and exits 0; with
`--check` it exits 1 when a target is missed or the import did not do all the work it was
given.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import io
import os
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import PIL
from PIL import Image, ImageDraw, ImageFilter, PngImagePlugin

# Run as a script, only bench/ is on the path; `tests` (the legacy schema) is at the root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.app import create_app
from domain.config import Config
from domain.images.gallery import Gallery
from domain.legacy.migrator import LegacyMigrator, MigrationReport
from domain.workers import default_worker_count
from tests.legacy import LegacyRow, create_legacy_db

VERSION: Final = "v1"  # change it whenever the generated library changes
RANDOM_SEED: Final = 20240611

DEFAULT_MODELS: Final = 5_000
DEFAULT_IMAGES: Final = 3_000
DEFAULT_SAMPLE: Final = 300
TAG_LINKS_PER_MODEL: Final = 12_000 / 5_000
UNHASHED_SHARE: Final = 1 / 3
DUPLICATE_SHARE: Final = 0.01  # of hashed rows: a digest an earlier row already has
UPPER_CASE_SHARE: Final = 0.02  # of hashed rows: the digest stored in upper case
MAX_IMAGES_PER_MODEL: Final = 3

TARGET_ROWS_SECONDS: Final = 2.0
TARGET_RATIO: Final = 1.7

# (width, height), weight: SD 1.5 and SDXL outputs most, upscaled ones less.
IMAGE_SIZES: Final = (
    ((512, 768), 22),
    ((768, 512), 5),
    ((832, 1216), 22),
    ((1216, 832), 6),
    ((1024, 1024), 14),
    ((1024, 1536), 13),
    ((1536, 1536), 6),
    ((1536, 2304), 5),
    ((2048, 3072), 7),
)
BASES_PER_SIZE: Final = 4
PNG_SHARE: Final = 0.4
PNG_COMPRESS_LEVEL: Final = 4  # ComfyUI's default
JPEG_QUALITIES: Final = (85, 95)
PROGRESSIVE_SHARE: Final = 0.1
STAMP_SIDE: Final = 24  # the patch that makes each file's pixels its own

MODEL_TYPES: Final = (
    ("lora", "loras", 55, (10_000_000, 450_000_000)),
    ("checkpoint", "checkpoints", 18, (2_000_000_000, 7_500_000_000)),
    ("embedding", "embeddings", 12, (4_000, 300_000)),
    ("vae", "vae", 5, (80_000_000, 340_000_000)),
    ("upscale", "upscale_models", 5, (15_000_000, 70_000_000)),
    ("other", "other", 5, (1_000_000, 1_000_000_000)),
)
OTHER_TAGS: Final = (
    "anime", "realistic", "photorealistic", "style", "character", "concept", "clothing",
    "background", "landscape", "portrait", "fantasy", "sci-fi", "cyberpunk", "steampunk",
    "watercolor", "oil painting", "sketch", "pixel art", "3d", "cartoon", "manga", "horror",
    "cute", "architecture", "vehicle", "animal", "food", "nsfw", "sfw", "sdxl", "sd15",
    "pony", "flux", "detail", "lighting", "pose", "hands", "eyes", "hair", "outfit",
    "weapon", "tool", "favorite", "to try",
)  # fmt: skip
WORDS: Final = (
    "amber", "brisk", "cobalt", "dusky", "ember", "feral", "gilded", "hazy", "ivory", "jade",
    "kinetic", "lucid", "misty", "neon", "opal", "pastel", "quiet", "rusty", "somber", "tidal",
    "anime", "bloom", "castle", "dragon", "forest", "galaxy", "harbor", "island", "knight",
    "lantern", "meadow", "nebula", "ocean", "portrait", "river", "sunset", "tower", "valley",
)  # fmt: skip
LEGACY_DB_NAME: Final = "hikaze_mm.sqlite3"

Floats = npt.NDArray[np.float32]


# --- the legacy library, planned -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """One legacy preview file: what it looks like and how it is stored."""

    name: str
    size: tuple[int, int]
    base: int  # which of the base pictures of that size it starts from
    jpeg_quality: int | None  # None: PNG
    progressive: bool
    stamp: tuple[int, int]  # top-left corner of the patch that is its own
    seed: int

    @property
    def pixels(self) -> int:
        return self.size[0] * self.size[1]

    @property
    def format(self) -> str:
        return "PNG" if self.jpeg_quality is None else "JPEG"


@dataclass(frozen=True, slots=True)
class ModelImage:
    """An image the migrator puts in a model's gallery."""

    legacy_id: int
    sha256: str
    spec: ImageSpec


@dataclass(frozen=True, slots=True)
class LegacyPlan:
    rows: list[LegacyRow]
    tags: list[tuple[int, str, str | None]]
    images: list[ImageSpec]
    row_images: dict[int, list[ImageSpec]]  # legacy id → its images, in listed order
    model_ids: set[int]  # rows that become models: the first row of each valid digest

    @property
    def tag_links(self) -> int:
        return sum(len(row.tags) for row in self.rows)

    def model_images(self) -> list[ModelImage]:
        """The images that go to galleries, in the order the migrator owes them."""
        return [
            ModelImage(row.id, row.hash_hex.strip().lower(), spec)
            for row in self.rows
            if row.id in self.model_ids
            for spec in self.row_images.get(row.id, [])
        ]


def plan_library(models: int, images: int, seed: int) -> LegacyPlan:
    """The whole legacy library, decided from `seed` alone (no pixel is made here)."""
    rng = random.Random(seed)
    tags = legacy_tags()
    rows = legacy_rows(rng, models)
    link_tags(rng, rows, round(models * TAG_LINKS_PER_MODEL), len(tags))
    row_images = assign_images(rng, rows, images)
    for row in rows:
        row.extra = legacy_extra(rng, row_images.get(row.id, []))
    return LegacyPlan(
        rows=rows,
        tags=tags,
        images=[spec for row in rows for spec in row_images.get(row.id, [])],
        row_images=row_images,
        model_ids=first_of_each_digest(rows),
    )


def legacy_tags() -> list[tuple[int, str, str | None]]:
    names = [name for name, *_ in MODEL_TYPES] + list(OTHER_TAGS)
    colours = ("#e06c75", "#98c379", "#61afef", None, None, None, None)
    return [(i, name, colours[i % len(colours)]) for i, name in enumerate(names, start=1)]


def legacy_rows(rng: random.Random, models: int) -> list[LegacyRow]:
    unhashed = set(rng.sample(range(1, models + 1), round(models * UNHASHED_SHARE)))
    digests: list[str] = []
    rows = []
    for legacy_id in range(1, models + 1):
        type_index = rng.choices(range(len(MODEL_TYPES)), [t[2] for t in MODEL_TYPES])[0]
        type_name, folder, _, (smallest, largest) = MODEL_TYPES[type_index]
        stem = f"{rng.choice(WORDS)}_{rng.choice(WORDS)}_v{rng.randint(1, 12)}_{legacy_id}"
        hash_hex = "" if legacy_id in unhashed else legacy_digest(rng, legacy_id, digests)
        rows.append(
            LegacyRow(
                id=legacy_id,
                path=f"C:\\ComfyUI\\models\\{folder}\\{stem}.safetensors",
                type=type_name,
                name=None if rng.random() < 0.1 else f"{stem}.safetensors",
                size_bytes=rng.randint(smallest, largest),
                hash_hex=hash_hex,
                created_at=1_650_000_000_000 + legacy_id * 3_600_000 + rng.randint(0, 3_599_999),
                tags=[type_index + 1],  # every model carries the tag of its type
            )
        )
    return rows


def legacy_digest(rng: random.Random, legacy_id: int, earlier: list[str]) -> str:
    """A SHA-256 for a hashed row: now and then an earlier row's (the same file copied
    into two folders), now and then in upper case."""
    if earlier and rng.random() < DUPLICATE_SHARE:
        return rng.choice(earlier)
    digest = hashlib.sha256(f"legacy model {legacy_id}".encode()).hexdigest()
    earlier.append(digest)
    return digest.upper() if rng.random() < UPPER_CASE_SHARE else digest


def link_tags(rng: random.Random, rows: list[LegacyRow], total: int, tag_count: int) -> None:
    """Add links to tags other than the type tags until there are `total` in all."""
    first_other = len(MODEL_TYPES) + 1
    wanted = min(total, len(rows) * (tag_count - first_other + 2))
    links = sum(len(row.tags) for row in rows)
    while links < wanted:
        row = rng.choice(rows)
        tag = rng.randint(first_other, tag_count)
        if tag not in row.tags:
            row.tags.append(tag)
            links += 1


def assign_images(
    rng: random.Random, rows: list[LegacyRow], count: int
) -> dict[int, list[ImageSpec]]:
    """Spread `count` images over random rows, at most `MAX_IMAGES_PER_MODEL` each."""
    open_rows = list(rows)
    row_images: dict[int, list[ImageSpec]] = defaultdict(list)
    for index in range(count):
        slot = rng.randrange(len(open_rows))
        row = open_rows[slot]
        listed = row_images[row.id]
        listed.append(image_spec(rng, row, len(listed), index))
        if len(listed) == MAX_IMAGES_PER_MODEL:
            open_rows[slot] = open_rows[-1]
            open_rows.pop()
    return dict(row_images)


def image_spec(rng: random.Random, row: LegacyRow, position: int, index: int) -> ImageSpec:
    size = rng.choices([s for s, _ in IMAGE_SIZES], [w for _, w in IMAGE_SIZES])[0]
    png = rng.random() < PNG_SHARE
    return ImageSpec(
        name=f"model_{row.id}_{row.created_at + position}_preview.{'png' if png else 'jpg'}",
        size=size,
        base=rng.randrange(BASES_PER_SIZE),
        jpeg_quality=None if png else rng.randint(*JPEG_QUALITIES),
        progressive=not png and rng.random() < PROGRESSIVE_SHARE,
        stamp=(rng.randrange(size[0] - STAMP_SIDE), rng.randrange(size[1] - STAMP_SIDE)),
        seed=RANDOM_SEED * 10_000 + index,
    )


def legacy_extra(rng: random.Random, images: list[ImageSpec]) -> dict[str, object] | None:
    """What the user edited: often nothing, else a description and prompts; the images."""
    extra: dict[str, object] = {}
    if images or rng.random() < 0.5:
        extra["description"] = f"{rng.choice(WORDS)} {rng.choice(WORDS)}, trained on 40 images"
    if rng.random() < 0.3:
        extra["prompts"] = {"positive": f"{rng.choice(WORDS)}, masterpiece", "negative": "blurry"}
    if images:
        extra["images"] = [f"/media/{spec.name}" for spec in images]
    return extra or None


def first_of_each_digest(rows: list[LegacyRow]) -> set[int]:
    seen: set[str] = set()
    firsts = set()
    for row in rows:
        digest = row.hash_hex.strip().lower()
        if digest and digest not in seen:
            seen.add(digest)
            firsts.add(row.id)
    return firsts


def with_images(plan: LegacyPlan, listed: dict[int, list[ImageSpec]]) -> list[LegacyRow]:
    """The plan's rows with only `listed` images in their `extra_json`."""
    rows = []
    for row in plan.rows:
        extra = dict(row.extra) if isinstance(row.extra, dict) else {}
        extra.pop("images", None)
        if row.id in listed:
            extra["images"] = [f"/media/{spec.name}" for spec in listed[row.id]]
        rows.append(dataclasses.replace(row, extra=extra or None, tags=list(row.tags)))
    return rows


# --- the legacy library, generated -----------------------------------------------------------


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


def base_seed(size: tuple[int, int], base: int) -> int:
    return RANDOM_SEED + size[0] * 10_007 + size[1] * 101 + base


def encoded(base: Image.Image, spec: ImageSpec) -> bytes:
    """`base` with the spec's own patch, encoded as the spec says. The patch is put back
    afterwards, so that the base serves the next file unchanged."""
    rng = np.random.default_rng(spec.seed)
    x, y = spec.stamp
    box = (x, y, x + STAMP_SIDE, y + STAMP_SIDE)
    original = base.crop(box)
    shift = rng.integers(-24, 25, (STAMP_SIDE, STAMP_SIDE, 3), dtype=np.int16)
    patched = np.clip(np.asarray(original, dtype=np.int16) + shift, 0, 255).astype(np.uint8)
    base.paste(Image.fromarray(patched), box)
    buffer = io.BytesIO()
    try:
        if spec.jpeg_quality is None:
            base.save(buffer, "PNG", compress_level=PNG_COMPRESS_LEVEL, pnginfo=parameters(spec))
        else:
            base.save(buffer, "JPEG", quality=spec.jpeg_quality, progressive=spec.progressive)
    finally:
        base.paste(original, box)
    return buffer.getvalue()


def parameters(spec: ImageSpec) -> PngImagePlugin.PngInfo:
    """A1111's generation parameters, as Stable Diffusion outputs carry them."""
    width, height = spec.size
    info = PngImagePlugin.PngInfo()
    info.add_text(
        "parameters",
        "masterpiece, best quality, a castle by the sea at dusk\n"
        "Negative prompt: blurry, lowres\n"
        f"Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: {spec.seed}, "
        f"Size: {width}x{height}, Model hash: 31e35c80fc, Model: sd_xl_base_1.0",
    )
    return info


def write_group(folder: Path, specs: Sequence[ImageSpec]) -> int:
    """Write the files of one base picture (in a worker process); their bytes in all."""
    first = specs[0]
    base = photo(first.size, base_seed(first.size, first.base))
    written = 0
    for spec in specs:
        data = encoded(base, spec)
        partial = folder / f"{spec.name}.part"
        partial.write_bytes(data)
        partial.replace(folder / spec.name)  # a file under its name is whole
        written += len(data)
    return written


def generate_images(folder: Path, specs: Sequence[ImageSpec], processes: int) -> None:
    """Write the files of `specs` that are not in `folder` yet, grouped by base picture."""
    for partial in folder.glob("*.part"):
        partial.unlink()
    present = file_names(folder)
    groups: dict[tuple[tuple[int, int], int], list[ImageSpec]] = defaultdict(list)
    for spec in specs:
        if spec.name not in present:
            groups[spec.size, spec.base].append(spec)
    if not groups:
        return
    largest_first = sorted(groups.values(), key=lambda g: len(g) * g[0].pixels, reverse=True)
    with ProcessPoolExecutor(max_workers=processes) as pool:
        for _ in pool.map(write_group, [folder] * len(largest_first), largest_first):
            pass


def file_names(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()}


def library_folder(cache: Path, models: int, images: int) -> Path:
    return cache / f"modelshelf-bench-migrate-{VERSION}-{models}m-{images}i"


def ensure_library(folder: Path, plan: LegacyPlan) -> float | None:
    """Make the legacy library in `folder` unless it is there; the seconds it took to
    make, or None when it was all there."""
    images_dir = folder / "images"
    db_path = folder / LEGACY_DB_NAME
    images_dir.mkdir(parents=True, exist_ok=True)
    present = file_names(images_dir)
    if db_path.is_file() and all(spec.name in present for spec in plan.images):
        return None
    started = time.perf_counter()
    generate_images(images_dir, plan.images, default_worker_count())
    partial = folder / f"{LEGACY_DB_NAME}.part"
    partial.unlink(missing_ok=True)
    create_legacy_db(partial, plan.rows, plan.tags)
    partial.replace(db_path)
    return time.perf_counter() - started


# --- measuring -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportRun:
    report: MigrationReport
    seconds: float  # the whole `migrate()` call

    @property
    def images(self) -> int:
        return self.report.images_converted + self.report.images_copied

    @property
    def other_seconds(self) -> float:
        """What the call spent outside its two parts."""
        return self.seconds - self.report.rows_seconds - self.report.images_seconds


async def migrate(migrator: LegacyMigrator, db_path: Path, images_dir: Path | None) -> ImportRun:
    started = time.perf_counter()
    report = await migrator.migrate(str(db_path), None if images_dir is None else str(images_dir))
    return ImportRun(report, time.perf_counter() - started)


async def import_library(data_dir: Path, db_path: Path, images_dir: Path) -> ImportRun:
    """Stage 1 of the legacy library into a fresh library at `data_dir`."""
    app = create_app(Config.resolve(data_dir))
    async with app.router.lifespan_context(app):
        migrator: LegacyMigrator = app.state.migrator
        return await migrate(migrator, db_path, images_dir)


async def sequential_loop(
    data_dir: Path, rows_db: Path, images_dir: Path, sample: Sequence[ModelImage]
) -> tuple[ImportRun, float]:
    """Import the rows (no images listed), then add the sample's images one at a time with
    `Gallery.add`; the import and the loop's wall time."""
    app = create_app(Config.resolve(data_dir))
    async with app.router.lifespan_context(app):
        migrator: LegacyMigrator = app.state.migrator
        gallery: Gallery = app.state.gallery
        rows_run = await migrate(migrator, rows_db, None)
        started = time.perf_counter()
        for image in sample:
            data = await asyncio.to_thread((images_dir / image.spec.name).read_bytes)
            await gallery.add(image.sha256, data)
        return rows_run, time.perf_counter() - started


@dataclass(frozen=True, slots=True)
class Results:
    full: ImportRun
    parallel: ImportRun  # the sample through the migrator
    rows_only: ImportRun  # the rows the loop's library starts from
    loop_seconds: float
    sample: list[ModelImage]


async def measure(plan: LegacyPlan, library: Path, sample_size: int, work: Path) -> Results:
    """The full import, then the sample both ways, each into a data dir of its own."""
    images_dir = library / "images"
    full = await import_library(work / "full", library / LEGACY_DB_NAME, images_dir)
    print(f"  full import done in {full.seconds:.1f} s", flush=True)
    sample = plan.model_images()[:sample_size]
    listed: dict[int, list[ImageSpec]] = defaultdict(list)
    for image in sample:
        listed[image.legacy_id].append(image.spec)
    sample_db = create_legacy_db(work / "sample.sqlite3", with_images(plan, listed), plan.tags)
    rows_db = create_legacy_db(work / "rows.sqlite3", with_images(plan, {}), plan.tags)
    parallel = await import_library(work / "parallel", sample_db, images_dir)
    print(f"  sample through the migrator done in {parallel.seconds:.1f} s", flush=True)
    rows_only, loop_seconds = await sequential_loop(work / "loop", rows_db, images_dir, sample)
    print(f"  sample through the loop done in {loop_seconds:.1f} s", flush=True)
    return Results(full, parallel, rows_only, loop_seconds, sample)


# --- reporting -------------------------------------------------------------------------------


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def verdict(ok: bool | None, skipped: str = "") -> str:
    return f"SKIP ({skipped})" if ok is None else "PASS" if ok else "FAIL"


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def environment_line() -> str:
    return (
        f"machine: os.cpu_count() {os.cpu_count()}, cores usable by this process"
        f" {usable_cores()}; Python {sys.version.split()[0]}, Pillow {PIL.__version__}"
    )


def mix(specs: Sequence[ImageSpec]) -> str:
    """`n images, p % PNG, mean m MP`."""
    pngs = sum(spec.jpeg_quality is None for spec in specs)
    megapixels = sum(spec.pixels for spec in specs) / max(len(specs), 1) / 1e6
    return f"{len(specs):,} images, {pngs / max(len(specs), 1):.0%} PNG, mean {megapixels:.2f} MP"


def library_lines(plan: LegacyPlan, folder: Path, made_in: float | None) -> list[str]:
    hashed = [row for row in plan.rows if row.hash_hex]
    duplicates = len(hashed) - len(plan.model_ids)
    on_disk = sum((folder / "images" / spec.name).stat().st_size for spec in plan.images)
    made = "cached" if made_in is None else f"generated in {made_in:.0f} s, not measured"
    lines = [
        f"legacy library: {folder} ({made})",
        f"  {len(plan.rows):,} models: {len(plan.rows) - len(hashed):,} unhashed,"
        f" {len(hashed):,} hashed ({duplicates:,} repeating an earlier digest);"
        f" {len(plan.tags)} tags, {plan.tag_links:,} tag links",
        f"  images: {mix(plan.images)}, {on_disk / 1e9:.2f} GB;"
        f" {len(plan.model_images()):,} for models, the rest for pending imports",
    ]
    counts = Counter((spec.size, spec.format) for spec in plan.images)
    for size, _ in sorted(IMAGE_SIZES, key=lambda item: item[0][0] * item[0][1]):
        png, jpeg = counts[size, "PNG"], counts[size, "JPEG"]
        lines.append(
            f"    {size[0]:>4}×{size[1]:<4} {png + jpeg:>5,}  (PNG {png:,}, JPEG {jpeg:,})"
        )
    return lines


def counts_lines(run: ImportRun) -> list[str]:
    report = run.report
    issues = Counter(issue.kind for issue in report.issues)
    return [
        f"  models {report.models_imported:,}, pending imports {report.pending_created:,}"
        f" (duplicates {report.duplicates:,}), tags {report.tags_imported:,}",
        f"  images converted {report.images_converted:,}, copied {report.images_copied:,},"
        f" missing {report.images_missing:,}, failed {report.images_failed:,}",
        "  issues: " + (", ".join(f"{k} {n:,}" for k, n in sorted(issues.items())) or "none"),
    ]


def complete(plan: LegacyPlan, results: Results) -> list[str]:
    """What each import left undone; empty when everything it was given was done."""
    problems = []
    full, parallel = results.full.report, results.parallel.report
    model_images = len(plan.model_images())
    if full.models_imported + full.pending_created != len(plan.rows):
        problems.append("the full import did not place every row")
    if (full.images_converted, full.images_copied) != (
        model_images,
        len(plan.images) - model_images,
    ):
        problems.append("the full import did not convert or copy every image")
    if parallel.images_converted != len(results.sample) or parallel.images_copied:
        problems.append("the migrator's sample is not the loop's")
    return problems


def run_lines(plan: LegacyPlan, results: Results, problems: list[str]) -> tuple[list[str], bool]:
    full, parallel = results.full, results.parallel
    rows = len(plan.rows)
    rows_ok = full.report.rows_seconds < TARGET_ROWS_SECONDS
    sample = len(results.sample)
    parallel_rate = rate(parallel.images, parallel.report.images_seconds)
    loop_rate = rate(sample, results.loop_seconds)
    ratio = parallel_rate / loop_rate if sample else 0.0
    skipped = "one core" if usable_cores() < 2 else "no model images" if not sample else ""
    ratio_ok = None if skipped else ratio >= TARGET_RATIO
    model_specs = [image.spec for image in plan.model_images()]
    other_rows = (results.parallel.report.rows_seconds, results.rows_only.report.rows_seconds)
    lines = [
        f"full import: the whole migrate() call {full.seconds:.1f} s"
        f" ({full.other_seconds:.2f} s of it outside the database and image parts)",
        *counts_lines(full),
        "",
        f"database part: {rows:,} rows in {full.report.rows_seconds:.2f} s"
        f" ({rate(rows, full.report.rows_seconds):,.0f} rows/s)"
        f"  target < {TARGET_ROWS_SECONDS:g} s -> {verdict(rows_ok)}",
        f"  (the same rows in the two other imports: {other_rows[0]:.2f} s, {other_rows[1]:.2f} s)",
        f"image part: {full.images:,} images in {full.report.images_seconds:.1f} s"
        f" ({rate(full.images, full.report.images_seconds):.1f} images/s;"
        f" {full.report.images_converted:,} converted, {full.report.images_copied:,} copied)",
        "",
        f"model images, sample: the first {mix([image.spec for image in results.sample])}"
        f" (all model images: {mix(model_specs)})",
        f"parallel pipeline: {parallel.images:,} images in {parallel.report.images_seconds:.1f} s"
        f" ({parallel_rate:.1f} images/s)",
        f"sequential loop: {sample:,} images in {results.loop_seconds:.1f} s"
        f" ({loop_rate:.1f} images/s)",
        f"ratio: {ratio:.2f}×  target ≥ {TARGET_RATIO:g}× -> {verdict(ratio_ok, skipped)}",
    ]
    lines += [f"INCOMPLETE: {problem}" for problem in problems]
    passed = rows_ok and ratio_ok is not False and not problems
    lines.append(f"overall: {verdict(passed)}")
    return lines, passed


# --- running ---------------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--models",
        type=int,
        default=DEFAULT_MODELS,
        help=f"legacy rows (default {DEFAULT_MODELS:,})",
    )
    parser.add_argument(
        "--images",
        type=int,
        default=DEFAULT_IMAGES,
        help=f"legacy preview images (default {DEFAULT_IMAGES:,})",
    )
    parser.add_argument(
        "--sample",
        type=int,
        default=DEFAULT_SAMPLE,
        help=f"model images timed both ways for the ratio (default {DEFAULT_SAMPLE})",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()),
        help="where generated legacy libraries are kept (default: the system temp dir)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.models < 1:
        parser.error("--models must be at least 1")
    if not 0 <= args.images <= MAX_IMAGES_PER_MODEL * args.models:
        parser.error(f"--images must be from 0 to {MAX_IMAGES_PER_MODEL} per model")
    if args.sample < 1:
        parser.error("--sample must be at least 1")
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    print(environment_line(), flush=True)
    plan = plan_library(args.models, args.images, RANDOM_SEED)
    folder = library_folder(args.cache, args.models, args.images)
    made_in = ensure_library(folder, plan)
    print("\n".join(library_lines(plan, folder, made_in)), flush=True)
    print("", flush=True)
    with tempfile.TemporaryDirectory(prefix="modelshelf-bench-migrate-") as work:
        results = asyncio.run(measure(plan, folder, args.sample, Path(work)))
    lines, passed = run_lines(plan, results, complete(plan, results))
    print("\n".join(["", *lines]))
    return 1 if args.check and not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
