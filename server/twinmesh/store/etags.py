"""Optimistic concurrency: the one rule every adapter applies to ``if_match``."""

from __future__ import annotations

from twinmesh.errors import Conflict


def check_etag(current: str, if_match: str | None, what: str) -> None:
    """Raise ``Conflict`` unless ``if_match`` is absent or names the current version."""
    if if_match is not None and if_match != current:
        raise Conflict(
            f"The {what} was changed by someone else (etag {current}); read it again and "
            "retry with the new etag."
        )
