"""Provision and run a real Neo4j 5.26 Community server for tests, benchmarks and local use.

Maven resolves ``org.neo4j:neo4j`` (newest 5.26 patch, see ``neo4j/pom.xml``) into a
git-ignored cache; the server is then started straight from those jars with the machine's
Java 17 (``org.neo4j.server.CommunityEntryPoint``), Bolt on a free loopback port, HTTP off,
small heap and page cache, authentication off (it listens on 127.0.0.1 only).

There is no Python library for this: testcontainers needs Docker, which this project does not
assume, and Neo4j's own tarball is not on a package registry.

Usage::

    python -m twinmesh.devtools.neo4j_server provision   # resolve jars (idempotent)
    python -m twinmesh.devtools.neo4j_server run         # foreground server for manual use
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from twinmesh.errors import StoreUnavailable
from twinmesh.store.port import GraphStore

JAVA_MAIN = "org.neo4j.server.CommunityEntryPoint"
READY_TIMEOUT_S = 180.0


class Neo4jHarnessError(RuntimeError):
    """Provisioning or starting the Neo4j server failed; the message says what to do."""


def repo_root() -> Path:
    """The checkout this module was installed from (editable install), or the working directory."""
    here = Path(__file__).resolve()
    for candidate in (*here.parents, Path.cwd()):
        if (candidate / "neo4j" / "pom.xml").is_file():
            return candidate
    raise Neo4jHarnessError("Cannot find neo4j/pom.xml; run from the twinmesh checkout.")


def lib_dir(root: Path) -> Path:
    return root / ".cache" / "neo4j" / "lib"


def provision(root: Path | None = None) -> Path:
    """Resolve the Neo4j jars with Maven (skipped when the pom has not changed since)."""
    root = root or repo_root()
    pom = root / "neo4j" / "pom.xml"
    libs = lib_dir(root)
    stamp = libs.parent / "pom.stamp"
    if stamp.is_file() and stamp.read_bytes() == pom.read_bytes() and any(libs.glob("neo4j-*.jar")):
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise Neo4jHarnessError("Maven (mvn) is not on PATH; install it to provision Neo4j.")
    if libs.exists():
        shutil.rmtree(libs)
    command = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={libs}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
        raise Neo4jHarnessError(
            "Maven could not resolve org.neo4j:neo4j 5.26.x from Maven Central:\n" + "\n".join(tail)
        )
    stamp.write_bytes(pom.read_bytes())
    return libs


def neo4j_version(libs: Path) -> str:
    jars = sorted(libs.glob("neo4j-kernel-5.*.jar"))
    if not jars:
        raise Neo4jHarnessError(f"No Neo4j kernel jar in {libs}; run provision again.")
    return jars[-1].stem.removeprefix("neo4j-kernel-")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_config(home: Path, bolt_port: int) -> Path:
    conf_dir = home / "conf"
    for sub in ("conf", "data", "logs", "plugins", "import", "run", "lib", "licenses"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    (conf_dir / "neo4j.conf").write_text(
        "\n".join(
            [
                f"server.directories.data={home / 'data'}",
                f"server.directories.logs={home / 'logs'}",
                f"server.directories.plugins={home / 'plugins'}",
                f"server.directories.import={home / 'import'}",
                f"server.directories.run={home / 'run'}",
                f"server.directories.lib={home / 'lib'}",
                f"server.directories.licenses={home / 'licenses'}",
                "server.default_listen_address=127.0.0.1",
                f"server.bolt.listen_address=127.0.0.1:{bolt_port}",
                f"server.bolt.advertised_address=127.0.0.1:{bolt_port}",
                "server.http.enabled=false",
                "server.https.enabled=false",
                "dbms.security.auth_enabled=false",
                "server.memory.pagecache.size=128m",
                "db.tx_log.rotation.retention_policy=1 files",
                "dbms.usage_report.enabled=false",
                "server.jvm.additional=-XX:+UseParallelGC",
                "",
            ]
        )
    )
    return conf_dir


def _bolt_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Neo4jServer:
    """A running server: its Bolt URI, process and home directory."""

    uri: str
    version: str
    process: subprocess.Popen[bytes]
    home: Path

    def log_tail(self, lines: int = 30) -> str:
        parts = []
        for name in ("console.log", "neo4j.log", "debug.log"):
            path = self.home / "logs" / name
            if path.is_file():
                parts.extend(path.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(parts)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _wait_for_bolt(server: Neo4jServer, port: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise Neo4jHarnessError(
                f"Neo4j exited with code {server.process.returncode} during start-up:\n"
                + server.log_tail()
            )
        if _bolt_open(port):
            return
        time.sleep(0.2)
    server.stop()
    raise Neo4jHarnessError(
        f"Neo4j did not open Bolt within {READY_TIMEOUT_S:.0f} s:\n" + server.log_tail()
    )


def start(
    home: Path,
    *,
    root: Path | None = None,
    port: int | None = None,
    heap: str = "512m",
    echo: bool = False,
) -> Neo4jServer:
    """Start a server whose files live under ``home``; returns once Bolt accepts connections."""
    libs = provision(root)
    java_home = os.environ.get("JAVA_HOME")
    java = shutil.which("java", path=str(Path(java_home) / "bin")) if java_home else None
    java = java or shutil.which("java")
    if java is None:
        raise Neo4jHarnessError("Java 17 is not on PATH; install a JDK 17 to run Neo4j.")
    port = port or free_port()
    conf_dir = write_config(home, port)
    command = [
        java,
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseParallelGC",
        "-Dfile.encoding=UTF-8",
        "-cp",
        f"{libs}/*",
        JAVA_MAIN,
        f"--home-dir={home}",
        f"--config-dir={conf_dir}",
    ]
    if echo:
        process = subprocess.Popen(command, cwd=home)  # noqa: S603
    else:
        with (home / "logs" / "console.log").open("wb") as out:  # the child keeps its own copy
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=home)  # noqa: S603
    server = Neo4jServer(f"bolt://127.0.0.1:{port}", neo4j_version(libs), process, home)
    try:
        _wait_for_bolt(server, port)
    except BaseException:
        server.stop()
        raise
    return server


@contextmanager
def running(*, root: Path | None = None) -> Iterator[Neo4jServer]:
    """A server in a temporary home, always stopped and removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="twinmesh-neo4j-") as tmp:
        server = start(Path(tmp), root=root)
        try:
            yield server
        finally:
            server.stop()


async def open_when_ready(store: GraphStore, deadline_s: float = 90.0) -> None:
    """Open a store on a server that just started: Neo4j opens Bolt before its default
    database is online, so retry with a deadline."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            await store.open()
            return
        except StoreUnavailable:
            await store.close()
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.25)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("command", choices=["provision", "run"])
    args = parser.parse_args(argv)
    try:
        if args.command == "provision":
            libs = provision()
            print(f"Neo4j {neo4j_version(libs)} jars ready in {libs}")
            return 0
        home = repo_root() / ".cache" / "neo4j" / "home"
        server = start(home, port=None if _bolt_open(7687) else 7687, echo=True)
        print(f"Neo4j {server.version} on {server.uri} (auth off). Use it with:")
        print(f"  TWINMESH_NEO4J_URI={server.uri} twinmesh serve --store neo4j")
        print("Ctrl-C stops it.")
        try:
            server.process.wait()
        except KeyboardInterrupt:
            server.stop()
        return 0
    except Neo4jHarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
