"""Checks every adapter applies to an import batch before writing it."""

from __future__ import annotations

from collections.abc import Sequence

from twinmesh.domain import NewRelationship, NewTwin, is_remote_ref
from twinmesh.errors import Conflict


def outside_references(
    twins: Sequence[NewTwin], relationships: Sequence[NewRelationship]
) -> list[str]:
    """Twin ids the relationships need that the batch does not create, in first-use order;
    ``Conflict`` if the batch repeats a twin id or a (source, relationship id) pair."""
    batch = {t.id for t in twins}
    if len(batch) != len(twins):
        raise Conflict("The batch creates the same twin id more than once.")
    if len({(r.source_id, r.id) for r in relationships}) != len(relationships):
        raise Conflict("The batch creates the same relationship id of a source more than once.")
    needed = dict.fromkeys(
        twin_id
        for r in relationships
        for twin_id in (r.source_id, *(() if is_remote_ref(r.target) else (r.target,)))
        if twin_id not in batch
    )
    return list(needed)
