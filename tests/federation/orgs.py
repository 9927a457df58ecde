"""Organisations for in-process federation tests: one app per org, one routing transport.

Each organisation has its own keyring, embedded store and settings; partners reach each other
through :class:`Network`, an httpx transport that routes by host to the organisations' apps
(the three-process tests in test_three_servers.py use real sockets instead). The network
records every request it carries and can take a host down, stall it (the connection is accepted
and never answered) or rewrite its answers on the way back, so tests can count contacts to a
partner instead of timing them.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from twinmesh.bootstrap import EMBEDDED_FILE, Services, build_services
from twinmesh.config import PartnerSettings, Settings
from twinmesh.domain import NewRelationship, NewTwin, TenantId
from twinmesh.federation import sign_request
from twinmesh.federation.outbound import FEDERATION_PATH
from twinmesh.federation.signatures import (
    HOP_BUDGET,
    HOPS,
    ON_BEHALF_OF,
    REQUEST_ID,
    TARGET_TENANT,
)
from twinmesh.http.app import create_app
from twinmesh.identity import KEYRING_FILE, OrgKey, load_or_create
from twinmesh.ontology import load_paths
from twinmesh.store.embedded import EmbeddedStore

ONTOLOGY = Path(__file__).resolve().parents[2] / "ontology"
BUILDING = "dtmi:twinmesh:building:Building;1"
FLOOR = "dtmi:twinmesh:building:Floor;1"
TENANT = "t"

# Rewrites an answer on its way back to the caller (a tampering man in the middle).
Rewrite = Callable[[httpx.Request, httpx.Response], Awaitable[httpx.Response]]


class Network(httpx.AsyncBaseTransport):
    """Routes requests to the app of the host they are addressed to; others fail to connect.

    ``requests`` lists every request in arrival order (answered or not); hosts in ``down``
    refuse connections, hosts in ``stalled`` accept and never answer (httpx's read timeout
    or the caller's own deadline ends the wait), and ``rewrite[host]`` replaces that host's
    answers.
    """

    def __init__(self) -> None:
        self.apps: dict[str, httpx.ASGITransport] = {}
        self.down: set[str] = set()
        self.stalled: set[str] = set()
        self.rewrite: dict[str, Rewrite] = {}
        self.requests: list[httpx.Request] = []

    def contacts(self, host: str, path: str | None = None) -> int:
        """How many requests reached ``host`` (and ``path``), answered or not."""
        return sum(
            1 for r in self.requests if r.url.host == host and (path is None or r.url.path == path)
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.requests.append(request)
        if host in self.down or host not in self.apps:
            raise httpx.ConnectError(f"cannot connect to {host}", request=request)
        if host in self.stalled:
            # As a socket that never answers: httpx's read timeout, if the caller set one.
            read_timeout = request.extensions.get("timeout", {}).get("read")
            if read_timeout is None:
                await asyncio.Event().wait()  # never set: only cancellation ends this
            await asyncio.sleep(read_timeout)
            raise httpx.ReadTimeout(f"{host} did not answer", request=request)
        response = await self.apps[host].handle_async_request(request)
        if host in self.rewrite:
            await response.aread()
            response = await self.rewrite[host](request, response)
        return response


@dataclass
class Org:
    name: str
    services: Services
    app: Starlette
    client: httpx.AsyncClient
    settings: Settings
    stack: AsyncExitStack = field(default_factory=AsyncExitStack)

    async def gql(self, query: str, role: str = "admin", **variables: Any) -> dict[str, Any]:
        assert self.services.dev_issuer is not None
        token = self.services.dev_issuer.issue_token(TENANT, "alice", roles=(role,))
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"authorization": f"Bearer {token}"},
        )
        body: dict[str, Any] = response.json()
        return body

    async def records(self, action: str | None = None) -> list[dict[str, Any]]:
        import orjson

        store, tenant = self.services.store, TenantId(TENANT)
        head, _ = await store.audit_head(tenant)
        documents: list[dict[str, Any]] = []
        after = 0
        while sealed := await store.read_audit(
            tenant, after_seq=after, through_seq=head, limit=1000
        ):
            documents += [orjson.loads(r.text) for r in sealed]
            after = sealed[-1].seq
        return [d for d in documents if action is None or d["action"] == action]

    def signing_key(self) -> OrgKey:
        return self.services.audit.keyring.signing_key()


def public_keys(data_dir: Path) -> list[dict[str, Any]]:
    keys: list[dict[str, Any]] = load_or_create(data_dir / KEYRING_FILE).public_document()["keys"]
    return keys


def partner_headers(
    sender: str,
    *,
    tenant: str = TENANT,
    request_id: str = "req-0001",
    hops: str | None = None,
    budget: str = "2",
    on_behalf_of: str | None = None,
    traceparent: str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
) -> dict[str, str]:
    """The headers a partner request carries, before signing."""
    return {
        "content-type": "application/json",
        TARGET_TENANT: tenant,
        ON_BEHALF_OF: f"alice@{sender}" if on_behalf_of is None else on_behalf_of,
        REQUEST_ID: request_id,
        HOPS: sender if hops is None else hops,
        HOP_BUDGET: budget,
        "traceparent": traceparent,
    }


def signed(
    sender: Org,
    to: str,
    body: bytes,
    *,
    key: OrgKey | None = None,
    org: str | None = None,
    url: str | None = None,
    **header_options: Any,
) -> dict[str, str]:
    """A request from ``sender`` to organisation ``to``'s federation endpoint, signed with
    ``key`` (default: the sender's current key) as organisation ``org`` (default: the
    sender's name); ``header_options`` go to :func:`partner_headers`, with ``now`` and
    ``expires_in`` passed to :func:`~twinmesh.federation.sign_request`."""
    sign_options = {k: header_options.pop(k) for k in ("now", "expires_in") if k in header_options}
    return sign_request(
        method="POST",
        url=url or f"http://{to}{FEDERATION_PATH}",
        headers=partner_headers(sender.name, **header_options),
        body=body,
        org=org or sender.name,
        key=key or sender.signing_key(),
        **sign_options,
    )


def org_settings(
    name: str,
    names: tuple[str, ...],
    dirs: dict[str, Path],
    keys: dict[str, list[dict[str, Any]]],
    *,
    grants: dict[str, list[str]] | None,
    fetch_keys: bool,
    timeout_s: float,
    hop_budget: int,
) -> Settings:
    partners = [
        PartnerSettings(
            org=other,
            base_url=f"http://{other}",
            keys=None if fetch_keys else keys[other],
            tenants=[TENANT] if grants is None or other in grants.get(name, []) else [],
            remote_tenant=TENANT,
            timeout_s=timeout_s,
        )
        for other in names
        if other != name
    ]
    return Settings(
        auth_dev_issuer=True,
        data_dir=dirs[name],
        org_id=name,
        public_origin=f"http://{name}",
        partners=partners,
        federation_hop_budget=hop_budget,
    )


async def start(settings: Settings, network: Network, *, file_store: bool) -> Org:
    """Build and start one organisation's app on ``network`` (replacing any app of its name)."""
    name = settings.org_id
    store = EmbeddedStore(settings.data_dir / EMBEDDED_FILE) if file_store else EmbeddedStore()
    services = build_services(settings, store=store)
    stack = AsyncExitStack()
    outbound = await stack.enter_async_context(httpx.AsyncClient(transport=network))
    services.federation.client._http = outbound
    services.federation.registry._http = outbound  # key fetches travel the network too
    app = create_app(services)
    await stack.enter_async_context(app.router.lifespan_context(app))
    network.apps[name] = httpx.ASGITransport(app=app)
    client = await stack.enter_async_context(
        httpx.AsyncClient(transport=network.apps[name], base_url=f"http://{name}")
    )
    return Org(name, services, app, client, settings, stack)


async def restart(orgs: dict[str, Org], network: Network, name: str) -> Org:
    """Stop ``name``'s app and start a new one with fresh services over the same settings
    (and, for file stores, the same database file)."""
    old = orgs[name]
    await old.stack.aclose()
    file_store = old.settings.data_dir.joinpath(EMBEDDED_FILE).exists()
    orgs[name] = await start(old.settings, network, file_store=file_store)
    return orgs[name]


@asynccontextmanager
async def federation(
    names: tuple[str, ...] = ("a.test", "b.test", "c.test"),
    *,
    grants: dict[str, list[str]] | None = None,
    fetch_keys: bool = False,
    timeout_s: float = 2.0,
    hop_budget: int = 3,
    file_stores: bool = False,
) -> AsyncIterator[tuple[dict[str, Org], Network]]:
    """Organisations that all know each other; ``grants[org]`` lists the partners allowed to
    query ``org``'s tenant (default: all). Partner keys are pinned in the settings, or with
    ``fetch_keys`` fetched from each partner's ``/.well-known/twinmesh/keys``; ``timeout_s``
    is every partner's timeout; ``file_stores`` keeps each store in its data directory (so
    :func:`restart` finds it again)."""
    network = Network()
    dirs = {name: Path(tempfile.mkdtemp(prefix=f"twinmesh-{name}-")) for name in names}
    keys = {name: public_keys(path) for name, path in dirs.items()}
    orgs: dict[str, Org] = {}
    try:
        for name in names:
            settings = org_settings(
                name,
                names,
                dirs,
                keys,
                grants=grants,
                fetch_keys=fetch_keys,
                timeout_s=timeout_s,
                hop_budget=hop_budget,
            )
            orgs[name] = await start(settings, network, file_store=file_stores)
            await seed(orgs[name].services)
        yield orgs, network
    finally:
        for org in reversed(orgs.values()):
            await org.stack.aclose()


async def seed(services: Services) -> None:
    tenant = TenantId(TENANT)
    await services.models.upload(tenant, [d.content for d in load_paths([ONTOLOGY])])
    await services.policy_versions.adopt(tenant, "demo")


async def building(
    org: Org, twin_id: str, *, name: str, links: tuple[str, ...] = (), floor: bool = False
) -> None:
    services, tenant = org.services, TenantId(TENANT)
    await services.twins.create_twin(tenant, NewTwin(twin_id, BUILDING, {"name": name}))
    for n, ref in enumerate(links):
        await services.twins.create_relationship(
            tenant, NewRelationship(twin_id, f"{twin_id}-link{n}", "hasPart", ref)
        )
    if floor:
        await services.twins.create_twin(tenant, NewTwin(f"{twin_id}-f1", FLOOR, {"name": "F1"}))
