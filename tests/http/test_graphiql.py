"""GraphiQL in development mode: one page, bundled assets only, nothing from a CDN."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from twinmesh.http.ide import ASSETS, page_html

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
CONTENT_TYPES = {".js": ("text/javascript", "application/javascript"), ".css": ("text/css",)}


async def page(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get("/graphql", headers={"accept": BROWSER_ACCEPT})


def references(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


async def test_a_browser_gets_graphiql_in_development(development: httpx.AsyncClient) -> None:
    response = await page(development)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()
    assert 'data-endpoint="/graphql"' in response.text


async def test_the_page_references_only_local_assets(development: httpx.AsyncClient) -> None:
    html = (await page(development)).text
    assert references(html)
    for url in references(html):
        assert url.startswith("/static/graphiql/"), url
    assert "http://" not in html
    assert "https://" not in html
    assert "<script>" not in html  # no inline script: the CSP below forbids it


async def test_the_page_forbids_loading_anything_from_elsewhere(
    development: httpx.AsyncClient,
) -> None:
    policy = (await page(development)).headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy


async def test_every_asset_is_served_with_its_content_type(
    development: httpx.AsyncClient,
) -> None:
    for url in references((await page(development)).text):
        response = await development.get(url)
        assert response.status_code == 200, url
        kinds = CONTENT_TYPES[Path(url).suffix]
        assert response.headers["content-type"].split(";")[0] in kinds, url
        assert response.content == (ASSETS / Path(url).name).read_bytes()


async def test_assets_are_compressed_for_clients_that_accept_it(
    development: httpx.AsyncClient,
) -> None:
    response = await development.get(
        "/static/graphiql/graphiql.min.js", headers={"accept-encoding": "gzip"}
    )
    assert response.headers["content-encoding"] == "gzip"
    assert response.num_bytes_downloaded < 1_500_000
    assert response.content == (ASSETS / "graphiql.min.js").read_bytes()


def test_the_headers_editor_starts_with_the_page_token_or_a_placeholder() -> None:
    script = (ASSETS / "twinmesh-graphiql.js").read_text()
    assert 'root.dataset.token || "<token>"' in script
    assert 'Authorization: "Bearer " + token' in script
    assert "shouldPersistHeaders: false" in script


def test_the_demo_page_carries_its_token_and_other_pages_none() -> None:
    assert 'data-token="abc.def.ghi"' in page_html("/graphql", token="abc.def.ghi")
    assert "data-token" not in page_html("/graphql")


@pytest.mark.parametrize("library", ["graphiql", "react", "react-dom"])
def test_bundled_libraries_ship_with_their_licences(library: str) -> None:
    licence = (ASSETS / f"LICENSE.{library}").read_text()
    assert "MIT License" in licence
    assert library in (ASSETS / "README.md").read_text()


def test_the_bundle_stays_small() -> None:
    total = sum(f.stat().st_size for f in ASSETS.iterdir())
    assert total < 5 * 1024 * 1024


async def test_a_graphql_client_is_not_sent_the_page(development: httpx.AsyncClient) -> None:
    response = await development.get("/graphql", headers={"accept": "application/json"})
    assert response.status_code == 405
