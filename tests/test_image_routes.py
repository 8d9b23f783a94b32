"""The image routes: tiers by quality, caching, HEAD, pending originals, and path tricks."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Shelf
from tests.images import BLUE, RED, decode, encode, quadrants, solid
from tests.seed import add_model, add_pending

ADD = """
mutation($sha: String!, $image: Upload!) {
  addSampleImage(sha256: $sha, image: $image) {
    ... on SampleImageSaved { image { filename url low: url(quality: LOW) } }
  }
}
"""


async def model_with_picture(shelf: Shelf) -> tuple[str, dict[str, Any]]:
    model = await add_model(shelf.store, "m")
    data = await shelf.upload(
        ADD, {"image": encode(quadrants((1200, 800)), "PNG")}, sha=model.sha256
    )
    return model.sha256, data["addSampleImage"]["image"]


async def test_each_quality_serves_its_tier(shelf: Shelf) -> None:
    sha256, _ = await model_with_picture(shelf)
    sizes = {}
    for quality in (None, "high", "medium", "low"):
        params = {} if quality is None else {"quality": quality}
        response = await shelf.client.get(f"/api/images/{sha256}_0.webp", params=params)
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/webp"
        assert response.headers["content-length"] == str(len(response.content))
        assert response.headers["x-content-type-options"] == "nosniff"
        sizes[quality] = decode(response.content).size
    assert sizes == {
        None: (1200, 800),
        "high": (1200, 800),
        "medium": (792, 528),
        "low": (396, 264),
    }


@pytest.mark.parametrize("quality", ["ultra", "HIGH", "", "high "])
async def test_an_unknown_quality_is_a_bad_request(shelf: Shelf, quality: str) -> None:
    sha256, _ = await model_with_picture(shelf)
    response = await shelf.client.get(f"/api/images/{sha256}_0.webp", params={"quality": quality})
    assert response.status_code == 400
    assert "high, medium, low" in response.text


async def test_versioned_urls_are_immutable_and_others_revalidate(shelf: Shelf) -> None:
    sha256, image = await model_with_picture(shelf)
    versioned = await shelf.client.get(image["url"])
    assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert (await shelf.client.get(image["low"])).headers["cache-control"].endswith("immutable")
    for url in (f"/api/images/{sha256}_0.webp", f"/api/images/{sha256}_0.webp?v=0000000000000000"):
        assert (await shelf.client.get(url)).headers["cache-control"] == "no-cache"


async def test_etag_and_if_none_match(shelf: Shelf) -> None:
    _, image = await model_with_picture(shelf)
    first = await shelf.client.get(image["url"])
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = await shelf.client.get(image["url"], headers={"if-none-match": header})
        assert again.status_code == 304, header
        assert again.content == b"" and again.headers["etag"] == etag
    other = await shelf.client.get(image["url"], headers={"if-none-match": '"stale"'})
    assert other.status_code == 200 and other.content == first.content
    low = await shelf.client.get(image["low"])
    assert low.headers["etag"] != etag  # another tier, other bytes, another tag


async def test_the_etag_follows_the_content(shelf: Shelf) -> None:
    sha256, _ = await model_with_picture(shelf)
    before = (await shelf.client.get(f"/api/images/{sha256}_0.webp")).headers["etag"]
    replace = (
        "mutation($sha: String!, $image: Upload!) "
        "{ replaceSampleImage(sha256: $sha, seq: 0, image: $image) "
        "{ __typename } }"
    )
    await shelf.upload(replace, {"image": encode(solid((50, 50), BLUE), "PNG")}, sha=sha256)
    after = await shelf.client.get(
        f"/api/images/{sha256}_0.webp", headers={"if-none-match": before}
    )
    assert after.status_code == 200 and after.headers["etag"] != before


async def test_head_has_the_headers_and_no_body(shelf: Shelf) -> None:
    _, image = await model_with_picture(shelf)
    get = await shelf.client.get(image["url"])
    head = await shelf.client.head(image["url"])
    assert head.status_code == 200 and head.content == b""
    for name in ("content-type", "content-length", "etag", "cache-control"):
        assert head.headers[name] == get.headers[name]


async def test_unknown_images_are_not_found(shelf: Shelf) -> None:
    sha256, _ = await model_with_picture(shelf)
    for name in (f"{sha256}_1.webp", f"{'0' * 64}_0.webp"):
        assert (await shelf.client.get(f"/api/images/{name}")).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/api/images/..%2Flibrary.db",
        "/api/images/%2e%2e%2flibrary.db",
        "/api/images/../library.db",
        "/api/images/..%2F..%2F..%2Fetc%2Fpasswd",
        "/api/images//etc/passwd",
        "/api/images/%2Fetc%2Fpasswd",
        "/api/images/{sha}_0.webp%00.png",
        "/api/images/{SHA}_0.webp",
        "/api/images/{sha}_0.webp.bak",
        "/api/images/{sha}_0_high.webp",
        "/api/images/{sha}_00.webp",
        "/api/images/{sha}_-1.webp",
        "/api/images/.tmp-{sha}_0_high.webp",
        "/api/images/pending/..%2F..%2Flibrary.db",
        "/api/images/pending/%2Fetc%2Fpasswd",
        "/api/images/pending/1_0.png%00",
    ],
)
async def test_path_tricks_are_not_found(shelf: Shelf, path: str) -> None:
    sha256, _ = await model_with_picture(shelf)
    url = path.replace("{sha}", sha256).replace("{SHA}", sha256.upper())
    response = await shelf.client.get(url)
    assert response.status_code == 404, url
    assert b"SQLite" not in response.content and b"root:" not in response.content


async def test_pending_originals_are_served_with_the_type_of_their_bytes(shelf: Shelf) -> None:
    await add_pending(shelf.store, 7, images=2)
    pending_dir = shelf.config.pending_images_dir
    png = encode(solid((10, 10), RED), "PNG")
    (pending_dir / "7_0.png").write_bytes(png)
    (pending_dir / "7_1.png").write_bytes(encode(solid((10, 10), RED), "JPEG"))  # misnamed

    first = await shelf.client.get("/api/images/pending/7_0.png")
    second = await shelf.client.get("/api/images/pending/7_1.png")

    assert first.status_code == 200 and first.content == png
    assert first.headers["content-type"] == "image/png"
    assert second.headers["content-type"] == "image/jpeg"  # from the bytes, not the name
    assert first.headers["x-content-type-options"] == "nosniff"
    head = await shelf.client.head("/api/images/pending/7_0.png")
    assert head.content == b"" and head.headers["content-length"] == str(len(png))


async def test_pending_files_that_are_not_raster_images_are_never_served(shelf: Shelf) -> None:
    await add_pending(shelf.store, 8, images=1)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    (shelf.config.pending_images_dir / "8_0.png").write_bytes(svg)
    assert (await shelf.client.get("/api/images/pending/8_0.png")).status_code == 404


async def test_files_the_library_does_not_list_are_not_served(shelf: Shelf) -> None:
    (shelf.config.pending_images_dir / "9_0.png").write_bytes(encode(solid((4, 4)), "PNG"))
    assert (await shelf.client.get("/api/images/pending/9_0.png")).status_code == 404
