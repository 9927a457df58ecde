"""The embedded store: SQLite through the standard library, zero set-up."""

from twinmesh.store.embedded.adapter import EmbeddedStore

__all__ = ["EmbeddedStore"]
