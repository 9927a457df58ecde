"""GraphiQL for development: one HTML page and the bundled assets it loads.

The assets live in ``graphiql/`` inside the package (see its README for versions and licences),
so the page works without network access; the page itself has no inline script.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

ASSETS = Path(__file__).parent / "graphiql"
STATIC_PATH = "/static/graphiql"

# Loaded in this order: React, then ReactDOM, then GraphiQL (a UMD build that expects both).
SCRIPTS = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "twinmesh-graphiql.js",
)
STYLESHEETS = ("graphiql.min.css",)

# GraphiQL styles itself with inline style attributes, hence 'unsafe-inline' for styles only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def page_html(endpoint: str, static_path: str = STATIC_PATH) -> str:
    links = "\n".join(
        f'    <link rel="stylesheet" href="{escape(static_path)}/{name}">' for name in STYLESHEETS
    )
    scripts = "\n".join(
        f'    <script src="{escape(static_path)}/{name}" defer></script>' for name in SCRIPTS
    )
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>twinmesh GraphiQL</title>
    <style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }}</style>
{links}
{scripts}
  </head>
  <body>
    <div id="graphiql" data-endpoint="{escape(endpoint)}">Loading GraphiQL…</div>
  </body>
</html>
"""


async def graphiql_page(request: Request) -> Response:
    """The GraphiQL page, talking to the ``/graphql`` it was requested from."""
    return HTMLResponse(
        page_html(request.url.path),
        headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-store"},
    )


def graphiql_assets() -> StaticFiles:
    return StaticFiles(directory=ASSETS)
