"""Session-wide fixtures: the real Neo4j server (started once, only if a test needs it) and the
``store`` fixture parametrised over every adapter (ids ``embedded`` and ``neo4j``)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from twinmesh.devtools.neo4j_server import Neo4jServer, open_when_ready, running
from twinmesh.domain import TenantId
from twinmesh.store.embedded import EmbeddedStore
from twinmesh.store.neo4j import Neo4jStore
from twinmesh.store.port import GraphStore
from twinmesh.store.recording import StatementRecorder


@pytest.fixture(scope="session")
def neo4j_server() -> Iterator[Neo4jServer]:
    """A Neo4j 5.26 Community server on a free loopback port, stopped after the session.

    Provisioning or start-up failures raise with the server's log tail: they fail the tests
    that need Neo4j; they never skip them.
    """
    with running() as server:
        yield server


STORES = ["embedded", "neo4j"]


@pytest.fixture(scope="session")
def recorder() -> StatementRecorder:
    return StatementRecorder()


@pytest.fixture(scope="session", params=STORES)
async def session_store(
    request: pytest.FixtureRequest, recorder: StatementRecorder
) -> AsyncIterator[GraphStore]:
    store: GraphStore
    if request.param == "embedded":
        store = EmbeddedStore(observer=recorder)
    else:
        server: Neo4jServer = request.getfixturevalue("neo4j_server")
        store = Neo4jStore(server.uri, observer=recorder)
    await open_when_ready(store)
    yield store
    await store.close()


@pytest.fixture
def store(session_store: GraphStore, recorder: StatementRecorder) -> GraphStore:
    """The store under test; its statements are recorded (from this test only)."""
    recorder.clear()
    return session_store


@pytest.fixture
def tenant() -> TenantId:
    """A fresh tenant per test, so tests never see each other's data."""
    return TenantId(f"t-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def other_tenant() -> TenantId:
    return TenantId(f"o-{uuid.uuid4().hex[:12]}")
