"""Root query fields: thin resolvers over the services; the tenant comes from the context."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types.nodes import Selection

from twinmesh import domain
from twinmesh.errors import ValidationFailed
from twinmesh.graphql import cursors
from twinmesh.graphql.context import Info
from twinmesh.graphql.filters import TwinOrder, TwinWhere, order_spec, to_predicate, to_sort_keys
from twinmesh.graphql.traversal import merged_fields, node_selection, page_size
from twinmesh.graphql.types import Model, PageInfo, Twin, TwinConnection, TwinEdge
from twinmesh.store.codec import dump_time
from twinmesh.store.plan import MISSING_RANK, SortKey, TwinListQuery, TwinLookup, sort_rank


async def resolve_twin(info: Info, id: strawberry.ID) -> Twin | None:
    context = info.context
    [field] = info.selected_fields
    query = TwinLookup(str(id), await node_selection(info, field.selections))
    row = await context.access.lookup_twin(query)
    return Twin.of_row(row) if row else None


def _twin_selections(info: Info) -> list[Selection]:
    """The Twin selection under ``edges { node { ... } }`` of the connection."""
    [field] = info.selected_fields
    edges = merged_fields(field.selections).get("edges")
    node = merged_fields(edges.selections).get("node") if edges else None
    return node.selections if node else []


def _cursor_values(twin: domain.Twin, order: tuple[SortKey, ...]) -> list[Any]:
    values: list[Any] = []
    for key in order:
        if key.field.meta is not None:
            raw = getattr(twin, key.field.meta)
            values.append([0, dump_time(raw) if isinstance(raw, datetime) else raw])
            continue
        value: Any = twin.properties
        for segment in key.field.path:
            value = value.get(segment) if isinstance(value, dict) else None
        rank = sort_rank(value)
        values.append([rank, value if rank != MISSING_RANK else None])
    return [*values, twin.id]


def _decode_after(after: str, order: tuple[SortKey, ...]) -> tuple[Any, ...]:
    values = cursors.decode(after, "twins", order_spec(order))
    keys, last_id = values[:-1], values[-1] if values else None
    if (
        len(keys) != len(order)
        or not isinstance(last_id, str)
        or not all(isinstance(k, list) and len(k) == 2 for k in keys)
    ):
        raise ValidationFailed("The cursor is not valid for this ordering.")
    return (*(tuple(k) for k in keys), last_id)


async def resolve_twins(
    info: Info,
    model: str | None = None,
    exact_model: bool = False,
    where: TwinWhere | None = None,
    order_by: list[TwinOrder] | None = None,
    first: int | None = 50,
    after: str | None = None,
) -> TwinConnection:
    context = info.context
    order = to_sort_keys(order_by)
    models = None
    if model is not None:
        models = await context.access.model_family(model, exact=exact_model)
    [field] = info.selected_fields
    query = TwinListQuery(
        first=page_size(first, "twins"),
        models=models,
        where=to_predicate(where) if where is not None else None,
        order=order,
        after=_decode_after(after, order) if after is not None else None,
        total="totalCount" in merged_fields(field.selections),
        node=await node_selection(info, _twin_selections(info)),
    )
    page = await context.access.list_twins(query)
    spec = order_spec(order)
    edges = [
        TwinEdge(
            cursor=cursors.encode("twins", spec, _cursor_values(row.twin, order)),
            node=Twin.of_row(row),
        )
        for row in page.rows
    ]
    return TwinConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None
        ),
        total_count=page.total if page.total is not None else len(edges),
    )


async def resolve_models(info: Info) -> list[Model]:
    views = await info.context.access.list_models()
    return [Model.of(view) for view in views]


async def resolve_model(info: Info, id: str) -> Model | None:
    view = await info.context.access.get_model(id)
    return Model.of(view) if view else None


@strawberry.type
class Query:
    twin: Twin | None = strawberry.field(
        resolver=resolve_twin, description="The twin with this id in your tenant, or null."
    )
    twins: TwinConnection = strawberry.field(
        resolver=resolve_twins,
        description="Twins of your tenant: of a model (and its subtypes unless exactModel), "
        "filtered by where, ordered by orderBy then id, one page after a cursor.",
    )
    models: list[Model] = strawberry.field(
        resolver=resolve_models, description="Every model uploaded to your tenant."
    )
    model: Model | None = strawberry.field(
        resolver=resolve_model, description="One uploaded model by DTMI, or null."
    )
