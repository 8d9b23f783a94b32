"""The image routes: gallery tiers and pending originals, read-only, by exact name only.

A request names a file only through a strict pattern (lower-case digest, seq, fixed
extension) and the database must know the image, so no spelling of a path (`..`, encoded
slashes, absolute paths, NUL bytes) can reach a file outside the image folder, nor one the
library does not list.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from api.urls import IMAGES_PREFIX, PENDING_PREFIX, VERSION_LENGTH
from domain.config import Config
from domain.images.formats import SNIFF_BYTES, raster_media_type
from domain.images.tiers import Quality, tier_file_name
from domain.store import Store
from domain.store.gallery import served_version
from domain.store.pending import pending_image_exists

GALLERY_NAME = re.compile(r"(?P<sha256>[0-9a-f]{64})_(?P<seq>0|[1-9][0-9]{0,5})\.webp")
PENDING_NAME = re.compile(r"[0-9]{1,19}_[0-9]{1,6}(\.[a-z0-9]{1,5})?")

# A versioned URL names one picture for good; an unversioned one must be revalidated.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_SAFETY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}


async def gallery_image(request: Request) -> Response:
    """GET/HEAD /api/images/<sha256>_<seq>.webp?quality=high|medium|low[&v=<version>]"""
    match = GALLERY_NAME.fullmatch(request.path_params["name"])
    if match is None:
        return _not_found()
    try:
        quality = Quality(request.query_params.get("quality", Quality.HIGH.value))
    except ValueError:
        return PlainTextResponse("quality must be one of: high, medium, low.", status_code=400)
    sha256, seq = match["sha256"], int(match["seq"])
    version = await served_version(_store(request), sha256, seq)
    if version is None:
        return _not_found()
    source_digest, files_lagging = version
    asked_version = request.query_params.get("v")
    fixed = asked_version == source_digest[:VERSION_LENGTH] and not files_lagging
    path = _config(request).images_dir / tier_file_name(sha256, seq, quality)
    return await _file_response(request, path, "image/webp", IMMUTABLE if fixed else REVALIDATE)


async def pending_image(request: Request) -> Response:
    """GET/HEAD /api/images/pending/<file name>: an original as it was imported."""
    name = request.path_params["name"]
    if PENDING_NAME.fullmatch(name) is None or not await pending_image_exists(
        _store(request), name
    ):
        return _not_found()
    return await _file_response(
        request, _config(request).pending_images_dir / name, None, REVALIDATE
    )


async def _file_response(
    request: Request, path: Path, media_type: str | None, cache_control: str
) -> Response:
    try:
        content, etag = await anyio.to_thread.run_sync(_read_with_etag, path)
    except (FileNotFoundError, IsADirectoryError):
        return _not_found()
    media_type = media_type or raster_media_type(content[:SNIFF_BYTES])
    if media_type is None:  # an original that is not a raster image is never served
        return _not_found()
    headers = {"ETag": etag, "Cache-Control": cache_control, **_SAFETY_HEADERS}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    headers["Content-Length"] = str(len(content))
    body = b"" if request.method == "HEAD" else content
    return Response(body, media_type=media_type, headers=headers)


def _read_with_etag(path: Path) -> tuple[bytes, str]:
    """The file and a tag derived from its bytes, both off the event loop."""
    content = path.read_bytes()
    return content, f'"{hashlib.blake2b(content, digest_size=16).hexdigest()}"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if if_none_match is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


def _not_found() -> Response:
    return PlainTextResponse("No such image.", status_code=404)


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _config(request: Request) -> Config:
    config: Config = request.app.state.config
    return config


routes = [
    Route(f"{PENDING_PREFIX}/{{name}}", pending_image, methods=["GET", "HEAD"]),
    Route(f"{IMAGES_PREFIX}/{{name}}", gallery_image, methods=["GET", "HEAD"]),
]
