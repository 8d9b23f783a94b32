"""How fast, how small and how good our sample-image tiers are, against the original pipeline.

Every sample image a user adds goes through `domain.images.pipeline.encode_tiers`, which
turns it into three WebP tiers (HIGH, MEDIUM, LOW). The project this one replaces did the
same job naively, and that is the baseline measured here, in the same process and on the
same bytes:

- decode the whole source at full size (no JPEG DCT scaling), apply the EXIF orientation,
  convert to RGB (RGBA when the source has an alpha channel);
- for each tier, resize the full original with LANCZOS (no reducing gap, and MEDIUM and LOW
  not derived from HIGH);
- copy the pixels into a new image through a Python list, to drop metadata;
- save as WebP with method 6 (the slowest effort level).

The baseline uses the same tier sizes (`high_size`, `tier_size`) and WebP qualities
(`TIERS`) as ours, so that only the way of getting there differs. (Ours computes HIGH's
size from the JPEG decoder's scaled-down size, which for some JPEG dimensions, though not
the usual camera ones, is a pixel off `high_size` of the full size; the report marks such
images with `*`.)

What is measured, per image and in total:
- Time on one core: each side runs in the main thread, one image after the other,
  `--repeat` times in alternation; the best (smallest) time of each side counts, so that a
  stray interruption does not decide a ratio. Both sides start from the source's bytes in
  memory and stop once the three WebP byte strings exist. Target: ours at least 3× faster
  in total; the range of the per-image ratios is shown too, since one slow image can carry
  a total.
- Output bytes: the three tiers together. Target: ours within ±5% of the baseline's in total.
  Both directions count: SSIM is computed on luma only, so a much smaller output could hide
  a loss of colour that the SSIM target would not catch.
- Quality: SSIM (Wang et al. 2004: 11×11 Gaussian window, σ 1.5, K1 0.01, K2 0.03, L 255,
  over the window positions that fit inside the picture, no downsampling) of each side's
  decoded HIGH tier against a reference: the full-size decode of the source, oriented and
  LANCZOS-resized straight to HIGH's size, i.e. the best this resize can do. Computed on
  luma (BT.601); pictures with alpha are first composited over mid-grey. Target: ours at
  most 0.005 below the baseline's on every image (a higher SSIM is no failure).
- Throughput with workers: ours over all the images through `domain.workers.Workers` (what
  the server uses) with one worker, then two; the images are submitted largest first, so
  that the wall time reflects how well the work runs in parallel rather than one large
  image left alone at the end. Target: two workers at least 1.8× faster (it needs two
  cores; the report shows how many this process may use, and skips the target with one).

Without a directory, a fixed set of 12 images is generated first (deterministically, not
timed): photo-like pictures (large smooth colour fields, shapes with soft edges, texture
and grain, so that they compress like photos do) from 512×768 to 2048×3072 plus one 20 MP
JPEG, as PNG (RGB, and one RGBA cut-out with real transparency) and JPEG (quality 90 to 95,
one progressive, one stored sideways with EXIF orientation 6).

Run from the repository root: `.venv/bin/python bench/images.py [DIR] [--repeat N]`. It
needs numpy. It is a report and exits 0; with `--check` it exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, cast

import numpy as np
import numpy.typing as npt
import PIL
from PIL import Image, ImageDraw, ImageFilter, ImageOps, features

from domain.images.pipeline import EncodedTier, encode_tiers
from domain.images.tiers import TIERS, Quality, high_size, tier_size
from domain.workers import Workers

DEFAULT_REPEAT: Final = 2
TARGET_SPEEDUP: Final = 3.0
TARGET_BYTES_TOLERANCE: Final = 0.05
TARGET_SSIM_LOSS: Final = 0.005
TARGET_PARALLEL_SPEEDUP: Final = 1.8

BASELINE_WEBP_METHOD: Final = 6
IMAGE_SUFFIXES: Final = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif"})

SSIM_WINDOW: Final = 11
SSIM_SIGMA: Final = 1.5
SSIM_K1: Final = 0.01
SSIM_K2: Final = 0.03
SSIM_RANGE: Final = 255.0
LUMA_WEIGHTS: Final = (0.299, 0.587, 0.114)
ALPHA_BACKGROUND: Final = (128, 128, 128, 255)

ORIENTATION_TAG: Final = 0x0112
SIZE_MISMATCH_MARK: Final = "*"

Floats = npt.NDArray[np.float64]
Tiers = tuple[EncodedTier, ...]


# --- the generated image set -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SampleSpec:
    """One generated image: its size as seen (after orientation) and how it is stored."""

    name: str
    width: int
    height: int
    seed: int
    jpeg_quality: int | None = None  # None: PNG
    progressive: bool = False
    orientation: int | None = None  # 6: stored turned by 90°, EXIF says how to turn it back
    transparent: bool = False  # an RGBA cut-out on a transparent background (PNG)


SAMPLES: Final = (
    SampleSpec("sd15-512x768.png", 512, 768, seed=1),
    SampleSpec("sdxl-832x1216.jpg", 832, 1216, seed=2, jpeg_quality=95),
    SampleSpec("square-1024.png", 1024, 1024, seed=3),
    SampleSpec("cutout-1024-rgba.png", 1024, 1024, seed=4, transparent=True),
    SampleSpec(
        "land-1216x832-progressive.jpg", 1216, 832, seed=5, jpeg_quality=90, progressive=True
    ),
    SampleSpec("phone-1024x1536-exif6.jpg", 1024, 1536, seed=6, jpeg_quality=92, orientation=6),
    SampleSpec("upscaled-1152x1728.png", 1152, 1728, seed=7),
    SampleSpec("square-1536.jpg", 1536, 1536, seed=8, jpeg_quality=93),
    SampleSpec("upscaled-1664x2432.png", 1664, 2432, seed=9),
    SampleSpec("square-2048.jpg", 2048, 2048, seed=10, jpeg_quality=92),
    SampleSpec("upscaled-2048x3072.png", 2048, 3072, seed=11),
    SampleSpec("camera-5472x3648-20mp.jpg", 5472, 3648, seed=12, jpeg_quality=92),
)


def noise_octave(
    rng: np.random.Generator, size: tuple[int, int], cell: float
) -> npt.NDArray[np.float32]:
    """Random colours on a grid of `cell`-pixel cells, smoothly interpolated to `size`,
    centred on zero (from -128 to 127)."""
    width, height = size
    grid = (max(2, round(height / cell)), max(2, round(width / cell)), 3)
    small = Image.fromarray(rng.integers(0, 256, grid, dtype=np.uint8))
    smooth = small.resize(size, Image.Resampling.BICUBIC)
    return np.asarray(smooth, dtype=np.float32) - 128.0


def photo(size: tuple[int, int], seed: int) -> Image.Image:
    """A picture that compresses like a photo: a gradient and smooth colour fields, shapes
    with soft edges at every scale, texture and grain. Pure noise would not."""
    rng = np.random.default_rng(seed)
    width, height = size
    long_side = max(size)
    top, bottom = rng.uniform(40, 215, 3), rng.uniform(40, 215, 3)
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    pixels = np.empty((height, width, 3), dtype=np.float32)
    pixels[:] = top * (1 - ramp) + bottom * ramp
    for fraction, amplitude in ((1 / 3, 0.45), (1 / 12, 0.3), (1 / 48, 0.15)):
        pixels += amplitude * noise_octave(rng, size, long_side * fraction)
    for cell, amplitude in ((6.0, 0.14), (2.5, 0.08)):  # texture: foliage, fabric, hair
        pixels += amplitude * noise_octave(rng, size, cell)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw_shapes(ImageDraw.Draw(image, "RGBA"), rng, size)
    image = image.filter(ImageFilter.GaussianBlur(radius=1.0))
    grained = np.asarray(image, dtype=np.int16) + rng.integers(-4, 5, (height, width, 3), np.int16)
    return Image.fromarray(np.clip(grained, 0, 255).astype(np.uint8))


def draw_shapes(draw: ImageDraw.ImageDraw, rng: np.random.Generator, size: tuple[int, int]) -> None:
    """Forty ellipses, rectangles and polygons, large and small, some translucent."""
    width, height = size
    for index in range(40):
        extent = max(size) * float(rng.uniform(0.02, 0.35))
        x, y = float(rng.uniform(0, width)), float(rng.uniform(0, height))
        colour = (*(int(c) for c in rng.integers(0, 256, 3)), int(rng.integers(70, 240)))
        box = (x, y, x + extent * float(rng.uniform(0.3, 1.0)), y + extent)
        if index % 3 == 0:
            draw.ellipse(box, fill=colour)
        elif index % 3 == 1:
            draw.rectangle(box, fill=colour)
        else:
            points = [
                (x + extent * float(rng.uniform(-1, 1)), y + extent * float(rng.uniform(-1, 1)))
                for _ in range(5)
            ]
            draw.polygon(points, fill=colour)


def cutout(size: tuple[int, int], seed: int) -> Image.Image:
    """A subject with a soft edge on a fully transparent background, as background removers
    produce: about half the pixels have alpha 0, the edge has every value in between."""
    subject = photo(size, seed)
    width, height = size
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).ellipse(
        (width * 0.15, height * 0.08, width * 0.85, height * 0.95), fill=255
    )
    ImageDraw.Draw(mask).rectangle((width * 0.4, height * 0.5, width * 0.6, height), fill=255)
    subject.putalpha(mask.filter(ImageFilter.GaussianBlur(radius=4)))
    return subject


def write_sample(spec: SampleSpec, directory: Path) -> Path:
    size = (spec.width, spec.height)
    image = cutout(size, spec.seed) if spec.transparent else photo(size, spec.seed)
    path = directory / spec.name
    if spec.jpeg_quality is None:
        image.save(path, "PNG")
        return path
    exif = Image.Exif()
    if spec.orientation == 6:  # the viewer turns it 90° clockwise: store it turned back
        image = image.transpose(Image.Transpose.ROTATE_90)
        exif[ORIENTATION_TAG] = spec.orientation
    image.save(
        path,
        "JPEG",
        quality=spec.jpeg_quality,
        progressive=spec.progressive,
        exif=exif.tobytes(),
    )
    return path


def generate_samples(directory: Path) -> list[Path]:
    return [write_sample(spec, directory) for spec in SAMPLES]


def image_files(directory: Path) -> list[Path]:
    return sorted(
        path
        for path in directory.iterdir()
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
    )


# --- the two pipelines -----------------------------------------------------------------------


def decode_full(source: bytes) -> Image.Image:
    """The whole source at full size, oriented, as RGB, or RGBA when it has alpha."""
    with Image.open(io.BytesIO(source)) as image:
        image.load()
        oriented = ImageOps.exif_transpose(image)
    has_alpha = "A" in oriented.getbands() or "transparency" in oriented.info
    mode = "RGBA" if has_alpha else "RGB"
    return oriented if oriented.mode == mode else oriented.convert(mode)


def python_list_copy(image: Image.Image) -> Image.Image:
    """The original project's way to drop metadata: every pixel through a Python list
    (`get_flattened_data` is Pillow 13's name for the deprecated `list(getdata())`)."""
    clean = Image.new(image.mode, image.size)
    # RGB and RGBA pixels are tuples; the declared type also allows single-band floats.
    pixels = cast("tuple[tuple[int, ...], ...]", image.get_flattened_data())
    clean.putdata(list(pixels))
    return clean


def baseline_tiers(source: bytes) -> Tiers:
    """The original project's pipeline, with our tier sizes and qualities."""
    full = decode_full(source)
    high = high_size(*full.size)
    tiers = []
    for quality in Quality:
        size = high if quality is Quality.HIGH else tier_size(quality, high)
        clean = python_list_copy(full.resize(size, Image.Resampling.LANCZOS))
        buffer = io.BytesIO()
        clean.save(buffer, "WEBP", quality=TIERS[quality].webp_quality, method=BASELINE_WEBP_METHOD)
        tiers.append(EncodedTier(quality, size[0], size[1], buffer.getvalue()))
    return tuple(tiers)


def our_tiers(source: bytes) -> Tiers:
    return encode_tiers(source).tiers


def high_tier(tiers: Tiers) -> EncodedTier:
    return next(tier for tier in tiers if tier.quality is Quality.HIGH)


def tier_dimensions(tiers: Tiers) -> list[tuple[int, int]]:
    return [(tier.width, tier.height) for tier in tiers]


def total_bytes(tiers: Tiers) -> int:
    return sum(len(tier.data) for tier in tiers)


# --- SSIM ------------------------------------------------------------------------------------


def gaussian_window(size: int, sigma: float) -> Floats:
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2
    weights = np.exp(-(offsets**2) / (2 * sigma**2))
    normalised: Floats = weights / weights.sum()
    return normalised


def filter_valid(values: Floats, window: Floats) -> Floats:
    """The separable 2-D filter `window ⊗ window` over the positions where it fits whole
    (MATLAB's `filter2(w, x, 'valid')`, as in Wang et al.'s reference code)."""
    taps = len(window)
    rows_out, cols_out = values.shape[0] - taps + 1, values.shape[1] - taps + 1
    vertical = np.zeros((rows_out, values.shape[1]), dtype=np.float64)
    for k in range(taps):
        vertical += window[k] * values[k : k + rows_out, :]
    filtered = np.zeros((rows_out, cols_out), dtype=np.float64)
    for k in range(taps):
        filtered += window[k] * vertical[:, k : k + cols_out]
    return filtered


def ssim(x: Floats, y: Floats) -> float:
    """Mean structural similarity of two greyscale pictures of the same size (0 to 255)."""
    if x.shape != y.shape or min(x.shape) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs two pictures of one size of at least {SSIM_WINDOW} px")
    window = gaussian_window(SSIM_WINDOW, SSIM_SIGMA)
    c1, c2 = (SSIM_K1 * SSIM_RANGE) ** 2, (SSIM_K2 * SSIM_RANGE) ** 2
    mu_x, mu_y = filter_valid(x, window), filter_valid(y, window)
    var_x = filter_valid(x * x, window) - mu_x**2
    var_y = filter_valid(y * y, window) - mu_y**2
    cov = filter_valid(x * y, window) - mu_x * mu_y
    numerator = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    denominator = (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    return float(np.mean(numerator / denominator))


def luma(image: Image.Image) -> Floats:
    """BT.601 luma as floats; a picture with alpha is seen over mid-grey first."""
    if "A" in image.getbands():
        background = Image.new("RGBA", image.size, ALPHA_BACKGROUND)
        image = Image.alpha_composite(background, image.convert("RGBA"))
    rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
    weights = np.asarray(LUMA_WEIGHTS, dtype=np.float64)
    grey: Floats = rgb @ weights
    return grey


def reference_lumas(
    source: bytes, sizes: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], Floats]:
    """The best HIGH this resize can give at each size: the full decode, LANCZOS-resized
    once, straight to that size."""
    full = decode_full(source)
    return {size: luma(full.resize(size, Image.Resampling.LANCZOS)) for size in set(sizes)}


def tier_ssim(references: dict[tuple[int, int], Floats], tier: EncodedTier) -> float:
    with Image.open(io.BytesIO(tier.data)) as decoded:
        decoded.load()
        return ssim(references[decoded.size], luma(decoded))


# --- measuring -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Run:
    """One side's best time on one image, and what it produced."""

    seconds: float
    tiers: Tiers

    @property
    def bytes(self) -> int:
        return total_bytes(self.tiers)


@dataclass(frozen=True, slots=True)
class ImageResult:
    name: str
    source_format: str
    source_size: tuple[int, int]  # as stored, before orientation
    source_bytes: int
    baseline: Run
    ours: Run
    ssim_baseline: float
    ssim_ours: float

    @property
    def speedup(self) -> float:
        return self.baseline.seconds / self.ours.seconds

    @property
    def same_sizes(self) -> bool:
        return tier_dimensions(self.baseline.tiers) == tier_dimensions(self.ours.tiers)

    @property
    def ssim_loss(self) -> float:
        """How much lower our SSIM is than the baseline's (negative: ours is higher)."""
        return self.ssim_baseline - self.ssim_ours


def timed(function: Callable[[bytes], Tiers], source: bytes) -> tuple[float, Tiers]:
    """One call's wall time; the garbage of earlier calls is collected off the clock."""
    gc.collect()
    started = time.perf_counter()
    tiers = function(source)
    return time.perf_counter() - started, tiers


def best_of(runs: Sequence[tuple[float, Tiers]]) -> Run:
    seconds, tiers = min(runs, key=lambda run: run[0])
    return Run(seconds=seconds, tiers=tiers)


def measure_image(path: Path, repeat: int) -> ImageResult:
    """Both sides `repeat` times in alternation in this thread, then the SSIM of their HIGH."""
    source = path.read_bytes()
    baseline_runs, our_runs = [], []
    for _ in range(repeat):
        baseline_runs.append(timed(baseline_tiers, source))
        our_runs.append(timed(our_tiers, source))
    baseline, ours = best_of(baseline_runs), best_of(our_runs)
    base_high, our_high = high_tier(baseline.tiers), high_tier(ours.tiers)
    references = reference_lumas(
        source, [(base_high.width, base_high.height), (our_high.width, our_high.height)]
    )
    with Image.open(io.BytesIO(source)) as header:
        source_format, source_size = str(header.format), header.size
    return ImageResult(
        name=path.name,
        source_format=source_format,
        source_size=source_size,
        source_bytes=len(source),
        baseline=baseline,
        ours=ours,
        ssim_baseline=tier_ssim(references, base_high),
        ssim_ours=tier_ssim(references, our_high),
    )


def warm_up() -> None:
    """Load the codecs and plugins off the clock of the first image."""
    buffer = io.BytesIO()
    photo((64, 64), seed=0).save(buffer, "PNG")
    baseline_tiers(buffer.getvalue())
    our_tiers(buffer.getvalue())


async def encode_all(sources: Sequence[bytes], worker_count: int) -> float:
    """Wall time of ours over every source through `Workers`, as the server runs it."""
    workers = Workers("bench-images", count=worker_count)
    try:
        gc.collect()
        started = time.perf_counter()
        await asyncio.gather(*(workers.run(encode_tiers, source) for source in sources))
        return time.perf_counter() - started
    finally:
        workers.shutdown()


def measure_workers(paths: Sequence[Path], worker_count: int, repeat: int) -> float:
    """The best wall time over `repeat` runs, submitting the largest sources first."""
    sources = sorted((path.read_bytes() for path in paths), key=source_pixels, reverse=True)
    return min(asyncio.run(encode_all(sources, worker_count)) for _ in range(repeat))


def source_pixels(source: bytes) -> int:
    with Image.open(io.BytesIO(source)) as image:
        return image.width * image.height


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# --- reporting -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdicts:
    speedup: float
    bytes_ratio: float
    worst_ssim_loss: float
    parallel_speedup: float
    cores: int

    @property
    def speedup_ok(self) -> bool:
        return self.speedup >= TARGET_SPEEDUP

    @property
    def bytes_ok(self) -> bool:
        return abs(self.bytes_ratio - 1) <= TARGET_BYTES_TOLERANCE

    @property
    def ssim_ok(self) -> bool:
        return self.worst_ssim_loss <= TARGET_SSIM_LOSS

    @property
    def parallel_ok(self) -> bool | None:
        """None when the process has a single core: the target cannot be measured."""
        return None if self.cores < 2 else self.parallel_speedup >= TARGET_PARALLEL_SPEEDUP

    @property
    def passed(self) -> bool:
        return self.speedup_ok and self.bytes_ok and self.ssim_ok and self.parallel_ok is not False


def verdict(ok: bool | None) -> str:
    return "SKIP (one core)" if ok is None else "PASS" if ok else "FAIL"


TABLE_HEADER: Final = (
    f"{'image':<34} {'source':>18} {'high':>10} {'base ms':>8} {'ours ms':>8} {'speed':>6}"
    f" {'base KB':>8} {'ours KB':>8} {'SSIM base':>9} {'SSIM ours':>9} {'loss':>7}"
)


def image_line(result: ImageResult) -> str:
    width, height = result.source_size
    high = high_tier(result.ours.tiers)
    source = f"{result.source_format} {width}×{height}"
    mark = "" if result.same_sizes else SIZE_MISMATCH_MARK
    return (
        f"{result.name:<34} {source:>18} {f'{mark}{high.width}×{high.height}':>10}"
        f" {result.baseline.seconds * 1000:8.0f} {result.ours.seconds * 1000:8.0f}"
        f" {result.speedup:5.1f}×"
        f" {result.baseline.bytes / 1000:8.1f} {result.ours.bytes / 1000:8.1f}"
        f" {result.ssim_baseline:9.4f} {result.ssim_ours:9.4f} {result.ssim_loss:+7.4f}"
    )


def totals_lines(results: Sequence[ImageResult], verdicts: Verdicts) -> list[str]:
    baseline_ms = sum(r.baseline.seconds for r in results) * 1000
    ours_ms = sum(r.ours.seconds for r in results) * 1000
    baseline_kb = sum(r.baseline.bytes for r in results) / 1000
    ours_kb = sum(r.ours.bytes for r in results) / 1000
    worst = max(results, key=lambda r: r.ssim_loss)
    speedups = [r.speedup for r in results]
    lines = [
        f"{'total':<34} {'':>18} {'':>10} {baseline_ms:8.0f} {ours_ms:8.0f}"
        f" {verdicts.speedup:5.1f}× {baseline_kb:8.1f} {ours_kb:8.1f}",
    ]
    if not all(r.same_sizes for r in results):
        lines.append(
            f"{SIZE_MISMATCH_MARK} ours made tiers a pixel off the baseline's (HIGH's size is"
            " computed from the DCT-scaled decode); each side's SSIM uses a reference of its"
            " own size"
        )
    return [
        *lines,
        "",
        f"one core:  ours {verdicts.speedup:.2f}× faster than the baseline in total"
        f"  (target ≥ {TARGET_SPEEDUP:g}×)  -> {verdict(verdicts.speedup_ok)}",
        f"           per image: {min(speedups):.1f}× to {max(speedups):.1f}×,"
        f" median {statistics.median(speedups):.1f}×",
        f"bytes:     ours/baseline = {verdicts.bytes_ratio:.3f}"
        f"  (target within ±{TARGET_BYTES_TOLERANCE:.0%})  -> {verdict(verdicts.bytes_ok)}",
        f"SSIM:      worst loss {verdicts.worst_ssim_loss:+.4f} ({worst.name})"
        f"  (target ≤ {TARGET_SSIM_LOSS:g})  -> {verdict(verdicts.ssim_ok)}",
    ]


def workers_lines(
    results: Sequence[ImageResult], one: float, two: float, verdicts: Verdicts
) -> list[str]:
    # Two workers cannot beat half the work, nor the longest image, which one worker does alone.
    ours = [r.ours.seconds for r in results]
    bound = one / max(sum(ours) / 2, max(ours))
    return [
        f"workers:   ours over all images, largest first: 1 worker {one * 1000:.0f} ms,"
        f" 2 workers {two * 1000:.0f} ms",
        f"           two workers {verdicts.parallel_speedup:.2f}× faster"
        f" (at most ≈{bound:.2f}× with these images)"
        f"  (target ≥ {TARGET_PARALLEL_SPEEDUP:g}×)  -> {verdict(verdicts.parallel_ok)}",
    ]


def environment_line(repeat: int) -> str:
    return (
        f"Python {sys.version.split()[0]}, Pillow {PIL.__version__},"
        f" libwebp {features.version('webp')}, libjpeg {features.version('jpg')};"
        f" os.cpu_count() {os.cpu_count()}, cores usable by this process {usable_cores()};"
        f" best of {repeat} per image and side"
    )


# --- running ---------------------------------------------------------------------------------


def run(paths: Sequence[Path], repeat: int, preamble: Sequence[str]) -> tuple[str, bool]:
    """Measure every image, then the workers; the report and whether every target was met."""
    print("\n".join([*preamble, environment_line(repeat), "", TABLE_HEADER]), flush=True)
    warm_up()
    results = []
    for path in paths:
        results.append(measure_image(path, repeat))
        print(image_line(results[-1]), flush=True)
    one = measure_workers(paths, 1, repeat)
    two = measure_workers(paths, 2, repeat)
    verdicts = Verdicts(
        speedup=sum(r.baseline.seconds for r in results) / sum(r.ours.seconds for r in results),
        bytes_ratio=sum(r.ours.bytes for r in results) / sum(r.baseline.bytes for r in results),
        worst_ssim_loss=max(r.ssim_loss for r in results),
        parallel_speedup=one / two,
        cores=usable_cores(),
    )
    lines = [*totals_lines(results, verdicts), *workers_lines(results, one, two, verdicts)]
    lines.append(f"overall:   {verdict(verdicts.passed)}")
    return "\n".join(lines), verdicts.passed


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "directory",
        nargs="?",
        type=Path,
        help="the images to measure (default: a generated set of 12)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=DEFAULT_REPEAT,
        help=f"runs per image and side, the best counting (default {DEFAULT_REPEAT})",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.directory is not None and not args.directory.is_dir():
        parser.error(f"{args.directory} is not a directory")
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    if args.directory is not None:
        paths = image_files(args.directory)
        if not paths:
            print(f"no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in {args.directory}")
            return 2
        text, passed = run(paths, args.repeat, [f"images: {len(paths)} from {args.directory}"])
    else:
        with tempfile.TemporaryDirectory(prefix="modelshelf-bench-images-") as tmpdir:
            started = time.perf_counter()
            paths = generate_samples(Path(tmpdir))
            preamble = [
                f"images: the generated set of {len(paths)}"
                f" ({time.perf_counter() - started:.1f} s to generate, not measured)"
            ]
            text, passed = run(paths, args.repeat, preamble)
    print(text)
    return 1 if args.check and not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
