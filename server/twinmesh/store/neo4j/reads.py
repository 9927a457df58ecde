"""Compile a read plan into one Cypher statement.

Root lists use two ``CALL`` subqueries (the total, and the ordered page collected into a list),
so even an empty page returns its total; relationship expansions are ``COLLECT`` and ``COUNT``
subqueries nested inside the twin projection, so a whole GraphQL read is one round trip.
Filters read the ``p.<path>`` node properties (see :mod:`.documents`) through ``t[$key]`` with
the key as a parameter, and every comparison is wrapped in ``coalesce(..., false)`` so that
``not`` behaves as on the embedded store (a missing property never matches). Every neighbour
twin must belong to ``$tenant``: an edge planted across tenants is never followed.
"""

from __future__ import annotations

from twinmesh.store.neo4j.documents import marker_key, property_key
from twinmesh.store.plan import (
    COMPARISONS,
    MISSING_RANK,
    AllOf,
    AnyOf,
    Condition,
    Expansion,
    FieldRef,
    NodeSelection,
    Not,
    Predicate,
    SortKey,
    TwinListQuery,
    TwinLookup,
)
from twinmesh.store.statements import StatementBuilder

_TWIN_FIELDS = ".id, .model, .properties, .components, .etag, .created_at, .updated_at, .metadata"
_REL_FIELDS = ".source_id, .id, .name, .target, .properties, .etag"


class CypherCompiler(StatementBuilder):
    """Builds statement text from fixed fragments; every value becomes a parameter."""

    marker = "$"

    def _value(self, var: str, ref: FieldRef) -> str:
        if ref.meta is not None:
            return f"{var}.{ref.meta}"
        return f"{var}[{self.param(property_key(ref.path))}]"

    def _condition(self, var: str, c: Condition) -> str:
        if c.op == "exists":
            if c.field.meta is not None:
                present = "true"
            else:
                present = (
                    f"({self._value(var, c.field)} IS NOT NULL OR "
                    f"{var}[{self.param(marker_key(c.field.path))}] IS NOT NULL)"
                )
            return present if c.value else f"(NOT {present})"
        value = self._value(var, c.field)
        if c.op == "in":
            expression = f"{value} IN {self.param(list(c.value))}"
        elif c.op == "contains":
            expression = f"{value} CONTAINS {self.param(c.value)}"
        elif c.op == "starts_with":
            expression = f"{value} STARTS WITH {self.param(c.value)}"
        elif c.op == "eq" and isinstance(c.value, bool):
            expression = f"{value} = {self.param(c.value)}"
        else:
            expression = f"{value} {COMPARISONS[c.op]} {self.param(c.value)}"
        return f"coalesce({expression}, false)"

    def predicate(self, var: str, p: Predicate) -> str:
        if isinstance(p, Condition):
            return self._condition(var, p)
        if isinstance(p, Not):
            return f"(NOT {self.predicate(var, p.item)})"
        assert isinstance(p, AllOf | AnyOf)
        if not p.items:
            return "true" if isinstance(p, AllOf) else "false"
        joiner = " AND " if isinstance(p, AllOf) else " OR "
        return "(" + joiner.join(self.predicate(var, item) for item in p.items) + ")"

    # -- ordering and keysets --------------------------------------------------------------

    def _rank(self, var: str, key: SortKey) -> str | None:
        """The value's type rank (numbers, strings, booleans, missing), None for metadata."""
        if key.field.meta is not None:
            return None
        v = self._value(var, key.field)
        return (
            # NULL IS :: <type> is true in Cypher, so missing values are ranked first.
            f"CASE WHEN {v} IS NULL THEN {MISSING_RANK} WHEN {v} IS :: INTEGER OR {v} IS :: FLOAT "
            f"THEN 0 WHEN {v} IS :: STRING THEN 1 WHEN {v} IS :: BOOLEAN THEN 2 "
            f"ELSE {MISSING_RANK} END"
        )

    def sort_parts(self, alias: str, key: SortKey) -> tuple[str | None, str]:
        return self._rank(alias, key), self._value(alias, key.field)

    def compare(self, left: str, op: str, right: str) -> str:
        return f"coalesce({left} {op} {right}, false)"

    # -- projections -----------------------------------------------------------------------

    def twin_map(self, var: str, node: NodeSelection) -> str:
        expansions = ", ".join(
            f"x{i}: {self.expansion(var, e)}" for i, e in enumerate(node.expansions)
        )
        return f"{var} {{{_TWIN_FIELDS}, x: {{{expansions}}}}}"

    def _pattern(self, parent: str, e: Expansion, r: str, n: str, *, page: bool) -> str:
        arrow = (
            f"({parent})-[{r}:REL]->({n})"
            if e.direction == "out"
            else f"({parent})<-[{r}:REL]-({n})"
        )
        filters = [f"{n}.tenant = $tenant", f"({n}:Twin OR {n}:RemoteTwin)"]
        if e.direction == "in":
            filters[1] = f"{n}:Twin"
        if e.name is not None:
            filters.append(f"{r}.name = {self.param(e.name)}")
        if e.models is not None:
            filters.append(f"{n}:Twin AND {n}.model IN {self.param(list(e.models))}")
        if e.where is not None:  # judges local neighbours; a remote target is a :RemoteTwin
            remote = f"{n}:RemoteTwin OR " if e.remote else ""
            filters.append(f"({remote}({n}:Twin AND {self.predicate(n, e.where)}))")
        elif not e.remote:
            filters.append(f"{n}:Twin")
        if page and e.after is not None:
            if e.direction == "out":
                filters.append(f"{r}.id > {self.param(e.after[0])}")
            else:
                s, i = self.param(e.after[0]), self.param(e.after[1])
                filters.append(f"({r}.source_id > {s} OR ({r}.source_id = {s} AND {r}.id > {i}))")
        return f"MATCH {arrow} WHERE {' AND '.join(filters)}"

    def expansion(self, parent: str, e: Expansion) -> str:
        r, n = self.alias("r"), self.alias("n")
        order = f"{r}.id" if e.direction == "out" else f"{r}.source_id, {r}.id"
        node = f"CASE WHEN {n}:Twin THEN {self.twin_map(n, e.node)} ELSE null END"
        edges = (
            f"COLLECT {{ {self._pattern(parent, e, r, n, page=True)} "
            f"RETURN {{rel: {r} {{{_REL_FIELDS}}}, node: {node}}} "
            f"ORDER BY {order} LIMIT {self.param(e.first + 1)} }}"
        )
        total = "null"
        if e.total:
            rc, nc = self.alias("r"), self.alias("n")
            total = f"COUNT {{ {self._pattern(parent, e, rc, nc, page=False)} }}"
        return f"{{total: {total}, edges: {edges}}}"

    # -- statements ------------------------------------------------------------------------

    def lookup(self, q: TwinLookup) -> str:
        return (
            f"MATCH (t0:Twin {{tenant: $tenant, id: {self.param(q.id)}}}) "
            f"RETURN {self.twin_map('t0', q.node)} AS twin"
        )

    def _list_filters(self, var: str, q: TwinListQuery) -> list[str]:
        filters = ["true"]
        if q.models is not None:
            filters.append(f"{var}.model IN {self.param(list(q.models))}")
        if q.where is not None:
            filters.append(self.predicate(var, q.where))
        return filters

    def list(self, q: TwinListQuery) -> str:
        total = "null AS total"
        if q.total:
            total = (
                "CALL () { MATCH (c:Twin {tenant: $tenant}) "
                f"WHERE {' AND '.join(self._list_filters('c', q))} RETURN count(c) AS total }}"
            )
        filters = self._list_filters("t0", q)
        if q.after is not None:
            filters.append(self.after("t0", q.order, q.after))
        page = (
            "CALL () { MATCH (t0:Twin {tenant: $tenant}) "
            f"WHERE {' AND '.join(filters)} "
            f"WITH t0 ORDER BY {self.order_by('t0', q.order)} LIMIT {self.param(q.first + 1)} "
            f"RETURN collect({{twin: {self.twin_map('t0', q.node)}}}) AS rows }}"
        )
        if q.total:
            return f"{total} {page} RETURN total, rows"
        return f"WITH {total} {page} RETURN total, rows"
