"""DTDL validation speed: RealEstateCore (~770 interfaces) and a generated 4,000-interface set.

Goal 13 of PERFORMANCE.md: RealEstateCore in <= 1 s, 4,000 interfaces in <= 5 s. Documents are
loaded once; each run parses and validates the whole set with ``parse_model_set``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.measure import spread
from twinmesh.ontology import SourceDocument, load_paths, parse_model_set

SHARED = Path(__file__).resolve().parents[2] / "shared" / "dtdl"
RUNS = 7


def synthetic_set(count: int) -> list[SourceDocument]:
    """``count`` interfaces in chains of 10 ``extends``, each with properties, an enum, a map and a
    relationship to the chain's root."""
    documents = []
    for i in range(count):
        contents: list[dict[str, Any]] = [
            {"@type": "Property", "name": f"p{i}a", "schema": "double", "writable": True},
            {"@type": "Property", "name": f"p{i}b", "schema": "string"},
            {
                "@type": "Property",
                "name": f"p{i}c",
                "schema": {
                    "@type": "Enum",
                    "valueSchema": "string",
                    "enumValues": [
                        {"name": "on", "enumValue": "on"},
                        {"name": "off", "enumValue": "off"},
                    ],
                },
            },
            {
                "@type": "Property",
                "name": f"p{i}d",
                "schema": {
                    "@type": "Map",
                    "mapKey": {"name": "k", "schema": "string"},
                    "mapValue": {"name": "v", "schema": "integer"},
                },
            },
        ]
        root = i - i % 10
        if i != root:
            contents.append(
                {"@type": "Relationship", "name": f"r{i}", "target": f"dtmi:bench:I{root};1"}
            )
        document: dict[str, Any] = {
            "@context": "dtmi:dtdl:context;3",
            "@id": f"dtmi:bench:I{i};1",
            "@type": "Interface",
            "contents": contents,
        }
        if i != root:
            document["extends"] = f"dtmi:bench:I{i - 1};1"
        documents.append(SourceDocument(f"I{i}.json", document))
    return documents


def _time(documents: list[SourceDocument]) -> dict[str, Any]:
    timings = []
    interfaces = 0
    for _ in range(RUNS):
        started = time.perf_counter()
        result = parse_model_set(documents)
        timings.append(time.perf_counter() - started)
        if not (result.valid and result.complete):
            raise RuntimeError(f"benchmark input does not validate: {result.errors[:3]}")
        interfaces = len(result.interfaces)
    return {
        "interfaces": interfaces,
        "runs": RUNS,
        **{f"{key}_s": value for key, value in spread(timings).items()},
    }


def run() -> dict[str, Any]:
    return {
        "realestatecore": {
            **_time(load_paths([SHARED / "realestatecore" / "Ontology"])),
            "goal_s": 1.0,
        },
        "synthetic_4000": {**_time(synthetic_set(4000)), "goal_s": 5.0},
    }
