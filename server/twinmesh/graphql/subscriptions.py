"""``Subscription.twinChanges``: twin changes as they happen, over WebSocket.

The change feed is the tenant's audit log: every committed change has its record there, in
order, on every replica (the chain lives in the store). A subscription polls the log after the
last record it saw and authorises each change *when it delivers it*, with the tenant's current
policies: a caller whose access is revoked stops receiving the changes at once (SECURITY.md
item 40). A change is delivered with the twin as the caller may see it now (denied properties
left out); a deletion only for a twin this subscription has already shown, so deleted ids the
caller never could read stay hidden.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import orjson
import strawberry

from twinmesh.graphql.context import Info
from twinmesh.graphql.types import Twin

POLL_INTERVAL_S = 0.5
PAGE = 200
TWIN_ACTIONS = frozenset({"createTwin", "updateTwin", "deleteTwin"})


@strawberry.type(description="A change of a twin, as recorded in the audit log.")
class TwinChange:
    seq: int = strawberry.field(description="The audit record's sequence number.")
    action: str = strawberry.field(description="createTwin, updateTwin or deleteTwin.")
    twin_id: strawberry.ID
    time: str
    twin: Twin | None = strawberry.field(
        description="The twin after the change as you may see it now; null once deleted."
    )


def change(seq: int, action: str, twin_id: str, time: str, twin: Twin | None) -> TwinChange:
    return TwinChange(seq=seq, action=action, twin_id=strawberry.ID(twin_id), time=time, twin=twin)


async def changes(
    info: Info, ids: list[strawberry.ID] | None, model: str | None, after: int | None
) -> AsyncGenerator[TwinChange, None]:
    context = info.context
    access, store, tenant = context.access, context.services.store, context.tenant
    wanted = set(ids) if ids is not None else None
    family = set(await access.model_family(model, exact=False)) if model else None
    shown: set[str] = set()
    if after is None:
        after, _ = await store.audit_head(tenant)  # changes from now on
    while True:
        await context.services.policy_versions.refresh(tenant)
        access.forget_decisions()
        records = await store.read_audit(tenant, after_seq=after, through_seq=2**62, limit=PAGE)
        for record in records:
            after = record.seq
            document = orjson.loads(record.text)
            action, twin_id = document["action"], document["resource"]["id"]
            if document["outcome"] != "success" or action not in TWIN_ACTIONS:
                continue
            if wanted is not None and twin_id not in wanted:
                continue
            if action == "deleteTwin":
                if twin_id in shown:
                    shown.discard(twin_id)
                    yield change(record.seq, action, twin_id, record.time, None)
                continue
            twin = await access.get_twin(twin_id)  # authorised now, with today's policies
            if twin is None or (family is not None and twin.model not in family):
                continue
            shown.add(twin_id)
            yield change(record.seq, action, twin_id, record.time, Twin.of(twin))
        if len(records) < PAGE:
            await asyncio.sleep(POLL_INTERVAL_S)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Changes of twins you may read, from now on (or after the sequence number "
        "`after`, to resume); optionally only these ids or twins of this model (and subtypes)."
    )
    async def twin_changes(
        self,
        info: Info,
        ids: list[strawberry.ID] | None = None,
        model: str | None = None,
        after: int | None = None,
    ) -> AsyncGenerator[TwinChange, None]:
        async for found in changes(info, ids, model, after):
            yield found
