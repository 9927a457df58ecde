"""The demo tenant: the sample ontology and a small campus, created once through the services.

``twinmesh serve --demo`` seeds it on start-up; every other tenant a development token names
gets the sample ontology on first use. Twins go through the same validation as API
writes, so the demo doubles as a check that the generator and the ontology agree. On a store
that already holds the demo, nothing is written again: restarting keeps what a newcomer changed.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from twinmesh.bootstrap import Services
from twinmesh.devtools.campus import generate_campus
from twinmesh.domain import NewRelationship, NewTwin, TenantId
from twinmesh.errors import Conflict, ValidationFailed
from twinmesh.ontology import load_paths

log = logging.getLogger("twinmesh.demo")

DEMO_TENANT = TenantId("demo")
DEMO_SUBJECT = "demo-admin"
DEMO_SEED = 2026
DEMO_SHAPE = {"buildings": 1, "floors": 2, "rooms": 3}
# In a wheel the sample ontology ships inside the package; in a checkout it is ontology/.
ONTOLOGY_DIRS = (
    Path(__file__).with_name("sample_ontology"),
    Path(__file__).resolve().parents[2] / "ontology",
)


def sample_ontology_dir() -> Path:
    """Where the sample smart-building ontology lives."""
    for candidate in ONTOLOGY_DIRS:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("The sample ontology is missing from this installation.")


async def prepare_demo_tenant(services: Services, tenant: TenantId) -> None:
    """Give a tenant the sample ontology the first time it is used (demo mode only).

    The registry caches each tenant's models, so after the first request this is a lookup.
    """
    if not await services.models.interfaces(tenant):
        documents = load_paths([sample_ontology_dir()])
        if any(not isinstance(d.content, dict) for d in documents):
            raise ValidationFailed("The sample ontology contains a file that is not an object.")
        with contextlib.suppress(Conflict):  # a concurrent first request uploaded it
            await services.models.upload(tenant, [d.content for d in documents])


def demo_token(services: Services) -> str:
    """A development-issuer token for the demo tenant's administrator."""
    if services.dev_issuer is None:
        raise RuntimeError("the demo needs the development issuer")
    return services.dev_issuer.issue_token(DEMO_TENANT, DEMO_SUBJECT, roles=("admin",))


async def seed_demo(services: Services) -> None:
    """Upload the sample ontology and create the demo campus unless they are already there."""
    tenant = DEMO_TENANT
    await prepare_demo_tenant(services, tenant)
    campus = generate_campus(tenant, seed=DEMO_SEED, **DEMO_SHAPE)
    if await services.store.get_twin(tenant, campus.twins[0].id) is not None:
        log.info("demo tenant %r already seeded", tenant)
        return
    for twin in campus.twins:
        await services.twins.create_twin(
            tenant,
            NewTwin(twin.id, twin.model, twin.properties, dict(twin.components)),
        )
    for rel in campus.relationships:
        await services.twins.create_relationship(
            tenant, NewRelationship(rel.source_id, rel.id, rel.name, rel.target_id, rel.properties)
        )
    log.info(
        "seeded demo tenant %r: %d models, %d twins, %d relationships",
        tenant,
        len(await services.models.list(tenant)),
        len(campus.twins),
        len(campus.relationships),
    )
