"""Deliverable 6: the W3C ``traceparent`` travels inside the signed request, so one trace spans
the servers. The organisations run in process and share one OpenTelemetry SDK tracer provider
whose spans go to an in-memory exporter; which organisation made a span is told by its name
(``federation.query`` is the caller's, ``federation.request`` the answering side's) and its
``twinmesh.partner`` attribute.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import format_span_id, format_trace_id

from federation.orgs import TENANT, building, federation
from twinmesh.federation.outbound import FEDERATION_PATH

A, B, C = "a.test", "b.test", "c.test"
TRAVERSE = """query($id: ID!, $depth: Int!) { twin(id: $id) { id relationships { edges { node {
  targetRef remoteTarget(depth: $depth) { org status reason twin } } } } } }"""


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """Finished spans of this module's tests.

    OpenTelemetry lets a process set its global tracer provider once; the twinmesh modules'
    tracers are proxies that follow it. So an SDK provider is set here unless one already is,
    and this module's exporter is added to it and shut down (it stops recording) afterwards.
    """
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(TracerProvider())
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider), "another global tracer provider is set"
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    yield exporter
    processor.shutdown()


@pytest.fixture
def exporter(spans: InMemorySpanExporter) -> InMemorySpanExporter:
    spans.clear()
    return spans


def named(exporter: InMemorySpanExporter, name: str, **attributes: Any) -> list[ReadableSpan]:
    return [
        span
        for span in exporter.get_finished_spans()
        if span.name == name
        and all((span.attributes or {}).get(k) == v for k, v in attributes.items())
    ]


def trace_of(span: ReadableSpan) -> str:
    assert span.context is not None
    return format_trace_id(span.context.trace_id)


def is_child(child: ReadableSpan, parent: ReadableSpan) -> bool:
    assert child.parent is not None
    assert parent.context is not None
    return (child.parent.trace_id, child.parent.span_id) == (
        parent.context.trace_id,
        parent.context.span_id,
    )


async def test_one_trace_spans_caller_and_partner(exporter: InMemorySpanExporter) -> None:
    async with federation((A, B)) as (orgs, network):
        await building(orgs[B], "b-hq", name="B")
        await building(orgs[A], "a-hq", name="A", links=(f"twin://{B}/{TENANT}/b-hq",))
        body = await orgs[A].gql(TRAVERSE, id="a-hq", depth=0)
        assert body["extensions"]["federation"][0]["status"] == "ok", body

        [query] = named(exporter, "federation.query", **{"twinmesh.partner": B})
        [request] = named(exporter, "federation.request")
        assert trace_of(query) == trace_of(request)
        assert is_child(request, query)
        assert request.parent is not None
        assert request.parent.is_remote

        # The parent travelled as the signed traceparent header.
        [sent] = [r for r in network.requests if r.url.path == FEDERATION_PATH]
        assert query.context is not None
        assert sent.headers["traceparent"] == (
            f"00-{trace_of(query)}-{format_span_id(query.context.span_id)}-01"
        )
        assert '"traceparent"' in sent.headers["signature-input"]

        # Both sides' audit records name that trace, under one request id.
        [asked] = await orgs[A].records("federationQuery")
        [answered] = await orgs[B].records("federationRequest")
        assert asked["traceId"] == answered["traceId"] == trace_of(query)
        assert asked["requestId"] == answered["requestId"]
        assert query.attributes is not None
        assert query.attributes["twinmesh.request_id"] == asked["requestId"]


async def test_a_traversal_across_three_organisations_is_one_tree(
    exporter: InMemorySpanExporter,
) -> None:
    async with federation() as (orgs, _):
        await building(orgs[C], "c-hq", name="C")
        await building(orgs[B], "b-hq", name="B", links=(f"twin://{C}/{TENANT}/c-hq",))
        await building(orgs[A], "a-hq", name="A", links=(f"twin://{B}/{TENANT}/b-hq",))
        body = await orgs[A].gql(TRAVERSE, id="a-hq", depth=1)
        statuses = [(e["partner"], e["status"]) for e in body["extensions"]["federation"]]
        assert statuses == [(B, "ok"), (C, "ok")], body

        [a_to_b] = named(exporter, "federation.query", **{"twinmesh.partner": B})
        [b_to_c] = named(exporter, "federation.query", **{"twinmesh.partner": C})
        at_b, at_c = sorted(
            named(exporter, "federation.request"), key=lambda span: span.start_time or 0
        )
        assert is_child(at_b, a_to_b)
        assert is_child(b_to_c, at_b)  # B's call to C is part of B's handling of A's request
        assert is_child(at_c, b_to_c)

        trace_id = trace_of(a_to_b)
        assert {trace_of(s) for s in (a_to_b, at_b, b_to_c, at_c)} == {trace_id}
        records = [
            *(await orgs[A].records("federationQuery")),
            *(await orgs[B].records("federationRequest")),
            *(await orgs[B].records("federationQuery")),
            *(await orgs[C].records("federationRequest")),
        ]
        assert len(records) == 4
        assert {r["traceId"] for r in records} == {trace_id}
        assert {r["requestId"] for r in records if r["action"] == "federationRequest"} == {
            records[0]["requestId"]
        }


async def test_the_callers_own_trace_is_continued(exporter: InMemorySpanExporter) -> None:
    async with federation((A, B)) as (orgs, _):
        await building(orgs[B], "b-hq", name="B")
        await building(orgs[A], "a-hq", name="A", links=(f"twin://{B}/{TENANT}/b-hq",))
        client_trace = secrets.token_hex(16)
        assert orgs[A].services.dev_issuer is not None
        token = orgs[A].services.dev_issuer.issue_token(TENANT, "alice", roles=("admin",))
        response = await orgs[A].client.post(
            "/graphql",
            json={"query": TRAVERSE, "variables": {"id": "a-hq", "depth": 0}},
            headers={
                "authorization": f"Bearer {token}",
                "traceparent": f"00-{client_trace}-{secrets.token_hex(8)}-01",
            },
        )
        assert response.json()["extensions"]["federation"][0]["status"] == "ok"
        [query] = named(exporter, "federation.query")
        [request] = named(exporter, "federation.request")
        assert trace_of(query) == trace_of(request) == client_trace
        [answered] = await orgs[B].records("federationRequest")
        assert answered["traceId"] == client_trace
