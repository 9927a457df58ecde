"""The README stays honest: every setting, error code and make target it should name, it does."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from graphql_client import bearer, settings_for_tests
from twinmesh.bootstrap import build_services
from twinmesh.config import Settings
from twinmesh.demo import seed_demo
from twinmesh.errors import ERROR_TABLE
from twinmesh.http.app import create_app
from twinmesh.store.embedded import EmbeddedStore

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
MAKE_TARGETS = re.findall(r"^([a-z0-9-]+):.*## ", (ROOT / "Makefile").read_text(), re.MULTILINE)


@pytest.mark.parametrize("setting", sorted(Settings.model_fields))
def test_every_setting_is_documented(setting: str) -> None:
    assert f"`TWINMESH_{setting.upper()}`" in README


@pytest.mark.parametrize("code", sorted(ERROR_TABLE))
def test_every_error_code_is_documented(code: str) -> None:
    row = re.search(rf"^\| `{code}` \| (\d+) \|", README, re.MULTILINE)
    assert row is not None
    assert int(row.group(1)) == ERROR_TABLE[code].http_status


@pytest.mark.parametrize("target", ["serve", "test", "neo4j"])
def test_key_make_targets_exist_and_are_documented(target: str) -> None:
    assert target in MAKE_TARGETS
    assert f"make {target}" in README


def readme_graphql_reads() -> list[str]:
    blocks = re.findall(r"```graphql\n(.*?)```", README, re.DOTALL)
    reads = []
    for block in blocks:
        for chunk in re.split(r"\n(?=# )", block):
            text = "\n".join(line for line in chunk.splitlines() if not line.startswith("#"))
            if text.strip().startswith(("{", "query")):
                reads.append(text.strip())
    return reads


@pytest.mark.parametrize("query", readme_graphql_reads())
async def test_readme_queries_run_on_the_demo_data(query: str) -> None:
    services = build_services(settings_for_tests(demo=True), store=EmbeddedStore())
    app = create_app(services, seed=seed_demo)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://demo.test", headers=bearer(services, "demo")
        ) as client:
            body = (await client.post("/graphql", json={"query": query})).json()
    assert "errors" not in body, body
    # Every connection in the answer found something in the demo data.
    assert all(value is not None for value in body["data"].values()), body
    edges = re.findall(r"'edges': \[(.)", repr(body["data"]))
    assert all(first == "{" for first in edges), body
