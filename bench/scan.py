"""How fast `scanFolders` walks a large model tree, against `find` walking the same tree.

The tree: 100,000 model files in 2,000 folders laid out as ComfyUI lays out `models/`
(checkpoints, loras, vae, embeddings, controlnet, upscale_models, unet, clip; 250 folders
each, 50 files a folder), plus one preview picture per folder that a scan must pass over.
Most files are `.safetensors` with a real header (kohya's `ss_*` metadata, one tensor), the
rest GGUF (magic, version 3, one key), PyTorch zips (`.ckpt`, `.pt`) and `.bin`. Every file
is sparse: its header written, then truncated to 20-300 MiB, so sizes look real and the
tree costs a few hundred MB on disk. It is made once under `--dir` and reused.

Measured, in this process, with the dentry and inode caches warm for both sides (each walks
the tree once before it is timed):
- **find**: `find ROOT -type f | wc -l`, best of 3: the floor for walking the tree (it
  reads directories and never opens a file or stats one: d_type says what each entry is).
- **first scan**: `scanFolders` over the tree on a fresh library, from the mutation to the
  `job` subscription's COMPLETED: every file stat'ed, every file's head read, 100,000
  pending imports and job items written. Best of `--repeat` (2) fresh libraries. Target:
  within 10 x find.
- **rescan**: `scanFolders` again on the library the first scan left, nothing new: one
  stat per file, no file opened, every status compared. Best of `--repeat`. Target: within
  3 x find. The bytes this process read during it (`rchar` of /proc/self/io, database
  included) are shown beside it.

Every run is checked before it is believed: the first scan must find every model file and
nothing else, the rescan none.

The app runs as `modelshelf serve` runs it (bench/serving.py). Linux only (/proc). Run from
the repository root: `.venv/bin/python bench/scan.py [--dir D] [--repeat N] [--small]`;
`--small` is 5,000 files in 100 folders (a try, no verdict). `--check` exits 1 when a
target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from serving import Served, require, serving, until_finished  # bench/serving.py

TREE_VERSION = 1
KINDS = (
    "checkpoints",
    "loras",
    "vae",
    "embeddings",
    "controlnet",
    "upscale_models",
    "unet",
    "clip",
)
FIND_TARGET = 3.0  # rescan / find
FIRST_TARGET = 10.0  # first scan / find
WAIT_SECONDS = 1800.0
MIB = 1024 * 1024

SCAN = """
mutation($paths: [String!]!) {
  scanFolders(paths: $paths) {
    __typename ... on JobStarted { job { id } } ... on Problem { message }
  }
}
"""
RESULT = """
query($id: ID!) { job(id: $id) { state found scanReport { filesSeen found known issueCount } } }
"""
PENDING = "{ pendingImports(first: 0) { totalCount } }"


@dataclass(frozen=True, slots=True)
class Tree:
    root: Path
    folders: int
    files_per_folder: int

    @property
    def model_files(self) -> int:
        return self.folders * self.files_per_folder

    @property
    def all_files(self) -> int:
        return self.model_files + self.folders  # and a preview per folder


def say(*lines: str) -> None:
    print("\n".join(lines), flush=True)


# --- the tree, made once -----------------------------------------------------------------


def safetensors_head(n: int) -> bytes:
    header = {
        "__metadata__": {
            "ss_base_model_version": ("sdxl_base_v1-0", "sd_v1", "flux1")[n % 3],
            "ss_network_dim": str(2 ** (n % 6 + 2)),
            "ss_output_name": f"model{n}",
            "ss_tag_frequency": json.dumps({"10_subject": {"tag": n % 17}}),
        },
        "lora_up.weight": {"dtype": "F16", "shape": [8, 8], "data_offsets": [0, 128]},
    }
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text


def gguf_head() -> bytes:
    key, value = b"general.architecture", b"llama"
    pair = struct.pack("<Q", len(key)) + key + struct.pack("<I", 8)
    return b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + pair + struct.pack("<Q", len(value)) + value


def model_file(n: int) -> tuple[str, bytes]:
    """The n-th file's extension and first bytes: 80% safetensors, the rest in turn."""
    match n % 20:
        case 16:
            return ".gguf", gguf_head()
        case 17:
            return ".ckpt", b"PK\x03\x04" + bytes(26)
        case 18:
            return ".pt", b"PK\x03\x04" + bytes(26)
        case 19:
            return ".bin", bytes(32)
        case _:
            return ".safetensors", safetensors_head(n)


def make_tree(tree: Tree) -> None:
    marker = tree.root / f".made-v{TREE_VERSION}"
    if marker.exists():
        return
    shutil.rmtree(tree.root, ignore_errors=True)
    n = 0
    for folder in range(tree.folders):
        kind = KINDS[folder % len(KINDS)]
        path = tree.root / "models" / kind / f"set{folder:04}"
        path.mkdir(parents=True)
        (path / "preview.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        for _ in range(tree.files_per_folder):
            suffix, head = model_file(n)
            with (path / f"model{n:06}{suffix}").open("wb") as file:
                file.write(head)
                file.truncate((20 + n * 7919 % 280) * MIB)  # sparse: holes past the head
            n += 1
    marker.touch()


# --- the floor -----------------------------------------------------------------------------


def time_find(tree: Tree, rounds: int = 3) -> float:
    """Best of `rounds` of `find -type f | wc -l`, after one untimed run warms the caches."""
    command = f"find {tree.root / 'models'} -type f | wc -l"
    counted = subprocess.run(command, shell=True, check=True, capture_output=True, text=True)
    require(int(counted.stdout) == tree.all_files, f"find counted {counted.stdout.strip()}")
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run(command, shell=True, check=True, capture_output=True)
        best = min(best, time.perf_counter() - started)
    return best


# --- the scans --------------------------------------------------------------------------------


def bytes_read() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


@dataclass(frozen=True, slots=True)
class Scan:
    seconds: float
    read: int  # bytes this process read meanwhile


async def scan(served: Served, tree: Tree, expect_found: int) -> Scan:
    read_before = bytes_read()
    started = time.perf_counter()
    answer = (await served.data(SCAN, paths=[str(tree.root / "models")]))["scanFolders"]
    require(answer["__typename"] == "JobStarted", f"scanFolders answered {answer}")
    job_id = answer["job"]["id"]
    state = await until_finished(served, job_id, WAIT_SECONDS)
    seconds = time.perf_counter() - started
    read = bytes_read() - read_before
    job = (await served.data(RESULT, id=job_id))["job"]
    require(state == "COMPLETED", f"the scan ended {state}: {job}")
    report = job["scanReport"]
    require(report["filesSeen"] == tree.model_files, f"the scan saw {report}")
    require(report["found"] == job["found"] == expect_found, f"the scan found {report}")
    require(report["issueCount"] == 0, f"the scan met issues: {report}")
    pending = (await served.data(PENDING))["pendingImports"]["totalCount"]
    require(pending == tree.model_files, f"{pending} pending imports")
    return Scan(seconds, read)


async def scan_twice(tree: Tree, library_root: Path) -> tuple[Scan, Scan]:
    """A first scan on a fresh library, then the rescan on what it left."""
    async with serving(library_root, WAIT_SECONDS) as served:
        first = await scan(served, tree, tree.model_files)
        again = await scan(served, tree, 0)
    return first, again


# --- the report -----------------------------------------------------------------------------


def verdict(ratio: float, target: float) -> str:
    return f"(target ≤ {target:g})  {'PASS' if ratio <= target else 'FAIL'}"


def rate(files: int, seconds: float) -> str:
    return f"{files / seconds:,.0f} files/s"


def run(tree: Tree, library_root: Path, repeat: int) -> list[str]:
    """Print the measurements; answer the targets missed."""
    started = time.perf_counter()
    make_tree(tree)
    say(
        f"tree: {tree.model_files:,} model files and {tree.folders:,} previews in "
        f"{tree.folders:,} folders under {tree.root} (made in {time.perf_counter() - started:.1f} s"
        " or before)"
    )
    find = time_find(tree)
    say(f"find:        {find * 1000:8.1f} ms  find -type f | wc -l, best of 3, caches warm")
    rounds = [asyncio.run(scan_twice(tree, library_root)) for _ in range(repeat)]
    first = min((r[0] for r in rounds), key=lambda s: s.seconds)
    again = min((r[1] for r in rounds), key=lambda s: s.seconds)
    firsts = ", ".join(f"{r[0].seconds:.2f}" for r in rounds)
    agains = ", ".join(f"{r[1].seconds:.3f}" for r in rounds)
    first_ratio, again_ratio = first.seconds / find, again.seconds / find
    say(
        f"first scan:  {first.seconds * 1000:8.1f} ms  {rate(tree.model_files, first.seconds)}"
        f"  [best of {repeat}: {firsts} s]",
        f"         first / find = {first_ratio:.1f}  {verdict(first_ratio, FIRST_TARGET)}",
        f"rescan:      {again.seconds * 1000:8.1f} ms  {rate(tree.model_files, again.seconds)}"
        f"  nothing new; {again.read / MIB:.1f} MiB read by the process meanwhile"
        f"  [best of {repeat}: {agains} s]",
        f"         rescan / find = {again_ratio:.1f}  {verdict(again_ratio, FIND_TARGET)}",
    )
    missed = []
    if first_ratio > FIRST_TARGET:
        missed.append("first scan")
    if again_ratio > FIND_TARGET:
        missed.append("rescan")
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(tempfile.gettempdir()) / "modelshelf-bench-scan"
    parser.add_argument("--dir", type=Path, default=default, help="where the tree is kept")
    parser.add_argument("--repeat", type=int, default=2, help="fresh libraries to scan")
    parser.add_argument("--small", action="store_true", help="5,000 files: a try")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    arguments = parser.parse_args()
    folders, per_folder = (100, 50) if arguments.small else (2_000, 50)
    tree = Tree(arguments.dir / f"tree-v{TREE_VERSION}-{folders}x{per_folder}", folders, per_folder)
    libraries = arguments.dir / "libraries"
    libraries.mkdir(parents=True, exist_ok=True)
    missed = run(tree, libraries, arguments.repeat)
    say(f"targets: {'missed: ' + ', '.join(missed) if missed else 'all met'}")
    return 1 if missed and arguments.check else 0


if __name__ == "__main__":
    sys.exit(main())
