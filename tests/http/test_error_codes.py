"""Every error a client of /graphql can receive carries a stable extensions.code."""

from __future__ import annotations

import httpx
import pytest

GRAPHQL_RESPONSE = "application/graphql-response+json"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": "{ twin(id: "}, "GRAPHQL_PARSE_FAILED"),
        ({"query": '{ twin(id: "x") { nope } }'}, "GRAPHQL_VALIDATION_FAILED"),
        (
            {"query": "query($id: ID!) { twin(id: $id) { id } }", "variables": {}},
            "GRAPHQL_VALIDATION_FAILED",
        ),
        ({"query": 42}, "BAD_REQUEST"),
    ],
)
async def test_request_errors_have_codes(
    production: httpx.AsyncClient, body: dict[str, object], code: str
) -> None:
    response = await production.post("/graphql", json=body, headers={"accept": GRAPHQL_RESPONSE})
    assert response.status_code == 400
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == [code]


async def test_wrong_media_type_has_a_code(production: httpx.AsyncClient) -> None:
    response = await production.post(
        "/graphql", content="{ twin(id: 1) { id } }", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
