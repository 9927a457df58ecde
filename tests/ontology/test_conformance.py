"""The official DTDL conformance cases (v2 and v3), one test per case file.

Each file under ``spec-cases/DTDL/<version>/spec/`` holds a JSON array of cases
``{valid, options, input, expect?}``; every case in the file must get the same verdict from
``parse_model_set`` (valid = no errors and complete), and where ``expect`` lists unresolved
identifiers they must match too.  Disagreements we accept are strict xfails listed in
``KNOWN_GAPS`` (file stem -> reason); currently there are none.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from twinmesh.ontology import SourceDocument, parse_model_set

SPEC_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "dtdl" / "spec-cases" / "DTDL"
VERSIONS = ("v2", "v3")
EXPECTED_FILE_COUNTS = {"v2": 929, "v3": 895}

# file stem ("v3/Requirement-FooV3") -> reason the validator disagrees with the case file.
KNOWN_GAPS: dict[str, str] = {}


def _case_files() -> list[Any]:
    params = []
    for version in VERSIONS:
        for path in sorted((SPEC_ROOT / version / "spec").glob("*.json")):
            test_id = f"{version}/{path.stem}"
            marks = []
            if test_id in KNOWN_GAPS:
                marks.append(pytest.mark.xfail(reason=KNOWN_GAPS[test_id], strict=True))
            params.append(pytest.param(path, id=test_id, marks=marks))
    return params


def _check_case(case: dict[str, Any]) -> str | None:
    documents = [SourceDocument(f"input{i}.json", doc) for i, doc in enumerate(case["input"])]
    allow = "AllowUndefinedExtensions" in case.get("options", [])
    result = parse_model_set(documents, allow_undefined_extensions=allow)
    verdict = result.valid and result.complete
    if verdict != case["valid"]:
        detail = [f"{e.code}@{e.pointer}: {e.message}" for e in result.errors[:3]]
        return f"expected valid={case['valid']}, got {verdict} {detail} {result.unresolved}"
    expected_unresolved = case.get("expect", {}).get("unresolvedIdentifiers")
    if expected_unresolved is not None and result.unresolved != sorted(expected_unresolved):
        return f"unresolved {result.unresolved} != {sorted(expected_unresolved)}"
    return None


def test_shared_material_present() -> None:
    for version, count in EXPECTED_FILE_COUNTS.items():
        folder = SPEC_ROOT / version / "spec"
        if not folder.is_dir():
            pytest.fail(f"DTDL conformance cases missing: {folder}")
        assert len(list(folder.glob("*.json"))) == count


@pytest.mark.parametrize("case_file", _case_files())
def test_conformance_case_file(case_file: Path) -> None:
    cases = json.loads(case_file.read_text(encoding="utf-8-sig"))
    assert cases, "empty case file"
    failures = []
    for index, case in enumerate(cases):
        problem = _check_case(case)
        if problem is not None:
            failures.append(f"case {index}: {problem}")
    assert not failures, "\n".join(failures)
