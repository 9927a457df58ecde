"""The demo tenant's data: a small campus from the seeded generator, created once.

``twinmesh serve --demo`` seeds it on start-up; on a store that already holds it, nothing is
written again, so restarting the demo keeps what a newcomer changed.
"""

from __future__ import annotations

import logging

from twinmesh.bootstrap import Services
from twinmesh.devtools.campus import generate_campus
from twinmesh.domain import NewRelationship, NewTwin

log = logging.getLogger("twinmesh.demo")

DEMO_SEED = 2026
DEMO_SHAPE = {"buildings": 1, "floors": 2, "rooms": 3}


async def seed_demo(services: Services) -> None:
    """Create the demo campus in the default tenant unless it is already there."""
    tenant = services.default_tenant
    campus = generate_campus(tenant, seed=DEMO_SEED, **DEMO_SHAPE)
    root = campus.twins[0]
    if await services.store.get_twin(tenant, root.id) is not None:
        log.info("demo tenant %r already seeded", tenant)
        return
    for twin in campus.twins:
        await services.store.create_twin(
            tenant,
            NewTwin(
                id=twin.id,
                model=twin.model,
                properties=twin.properties,
                components=dict(twin.components),
            ),
        )
    for rel in campus.relationships:
        await services.store.create_relationship(
            tenant,
            NewRelationship(
                source_id=rel.source_id,
                id=rel.id,
                name=rel.name,
                target=rel.target_id,
                properties=rel.properties,
            ),
        )
    log.info(
        "seeded demo tenant %r: %d twins, %d relationships",
        tenant,
        len(campus.twins),
        len(campus.relationships),
    )
