"""``/graphql`` HTTP behaviour beyond the spec's audits: negotiation, refusals, body limits."""

from __future__ import annotations

import httpx
import pytest

from twinmesh.http.graphql_view import MAX_BODY_BYTES, negotiate

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, JSON),
        ("", JSON),
        (JSON, JSON),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, {JSON}", GRAPHQL_RESPONSE_JSON),
        (f"{JSON}, {GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=0.5, {JSON}", JSON),
        (f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8", GRAPHQL_RESPONSE_JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        (f"text/html, {GRAPHQL_RESPONSE_JSON};q=0.9, */*;q=0.8", GRAPHQL_RESPONSE_JSON),
        (f"{JSON}, multipart/mixed", JSON),
        (f"{JSON};q=0", None),
        ("text/plain", None),
        ("application/xml, text/html", None),
    ],
)
def test_negotiation_picks_the_response_media_type(accept: str | None, chosen: str | None) -> None:
    assert negotiate(accept) == chosen


async def test_an_unacceptable_accept_is_406(production: httpx.AsyncClient) -> None:
    response = await production.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"accept": "text/plain"}
    )
    assert response.status_code == 406
    assert response.headers["content-type"].startswith(JSON)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_other_methods_are_405(production: httpx.AsyncClient, method: str) -> None:
    response = await production.request(method, "/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_a_body_over_the_limit_is_413(production: httpx.AsyncClient) -> None:
    padding = " " * MAX_BODY_BYTES
    response = await production.post(
        "/graphql",
        content=f'{{"query": "{{ __typename }}"{padding}}}'.encode(),
        headers={"content-type": JSON},
    )
    assert response.status_code == 413


async def test_execution_errors_keep_200_and_data(production: httpx.AsyncClient) -> None:
    response = await production.post(
        "/graphql",
        json={"query": 'mutation { deleteModel(id: "dtmi:com:example:Nothing;1") }'},
        headers={"accept": GRAPHQL_RESPONSE_JSON},
    )
    body = response.json()
    assert response.status_code == 200
    assert body["data"] is None  # present: execution started
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_an_unknown_operation_name_is_a_request_error(production: httpx.AsyncClient) -> None:
    body = {"query": "query A { __typename }", "operationName": "B"}
    strict = await production.post("/graphql", json=body, headers={"accept": GRAPHQL_RESPONSE_JSON})
    legacy = await production.post("/graphql", json=body, headers={"accept": JSON})
    assert strict.status_code == 400
    assert legacy.status_code == 200
    assert "data" not in strict.json()
    assert "errors" in legacy.json()


async def test_subscriptions_are_not_run_over_post(production: httpx.AsyncClient) -> None:
    response = await production.post(
        "/graphql",
        json={"query": "subscription { __typename }"},
        headers={"accept": GRAPHQL_RESPONSE_JSON},
    )
    assert response.status_code == 400
    assert "data" not in response.json()
