"""The URLs the API hands out for image files (served by `api.images`).

URLs are root-relative, so they stay right behind any proxy or host name; a client resolves
them against the address it sent its GraphQL request to."""

from __future__ import annotations

from urllib.parse import quote

from domain.images.tiers import Quality, gallery_name

IMAGES_PREFIX = "/api/images"
PENDING_PREFIX = f"{IMAGES_PREFIX}/pending"
# Enough of the source digest to tell one picture at a seq from the next.
VERSION_LENGTH = 16


def sample_image_url(sha256: str, seq: int, quality: Quality, source_digest: str) -> str:
    """The URL of one tier. The `v` parameter changes whenever another picture takes this
    seq, so the response can be cached forever without ever showing a stale picture."""
    # Every part is URL-safe already (hex, digits, a lower-case word): no encoding needed,
    # and none spent, on a field a page of models resolves hundreds of times.
    version = source_digest[:VERSION_LENGTH]
    return f"{IMAGES_PREFIX}/{gallery_name(sha256, seq)}?quality={quality.value}&v={version}"


def pending_image_url(file_name: str) -> str:
    return f"{PENDING_PREFIX}/{quote(file_name)}"
