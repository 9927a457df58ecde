"""A statement observer that records what an adapter sends: for round-trip counts and audits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StatementRecorder:
    """Records every statement text and parameter set a store sends, in order."""

    statements: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, text: str, params: Mapping[str, Any]) -> None:
        self.statements.append((text, dict(params)))

    def texts(self) -> list[str]:
        return [text for text, _ in self.statements]

    def clear(self) -> None:
        self.statements.clear()
