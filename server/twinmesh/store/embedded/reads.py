"""Compile a read plan into one SQLite statement.

The statement is flat (SQLite's parser limits nesting): a CTE per level, and a ``UNION ALL`` of
typed rows that :func:`assemble` turns back into the nested result, so a whole GraphQL read
is one round trip. Filters and ordering read the property document with
``json_extract``/``json_type``, guarded by JSON type so that comparisons behave as they do on
Neo4j (a string never compares with a number; a missing property never matches).
"""

from __future__ import annotations

from typing import Any

import orjson

from twinmesh.store.plan import (
    COMPARISONS,
    MISSING_RANK,
    AllOf,
    AnyOf,
    Condition,
    EdgePage,
    Expansion,
    FieldRef,
    NodeSelection,
    Not,
    Predicate,
    SortKey,
    TwinListQuery,
    TwinLookup,
    TwinPage,
    TwinRow,
)
from twinmesh.store.results import relationship_of, twin_of
from twinmesh.store.statements import StatementBuilder

_META_COLUMNS = {
    "id": "id",
    "model": "model",
    "created_at": "created_at",
    "updated_at": "updated_at",
}
_SCALAR_TYPES = "('integer', 'real', 'text', 'true', 'false')"


class SqlCompiler(StatementBuilder):
    """Builds statement text from fixed fragments; every value becomes a named parameter."""

    marker = ":"

    # -- fields and predicates -------------------------------------------------------------

    def _json_path(self, path: tuple[str, ...]) -> str:
        return self.param("$." + ".".join(path))

    def _scalar(self, alias: str, ref: FieldRef) -> tuple[str, str | None, str | None]:
        """(value expression, json_type expression or None for metadata, path parameter)."""
        if ref.meta is not None:
            return f"{alias}.{_META_COLUMNS[ref.meta]}", None, None
        path = self._json_path(ref.path)
        return (
            f"json_extract({alias}.properties, {path})",
            f"json_type({alias}.properties, {path})",
            path,
        )

    @staticmethod
    def _type_guard(type_expr: str | None, value: Any) -> str:
        if type_expr is None:
            return "1"
        if isinstance(value, bool):
            return f"{type_expr} = '{'true' if value else 'false'}'"
        if isinstance(value, int | float):
            return f"{type_expr} IN ('integer', 'real')"
        return f"{type_expr} = 'text'"

    def _equals(self, value_expr: str, type_expr: str | None, value: Any) -> str:
        guard = self._type_guard(type_expr, value)
        if isinstance(value, bool):
            return f"({guard})"
        return f"({guard} AND {value_expr} = {self.param(value)})"

    def _condition(self, alias: str, c: Condition) -> str:
        value_expr, type_expr, _ = self._scalar(alias, c.field)
        if c.op == "exists":
            present = "1" if type_expr is None else f"({type_expr} IS NOT NULL)"
            return present if c.value else f"(NOT {present})"
        if c.op == "eq":
            return self._equals(value_expr, type_expr, c.value)
        if c.op == "ne":
            exists = "1" if type_expr is None else f"coalesce({type_expr} IN {_SCALAR_TYPES}, 0)"
            return f"({exists} AND NOT {self._equals(value_expr, type_expr, c.value)})"
        if c.op == "in":
            options = [self._equals(value_expr, type_expr, v) for v in c.value]
            return f"({' OR '.join(options)})" if options else "0"
        text_guard = "1" if type_expr is None else f"{type_expr} = 'text'"
        if c.op == "contains":
            return f"({text_guard} AND instr({value_expr}, {self.param(c.value)}) > 0)"
        if c.op == "starts_with":
            needle = self.param(c.value)
            return f"({text_guard} AND substr({value_expr}, 1, length({needle})) = {needle})"
        guard = self._type_guard(type_expr, c.value)
        return f"({guard} AND {value_expr} {COMPARISONS[c.op]} {self.param(c.value)})"

    def predicate(self, alias: str, p: Predicate) -> str:
        if isinstance(p, Condition):
            # Two-valued logic: a NULL (missing value) is false, so NOT behaves.
            return f"coalesce({self._condition(alias, p)}, 0)"
        if isinstance(p, Not):
            return f"(NOT {self.predicate(alias, p.item)})"
        joiner = " AND " if isinstance(p, AllOf) else " OR "
        assert isinstance(p, AllOf | AnyOf)
        if not p.items:
            return "1" if isinstance(p, AllOf) else "0"
        return "(" + joiner.join(self.predicate(alias, item) for item in p.items) + ")"

    # -- ordering and keysets --------------------------------------------------------------

    def sort_parts(self, alias: str, key: SortKey) -> tuple[str | None, str]:
        """(type rank expression, or None for metadata; value expression) of one sort key."""
        value_expr, type_expr, _ = self._scalar(alias, key.field)
        if type_expr is None:
            return None, value_expr
        rank = (
            f"CASE {type_expr} WHEN 'integer' THEN 0 WHEN 'real' THEN 0 WHEN 'text' THEN 1 "
            f"WHEN 'true' THEN 2 WHEN 'false' THEN 2 ELSE {MISSING_RANK} END"
        )
        return rank, value_expr

    def compare(self, left: str, op: str, right: str) -> str:
        return f"{left} {op} {right}"

    # -- statements ----------------------------------------------------------------------
    #
    # One statement, flat: a CTE for the root twins, one CTE per expansion (fed by the distinct
    # twins of its parent level) and one per expansion total, then a UNION ALL of typed rows:
    #   ('R',  NULL,  i,    NULL,  twin)   a root twin, in page order
    #   ('RT', NULL,  NULL, total, NULL)   the root total
    #   ('E<path>', parent id, i, NULL, {rel, node})   an edge of one parent's expansion
    #   ('T<path>', parent id, NULL, total, NULL)       an expansion's total for one parent

    def _twin_object(self, alias: str) -> str:
        return (
            f"json_object('id', {alias}.id, 'model', {alias}.model, "
            f"'properties', json({alias}.properties), 'components', json({alias}.components), "
            f"'etag', {alias}.etag, 'created_at', {alias}.created_at, "
            f"'updated_at', {alias}.updated_at, 'metadata', json({alias}.metadata))"
        )

    def _edge_source(self, parents: str, e: Expansion, r: str, n: str, *, page: bool) -> str:
        """``FROM ... WHERE ...`` joining parent twins to their relationships and neighbours."""
        if e.direction == "out":
            on = f"{r}.source_id = par.id"
            join = f"LEFT JOIN twins {n} ON {n}.tenant = :tenant AND {n}.id = {r}.target"
        else:
            on = f"{r}.target = par.id"
            join = f"JOIN twins {n} ON {n}.tenant = :tenant AND {n}.id = {r}.source_id"
        filters = [f"{r}.tenant = :tenant"]
        if e.name is not None:
            filters.append(f"{r}.name = {self.param(e.name)}")
        if e.models is not None:
            options = ", ".join(self.param(m) for m in e.models) or "NULL"
            filters.append(f"{n}.model IN ({options})")
        if e.where is not None:  # judges local neighbours; a remote target has no local twin
            remote = f"{n}.id IS NULL OR " if e.remote else ""
            filters.append(f"({remote}({n}.id IS NOT NULL AND {self.predicate(n, e.where)}))")
        elif not e.remote:
            filters.append(f"{n}.id IS NOT NULL")
        if page and e.after is not None:
            if e.direction == "out":
                filters.append(f"{r}.id > {self.param(e.after[0])}")
            else:
                s, i = self.param(e.after[0]), self.param(e.after[1])
                filters.append(f"({r}.source_id > {s} OR ({r}.source_id = {s} AND {r}.id > {i}))")
        return (
            f"FROM (SELECT DISTINCT id FROM {parents} WHERE id IS NOT NULL) par "
            f"JOIN relationships {r} ON {on} {join} WHERE {' AND '.join(filters)}"
        )

    def _expansions(
        self, parents: str, node: NodeSelection, path: str, ctes: list[str], parts: list[str]
    ) -> None:
        for index, e in enumerate(node.expansions):
            key = f"{path}_{index}"
            order = "r.id" if e.direction == "out" else "r.source_id, r.id"
            ctes.append(
                f"e{key} AS MATERIALIZED (SELECT * FROM (SELECT par.id AS pid, "
                "r.source_id AS rs, r.id AS rid, r.name AS rname, r.target AS rtarget, "
                "r.properties AS rprops, r.etag AS retag, n.id AS id, n.model AS model, "
                "n.properties AS properties, n.components AS components, n.etag AS etag, "
                "n.created_at AS created_at, n.updated_at AS updated_at, n.metadata AS metadata, "
                f"row_number() OVER (PARTITION BY par.id ORDER BY {order}) AS i "
                f"{self._edge_source(parents, e, 'r', 'n', page=True)}) "
                f"WHERE i <= {self.param(e.first + 1)})"
            )
            parts.append(
                f"SELECT 'E{key}', pid, i, NULL, json_object('rel', json_object("
                "'source_id', rs, 'id', rid, 'name', rname, 'target', rtarget, "
                "'properties', json(rprops), 'etag', retag), 'node', "
                f"CASE WHEN e{key}.id IS NULL THEN NULL ELSE {self._twin_object(f'e{key}')} END) "
                f"FROM e{key}"
            )
            if e.total:
                parts.append(
                    f"SELECT 'T{key}', par.id, NULL, count(*), NULL "
                    f"{self._edge_source(parents, e, 'rc', 'nc', page=False)} GROUP BY par.id"
                )
            self._expansions(f"e{key}", e.node, key, ctes, parts)

    def _statement(self, root: str, node: NodeSelection, total: str | None) -> str:
        ctes = [f"root AS MATERIALIZED ({root})"]
        parts = [f"SELECT 'R', NULL, i, NULL, {self._twin_object('root')} FROM root"]
        if total is not None:
            parts.append(f"SELECT 'RT', NULL, NULL, ({total}), NULL")
        self._expansions("root", node, "", ctes, parts)
        return f"WITH {', '.join(ctes)} {' UNION ALL '.join(parts)}"

    def lookup(self, q: TwinLookup) -> str:
        root = (
            "SELECT t0.*, 1 AS i FROM twins t0 "
            f"WHERE t0.tenant = :tenant AND t0.id = {self.param(q.id)}"
        )
        return self._statement(root, q.node, None)

    def _list_filters(self, alias: str, q: TwinListQuery) -> list[str]:
        filters = [f"{alias}.tenant = :tenant"]
        if q.models is not None:
            options = ", ".join(self.param(m) for m in q.models) or "NULL"
            filters.append(f"{alias}.model IN ({options})")
        if q.where is not None:
            filters.append(self.predicate(alias, q.where))
        return filters

    def list(self, q: TwinListQuery) -> str:
        total = None
        if q.total:
            total = f"SELECT count(*) FROM twins c WHERE {' AND '.join(self._list_filters('c', q))}"
        filters = self._list_filters("t0", q)
        if q.after is not None:
            filters.append(self.after("t0", q.order, q.after))
        order = self.order_by("t0", q.order)
        root = (
            f"SELECT t0.*, row_number() OVER (ORDER BY {order}) AS i FROM twins t0 "
            f"WHERE {' AND '.join(filters)} ORDER BY {order} LIMIT {self.param(q.first + 1)}"
        )
        return self._statement(root, q.node, total)


def assemble(rows: list[tuple[Any, ...]], node: NodeSelection, first: int) -> TwinPage:
    """The plan result from the typed rows of a compiled statement."""
    roots: list[tuple[int, dict[str, Any]]] = []
    edges: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = {}
    totals: dict[tuple[str, str], int] = {}
    root_total: int | None = None
    for kind, parent, index, count, data in rows:
        if kind == "R":
            roots.append((index, orjson.loads(data)))
        elif kind == "RT":
            root_total = count
        elif kind[0] == "E":
            edges.setdefault((kind[1:], parent), []).append((index, orjson.loads(data)))
        else:
            totals[(kind[1:], parent)] = count

    def build(twin: dict[str, Any], selection: NodeSelection, path: str) -> TwinRow:
        row = TwinRow(twin_of(twin))
        for i, e in enumerate(selection.expansions):
            key = f"{path}_{i}"
            found = [item for _, item in sorted(edges.get((key, twin["id"]), []), key=_first)]
            row.expansions[e.key] = EdgePage(
                edges=[
                    (
                        relationship_of(item["rel"]),
                        build(item["node"], e.node, key) if item["node"] else None,
                    )
                    for item in found[: e.first]
                ],
                has_next=len(found) > e.first,
                total=totals.get((key, twin["id"]), 0) if e.total else None,
            )
        return row

    ordered = [twin for _, twin in sorted(roots, key=_first)]
    return TwinPage(
        rows=[build(twin, node, "") for twin in ordered[:first]],
        has_next=len(ordered) > first,
        total=root_total,
    )


def _first(item: tuple[int, Any]) -> int:
    return item[0]
