"""What both read-plan compilers share: parameters, aliases, and keyset ordering.

Ordering and keyset pagination are one algorithm for both stores; each compiler supplies the
expressions of its language (:meth:`sort_parts`, :meth:`compare`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from twinmesh.store.plan import MISSING_RANK, SortKey


class StatementBuilder:
    """Collects parameter values while a statement's text is assembled from fixed fragments."""

    marker: ClassVar[str]  # how the query language names a parameter (":" or "$")

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self._aliases = 0

    def param(self, value: Any) -> str:
        """A placeholder for ``value``; the value itself only ever travels as a parameter."""
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"{self.marker}{name}"

    def alias(self, prefix: str) -> str:
        """A variable name not used before in this statement."""
        self._aliases += 1
        return f"{prefix}{self._aliases}"

    # -- ordering and keysets (the language supplies the expressions) -----------------------

    def sort_parts(self, alias: str, key: SortKey) -> tuple[str | None, str]:
        """(type-rank expression, or None for metadata; value expression) of one sort key."""
        raise NotImplementedError

    def compare(self, left: str, op: str, right: str) -> str:
        """``left op right`` as a two-valued condition (false when a side is missing)."""
        raise NotImplementedError

    def order_by(self, alias: str, order: tuple[SortKey, ...]) -> str:
        """ORDER BY terms: per key its type rank, then its value; finally the id."""
        parts = []
        for key in order:
            rank, value = self.sort_parts(alias, key)
            if rank is not None:
                parts.append(rank)
            parts.append(f"{value} DESC" if key.descending else value)
        return ", ".join([*parts, f"{alias}.id"])

    def after(self, alias: str, order: tuple[SortKey, ...], cursor: tuple[Any, ...]) -> str:
        """Rows strictly after the cursor in (rank, value)* + id order."""
        *keys, last_id = cursor
        clause = f"{alias}.id > {self.param(last_id)}"
        for key, (rank_value, value) in reversed(list(zip(order, keys, strict=True))):
            rank, field = self.sort_parts(alias, key)
            op = "<" if key.descending else ">"
            if rank is None:
                v = self.param(value)
                clause = f"({field} {op} {v} OR ({field} = {v} AND {clause}))"
                continue
            r = self.param(rank_value)
            if rank_value == MISSING_RANK:
                clause = f"({rank} = {r} AND {clause})"
                continue
            v = self.param(value)
            clause = (
                f"({rank} > {r} OR ({rank} = {r} AND ({self.compare(field, op, v)} "
                f"OR ({self.compare(field, '=', v)} AND {clause}))))"
            )
        return clause
