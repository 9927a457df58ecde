"""GraphiQL for development: one HTML page and the bundled assets it loads.

The assets live in ``graphiql/`` inside the package (see its README for versions and licences),
so the page works without network access; the page itself has no inline script.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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


def page_html(endpoint: str, static_path: str = STATIC_PATH, token: str | None = None) -> str:
    links = "\n".join(
        f'    <link rel="stylesheet" href="{escape(static_path)}/{name}">' for name in STYLESHEETS
    )
    scripts = "\n".join(
        f'    <script src="{escape(static_path)}/{name}" defer></script>' for name in SCRIPTS
    )
    token_attribute = f' data-token="{escape(token)}"' if token else ""
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
    <div id="graphiql" data-endpoint="{escape(endpoint)}"{token_attribute}>Loading GraphiQL…</div>
  </body>
</html>
"""


def graphiql_page(token: str | None = None) -> Callable[[Request], Awaitable[Response]]:
    """The GraphiQL page, talking to the ``/graphql`` it was requested from.

    In the demo, ``token`` (a development-issuer token) fills the Headers tab, so queries run
    at once; otherwise the tab shows where a token goes.
    """

    async def page(request: Request) -> Response:
        return HTMLResponse(
            page_html(request.url.path, token=token),
            headers={
                "Content-Security-Policy": CONTENT_SECURITY_POLICY,
                "Cache-Control": "no-store",
            },
        )

    return page


def graphiql_assets() -> StaticFiles:
    return StaticFiles(directory=ASSETS)
