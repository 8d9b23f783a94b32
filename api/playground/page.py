"""The GraphiQL page at GET /graphql, and the files it loads under /playground/.

The page loads nothing from outside the server, and its Content-Security-Policy tells the
browser to refuse anything that tries: scripts and stylesheets only from here (each with its
hash, see `vendored`), data: fonts and pictures (GraphiQL's CSS embeds its fonts), and
connections only back to this server, the websocket for subscriptions included. Its URLs are
relative, so the playground also works behind a proxy that serves the app under a prefix.
"""

from __future__ import annotations

from functools import cache
from html import escape

from starlette.responses import HTMLResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from api.playground.vendored import ASSETS, packages, subresource_integrity

PREFIX = "playground"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}

TEMPLATE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>Model Shelf · GraphiQL</title>
    <link rel="icon" href="data:,">
{head}
  </head>
  <body>
    <div id="graphiql">Loading…</div>
{body}
  </body>
</html>
"""


def page_response() -> HTMLResponse:
    return HTMLResponse(page(), headers=HEADERS)


def assets() -> Mount:
    """The page's files, straight from the package's folder."""
    return Mount(f"/{PREFIX}", StaticFiles(directory=ASSETS), name=PREFIX)


@cache
def page() -> str:
    """The HTML, built once: the pinned packages' files in the manifest's order, then ours."""
    files = [
        (f"vendor/{package.folder}/{path}", package.files[path])
        for package in packages()
        for path in package.page
    ]
    files += [(name, own_integrity(name)) for name in ("playground.css", "playground.js")]
    stylesheets = [tag(path, integrity) for path, integrity in files if path.endswith(".css")]
    scripts = [tag(path, integrity) for path, integrity in files if path.endswith(".js")]
    return TEMPLATE.format(head="\n".join(stylesheets), body="\n".join(scripts))


def own_integrity(name: str) -> str:
    return subresource_integrity((ASSETS / name).read_bytes())


def tag(path: str, integrity: str) -> str:
    href = escape(f"{PREFIX}/{path}")
    if path.endswith(".css"):
        return f'    <link rel="stylesheet" href="{href}" integrity="{integrity}">'
    return f'    <script src="{href}" integrity="{integrity}"></script>'
