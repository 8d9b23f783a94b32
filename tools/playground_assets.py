"""Fetch the playground's third-party files from the npm registry: `make playground-assets`.

Each package pinned in `api/playground/manifest.json` is fetched with `npm pack` (so the
machine's npm registry settings apply), its tarball checked against the pinned integrity,
and the kept files written under `api/playground/assets/vendor/NAME@VERSION/` once their own
hashes match. Nothing is written when anything differs. `--repin` records the hashes of what
was fetched instead, after a version in the manifest was changed on purpose.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from api.playground.vendored import (
    MANIFEST,
    VENDOR,
    Package,
    packages,
    subresource_integrity,
)


class Refusal(Exception):
    """A package could not be fetched as pinned: npm failed, or a file is not the pinned one."""


@dataclass(frozen=True)
class Fetched:
    integrity: str  # the tarball's, as the registry gives it
    files: dict[str, bytes]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repin", action="store_true", help="record new hashes")
    parser.add_argument("--manifest", type=Path, default=MANIFEST, help="(for tests)")
    parser.add_argument("--vendor", type=Path, default=VENDOR, help="(for tests)")
    arguments = parser.parse_args()
    repin, manifest, vendor = arguments.repin, arguments.manifest, arguments.vendor
    with tempfile.TemporaryDirectory() as scratch:
        try:
            fetched = {
                package.folder: fetch(package, Path(scratch), repin)
                for package in packages(manifest)
            }
        except Refusal as refusal:
            print(f"playground-assets: {refusal}; nothing was changed.", file=sys.stderr)
            return 1
        install(fetched, vendor)
    if repin:
        record(fetched, manifest)
    for folder, package in fetched.items():
        print(f"{folder}: {', '.join(package.files)}")
    return 0


def fetch(package: Package, scratch: Path, repin: bool) -> Fetched:
    """The kept files of one package, checked against the manifest unless repinning."""
    spec = f"{package.name}@{package.version}"
    packed = subprocess.run(
        ["npm", "pack", spec, "--json", "--pack-destination", str(scratch)],
        capture_output=True,
        text=True,
    )
    if packed.returncode != 0:
        said = packed.stderr.strip().splitlines()
        raise Refusal(f"npm could not fetch {spec} ({said[-1] if said else packed.returncode})")
    (entry,) = json.loads(packed.stdout)
    if not repin and entry["integrity"] != package.integrity:
        raise Refusal(f"the registry's {spec} is not the pinned tarball")
    files = {}
    with tarfile.open(scratch / entry["filename"]) as tarball:
        for path in package.kept:
            member = tarball.extractfile(f"package/{path}")
            if member is None:
                raise Refusal(f"{spec} has no file {path}")
            files[path] = member.read()
    for path, data in files.items():
        if not repin and subresource_integrity(data) != package.files.get(path):
            raise Refusal(f"{spec}'s {path} is not the pinned file")
    return Fetched(entry["integrity"], files)


def install(fetched: dict[str, Fetched], vendor: Path) -> None:
    """Replace the vendor folder with what was fetched, so a dropped version leaves nothing."""
    shutil.rmtree(vendor, ignore_errors=True)
    for folder, package in fetched.items():
        for path, data in package.files.items():
            target = vendor / folder / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


def record(fetched: dict[str, Fetched], manifest: Path) -> None:
    document = json.loads(manifest.read_text(encoding="utf-8"))
    for entry in document["packages"]:
        package = fetched[f"{entry['name']}@{entry['version']}"]
        entry["integrity"] = package.integrity
        entry["files"] = {path: subresource_integrity(data) for path, data in package.files.items()}
    manifest.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
