"""Shared fixtures for the ontology tests: where the DTDL material lives."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DTDL = Path(__file__).resolve().parents[2].parent / "shared" / "dtdl"


@pytest.fixture(scope="session")
def shared_dtdl() -> Path:
    """The shared DTDL folder; fail (not skip) when it is missing."""
    if not SHARED_DTDL.is_dir():
        pytest.fail(f"DTDL test material not found at {SHARED_DTDL} (expected /work/shared/dtdl)")
    return SHARED_DTDL
