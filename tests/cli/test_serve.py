"""``twinmesh serve --demo`` as a newcomer runs it: a real process, a real port, real data."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from twinmesh.devtools.neo4j_server import free_port

DEADLINE_S = 30.0


def wait_until_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited during start-up"
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the server did not become ready within {DEADLINE_S} s")


def test_demo_server_serves_seeded_twins_and_keeps_them_across_restarts(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "twinmesh.cli",
        "serve",
        "--demo",
        "--port",
        str(port),
        "--data-dir",
        str(tmp_path),
    ]
    query = {"query": '{ twin(id: "campus") { id model properties } }'}
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWINMESH_")}

    answers = []
    for _ in range(2):  # the second start finds the demo data already there
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            wait_until_ready(base, process)
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
                [
                    sys.executable,
                    "-m",
                    "twinmesh.cli",
                    "token",
                    "issue",
                    "--tenant",
                    "newcomer",
                    "--subject",
                    "me",
                    "--data-dir",
                    str(tmp_path),
                ],
                env=env,
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
            process.send_signal(signal.SIGINT)
            output = process.communicate(timeout=15)[0].decode()
        assert process.returncode == 0, output
        assert "Authorization: Bearer ey" in output

    twin = answers[0]["data"]["twin"]
    assert twin["id"] == "campus"
    assert twin["model"] == "dtmi:twinmesh:building:Campus;1"
    assert twin["properties"]["name"].endswith("campus")
    assert answers[1] == answers[0]
    assert (tmp_path / "twinmesh.sqlite3").is_file()
