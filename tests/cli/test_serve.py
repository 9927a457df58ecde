"""``twinmesh serve --demo`` as a newcomer runs it: a real process, a real port, real data."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

import httpx

from twinmesh.devtools.processes import free_port, launch, server_env, twinmesh_command

DEADLINE_S = 30.0


def test_demo_server_serves_seeded_twins_and_keeps_them_across_restarts(tmp_path: Path) -> None:
    port = free_port()
    query = {"query": '{ twin(id: "campus") { id model properties } }'}

    answers = []
    for start in range(2):  # the second start finds the demo data already there
        server = launch(
            port=port, data_dir=tmp_path, args=["--demo"], log_file=tmp_path / f"serve-{start}.log"
        )
        base = server.origin
        try:
            server.wait_until_ready(time.monotonic() + DEADLINE_S)
            graphiql = httpx.get(f"{base}/graphql", headers={"accept": "text/html"}, timeout=5)
            page_token = re.search(r'data-token="([^"]+)"', graphiql.text)
            assert page_token is not None, "GraphiQL carries the demo token"
            auth = {"authorization": f"Bearer {page_token.group(1)}"}
            answers.append(
                httpx.post(f"{base}/graphql", json=query, headers=auth, timeout=5).json()
            )
            anonymous = httpx.post(f"{base}/graphql", json=query, timeout=5)
            assert anonymous.status_code == 401
            # A token from the CLI for a new tenant: it gets the sample ontology on first use.
            issued = subprocess.run(
                twinmesh_command(
                    *("token", "issue", "--tenant", "newcomer", "--subject", "me"),
                    *("--data-dir", str(tmp_path)),
                ),
                env=server_env(),
                capture_output=True,
                text=True,
                check=True,
            )
            models = httpx.post(
                f"{base}/graphql",
                json={"query": "{ models { id } }"},
                headers={"authorization": f"Bearer {issued.stdout.strip()}"},
                timeout=10,
            ).json()
            assert len(models["data"]["models"]) == 31
        finally:
            server.process.send_signal(signal.SIGINT)  # a clean shutdown, as Ctrl-C
            try:
                server.process.wait(timeout=15)
            finally:
                server.stop()  # only reaps, unless it ignored SIGINT
        output = server.log_file.read_text()
        assert server.process.returncode == 0, output
        assert "Authorization: Bearer ey" in output

    twin = answers[0]["data"]["twin"]
    assert twin["id"] == "campus"
    assert twin["model"] == "dtmi:twinmesh:building:Campus;1"
    assert twin["properties"]["name"].endswith("campus")
    assert answers[1] == answers[0]
    assert (tmp_path / "twinmesh.sqlite3").is_file()
