"""The third-party files the playground page loads, as pinned in `manifest.json`.

They are served from the package, never from a CDN: a model library lives on laptops and
air-gapped machines, and a page that fetched React from unpkg would stay at "Loading..."
there, and tell a CDN that someone is browsing their library. The manifest pins each npm
package's version and the hash of its tarball and of every file taken from it; the page
gives the browser those hashes too (Subresource Integrity), so a file edited by hand is
refused by the browser as well as by the tests.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
MANIFEST = HERE / "manifest.json"
ASSETS = HERE / "assets"
VENDOR = ASSETS / "vendor"


@dataclass(frozen=True)
class Package:
    """One npm package, and the files of it that are kept (paths inside its tarball's
    `package/` folder)."""

    name: str
    version: str
    licence: str
    page: tuple[str, ...]  # loaded by the page, in this order
    integrity: str  # the npm registry's hash of the tarball
    files: dict[str, str]  # path → its Subresource Integrity hash

    @property
    def folder(self) -> str:
        """Where its files are, under `assets/vendor/`; versioned, so a new version never
        shares a URL with an old one."""
        return f"{self.name}@{self.version}"

    @property
    def kept(self) -> tuple[str, ...]:
        return (*self.page, self.licence)


def packages(manifest: Path = MANIFEST) -> list[Package]:
    document = json.loads(manifest.read_text(encoding="utf-8"))
    return [
        Package(
            name=entry["name"],
            version=entry["version"],
            licence=entry["licence"],
            page=tuple(entry["page"]),
            integrity=entry.get("integrity", ""),
            files=dict(entry.get("files", {})),
        )
        for entry in document["packages"]
    ]


def subresource_integrity(data: bytes) -> str:
    """The `integrity` attribute browsers check a script or stylesheet against."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


def problems(vendor: Path = VENDOR, manifest: Path = MANIFEST) -> list[str]:
    """What differs between the vendored files and the manifest; empty when they agree."""
    found = []
    for package in packages(manifest):
        for path in package.kept:
            file = vendor / package.folder / path
            expected = package.files.get(path)
            if expected is None:
                found.append(f"{package.folder}/{path} has no hash in the manifest")
            elif not file.is_file():
                found.append(f"{package.folder}/{path} is missing")
            elif subresource_integrity(file.read_bytes()) != expected:
                found.append(f"{package.folder}/{path} differs from the pinned file")
    return found
