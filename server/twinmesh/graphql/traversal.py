"""From a GraphQL selection to one read plan, and from the plan's result back to GraphQL objects.

The root resolvers (``twin``, ``twins``) read the whole selection below them — nested
``relationships`` / ``incomingRelationships`` with their arguments, aliases and fragments —
compile it into a :class:`~twinmesh.store.plan.NodeSelection` and run it as one statement. The
nested resolvers then only hand out what was prefetched under their response key. A Twin that
did not come from a plan (a mutation's result) fetches a field's relationships on demand, still
one statement per field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from twinmesh.errors import LimitExceeded, ValidationFailed
from twinmesh.graphql import cursors
from twinmesh.graphql.context import Info
from twinmesh.graphql.limits import GraphQLLimits
from twinmesh.store.plan import EdgePage, Expansion, NodeSelection, TwinLookup

MAX_TRAVERSAL_DEPTH = 4
DEFAULT_PAGE = 50
MAX_PAGE = GraphQLLimits().max_page_size  # the request limits reject larger pages first
RELATIONSHIP_FIELDS: dict[str, Literal["out", "in"]] = {
    "relationships": "out",
    "incomingRelationships": "in",
}


@dataclass
class Merged:
    """One response key: the field name, its arguments and all its sub-selections."""

    name: str
    arguments: dict[str, Any]
    selections: list[Selection] = field(default_factory=list)


def merged_fields(selections: list[Selection]) -> dict[str, Merged]:
    """Fields by response key, with fragments flattened and repeated keys merged."""
    out: dict[str, Merged] = {}

    def visit(items: list[Selection]) -> None:
        for item in items:
            if isinstance(item, FragmentSpread | InlineFragment):
                visit(item.selections)
            elif isinstance(item, SelectedField):
                key = item.alias or item.name
                found = out.setdefault(key, Merged(item.name, dict(item.arguments)))
                found.selections.extend(item.selections)

    visit(selections)
    return out


def literal_int(value: Any) -> Any:
    """Strawberry hands literal arguments of a selection over as source text ("2")."""
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value


def literal_bool(value: Any) -> bool:
    return value is True or value == "true"


def page_size(first: Any, where: str) -> int:
    first = literal_int(first)
    if first is None:
        return DEFAULT_PAGE
    if not isinstance(first, int) or first < 0:
        raise ValidationFailed(f"`first` on {where} must be 0 or more.", details={"field": where})
    if first > MAX_PAGE:
        raise LimitExceeded(
            f"`first` on {where} is at most {MAX_PAGE}; page with `after` instead.",
            details={"field": where, "max": MAX_PAGE},
        )
    return first


def _after(direction: str, cursor: Any) -> tuple[str, ...] | None:
    if cursor is None:
        return None
    values = cursors.decode(str(cursor), f"rel-{direction}", "")
    if not all(isinstance(v, str) for v in values) or len(values) != (
        1 if direction == "out" else 2
    ):
        raise ValidationFailed("The cursor is not valid for these relationships.")
    return tuple(values)


def edge_cursor(direction: str, source_id: str, rel_id: str) -> str:
    values = [rel_id] if direction == "out" else [source_id, rel_id]
    return cursors.encode(f"rel-{direction}", "", values)


async def node_selection(info: Info, selections: list[Selection], depth: int = 0) -> NodeSelection:
    """The expansions a Twin's selection asks for, recursively."""
    expansions = []
    for key, merged in merged_fields(selections).items():
        direction = RELATIONSHIP_FIELDS.get(merged.name)
        if direction is None:
            continue
        expansions.append(await expansion(info, key, merged, direction, depth))
    return NodeSelection(tuple(expansions))


async def expansion(
    info: Info, key: str, merged: Merged, direction: Literal["out", "in"], depth: int
) -> Expansion:
    if depth >= MAX_TRAVERSAL_DEPTH:
        raise LimitExceeded(
            f"Relationships nest at most {MAX_TRAVERSAL_DEPTH} levels deep in one query.",
            details={"max": MAX_TRAVERSAL_DEPTH},
        )
    args = merged.arguments
    model = args.get("targetModel" if direction == "out" else "sourceModel")
    models = None
    if model is not None:
        context = info.context
        models = await context.access.model_family(
            str(model), exact=literal_bool(args.get("exactModel"))
        )
    connection = merged_fields(merged.selections)
    neighbour: list[Selection] = []
    if "edges" in connection:
        node = merged_fields(connection["edges"].selections).get("node")
        if node is not None:
            side = merged_fields(node.selections).get("target" if direction == "out" else "source")
            neighbour = side.selections if side else []
    return Expansion(
        key=key,
        direction=direction,
        first=page_size(args.get("first"), merged.name),
        name=args.get("name"),
        models=models,
        after=_after(direction, args.get("after")),
        total="totalCount" in connection,
        node=await node_selection(info, neighbour, depth + 1),
    )


async def fetch_on_demand(info: Info, twin_id: str, direction: Literal["out", "in"]) -> EdgePage:
    """The relationships of one field for a twin that was not loaded through a plan."""
    key = info.path.key
    merged = merged_fields(list(info.selected_fields)).get(str(key))
    if merged is None:  # pragma: no cover - strawberry always passes the field itself
        merged = Merged(info.field_name, {})
    selection = NodeSelection((await expansion(info, str(key), merged, direction, 0),))
    context = info.context
    row = await context.access.lookup_twin(TwinLookup(twin_id, selection))
    if row is None:
        return EdgePage(edges=[], has_next=False, total=0)
    return row.expansions[str(key)]
