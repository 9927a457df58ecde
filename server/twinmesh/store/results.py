"""Turn the nested rows both compilers return into plan results (one shape for both stores).

A twin row is a map with the twin's fields and ``x``: ``{"x<i>": {"total", "edges"}}`` for the
i-th expansion of its selection; each edge is ``{"rel", "node", "i"?}`` (``i`` orders edges
where the store cannot promise aggregation order).
"""

from __future__ import annotations

from typing import Any

from twinmesh.domain import Relationship, Twin
from twinmesh.store.codec import load_document, load_time
from twinmesh.store.plan import EdgePage, NodeSelection, TwinPage, TwinRow


def _document(value: Any) -> Any:
    return load_document(value) if isinstance(value, str) else (value or {})


def _ordered(items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    items = items or []
    return sorted(items, key=lambda item: item["i"]) if items and "i" in items[0] else items


def twin_of(data: dict[str, Any]) -> Twin:
    return Twin(
        id=data["id"],
        model=data["model"],
        properties=_document(data["properties"]),
        components=_document(data["components"]),
        etag=data["etag"],
        created_at=load_time(data["created_at"]),
        updated_at=load_time(data["updated_at"]),
        metadata=_document(data.get("metadata")),
    )


def relationship_of(data: dict[str, Any]) -> Relationship:
    return Relationship(
        source_id=data["source_id"],
        id=data["id"],
        name=data["name"],
        target=data["target"],
        properties=_document(data["properties"]),
        etag=data["etag"],
    )


def twin_row(data: dict[str, Any], node: NodeSelection) -> TwinRow:
    row = TwinRow(twin_of(data))
    nested = data.get("x") or {}
    for i, expansion in enumerate(node.expansions):
        found = nested.get(f"x{i}") or {}
        edges = _ordered(found.get("edges"))
        row.expansions[expansion.key] = EdgePage(
            edges=[
                (
                    relationship_of(edge["rel"]),
                    twin_row(edge["node"], expansion.node)
                    if edge.get("node") and edge["node"].get("id") is not None
                    else None,
                )
                for edge in edges[: expansion.first]
            ],
            has_next=len(edges) > expansion.first,
            total=found.get("total"),
        )
    return row


def twin_page(
    total: int | None, rows: list[dict[str, Any]] | None, first: int, node: NodeSelection
) -> TwinPage:
    ordered = _ordered(rows)
    return TwinPage(
        rows=[twin_row(item["twin"], node) for item in ordered[:first]],
        has_next=len(ordered) > first,
        total=total,
    )
