"""Run real ``twinmesh serve`` processes for tests and benchmarks, and always stop them.

A server is launched as ``python -m twinmesh.cli serve`` with the caller's environment minus
every ``TWINMESH_*`` variable (a developer's own settings must not leak in), its output in a
log file, and is ready once ``GET /readyz`` answers 200. Start-up failures raise
:class:`ServerStartError` with the log's tail; :meth:`TwinmeshServer.stop` kills with SIGKILL,
so a stop is as abrupt as a crash and never hangs on shutdown work.

:func:`prepare_federation` writes the settings of organisations that are partners of each other
(free ports, organisation keys pinned by the others, tenants granted);
:func:`running_federation` starts their servers together and stops them all on exit.

Settings files are written by :func:`settings_toml`: no TOML writer is among the project's
dependencies, and these flat files with inline tables need none.

Usage::

    sites = prepare_federation(root, ("a.test", "b.test"), tenant="t", policies_dir=policies)
    with running_federation(sites) as servers:
        httpx.get(f"{servers['a.test'].origin}/readyz")
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from twinmesh.auth import DevIssuer
from twinmesh.devtools.neo4j_server import free_port  # re-exported: one port picker
from twinmesh.identity import KEYRING_FILE, load_or_create

__all__ = [
    "LOOPBACK",
    "READY_DEADLINE_S",
    "SETTINGS_FILE",
    "FederatedOrg",
    "ServerStartError",
    "TwinmeshServer",
    "dev_settings",
    "free_port",
    "launch",
    "prepare_federation",
    "running_federation",
    "server_env",
    "settings_toml",
    "twinmesh_command",
    "write_settings",
]

LOOPBACK = "127.0.0.1"
READY_DEADLINE_S = 30.0
POLL_INTERVAL_S = 0.05
STOP_TIMEOUT_S = 15.0
LOG_TAIL_CHARS = 3000
SETTINGS_FILE = "twinmesh.toml"
LOG_FILE = "server.log"


class ServerStartError(RuntimeError):
    """A server exited during start-up or did not answer ``/readyz`` in time; the message
    ends with the tail of its log."""


# -- settings files ---------------------------------------------------------------------------


def _toml_value(value: object) -> str:
    """``value`` as TOML: strings, numbers, booleans, arrays, inline tables (a JSON string is
    a TOML basic string for the ASCII text written here)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Sequence):
        return "[" + ", ".join(map(_toml_value, value)) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML for {value!r}")


def settings_toml(
    settings: Mapping[str, object], partners: Sequence[Mapping[str, object]] = ()
) -> str:
    """A settings file: ``settings`` as top-level keys, each partner as a ``[[partners]]``."""
    lines = [f"{key} = {_toml_value(value)}" for key, value in settings.items()]
    for partner in partners:
        lines += ["", "[[partners]]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in partner.items()]
    return "\n".join(lines) + "\n"


def write_settings(
    path: Path, settings: Mapping[str, object], partners: Sequence[Mapping[str, object]] = ()
) -> Path:
    """Write :func:`settings_toml` to ``path`` (for ``--config``); returns ``path``."""
    path.write_text(settings_toml(settings, partners))
    return path


def dev_settings(policies_dir: Path, **more: object) -> dict[str, object]:
    """A development server's settings: it trusts the development token issuer (tokens from
    ``DevIssuer.load_or_create(data_dir)``), loads ``policies_dir``, logs warnings only."""
    return {
        "auth_dev_issuer": True,
        "policies_dir": str(policies_dir),
        "log_level": "warning",
        **more,
    }


# -- one server ---------------------------------------------------------------------------------


def twinmesh_command(*args: str) -> list[str]:
    """The command line of ``twinmesh <args>`` with this interpreter."""
    return [sys.executable, "-m", "twinmesh.cli", *args]


def server_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any ``TWINMESH_*`` variable, then ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWINMESH_")}
    return env | dict(extra or {})


@dataclass
class TwinmeshServer:
    """A launched ``twinmesh serve`` process: where it listens and logs, and the process."""

    name: str  # in error messages, e.g. the organisation id
    port: int
    log_file: Path
    process: subprocess.Popen[bytes]
    launched_at: float = field(default_factory=time.monotonic)

    @property
    def origin(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def log_tail(self, chars: int = LOG_TAIL_CHARS) -> str:
        return self.log_file.read_text(errors="replace")[-chars:]

    def wait_until_ready(self, deadline: float) -> None:
        """Return once ``/readyz`` answers 200; raise :class:`ServerStartError` if the process
        exits first or ``deadline`` (a :func:`time.monotonic` time) passes."""
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerStartError(
                    f"{self.name} exited with code {self.process.returncode} during start-up; "
                    f"its log ends:\n{self.log_tail()}"
                )
            try:
                if httpx.get(f"{self.origin}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(POLL_INTERVAL_S)
        waited = time.monotonic() - self.launched_at
        raise ServerStartError(
            f"{self.name} was not ready {waited:.1f} s after its launch; "
            f"its log ends:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """Kill the process with SIGKILL (no shutdown work, as in a crash) and reap it; only
        reaps one that has exited already."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=STOP_TIMEOUT_S)


def launch(
    *,
    port: int,
    data_dir: Path,
    config: Path | None = None,
    store: str | None = None,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    log_file: Path | None = None,
    cwd: Path | None = None,
    name: str = "twinmesh",
) -> TwinmeshServer:
    """Launch ``twinmesh serve`` on ``port`` over ``data_dir`` without waiting for it (see
    :meth:`TwinmeshServer.wait_until_ready`). ``config`` is passed as ``--config``, ``store`` as
    ``--store``, then ``args``; ``env`` is added to :func:`server_env`; ``cwd`` is its working
    directory (default: ours, where relative settings such as the default ``policies_dir``
    resolve). Output goes to ``log_file`` (default ``data_dir/server.log``, overwritten)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    command = twinmesh_command("serve", "--port", str(port), "--data-dir", str(data_dir))
    if config is not None:
        command += ["--config", str(config)]
    if store is not None:
        command += ["--store", store]
    log_file = log_file or data_dir / LOG_FILE
    with log_file.open("wb") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(  # noqa: S603 - our own CLI, with this interpreter
            [*command, *args],
            env=server_env(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
        )
    return TwinmeshServer(name, port, log_file, process)


# -- organisations that are partners of each other ----------------------------------------------


@dataclass(frozen=True)
class FederatedOrg:
    """One organisation of :func:`prepare_federation`: its id, its server's loopback port and
    data directory (organisation keys, development issuer key, settings file, log), and the
    tenant it shares with the others."""

    org: str
    port: int
    data_dir: Path
    tenant: str

    @property
    def origin(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def config(self) -> Path:
        return self.data_dir / SETTINGS_FILE

    def ref(self, twin_id: str) -> str:
        """The ``twin://`` reference to one of this organisation's twins in the tenant."""
        return f"twin://{self.org}/{self.tenant}/{twin_id}"

    def launch(self) -> TwinmeshServer:
        """Launch its server (working in its data directory: every path it needs is in the
        settings file)."""
        return launch(
            port=self.port,
            data_dir=self.data_dir,
            config=self.config,
            cwd=self.data_dir,
            name=self.org,
        )


def prepare_federation(
    root: Path,
    orgs: Sequence[str],
    *,
    tenant: str,
    policies_dir: Path,
    partner_timeout_s: float = 2.0,
    grants: Mapping[str, Sequence[str]] | None = None,
    org_settings: Mapping[str, Mapping[str, object]] | None = None,
) -> dict[str, FederatedOrg]:
    """Everything but the processes for ``orgs``, each a partner of all the others.

    Each organisation gets a free loopback port and the data directory ``root/<org>`` with its
    organisation keys and development issuer key (created now: the others pin the first, callers
    mint tokens with the second before its server starts). Its settings file holds
    :func:`dev_settings`, its ``org_id`` and ``public_origin``, ``org_settings[org]``, and a
    partner entry per other organisation: its origin, its keys pinned, ``remote_tenant`` and
    ``timeout_s``, and ``tenants = [tenant]`` if ``grants[org]`` names it (``grants`` lists
    who may query each organisation's tenant; default: everyone).
    """
    sites = {name: FederatedOrg(name, free_port(), root / name, tenant) for name in orgs}
    keys: dict[str, object] = {}
    for name, site in sites.items():
        site.data_dir.mkdir(parents=True, exist_ok=True)
        DevIssuer.load_or_create(site.data_dir)
        keys[name] = load_or_create(site.data_dir / KEYRING_FILE).public_document()["keys"]
    for name, site in sites.items():
        allowed = grants.get(name, ()) if grants is not None else orgs
        partners = [
            {
                "org": other,
                "base_url": sites[other].origin,
                "tenants": [tenant] if other in allowed else [],
                "remote_tenant": tenant,
                "timeout_s": partner_timeout_s,
                "keys": keys[other],
            }
            for other in orgs
            if other != name
        ]
        own = {"org_id": name, "public_origin": site.origin, **(org_settings or {}).get(name, {})}
        write_settings(site.config, dev_settings(policies_dir, **own), partners)
    return sites


@contextmanager
def running_federation(
    sites: Mapping[str, FederatedOrg],
    *,
    after_launch: Callable[[TwinmeshServer], object] | None = None,
    ready_deadline_s: float = READY_DEADLINE_S,
) -> Iterator[dict[str, TwinmeshServer]]:
    """The servers of ``sites``, launched together and ready within one deadline; all stopped
    on exit, also when one fails to start. ``after_launch`` sees each server as soon as it is
    launched (e.g. to pin its CPUs before it starts threads)."""
    with ExitStack() as stack:
        servers: dict[str, TwinmeshServer] = {}
        for name, site in sites.items():
            servers[name] = server = site.launch()
            stack.callback(server.stop)
            if after_launch is not None:
                after_launch(server)
        deadline = time.monotonic() + ready_deadline_s
        for server in servers.values():
            server.wait_until_ready(deadline)
        yield servers
