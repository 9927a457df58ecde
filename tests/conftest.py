"""Session-wide fixtures: the real Neo4j server, started once and only if a test needs it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from twinmesh.devtools.neo4j_server import Neo4jServer, running


@pytest.fixture(scope="session")
def neo4j_server() -> Iterator[Neo4jServer]:
    """A Neo4j 5.26 Community server on a free loopback port, stopped after the session.

    Provisioning or start-up failures raise with the server's log tail: they fail the tests
    that need Neo4j; they never skip them.
    """
    with running() as server:
        yield server
