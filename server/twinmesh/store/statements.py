"""What both read-plan compilers share: numbered parameters and fresh aliases."""

from __future__ import annotations

from typing import Any, ClassVar


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
